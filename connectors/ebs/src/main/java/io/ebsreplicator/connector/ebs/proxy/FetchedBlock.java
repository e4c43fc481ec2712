package io.ebsreplicator.connector.ebs.proxy;

/** A block as GetSnapshotBlock returned it: the data and the base64 SHA-256 EBS sent with it. */
public record FetchedBlock(byte[] data, String checksumBase64) {}
