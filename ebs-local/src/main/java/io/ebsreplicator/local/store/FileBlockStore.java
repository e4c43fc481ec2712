package io.ebsreplicator.local.store;

import io.ebsreplicator.local.service.Digest;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * Blocks as files named by their SHA-256 hex under {@code blocks/xx/}. A block is written to a
 * temporary file and renamed into place, so a reader never sees a torn block and a crash leaves at
 * most a temporary file, removed on the next start.
 *
 * <p>A file's content is checked against its name the first time this process reads it, or is asked
 * to store the same content again; from then on the process trusts it, because it has written or
 * checked those very bytes. A restart forgets these marks, so damage done to a file while the
 * server was stopped is always found: a damaged block is never served (reads throw {@link
 * DamagedBlockException}), and a put of its content rewrites it. The marks cost one SHA-256 pass
 * per block and process instead of one per read.
 */
public final class FileBlockStore implements BlockStore {

    private static final Logger LOG = LoggerFactory.getLogger(FileBlockStore.class);

    private static final String TMP_SUFFIX = ".tmp";

    /**
     * Verified marks kept, at most: 262,144 blocks are 128 GiB of distinct data and the marks about
     * 30 MiB of heap. Past that the marks start over, which costs one more SHA-256 pass per block.
     */
    private static final int MAX_VERIFIED = 1 << 18;

    /** The largest block file read back to check it; blocks are 512 KiB. */
    private static final int MAX_BLOCK_BYTES = 512 * 1024;

    private static final ThreadLocal<ByteBuffer> CHECK =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(MAX_BLOCK_BYTES));

    /** Above this many pieces a block is gathered before it is written; see writeFully. */
    private static final int MAX_PIECES = 16;

    private static final ThreadLocal<ByteBuffer> GATHER =
            ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(512 * 1024));

    private final Path root;
    private final boolean fsync;
    private final AtomicLong count = new AtomicLong();
    private final AtomicLong tmpSeq = new AtomicLong();
    private final Set<Digest> verified = ConcurrentHashMap.newKeySet();

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
        if (verified.contains(digest)) {
            return;
        }
        Path target = pathOf(digest);
        boolean exists = Files.exists(target);
        if (exists) {
            if (holds(target, digest)) {
                markVerified(digest);
                return;
            }
            // Never acknowledge a put over a file that does not hold its content: rewrite it.
            LOG.warn("Block {} is damaged on disk; rewriting it from a new write", digest.hex());
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
        if (!exists) {
            count.incrementAndGet();
        }
        markVerified(digest);
    }

    private void markVerified(Digest digest) {
        if (verified.size() >= MAX_VERIFIED) {
            verified.clear();
        }
        verified.add(digest);
    }

    /** Whether the file holds exactly the bytes whose SHA-256 is {@code digest}. */
    private static boolean holds(Path file, Digest digest) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() > MAX_BLOCK_BYTES) {
                return false;
            }
            ByteBuffer buf = CHECK.get();
            buf.clear().limit((int) ch.size());
            readFully(ch, buf, digest);
            return digest.equals(sha256(buf.flip()));
        }
    }

    private static Digest sha256(ByteBuffer data) {
        MessageDigest md = Digest.newSha256();
        md.update(data);
        return Digest.of(md.digest());
    }

    private static void readFully(FileChannel ch, ByteBuffer target, Digest digest)
            throws IOException {
        long position = 0;
        while (target.hasRemaining()) {
            int n = ch.read(target, position);
            if (n < 0) {
                throw new DamagedBlockException(digest, "shorter than its size");
            }
            position += n;
        }
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
        int start = target.position();
        try (FileChannel ch = FileChannel.open(pathOf(digest), StandardOpenOption.READ)) {
            if (ch.size() != target.remaining()) {
                throw new DamagedBlockException(
                        digest, ch.size() + " bytes stored, " + target.remaining() + " expected");
            }
            readFully(ch, target, digest);
        } catch (NoSuchFileException e) {
            throw new DamagedBlockException(digest, "its file is missing");
        }
        if (!verified.contains(digest)) {
            ByteBuffer read = target.duplicate().flip().position(start);
            if (!digest.equals(sha256(read))) {
                throw new DamagedBlockException(digest, "its content does not match its SHA-256");
            }
            markVerified(digest);
        }
    }

    @Override
    public byte[] get(Digest digest) throws IOException {
        byte[] data;
        try {
            data = Files.readAllBytes(pathOf(digest));
        } catch (NoSuchFileException e) {
            throw new DamagedBlockException(digest, "its file is missing");
        }
        if (!verified.contains(digest)) {
            if (!digest.equals(Digest.sha256(data, 0, data.length))) {
                throw new DamagedBlockException(digest, "its content does not match its SHA-256");
            }
            markVerified(digest);
        }
        return data;
    }

    @Override
    public long blockCount() {
        return count.get();
    }

    @Override
    public void close() {}
}
