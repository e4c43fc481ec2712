package io.ebsreplicator.local.ec2;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.service.Caller;
import io.ebsreplicator.local.service.EbsService;

import io.netty.handler.codec.http.FullHttpResponse;

import java.util.List;
import java.util.Map;

/**
 * EC2 {@code DeleteSnapshot} over the EC2 Query protocol: {@code SnapshotId} (required) and {@code
 * DryRun}. Answers {@code <return>true</return>}, {@code InvalidSnapshot.NotFound} for a snapshot
 * that does not exist (any more), {@code IncorrectState} for one still {@code pending}, {@code
 * DryRunOperation} (412) when {@code DryRun} is set and the deletion would succeed. What deleting
 * means for the snapshot's blocks and children is {@link EbsService#deleteSnapshot}'s.
 */
public final class DeleteSnapshot {

    private final EbsService service;

    public DeleteSnapshot(EbsService service) {
        this.service = service;
    }

    public FullHttpResponse handle(Caller caller, List<Map.Entry<String, String>> params) {
        String id = null;
        boolean dryRun = false;
        for (Map.Entry<String, String> e : params) {
            switch (e.getKey()) {
                case "SnapshotId" -> {
                    if (id != null) {
                        throw Ec2Responses.clientError(
                                "InvalidParameterCombination", "SnapshotId is given twice.");
                    }
                    id = e.getValue();
                }
                case "DryRun" -> dryRun = Boolean.parseBoolean(e.getValue());
                default -> {}
            }
        }
        if (id == null || id.isEmpty()) {
            throw Ec2Responses.clientError(
                    "MissingParameter", "The request must contain the parameter SnapshotId.");
        }
        Ec2Responses.requireSnapshotId(id);
        if (dryRun) {
            service.checkDeletable(caller, id);
            throw new EbsError(
                    412,
                    "DryRunOperation",
                    "Request would have succeeded, but DryRun flag is set.",
                    null);
        }
        service.deleteSnapshot(caller, id);
        return Ec2Responses.xml(
                200,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DeleteSnapshotResponse xmlns=\""
                        + Ec2Responses.NAMESPACE
                        + "\">\n  <requestId>"
                        + Ec2Responses.requestId()
                        + "</requestId>\n  <return>true</return>\n</DeleteSnapshotResponse>\n");
    }
}
