package io.ebsreplicator.connector.ebs.model;

import java.io.Serializable;
import java.util.List;
import java.util.Objects;

/**
 * A request to copy one source snapshot to one or more regions: in full, or incrementally as the
 * change set from {@code baseSnapshotId} written onto each target's copy of that base. Stored in
 * enumerator state; see {@code ReplicationRequestSerializer}.
 */
public record ReplicationRequest(
        String requestId,
        String sourceRegion,
        String sourceSnapshotId,
        String baseSnapshotId,
        List<ReplicationTarget> targets)
        implements Serializable {

    public ReplicationRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(sourceRegion, "sourceRegion");
        Objects.requireNonNull(sourceSnapshotId, "sourceSnapshotId");
        targets = List.copyOf(targets);
    }

    public boolean incremental() {
        return baseSnapshotId != null;
    }
}
