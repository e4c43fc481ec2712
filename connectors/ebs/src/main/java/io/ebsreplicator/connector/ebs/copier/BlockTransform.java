package io.ebsreplicator.connector.ebs.copier;

import java.io.Serializable;

/**
 * A pluggable change applied to each block between reading and writing it (for example
 * re-encryption by the application, or scrubbing). Runs inside the copier's async callbacks, on SDK
 * completion threads: it must be thread-safe and should be quick. The default is {@link #IDENTITY},
 * which writes the source bytes unchanged and costs nothing.
 */
@FunctionalInterface
public interface BlockTransform extends Serializable {

    /** Writes every block as read. */
    BlockTransform IDENTITY = (index, data) -> data;

    /**
     * Returns the block to write at {@code blockIndex}: {@code data} itself when unchanged, or a
     * new 512 KiB array. Must not modify {@code data} in place.
     */
    byte[] apply(int blockIndex, byte[] data);
}
