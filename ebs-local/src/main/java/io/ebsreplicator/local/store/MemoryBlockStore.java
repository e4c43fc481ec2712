package io.ebsreplicator.local.store;

import io.ebsreplicator.local.service.Digest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.ConcurrentHashMap;

/** Keeps blocks on the heap: the in-memory mode for unit tests. */
public final class MemoryBlockStore implements BlockStore {

    private final ConcurrentHashMap<Digest, byte[]> blocks = new ConcurrentHashMap<>();

    @Override
    public void put(Digest digest, ByteBuffer[] data) {
        if (blocks.containsKey(digest)) {
            return;
        }
        int length = 0;
        for (ByteBuffer b : data) {
            length += b.remaining();
        }
        byte[] copy = new byte[length];
        int pos = 0;
        for (ByteBuffer b : data) {
            int n = b.remaining();
            b.duplicate().get(copy, pos, n);
            pos += n;
        }
        blocks.putIfAbsent(digest, copy);
    }

    @Override
    public void read(Digest digest, ByteBuffer target) throws IOException {
        target.put(get(digest));
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
