package io.ebsreplicator.job.serve;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.schemas.AppliedCopyMode;
import io.ebsreplicator.schemas.CopyMode;
import io.ebsreplicator.schemas.RequestValidator;
import io.ebsreplicator.schemas.ResultError;
import io.ebsreplicator.schemas.ResultStatus;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Between the Avro messages on Kafka and the connector's own records: requests in, results out. A
 * failure's public code is its {@code FailureReason}, decided where the failure was found. Runs
 * wherever it is called (the enumerator on the JobManager for requests, the result sink's
 * serializer for results).
 */
public final class RequestMapping {

    private RequestMapping() {}

    /** The connector's request for an Avro request (already decoded; not necessarily valid). */
    public static ReplicationRequest toConnector(io.ebsreplicator.schemas.ReplicationRequest r) {
        List<ReplicationTarget> targets = new ArrayList<>();
        for (io.ebsreplicator.schemas.ReplicationTarget t : r.getTargets()) {
            if (t == null || t.getRegion() == null) {
                continue;
            }
            targets.add(
                    new ReplicationTarget(
                            t.getRegion(),
                            t.getParentSnapshotId(),
                            t.getKmsKeyArn(),
                            t.getTags() == null ? null : new LinkedHashMap<>(t.getTags()),
                            t.getDescription(),
                            t.getRoleArn()));
        }
        String base = r.getMode() == CopyMode.FULL ? null : r.getBaseSnapshotId();
        String lineage = lineage(r);
        return new ReplicationRequest(
                r.getRequestId() == null ? "" : r.getRequestId(),
                r.getSourceRegion() == null ? "" : r.getSourceRegion(),
                r.getSourceSnapshotId() == null ? "" : r.getSourceSnapshotId(),
                base,
                targets,
                lineage,
                lineage != null
                        && base == null
                        && r.getMode() == CopyMode.AUTO
                        && targets.stream().allMatch(t -> t.parentSnapshotId() == null),
                attributes(r),
                r.getDeadline() == null
                        ? ReplicationRequest.NO_DEADLINE
                        : r.getDeadline().toEpochMilli(),
                r.getPriority());
    }

    /**
     * The request's attributes, to echo into its results; none when they are too large to keep (the
     * validator rejects such a request, and its failure result then carries none).
     */
    private static Map<String, String> attributes(io.ebsreplicator.schemas.ReplicationRequest r) {
        Map<String, String> out = new LinkedHashMap<>();
        if (r.getAttributes() == null
                || RequestValidator.attributesProblem(r.getAttributes()) != null) {
            return out;
        }
        r.getAttributes()
                .forEach(
                        (k, v) -> {
                            if (k != null && v != null) {
                                out.put(k, v);
                            }
                        });
        return out;
    }

    /** The attribute that names a request's lineage (e.g. the source volume id). */
    public static final String LINEAGE_ATTRIBUTE = "lineage";

    private static String lineage(io.ebsreplicator.schemas.ReplicationRequest r) {
        if (r.getAttributes() == null) {
            return null;
        }
        String l = r.getAttributes().get(LINEAGE_ATTRIBUTE);
        return l == null || l.isBlank() ? null : l;
    }

    /**
     * The Avro result for one of the connector's results; its {@code completedAt} is when the
     * result was decided (the target seen completed, or the copy failed), not when it is written.
     */
    public static io.ebsreplicator.schemas.ReplicationResult toAvro(ReplicationResult r) {
        boolean ok = r.succeeded();
        return io.ebsreplicator.schemas.ReplicationResult.newBuilder()
                .setRequestId(r.requestId())
                .setSourceRegion(r.sourceRegion())
                .setSourceSnapshotId(r.sourceSnapshotId())
                .setTargetRegion(r.targetRegion())
                .setTargetSnapshotId(r.targetSnapshotId())
                .setStatus(ok ? ResultStatus.COMPLETED : ResultStatus.FAILED)
                .setBlocksWritten(r.blocksWritten())
                .setBytesWritten(r.bytesWritten())
                .setChecksum(r.checksum())
                .setDurationMs(r.durationMs())
                .setCopyMode(
                        r.copyMode() == null
                                ? null
                                : ReplicationResult.INCREMENTAL.equals(r.copyMode())
                                        ? AppliedCopyMode.INCREMENTAL
                                        : AppliedCopyMode.FULL)
                .setBaseSnapshotId(r.baseSnapshotId())
                .setTargetParentSnapshotId(r.targetParentSnapshotId())
                .setFallbackReason(r.fallbackReason())
                .setError(
                        ok
                                ? null
                                : ResultError.newBuilder()
                                        .setReason(r.error().reason().name())
                                        .setMessage(r.error().message())
                                        .build())
                .setCompletedAt(Instant.ofEpochMilli(r.completedAtMillis()))
                .setAttributes(new LinkedHashMap<>(r.attributes()))
                .build();
    }

    /** The Avro record of one copy deletion. */
    public static io.ebsreplicator.schemas.CopyDeletion toAvro(
            io.ebsreplicator.connector.ebs.model.CopyDeletion d) {
        return io.ebsreplicator.schemas.CopyDeletion.newBuilder()
                .setDeletionId(d.id())
                .setRule(d.rule())
                .setSourceRegion(d.sourceRegion())
                .setLineage(d.lineage())
                .setRegion(d.region())
                .setSnapshotId(d.snapshotId())
                .setCopyStartedAt(
                        d.copyStartMillis() == 0 ? null : Instant.ofEpochMilli(d.copyStartMillis()))
                .setOutcome(d.outcome().name())
                .setError(
                        d.failure() == null
                                ? null
                                : io.ebsreplicator.schemas.DeletionError.newBuilder()
                                        .setReason(d.failure().reason().name())
                                        .setMessage(d.failure().message())
                                        .build())
                .setDecidedAt(Instant.ofEpochMilli(d.decidedMillis()))
                .setDoneAt(Instant.ofEpochMilli(d.doneMillis()))
                .build();
    }
}
