package io.ebsreplicator.connector.ebs.completion;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * The LINEAR aggregate checksum that CompleteSnapshot verifies: base64(SHA-256 of the raw 32-byte
 * SHA-256 digests of the written blocks, concatenated in ascending block index order), as AWS's
 * coldsnap computes it. Feed digests in index order, then call {@link #value()}. Not thread-safe.
 */
public final class LinearChecksum {

    private final MessageDigest aggregate;
    private int count;

    public LinearChecksum() {
        try {
            aggregate = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    /** Adds the next block's raw digest (the block with the next higher index). */
    public LinearChecksum add(byte[] blockDigest) {
        if (blockDigest.length != 32) {
            throw new IllegalArgumentException(
                    "A SHA-256 digest has 32 bytes, not " + blockDigest.length);
        }
        aggregate.update(blockDigest);
        count++;
        return this;
    }

    /** How many digests were added: CompleteSnapshot's ChangedBlocksCount. */
    public int count() {
        return count;
    }

    /** The base64 aggregate; ends this instance. */
    public String value() {
        return Base64.getEncoder().encodeToString(aggregate.digest());
    }
}
