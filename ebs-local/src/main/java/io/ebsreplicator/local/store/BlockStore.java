package io.ebsreplicator.local.store;

import io.ebsreplicator.local.service.Digest;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Content-addressed block storage: each distinct block is stored once, under its SHA-256, however
 * many snapshots of however many lineages reference it. Thread-safe.
 */
public interface BlockStore extends Closeable {

    /**
     * Stores {@code data} under {@code digest} unless it is there already. When this returns, the
     * block survives a crash of the process.
     */
    void put(Digest digest, ByteBuffer[] data) throws IOException;

    /** Reads the block stored under {@code digest} into {@code target}, filling it. */
    void read(Digest digest, ByteBuffer target) throws IOException;

    /** Reads the block stored under {@code digest}. */
    byte[] get(Digest digest) throws IOException;

    /** The number of distinct blocks stored. */
    long blockCount();
}
