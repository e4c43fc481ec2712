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

    /**
     * Writes every block as read. The copier recognises it and passes the block through as read,
     * without copying it into one array for {@link #apply}.
     */
    BlockTransform IDENTITY = IdentityTransform.INSTANCE;

    /**
     * Returns the block to write at {@code blockIndex}: {@code data} itself when unchanged (the
     * block is then written as read and not hashed again), or a new 512 KiB array. Must not modify
     * {@code data} in place. {@code data} is a copy of the block made for this call: any transform
     * but {@link #IDENTITY} costs that copy per block.
     */
    byte[] apply(int blockIndex, byte[] data);
}
