package io.ebsreplicator.connector.ebs.proxy;

import java.time.Instant;
import java.util.Map;

/**
 * A snapshot as EC2 DescribeSnapshots reports it. {@code startTime} orders the snapshots of one
 * lineage (may be {@code null} when unknown); {@code volumeId}, {@code description} and {@code
 * tags} are what a policy rule selects a source by ({@code null}, {@code null} and empty when not
 * reported).
 */
public record SnapshotDescription(
        String snapshotId,
        String status,
        String stateMessage,
        long volumeSizeGib,
        Instant startTime,
        String volumeId,
        String description,
        Map<String, String> tags) {

    public SnapshotDescription {
        tags = tags == null ? Map.of() : Map.copyOf(tags);
    }

    /** A snapshot known only by its state (what watching a target needs). */
    public SnapshotDescription(
            String snapshotId,
            String status,
            String stateMessage,
            long volumeSizeGib,
            Instant startTime) {
        this(snapshotId, status, stateMessage, volumeSizeGib, startTime, null, null, Map.of());
    }

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
