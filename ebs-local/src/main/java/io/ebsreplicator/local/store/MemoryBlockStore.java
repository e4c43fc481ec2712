package io.ebsreplicator.local.store;

import io.ebsreplicator.local.service.Digest;

import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.ConcurrentHashMap;

/** Keeps blocks on the heap: the in-memory mode for unit tests. */
public final class MemoryBlockStore implements BlockStore {

    private final ConcurrentHashMap<Digest, byte[]> blocks = new ConcurrentHashMap<>();

    @Override
    public void put(Digest digest, byte[] data) {
        blocks.putIfAbsent(digest, data);
    }

    @Override
    public byte[] get(Digest digest) throws IOException {
        byte[] data = blocks.get(digest);
        if (data == null) {
            throw new NoSuchFileException("block " + digest.hex());
        }
        return data;
    }

    @Override
    public long blockCount() {
        return blocks.size();
    }

    @Override
    public void close() {}
}
