package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.api.Operation;

import java.util.List;

/** Which operation a request line names, and its path members. */
record Route(Operation operation, String snapshotId, String blockIndex) {

    /** The signing name of the service each operation belongs to. */
    String service() {
        return operation.ec2() ? "ec2" : "ebs";
    }

    static Route of(String method, List<String> seg, String ec2Action) {
        int n = seg.size();
        if (n == 0 && ec2Action != null) {
            for (Operation op : Operation.values()) {
                if (op.ec2() && op.apiName().equals(ec2Action)) {
                    return new Route(op, null, null);
                }
            }
            throw new EbsError(
                    400,
                    "InvalidAction",
                    "The action "
                            + (ec2Action.length() <= 64 ? ec2Action : ec2Action.substring(0, 64))
                            + " is not valid for this web service.",
                    null);
        }
        if (n >= 1 && seg.get(0).equals("snapshots")) {
            if (n == 1 && method.equals("POST")) {
                return new Route(Operation.START_SNAPSHOT, null, null);
            }
            if (n == 3 && method.equals("POST") && seg.get(1).equals("completion")) {
                return new Route(Operation.COMPLETE_SNAPSHOT, seg.get(2), null);
            }
            if (n == 3 && method.equals("GET") && seg.get(2).equals("blocks")) {
                return new Route(Operation.LIST_SNAPSHOT_BLOCKS, seg.get(1), null);
            }
            if (n == 3 && method.equals("GET") && seg.get(2).equals("changedblocks")) {
                return new Route(Operation.LIST_CHANGED_BLOCKS, seg.get(1), null);
            }
            if (n == 4 && seg.get(2).equals("blocks")) {
                if (method.equals("PUT")) {
                    return new Route(Operation.PUT_SNAPSHOT_BLOCK, seg.get(1), seg.get(3));
                }
                if (method.equals("GET")) {
                    return new Route(Operation.GET_SNAPSHOT_BLOCK, seg.get(1), seg.get(3));
                }
            }
        }
        throw new EbsError(
                404,
                "UnknownOperationException",
                "No operation matches " + method + " /" + String.join("/", seg),
                null);
    }
}
