package io.ebsreplicator.connector.ebs.proxy;

/** A snapshot as EC2 DescribeSnapshots reports it. */
public record SnapshotDescription(
        String snapshotId, String status, String stateMessage, long volumeSizeGib) {

    public boolean completed() {
        return "completed".equals(status);
    }

    public boolean failed() {
        return "error".equals(status);
    }
}
