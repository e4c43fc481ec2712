package io.ebsreplicator.local.store;

import io.ebsreplicator.local.service.Digest;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Blocks as files named by their SHA-256 hex under {@code blocks/xx/}. A block is written to a
 * temporary file and renamed into place, so a reader never sees a torn block and a crash leaves at
 * most a temporary file, removed on the next start.
 */
public final class FileBlockStore implements BlockStore {

    private static final String TMP_SUFFIX = ".tmp";

    /** Above this many pieces a block is gathered before it is written; see writeFully. */
    private static final int MAX_PIECES = 16;

    private static final ThreadLocal<ByteBuffer> GATHER =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(512 * 1024));

    private final Path root;
    private final boolean fsync;
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong tmpSeq = new AtomicLong();

    public FileBlockStore(Path root, boolean fsync) throws IOException {
        this.root = root;
        this.fsync = fsync;
        Files.createDirectories(root);
        long n = 0;
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                if (!Files.isRegularFile(p)) {
                    continue;
                }
                if (p.getFileName().toString().endsWith(TMP_SUFFIX)) {
                    Files.deleteIfExists(p); // an interrupted write; never acknowledged
                } else {
                    n++;
                }
            }
        }
        count.set(n);
    }

    private Path pathOf(Digest digest) {
        String hex = digest.hex();
        return root.resolve(hex.substring(0, 2)).resolve(hex);
    }

    @Override
    public void put(Digest digest, ByteBuffer[] data) throws IOException {
        Path target = pathOf(digest);
        if (Files.exists(target)) {
            return;
        }
        Files.createDirectories(target.getParent());
        Path tmp =
                target.resolveSibling(
                        target.getFileName() + "." + tmpSeq.incrementAndGet() + TMP_SUFFIX);
        try (FileChannel ch =
                FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            writeFully(ch, data);
            if (fsync) {
                ch.force(true);
            }
        }
        Files.move(
                tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        count.incrementAndGet();
    }

    /**
     * Many small buffers make the kernel's copy into the page cache several times dearer than a few
     * large ones (measured here: 128 x 4 KiB costs 6x 8 x 64 KiB for a 512 KiB write), so a block
     * that arrived in many pieces is first gathered into one buffer.
     */
    private static void writeFully(FileChannel ch, ByteBuffer[] data) throws IOException {
        ByteBuffer[] views;
        if (data.length > MAX_PIECES) {
            ByteBuffer gathered = GATHER.get();
            gathered.clear();
            for (ByteBuffer b : data) {
                if (gathered.remaining() < b.remaining()) {
                    gathered =
                            ByteBuffer.allocateDirect(gathered.position() + b.remaining() * 2)
                                    .put(gathered.flip());
                }
                gathered.put(b.duplicate());
            }
            views = new ByteBuffer[] {gathered.flip()};
        } else {
            views = new ByteBuffer[data.length];
            for (int i = 0; i < data.length; i++) {
                views[i] = data[i].duplicate();
            }
        }
        long remaining = 0;
        for (ByteBuffer v : views) {
            remaining += v.remaining();
        }
        while (remaining > 0) {
            remaining -= ch.write(views);
        }
    }

    @Override
    public void read(Digest digest, ByteBuffer target) throws IOException {
        try (FileChannel ch = FileChannel.open(pathOf(digest), StandardOpenOption.READ)) {
            long position = 0;
            while (target.hasRemaining()) {
                int n = ch.read(target, position);
                if (n < 0) {
                    throw new IOException("Block " + digest.hex() + " is shorter than expected");
                }
                position += n;
            }
        }
    }

    @Override
    public byte[] get(Digest digest) throws IOException {
        return Files.readAllBytes(pathOf(digest));
    }

    @Override
    public long blockCount() {
        return count.get();
    }

    @Override
    public void close() {}
}
