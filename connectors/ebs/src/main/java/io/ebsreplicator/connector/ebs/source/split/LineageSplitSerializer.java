package io.ebsreplicator.connector.ebs.source.split;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;

import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.core.memory.DataOutputView;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Versioned serializer of a {@link LineageSplit}, in reader state and (through {@link #write} and
 * {@link #read}) inside the enumerator's state.
 *
 * <p>Versions 1 to 4 wrote every kind in one layout, a failure as text and a dead letter as a
 * failure with placeholders: requestId, splitIndex, totalSplits, sourceRegion, sourceSnapshotId,
 * optional baseSnapshotId, targets ({@code region=snap;...}), rangeStart, rangeEnd, nextIndex,
 * emittedBlocks, optional failure, requestStartMillis. Version 2 appends the target generation
 * (version 1 splits are generation 0), version 3 an optional dead-letter record (a flag, then its
 * length and bytes), version 4 the optional copy info in its one-string form. They are read into
 * the kind they held: a dead letter, a failure (its reason recovered from the text by {@link
 * #legacyFailure}), else a block range.
 *
 * <p>Version 5 writes a kind byte, then the kind's own fields: a block range its request, split,
 * source, optional base, targets (count, then region and optional snapshot), range, progress,
 * accepted time, generation and optional copy info; a failure its request, source, target regions,
 * failure (the reason's name, then the message), accepted time, generation and optional copy info;
 * a dead letter its id and record. Copy info is its mode (absent, full or incremental), optional
 * base, parents (count, then region and snapshot), optional fallback reason and attributes (count,
 * then key and value).
 *
 * <p>Version 6 adds, in a block range after its targets and in copy info after its attributes, the
 * IAM role that writes each target written as a role (count, then region and role ARN).
 *
 * <p>Version 7 adds the copy-deletion kind: region, optional role, source region, lineage, rule,
 * snapshot, the copy's start time, the time it was decided and whether it is a dry run. Earlier
 * versions have no such kind.
 *
 * <p>Unknown versions and kinds, and trailing bytes, are rejected.
 */
public final class LineageSplitSerializer implements SimpleVersionedSerializer<LineageSplit> {

    public static final int VERSION_1 = 1;

    /** Adds the target generation. */
    public static final int VERSION_2 = 2;

    /** Adds the dead-letter record of a dead-letter split. */
    public static final int VERSION_3 = 3;

    /** Adds how the request is copied (mode, base, parents, fallback reason). */
    public static final int VERSION_4 = 4;

    /** One layout per kind of split; targets and copy info as values. */
    public static final int VERSION_5 = 5;

    /** Adds the roles that write the targets. */
    public static final int VERSION_6 = 6;

    /** Adds copy deletions. */
    public static final int VERSION_7 = 7;

    public static final int CURRENT_VERSION = VERSION_7;

    public static final LineageSplitSerializer INSTANCE = new LineageSplitSerializer();

    private static final byte RANGE = 0;
    private static final byte FAILED = 1;
    private static final byte DEAD_LETTER = 2;
    private static final byte COPY_DELETION = 3;

    /** Kafka's default largest message, with room for the dead-letter fields around it. */
    private static final int MAX_DEAD_LETTER_BYTES = 16 * 1024 * 1024;

    /** More target regions or attributes than any request can have: a damaged split. */
    private static final int MAX_ENTRIES = 100_000;

    @Override
    public int getVersion() {
        return CURRENT_VERSION;
    }

    @Override
    public byte[] serialize(LineageSplit split) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(256);
        write(split, out);
        return out.getCopyOfBuffer();
    }

    @Override
    public LineageSplit deserialize(int version, byte[] serialized) throws IOException {
        if (version < VERSION_1 || version > CURRENT_VERSION) {
            throw new IOException("Unknown lineage split serializer version " + version);
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        LineageSplit split = read(in, version);
        if (in.available() > 0) {
            throw new IOException(
                    "Trailing "
                            + in.available()
                            + " bytes after a lineage split (version "
                            + version
                            + ")");
        }
        return split;
    }

    /** Writes the current layout. */
    public static void write(LineageSplit split, DataOutputView out) throws IOException {
        if (split instanceof BlockRangeSplit s) {
            out.writeByte(RANGE);
            out.writeUTF(s.requestId());
            out.writeInt(s.splitIndex());
            out.writeInt(s.totalSplits());
            out.writeUTF(s.sourceRegion());
            out.writeUTF(s.sourceSnapshotId());
            writeOptional(out, s.baseSnapshotId());
            writeTargets(s.targets(), out);
            writeStrings(s.targets().roleByRegion(), out);
            out.writeInt(s.rangeStart());
            out.writeInt(s.rangeEnd());
            out.writeInt(s.nextIndex());
            out.writeLong(s.emittedBlocks());
            out.writeLong(s.requestStartMillis());
            out.writeInt(s.generation());
            writeCopyInfo(s.copyInfo(), out);
        } else if (split instanceof FailedRequestSplit f) {
            out.writeByte(FAILED);
            out.writeUTF(f.requestId());
            out.writeUTF(f.sourceRegion());
            out.writeUTF(f.sourceSnapshotId());
            out.writeInt(f.targetRegions().size());
            for (String region : f.targetRegions()) {
                out.writeUTF(region);
            }
            out.writeUTF(f.failure().reason().name());
            out.writeUTF(f.failure().message());
            out.writeLong(f.requestStartMillis());
            out.writeInt(f.generation());
            writeCopyInfo(f.copyInfo(), out);
        } else if (split instanceof DeadLetterSplit d) {
            out.writeByte(DEAD_LETTER);
            out.writeUTF(d.id());
            byte[] record = d.record();
            out.writeInt(record.length);
            out.write(record);
        } else if (split instanceof CopyDeletionSplit d) {
            out.writeByte(COPY_DELETION);
            out.writeUTF(d.region());
            writeOptional(out, d.roleArn());
            out.writeUTF(d.sourceRegion());
            out.writeUTF(d.lineage());
            out.writeUTF(d.rule());
            out.writeUTF(d.snapshotId());
            out.writeLong(d.copyStartMillis());
            out.writeLong(d.decidedMillis());
            out.writeBoolean(d.dryRun());
        } else {
            throw new IOException("Not a lineage split: " + split);
        }
    }

    /** Reads the layout of {@code version}. */
    public static LineageSplit read(DataInputView in, int version) throws IOException {
        if (version < VERSION_5) {
            return readLegacy(in, version);
        }
        byte kind = in.readByte();
        switch (kind) {
            case RANGE:
                return BlockRangeSplit.builder()
                        .requestId(in.readUTF())
                        .split(in.readInt(), in.readInt())
                        .source(in.readUTF(), in.readUTF())
                        .base(readOptional(in))
                        .targets(readTargets(in, version))
                        .range(in.readInt(), in.readInt())
                        .progress(in.readInt(), in.readLong())
                        .requestStartMillis(in.readLong())
                        .generation(in.readInt())
                        .copyInfo(readCopyInfo(in, version))
                        .build();
            case FAILED:
                String requestId = in.readUTF();
                String sourceRegion = in.readUTF();
                String sourceSnapshotId = in.readUTF();
                int n = count(in);
                List<String> regions = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    regions.add(in.readUTF());
                }
                return new FailedRequestSplit(
                        requestId,
                        sourceRegion,
                        sourceSnapshotId,
                        regions,
                        Failure.of(readReason(in), in.readUTF()),
                        in.readLong(),
                        in.readInt(),
                        readCopyInfo(in, version));
            case DEAD_LETTER:
                return new DeadLetterSplit(in.readUTF(), readDeadLetter(in));
            case COPY_DELETION:
                if (version < VERSION_7) {
                    throw new IOException(
                            "A copy deletion in a lineage split of version " + version);
                }
                return new CopyDeletionSplit(
                        in.readUTF(),
                        readOptional(in),
                        in.readUTF(),
                        in.readUTF(),
                        in.readUTF(),
                        in.readUTF(),
                        in.readLong(),
                        in.readLong(),
                        in.readBoolean());
            default:
                throw new IOException("Unknown kind of lineage split " + kind);
        }
    }

    /** Versions 1 to 4: one layout for every kind. */
    private static LineageSplit readLegacy(DataInputView in, int version) throws IOException {
        String requestId = in.readUTF();
        int splitIndex = in.readInt();
        int totalSplits = in.readInt();
        String sourceRegion = in.readUTF();
        String sourceSnapshotId = in.readUTF();
        String base = readOptional(in);
        TargetSnapshots targets = TargetSnapshots.decodeLegacy(in.readUTF());
        int rangeStart = in.readInt();
        int rangeEnd = in.readInt();
        int nextIndex = in.readInt();
        long emitted = in.readLong();
        String failure = readOptional(in);
        long startMillis = in.readLong();
        int generation = version >= VERSION_2 ? in.readInt() : 0;
        byte[] deadLetter = null;
        if (version >= VERSION_3 && in.readBoolean()) {
            deadLetter = readDeadLetter(in);
        }
        CopyInfo copyInfo = version >= VERSION_4 ? CopyInfo.decodeLegacy(readOptional(in)) : null;
        if (deadLetter != null) {
            return new DeadLetterSplit(requestId, deadLetter);
        }
        if (failure != null) {
            return new FailedRequestSplit(
                    requestId,
                    sourceRegion,
                    sourceSnapshotId,
                    targets.regions(),
                    legacyFailure(failure),
                    startMillis,
                    generation,
                    copyInfo);
        }
        return BlockRangeSplit.builder()
                .requestId(requestId)
                .split(splitIndex, totalSplits)
                .source(sourceRegion, sourceSnapshotId)
                .base(base)
                .targets(targets)
                .range(rangeStart, rangeEnd)
                .progress(nextIndex, emitted)
                .requestStartMillis(startMillis)
                .generation(generation)
                .copyInfo(copyInfo)
                .build();
    }

    private static FailureReason readReason(DataInputView in) throws IOException {
        String name = in.readUTF();
        try {
            return FailureReason.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw new IOException("Unknown failure reason " + name, e);
        }
    }

    /**
     * The failure a split of versions 1 to 4 recorded as text only. Those versions wrote what the
     * resolver made of an error: {@code <AWS error code>(<modelled reason>): <message>} for an EBS
     * error (or {@code <exception>: <message>}), {@code InvalidRequest: ...} for an invalid
     * request, {@code DeadlineExceeded: ...} for a late one, and {@code Target ... went to error
     * (...)} for a target that EBS cancelled too often. The reason is recovered from that shape
     * here and nowhere else: this is the upgrade path of state written before failures had reasons,
     * not a decision made on a message. An EBS error gets the reason the classifier gives its code
     * and modelled reason (those splits held fatal errors only).
     */
    private static Failure legacyFailure(String text) {
        if (text.startsWith("InvalidRequest")) {
            return Failure.of(FailureReason.INVALID_REQUEST, text);
        }
        if (text.startsWith("DeadlineExceeded")) {
            return Failure.of(FailureReason.DEADLINE_EXCEEDED, text);
        }
        if (text.startsWith("Target ") && text.contains(" went to error (")) {
            return Failure.of(FailureReason.TARGET_CANCELLED, text);
        }
        int colon = text.indexOf(": ");
        String head = colon < 0 ? text : text.substring(0, colon);
        int open = head.indexOf('(');
        String code = open < 0 ? head : head.substring(0, open);
        String reason =
                open < 0 || !head.endsWith(")")
                        ? null
                        : head.substring(open + 1, head.length() - 1);
        return Failure.of(
                EbsErrorClassifier.failureReason(EbsProxyException.Kind.FATAL, code, reason), text);
    }

    private static byte[] readDeadLetter(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_DEAD_LETTER_BYTES) {
            throw new IOException("A dead letter of " + n + " bytes");
        }
        byte[] record = new byte[n];
        in.readFully(record);
        return record;
    }

    private static void writeTargets(TargetSnapshots targets, DataOutputView out)
            throws IOException {
        out.writeInt(targets.snapshotByRegion().size());
        for (Map.Entry<String, String> t : targets.snapshotByRegion().entrySet()) {
            out.writeUTF(t.getKey());
            writeOptional(out, t.getValue());
        }
    }

    private static TargetSnapshots readTargets(DataInputView in, int version) throws IOException {
        int n = count(in);
        Map<String, String> targets = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            targets.put(in.readUTF(), readOptional(in));
        }
        return TargetSnapshots.of(targets, version >= VERSION_6 ? readStrings(in) : Map.of());
    }

    private static void writeCopyInfo(CopyInfo c, DataOutputView out) throws IOException {
        out.writeBoolean(c != null);
        if (c == null) {
            return;
        }
        out.writeByte(c.incremental() == null ? 0 : c.incremental() ? 2 : 1);
        writeOptional(out, c.baseSnapshotId());
        writeStrings(c.parents(), out);
        writeOptional(out, c.fallbackReason());
        writeStrings(c.attributes(), out);
        writeStrings(c.roles(), out);
    }

    private static CopyInfo readCopyInfo(DataInputView in, int version) throws IOException {
        if (!in.readBoolean()) {
            return null;
        }
        byte mode = in.readByte();
        if (mode < 0 || mode > 2) {
            throw new IOException("Unknown copy mode " + mode);
        }
        return new CopyInfo(
                mode == 0 ? null : mode == 2,
                readOptional(in),
                readStrings(in),
                readOptional(in),
                readStrings(in),
                version >= VERSION_6 ? readStrings(in) : Map.of());
    }

    private static void writeStrings(Map<String, String> values, DataOutputView out)
            throws IOException {
        out.writeInt(values.size());
        for (Map.Entry<String, String> e : values.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeUTF(e.getValue());
        }
    }

    private static Map<String, String> readStrings(DataInputView in) throws IOException {
        int n = count(in);
        Map<String, String> values = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            values.put(in.readUTF(), in.readUTF());
        }
        return values;
    }

    private static int count(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_ENTRIES) {
            throw new IOException("A count of " + n + " in a lineage split");
        }
        return n;
    }

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
