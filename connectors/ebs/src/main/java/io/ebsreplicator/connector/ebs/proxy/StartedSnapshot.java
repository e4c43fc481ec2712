package io.ebsreplicator.connector.ebs.proxy;

/** The answer of StartSnapshot. */
public record StartedSnapshot(String snapshotId, String status, long volumeSizeGib) {}
