package io.ebsreplicator.local.service;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The records of the metadata journal and their binary layout. Each record starts with a type byte;
 * strings are modified UTF-8 with a presence flag where they are optional. Adding a record type is
 * compatible; changing a layout needs a new journal format version.
 */
sealed interface JournalRecord {

    byte START = 1;
    byte PUT = 2;
    byte COMPLETE = 3;
    byte STATE = 4;
    byte DELETE = 5;

    record Start(
            String region,
            String snapshotId,
            String ownerId,
            long volumeSizeGib,
            String parentId,
            String description,
            List<Tag> tags,
            boolean encrypted,
            String kmsKeyArn,
            int timeoutMinutes,
            long startMillis,
            String clientToken,
            String fingerprint)
            implements JournalRecord {}

    record Put(
            String region,
            String snapshotId,
            int blockIndex,
            Digest digest,
            long timeMillis,
            int progress)
            implements JournalRecord {}

    record Complete(
            String region,
            String snapshotId,
            int changedBlocksCount,
            String checksum,
            long timeMillis)
            implements JournalRecord {}

    record State(
            String region,
            String snapshotId,
            SnapshotStatus status,
            String message,
            long timeMillis)
            implements JournalRecord {}

    /**
     * EC2 DeleteSnapshot: the snapshot leaves its region. Its blocks stay for the snapshots that
     * inherit them, so its earlier records stay in the journal (compaction writes it, then this
     * record, when a remaining snapshot is built on it).
     */
    record Delete(String region, String snapshotId, long timeMillis) implements JournalRecord {}

    static byte[] encode(JournalRecord record) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
            DataOutputStream out = new DataOutputStream(bytes);
            if (record instanceof Start s) {
                out.writeByte(START);
                out.writeUTF(s.region);
                out.writeUTF(s.snapshotId);
                out.writeUTF(s.ownerId);
                out.writeLong(s.volumeSizeGib);
                writeOptional(out, s.parentId);
                writeOptional(out, s.description);
                out.writeInt(s.tags.size());
                for (Tag t : s.tags) {
                    out.writeUTF(t.key());
                    out.writeUTF(t.value());
                }
                out.writeBoolean(s.encrypted);
                writeOptional(out, s.kmsKeyArn);
                out.writeInt(s.timeoutMinutes);
                out.writeLong(s.startMillis);
                writeOptional(out, s.clientToken);
                writeOptional(out, s.fingerprint);
            } else if (record instanceof Put p) {
                out.writeByte(PUT);
                out.writeUTF(p.region);
                out.writeUTF(p.snapshotId);
                out.writeInt(p.blockIndex);
                out.write(p.digest.bytes());
                out.writeLong(p.timeMillis);
                out.writeInt(p.progress);
            } else if (record instanceof Complete c) {
                out.writeByte(COMPLETE);
                out.writeUTF(c.region);
                out.writeUTF(c.snapshotId);
                out.writeInt(c.changedBlocksCount);
                writeOptional(out, c.checksum);
                out.writeLong(c.timeMillis);
            } else if (record instanceof State st) {
                out.writeByte(STATE);
                out.writeUTF(st.region);
                out.writeUTF(st.snapshotId);
                out.writeUTF(st.status.wire());
                writeOptional(out, st.message);
                out.writeLong(st.timeMillis);
            } else if (record instanceof Delete d) {
                out.writeByte(DELETE);
                out.writeUTF(d.region);
                out.writeUTF(d.snapshotId);
                out.writeLong(d.timeMillis);
            }
            out.flush();
            return bytes.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JournalRecord decode(byte[] data) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            byte type = in.readByte();
            JournalRecord r =
                    switch (type) {
                        case START -> {
                            String region = in.readUTF();
                            String id = in.readUTF();
                            String owner = in.readUTF();
                            long size = in.readLong();
                            String parent = readOptional(in);
                            String description = readOptional(in);
                            int n = in.readInt();
                            List<Tag> tags = new ArrayList<>(n);
                            for (int i = 0; i < n; i++) {
                                tags.add(new Tag(in.readUTF(), in.readUTF()));
                            }
                            boolean encrypted = in.readBoolean();
                            String kms = readOptional(in);
                            int timeout = in.readInt();
                            long start = in.readLong();
                            String token = readOptional(in);
                            String fingerprint = readOptional(in);
                            yield new Start(
                                    region,
                                    id,
                                    owner,
                                    size,
                                    parent,
                                    description,
                                    tags,
                                    encrypted,
                                    kms,
                                    timeout,
                                    start,
                                    token,
                                    fingerprint);
                        }
                        case PUT -> {
                            String region = in.readUTF();
                            String id = in.readUTF();
                            int index = in.readInt();
                            byte[] digest = new byte[Digest.LENGTH];
                            in.readFully(digest);
                            yield new Put(
                                    region,
                                    id,
                                    index,
                                    Digest.of(digest),
                                    in.readLong(),
                                    in.readInt());
                        }
                        case COMPLETE ->
                                new Complete(
                                        in.readUTF(),
                                        in.readUTF(),
                                        in.readInt(),
                                        readOptional(in),
                                        in.readLong());
                        case STATE ->
                                new State(
                                        in.readUTF(),
                                        in.readUTF(),
                                        SnapshotStatus.fromWire(in.readUTF()),
                                        readOptional(in),
                                        in.readLong());
                        case DELETE -> new Delete(in.readUTF(), in.readUTF(), in.readLong());
                        default -> throw new IOException("Unknown journal record type " + type);
                    };
            if (in.available() > 0) {
                throw new IOException("Trailing bytes in journal record of type " + type);
            }
            return r;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeOptional(DataOutputStream out, String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    private static String readOptional(DataInputStream in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
