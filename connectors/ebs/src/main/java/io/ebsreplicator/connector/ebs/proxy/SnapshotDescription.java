package io.ebsreplicator.connector.ebs.proxy;

import java.time.Instant;

/**
 * A snapshot as EC2 DescribeSnapshots reports it. {@code startTime} orders the snapshots of one
 * lineage (may be {@code null} when unknown).
 */
public record SnapshotDescription(
        String snapshotId,
        String status,
        String stateMessage,
        long volumeSizeGib,
        Instant startTime) {

    public SnapshotDescription(
            String snapshotId, String status, String stateMessage, long volumeSizeGib) {
        this(snapshotId, status, stateMessage, volumeSizeGib, null);
    }

    public boolean completed() {
        return "completed".equals(status);
    }

    public boolean failed() {
        return "error".equals(status);
    }
}
