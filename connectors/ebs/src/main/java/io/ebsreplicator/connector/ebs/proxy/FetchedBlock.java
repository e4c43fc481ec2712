package io.ebsreplicator.connector.ebs.proxy;

/** A block as GetSnapshotBlock returned it: the data and the base64 SHA-256 EBS sent with it. */
public record FetchedBlock(BlockBytes data, String checksumBase64) {

    /** A block held in one array, which the caller hands over (no copy). */
    public FetchedBlock(byte[] data, String checksumBase64) {
        this(BlockBytes.of(data), checksumBase64);
    }
}
