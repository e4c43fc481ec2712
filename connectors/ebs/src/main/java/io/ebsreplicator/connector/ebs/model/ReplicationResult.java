package io.ebsreplicator.connector.ebs.model;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.schemas.JsonStrings;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The outcome of a request for one target: one per request and target region. {@code status} is
 * {@code COMPLETED} only once the target snapshot is {@code completed} in EBS; a {@code FAILED}
 * result has the {@link Failure} that ended it, a completed one none. {@code attributes} are the
 * request's, echoed unchanged (not in {@link #toJson()}). Emitted by completion; Flink serializes
 * it as a POJO.
 */
public record ReplicationResult(
        String requestId,
        String sourceRegion,
        String sourceSnapshotId,
        String targetRegion,
        String targetSnapshotId,
        String status,
        long blocksWritten,
        long bytesWritten,
        String checksum,
        long durationMs,
        Failure error,
        String copyMode,
        String baseSnapshotId,
        String targetParentSnapshotId,
        String fallbackReason,
        Map<String, String> attributes,
        long completedAtMillis) {

    public ReplicationResult {
        if (FAILED.equals(status) && error == null) {
            throw new IllegalArgumentException("A failed result needs its failure: " + requestId);
        }
        if (COMPLETED.equals(status) && error != null) {
            throw new IllegalArgumentException("A completed result has no failure: " + requestId);
        }
        attributes =
                attributes == null || attributes.isEmpty()
                        ? Map.of()
                        : Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
    }

    public static final String FULL = "FULL";
    public static final String INCREMENTAL = "INCREMENTAL";

    public static final String COMPLETED = "COMPLETED";
    public static final String FAILED = "FAILED";

    public boolean succeeded() {
        return COMPLETED.equals(status);
    }

    /** One JSON object on one line, as the command line prints it. */
    public String toJson() {
        StringBuilder sb = new StringBuilder("{");
        field(sb, "requestId", requestId).append(',');
        field(sb, "sourceRegion", sourceRegion).append(',');
        field(sb, "sourceSnapshotId", sourceSnapshotId).append(',');
        field(sb, "targetRegion", targetRegion).append(',');
        field(sb, "targetSnapshotId", targetSnapshotId).append(',');
        field(sb, "status", status).append(',');
        sb.append("\"blocksWritten\":").append(blocksWritten).append(',');
        sb.append("\"bytesWritten\":").append(bytesWritten).append(',');
        field(sb, "checksum", checksum).append(',');
        sb.append("\"durationMs\":").append(durationMs);
        String[][] optional = {
            {"copyMode", copyMode},
            {"baseSnapshotId", baseSnapshotId},
            {"targetParentSnapshotId", targetParentSnapshotId},
            {"fallbackReason", fallbackReason},
            {"error", error == null ? null : error.message()},
            {"errorReason", error == null ? null : error.reason().name()}
        };
        for (String[] f : optional) {
            if (f[1] != null) {
                sb.append(',');
                field(sb, f[0], f[1]);
            }
        }
        return sb.append('}').toString();
    }

    private static StringBuilder field(StringBuilder sb, String name, String value) {
        sb.append('"').append(name).append("\":");
        return JsonStrings.append(sb, value);
    }
}
