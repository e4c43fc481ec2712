package io.ebsreplicator.local.store;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * An append-only file of length-prefixed, CRC-32C-checked records behind an 8-byte format header.
 *
 * <p>A record is acknowledged once {@code write} has handed it to the kernel, which a killed
 * process cannot undo; with {@code fsync} each append is also forced to the device, which a power
 * loss cannot undo. A crash during an append leaves a torn tail: replay stops at the first record
 * whose length or checksum does not hold and truncates the file there.
 */
public final class FileJournal implements Journal {

    private static final Logger LOG = LoggerFactory.getLogger(FileJournal.class);

    /** Format header; bump the digits when the record layout changes incompatibly. */
    static final byte[] MAGIC = "EBSLJ001".getBytes(StandardCharsets.US_ASCII);

    /** No record comes near this; a larger length field means a torn or foreign tail. */
    private static final int MAX_RECORD = 1 << 20;

    private final Path file;
    private final boolean fsync;
    private final FileChannel channel;

    public FileJournal(Path file, boolean fsync) throws IOException {
        this.file = file;
        this.fsync = fsync;
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
    }

    @Override
    public synchronized void replay(Consumer<byte[]> consumer) throws IOException {
        long size = channel.size();
        ByteBuffer magic = ByteBuffer.allocate(MAGIC.length);
        readFully(magic, 0);
        if (!java.util.Arrays.equals(magic.array(), MAGIC)) {
            throw new IOException(
                    file + " is not an ebs-local journal of this version (bad header)");
        }
        long pos = MAGIC.length;
        ByteBuffer header = ByteBuffer.allocate(8);
        CRC32C crc = new CRC32C();
        int records = 0;
        while (pos + 8 <= size) {
            header.clear();
            readFully(header, pos);
            int length = header.getInt(0);
            int expectedCrc = header.getInt(4);
            if (length <= 0 || length > MAX_RECORD || pos + 8 + length > size) {
                break;
            }
            ByteBuffer body = ByteBuffer.allocate(length);
            readFully(body, pos + 8);
            crc.reset();
            crc.update(body.array());
            if ((int) crc.getValue() != expectedCrc) {
                break;
            }
            consumer.accept(body.array());
            pos += 8 + length;
            records++;
        }
        if (pos < size) {
            LOG.warn(
                    "Journal {}: cutting a torn tail of {} bytes after {} intact records",
                    file,
                    size - pos,
                    records);
            channel.truncate(pos);
            channel.force(true);
        }
        channel.position(pos);
    }

    private void readFully(ByteBuffer buf, long position) throws IOException {
        long p = position;
        while (buf.hasRemaining()) {
            int n = channel.read(buf, p);
            if (n < 0) {
                throw new IOException("Unexpected end of " + file);
            }
            p += n;
        }
    }

    @Override
    public synchronized void append(byte[] record) throws IOException {
        CRC32C crc = new CRC32C();
        crc.update(record);
        ByteBuffer buf = ByteBuffer.allocate(8 + record.length);
        buf.putInt(record.length).putInt((int) crc.getValue()).put(record).flip();
        while (buf.hasRemaining()) {
            channel.write(buf);
        }
        if (fsync) {
            channel.force(false);
        }
    }

    @Override
    public synchronized void close() throws IOException {
        channel.close();
    }
}
