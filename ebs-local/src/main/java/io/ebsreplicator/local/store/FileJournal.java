package io.ebsreplicator.local.store;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * An append-only file of length-prefixed, CRC-32C-checked records behind an 8-byte format header.
 *
 * <p>Format {@code EBSLJ001}: the header, then records of {@code int length, int crc32c(body),
 * body}, big-endian. Compaction and salvage write the same format, so every data directory ever
 * written opens with this code.
 *
 * <p>A record is acknowledged once {@code write} has handed it to the kernel, which a killed
 * process cannot undo; with {@code fsync} each append is also forced to the device, which a power
 * loss cannot undo. A crash during an append leaves a torn tail, which is cut on the next start. A
 * bad length or checksum with intact records after it is damage, not a torn tail: it is reported
 * with its offset and never cut (see {@link JournalContents}).
 *
 * <p>{@link #rewrite} replaces the file by a new one atomically: the new file is written beside it
 * and forced to the device, renamed over it, and the directory is forced, so a crash at any moment
 * leaves either the old journal or the new one, complete.
 */
public final class FileJournal implements Journal {

    private static final Logger LOG = LoggerFactory.getLogger(FileJournal.class);

    /** Format header; bump the digits when the record layout changes incompatibly. */
    static final byte[] MAGIC = "EBSLJ001".getBytes(StandardCharsets.US_ASCII);

    /** No record comes near this; a larger length field means a torn or damaged record. */
    private static final int MAX_RECORD = 1 << 20;

    private static final int HEADER = 8;

    /** Where a rewrite is prepared before it is renamed into place; removed on start. */
    private static final String REWRITE_SUFFIX = ".rewrite";

    private static final DateTimeFormatter ASIDE_STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");

    private final Path file;
    private final boolean fsync;
    private FileChannel channel;

    /** The journal's length: where the next record goes. */
    private long end;

    public FileJournal(Path file, boolean fsync) throws IOException {
        this.file = file;
        this.fsync = fsync;
        Files.deleteIfExists(rewritePath()); // an interrupted rewrite; the journal itself is whole
        this.channel =
                FileChannel.open(
                        file,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.READ,
                        StandardOpenOption.WRITE);
        if (channel.size() == 0) {
            channel.write(ByteBuffer.wrap(MAGIC), 0);
            channel.force(true);
        }
        end = channel.size();
    }

    private Path rewritePath() {
        return file.resolveSibling(file.getFileName() + REWRITE_SUFFIX);
    }

    @Override
    public synchronized void replay(Consumer<byte[]> consumer) throws IOException {
        JournalContents contents = read();
        if (!contents.damaged().isEmpty()) {
            throw new IOException(describeDamage(file, contents));
        }
        for (JournalContents.Entry e : contents.records()) {
            consumer.accept(e.bytes());
        }
        openForAppend(contents);
    }

    @Override
    public synchronized JournalContents read() throws IOException {
        return read(channel, file);
    }

    /** Reads a journal file without changing it: for checks of a data directory. */
    public static JournalContents read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(ch, file);
        }
    }

    private static JournalContents read(FileChannel ch, Path file) throws IOException {
        long size = ch.size();
        if (size > Integer.MAX_VALUE) {
            throw new IOException(
                    file + " is larger than 2 GiB; compaction keeps a journal far smaller");
        }
        MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
        byte[] magic = new byte[MAGIC.length];
        if (size < MAGIC.length || !Arrays.equals(magic(map, magic), MAGIC)) {
            throw new IOException(
                    file + " is not an ebs-local journal of this version (bad header)");
        }
        List<JournalContents.Entry> records = new ArrayList<>();
        List<JournalContents.Damage> damaged = new ArrayList<>();
        CRC32C crc = new CRC32C();
        int pos = MAGIC.length;
        long torn = -1;
        while (pos < size) {
            int length = recordLength(map, pos, crc);
            if (length > 0) {
                byte[] body = new byte[length];
                map.get(pos + HEADER, body);
                records.add(new JournalContents.Entry(pos, body));
                pos += HEADER + length;
                continue;
            }
            int next = nextRecord(map, pos + 1, crc);
            if (next < 0) {
                torn = pos;
                break;
            }
            damaged.add(new JournalContents.Damage(pos, next - pos));
            pos = next;
        }
        return new JournalContents(records, damaged, torn, size);
    }

    private static byte[] magic(ByteBuffer map, byte[] out) {
        map.get(0, out);
        return out;
    }

    /** The body length of an intact record at {@code pos}, or -1 when there is none there. */
    private static int recordLength(ByteBuffer map, int pos, CRC32C crc) {
        int size = map.limit();
        if (pos + HEADER > size) {
            return -1;
        }
        int length = map.getInt(pos);
        if (length <= 0 || length > MAX_RECORD || length > size - pos - HEADER) {
            return -1;
        }
        crc.reset();
        crc.update(map.duplicate().position(pos + HEADER).limit(pos + HEADER + length));
        return (int) crc.getValue() == map.getInt(pos + 4) ? length : -1;
    }

    /**
     * The offset of the next intact record at or after {@code from}, or -1. A false match needs a
     * plausible length and a 32-bit checksum to agree by chance.
     */
    private static int nextRecord(ByteBuffer map, int from, CRC32C crc) {
        for (int p = from; p + HEADER < map.limit(); p++) {
            if (recordLength(map, p, crc) > 0) {
                return p;
            }
        }
        return -1;
    }

    /** A message for damage in the middle of a journal, naming its offsets. */
    public static String describeDamage(Path file, JournalContents contents) {
        JournalContents.Damage first = contents.damaged().get(0);
        long after = contents.records().stream().filter(e -> e.offset() > first.offset()).count();
        return "The journal "
                + file
                + " is damaged at offset "
                + first.offset()
                + ": "
                + first.length()
                + " bytes cannot be read and "
                + after
                + " intact records follow them (a torn tail would have none after it). Nothing"
                + " was changed. Start with --salvage to keep every intact record and move the"
                + " damaged journal aside, or restore the data directory from a copy.";
    }

    @Override
    public synchronized void openForAppend(JournalContents contents) throws IOException {
        long end = contents.end();
        if (end < channel.size()) {
            LOG.warn(
                    "Journal {}: cutting a torn tail of {} bytes at offset {} after {} intact"
                            + " records",
                    file,
                    channel.size() - end,
                    end,
                    contents.records().size());
            channel.truncate(end);
            channel.force(true);
        }
        channel.position(end);
        this.end = end;
    }

    @Override
    public synchronized void append(byte[] record) throws IOException {
        CRC32C crc = new CRC32C();
        crc.update(record);
        ByteBuffer buf = ByteBuffer.allocate(HEADER + record.length);
        buf.putInt(record.length).putInt((int) crc.getValue()).put(record).flip();
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
        end += HEADER + record.length;
        if (fsync) {
            channel.force(false);
        }
    }

    @Override
    public synchronized void rewrite(List<byte[]> records) throws IOException {
        Path tmp = rewritePath();
        try (FileChannel out =
                FileChannel.open(
                        tmp,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            buf.put(MAGIC);
            CRC32C crc = new CRC32C();
            for (byte[] r : records) {
                if (buf.remaining() < HEADER + r.length) {
                    writeAll(out, buf.flip());
                    buf.clear();
                    if (buf.remaining() < HEADER + r.length) {
                        buf = ByteBuffer.allocate(HEADER + r.length);
                    }
                }
                crc.reset();
                crc.update(r);
                buf.putInt(r.length).putInt((int) crc.getValue()).put(r);
            }
            writeAll(out, buf.flip());
            out.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        forceDirectory(file.toAbsolutePath().getParent());
        FileChannel old = channel;
        channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        end = channel.size();
        channel.position(end);
        old.close();
    }

    @Override
    public synchronized String salvage(List<byte[]> records) throws IOException {
        Path aside =
                file.resolveSibling(
                        file.getFileName()
                                + ".damaged-"
                                + ASIDE_STAMP.format(LocalDateTime.now(ZoneOffset.UTC)));
        // A copy, not a move: until the rename in rewrite, the damaged journal stays the journal.
        Files.copy(file, aside, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel ch = FileChannel.open(aside, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        rewrite(records);
        return aside.toString();
    }

    private static void writeAll(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /** Makes a rename in {@code dir} durable. */
    private static void forceDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    @Override
    public synchronized long size() {
        return end;
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }
}
