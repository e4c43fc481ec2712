package io.ebsreplicator.connector.ebs.source.split;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;

/**
 * Versioned serializer of {@link BlockRangeSplit}. Version 1 layout: requestId, splitIndex,
 * totalSplits, sourceRegion, sourceSnapshotId, optional baseSnapshotId, targets, rangeStart,
 * rangeEnd, nextIndex, emittedBlocks, optional failure, requestStartMillis. Version 2 appends the
 * target generation (version 1 splits are generation 0). Version 3 appends an optional dead-letter
 * record (a flag, then its length and bytes). Version 4 appends the optional copy info. Unknown
 * versions and trailing bytes are rejected.
 */
public final class BlockRangeSplitSerializer implements SimpleVersionedSerializer<BlockRangeSplit> {

    public static final int VERSION_1 = 1;

    /** Adds the target generation. */
    public static final int VERSION_2 = 2;

    /** Adds the dead-letter record of a dead-letter split. */
    public static final int VERSION_3 = 3;

    /** Adds how the request is copied (mode, base, parents, fallback reason). */
    public static final int VERSION_4 = 4;

    public static final int CURRENT_VERSION = VERSION_4;

    public static final BlockRangeSplitSerializer INSTANCE = new BlockRangeSplitSerializer();

    @Override
    public int getVersion() {
        return CURRENT_VERSION;
    }

    @Override
    public byte[] serialize(BlockRangeSplit split) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        write(split, out);
        return out.getCopyOfBuffer();
    }

    @Override
    public BlockRangeSplit deserialize(int version, byte[] serialized) throws IOException {
        if (version < VERSION_1 || version > VERSION_4) {
            throw new IOException("Unknown BlockRangeSplit serializer version " + version);
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        BlockRangeSplit split = read(in, version);
        if (in.available() > 0) {
            throw new IOException(
                    "Trailing "
                            + in.available()
                            + " bytes after a BlockRangeSplit (version "
                            + version
                            + ")");
        }
        return split;
    }

    /** Writes the current layout; used inside enumerator state too. */
    public static void write(BlockRangeSplit s, DataOutputView out) throws IOException {
        out.writeUTF(s.requestId());
        out.writeInt(s.splitIndex());
        out.writeInt(s.totalSplits());
        out.writeUTF(s.sourceRegion());
        out.writeUTF(s.sourceSnapshotId());
        writeOptional(out, s.baseSnapshotId());
        out.writeUTF(s.targets());
        out.writeInt(s.rangeStart());
        out.writeInt(s.rangeEnd());
        out.writeInt(s.nextIndex());
        out.writeLong(s.emittedBlocks());
        writeOptional(out, s.failure());
        out.writeLong(s.requestStartMillis());
        out.writeInt(s.generation());
        byte[] deadLetter = s.deadLetter();
        out.writeBoolean(deadLetter != null);
        if (deadLetter != null) {
            out.writeInt(deadLetter.length);
            out.write(deadLetter);
        }
        writeOptional(out, s.copyInfo());
    }

    /** Reads the layout of {@code version}. */
    public static BlockRangeSplit read(DataInputView in, int version) throws IOException {
        String requestId = in.readUTF();
        int splitIndex = in.readInt();
        int totalSplits = in.readInt();
        String sourceRegion = in.readUTF();
        String sourceSnapshotId = in.readUTF();
        String base = readOptional(in);
        String targets = in.readUTF();
        int rangeStart = in.readInt();
        int rangeEnd = in.readInt();
        int nextIndex = in.readInt();
        long emitted = in.readLong();
        String failure = readOptional(in);
        long startMillis = in.readLong();
        int generation = version >= VERSION_2 ? in.readInt() : 0;
        byte[] deadLetter = null;
        if (version >= VERSION_3 && in.readBoolean()) {
            int n = in.readInt();
            if (n < 0 || n > MAX_DEAD_LETTER_BYTES) {
                throw new IOException("A dead letter of " + n + " bytes");
            }
            deadLetter = new byte[n];
            in.readFully(deadLetter);
        }
        String copyInfo = version >= VERSION_4 ? readOptional(in) : null;
        return new BlockRangeSplit(
                requestId,
                splitIndex,
                totalSplits,
                sourceRegion,
                sourceSnapshotId,
                base,
                targets,
                rangeStart,
                rangeEnd,
                nextIndex,
                emitted,
                failure,
                startMillis,
                generation,
                deadLetter,
                copyInfo);
    }

    /** Kafka's default largest message, with room for the dead-letter fields around it. */
    private static final int MAX_DEAD_LETTER_BYTES = 16 * 1024 * 1024;

    public static void writeOptional(DataOutputView out, String s) throws IOException {
        out.writeBoolean(s != null);
        if (s != null) {
            out.writeUTF(s);
        }
    }

    public static String readOptional(DataInputView in) throws IOException {
        return in.readBoolean() ? in.readUTF() : null;
    }
}
