package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.LineageCopy;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.RecoveryPoint;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.RetentionPass;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.WatchedTarget;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplitSerializer;

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

import static io.ebsreplicator.connector.ebs.source.split.LineageSplitSerializer.readOptional;
import static io.ebsreplicator.connector.ebs.source.split.LineageSplitSerializer.writeOptional;

/**
 * Versioned serializer of {@link EbsLineageEnumeratorState}. Version 1: the pending requests (id,
 * source, optional base, targets with region, optional parent, optional KMS key, tags, optional
 * description; accepted time), then the unassigned splits in the {@link LineageSplitSerializer}
 * version 1 layout. Version 2: each pending request also has its target generation, the splits use
 * the split version 2 layout, and the watched targets follow (request, accepted time, generation,
 * region, target snapshot, open split ids, time reading finished). Version 3 uses the split version
 * 3 layout and appends the intake positions (stream, next offset) and the accepted request ids (id,
 * accepted time). Version 4 uses the split version 4 layout, adds each request's optional lineage
 * and whether it copies from the latest, and appends the lineage copies. Version 5 adds each
 * request's attributes (count, then key and value), splits still in the split version 4 layout;
 * requests of older versions have none. Version 6 writes the splits in the split version 5 layout,
 * one per kind. Version 7 adds each request's deadline and priority and each watched target's
 * source start time, writes the accepted request ids as fingerprints ({@link
 * AcceptedRequestIds#writeTo}) and the lineage copies compactly (snapshot ids packed as hex
 * digits): a fleet's week of request ids and its lineages fit in tens of MiB, not hundreds. Version
 * 8 appends the recovery points (count, then key, completion time and rule) and the retention
 * passes under way (count, then source region, lineage, region and rule). Version 9 writes the
 * splits in the split version 6 layout and adds each target's optional role. Version 10 writes the
 * splits in the split version 7 layout (which has copy deletions) and appends the ids of the copy
 * deletions in flight (count, then id). Older versions' accepted ids are read into fingerprints.
 * Unknown versions and trailing bytes are rejected.
 */
public final class EbsLineageEnumeratorStateSerializer
        implements SimpleVersionedSerializer<EbsLineageEnumeratorState> {

    public static final int VERSION_1 = 1;

    /** Adds target generations and watched targets. */
    public static final int VERSION_2 = 2;

    /** Adds intake positions and accepted request ids. */
    public static final int VERSION_3 = 3;

    /** Adds lineages. */
    public static final int VERSION_4 = 4;

    /** Adds request attributes. */
    public static final int VERSION_5 = 5;

    /** Splits of three kinds, with typed targets, copy info and failures. */
    public static final int VERSION_6 = 6;

    /** Deadlines, priorities, source start times; compact accepted ids and lineage copies. */
    public static final int VERSION_7 = 7;

    /** Recovery points and retention passes of the lineages copied under a DR policy. */
    public static final int VERSION_8 = 8;

    /** Target roles, in requests and in splits. */
    public static final int VERSION_9 = 9;

    /** Copy deletions: splits of that kind, and the ids of those in flight. */
    public static final int VERSION_10 = 10;

    public static final int CURRENT_VERSION = VERSION_10;

    @Override
    public int getVersion() {
        return CURRENT_VERSION;
    }

    @Override
    public byte[] serialize(EbsLineageEnumeratorState state) throws IOException {
        DataOutputSerializer out =
                new DataOutputSerializer(
                        1024 + state.acceptedIds().size() * AcceptedRequestIds.APPROX_BYTES_PER_ID);
        out.writeInt(state.pendingRequests().size());
        for (PendingRequest p : state.pendingRequests()) {
            writeRequest(p.request(), out);
            out.writeLong(p.acceptedMillis());
            out.writeInt(p.generation());
        }
        out.writeInt(state.unassignedSplits().size());
        for (LineageSplit s : state.unassignedSplits()) {
            LineageSplitSerializer.write(s, out);
        }
        out.writeInt(state.watchedTargets().size());
        for (WatchedTarget w : state.watchedTargets()) {
            writeRequest(w.request(), out);
            out.writeLong(w.acceptedMillis());
            out.writeInt(w.generation());
            out.writeUTF(w.region());
            out.writeUTF(w.targetSnapshotId());
            out.writeInt(w.openSplits().size());
            for (String id : w.openSplits()) {
                out.writeUTF(id);
            }
            out.writeLong(w.readingFinishedMillis());
            out.writeLong(w.sourceStartMillis());
        }
        writeLongs(state.intakePositions(), out);
        state.acceptedIds().writeTo(out);
        out.writeInt(state.lineageCopies().size());
        for (Map.Entry<String, List<LineageCopy>> e : state.lineageCopies().entrySet()) {
            out.writeUTF(e.getKey());
            out.writeInt(e.getValue().size());
            for (LineageCopy c : e.getValue()) {
                writeSnapshotId(c.sourceSnapshotId(), out);
                writeSnapshotId(c.targetSnapshotId(), out);
                out.writeLong(c.sourceStartMillis());
            }
        }
        out.writeInt(state.recoveryPoints().size());
        for (Map.Entry<String, RecoveryPoint> e : state.recoveryPoints().entrySet()) {
            out.writeUTF(e.getKey());
            out.writeLong(e.getValue().completedMillis());
            out.writeUTF(e.getValue().rule());
        }
        out.writeInt(state.retentionPasses().size());
        for (RetentionPass pass : state.retentionPasses()) {
            out.writeUTF(pass.sourceRegion());
            out.writeUTF(pass.lineage());
            out.writeUTF(pass.region());
            out.writeUTF(pass.rule());
        }
        out.writeInt(state.deletionsInFlight().size());
        for (String id : state.deletionsInFlight()) {
            out.writeUTF(id);
        }
        return out.getCopyOfBuffer();
    }

    @Override
    public EbsLineageEnumeratorState deserialize(int version, byte[] serialized)
            throws IOException {
        if (version < VERSION_1 || version > CURRENT_VERSION) {
            throw new IOException("Unknown enumerator state serializer version " + version);
        }
        boolean v2 = version >= VERSION_2;
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        int n = in.readInt();
        List<PendingRequest> pending = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ReplicationRequest r = readRequest(in, version);
            long accepted = in.readLong();
            pending.add(new PendingRequest(r, accepted, v2 ? in.readInt() : 0));
        }
        int m = in.readInt();
        List<LineageSplit> splits = new ArrayList<>(m);
        for (int i = 0; i < m; i++) {
            splits.add(LineageSplitSerializer.read(in, splitVersion(version)));
        }
        List<WatchedTarget> watched = new ArrayList<>();
        if (v2) {
            int w = in.readInt();
            for (int i = 0; i < w; i++) {
                ReplicationRequest r = readRequest(in, version);
                long accepted = in.readLong();
                int generation = in.readInt();
                String region = in.readUTF();
                String target = in.readUTF();
                int open = in.readInt();
                List<String> ids = new ArrayList<>(open);
                for (int j = 0; j < open; j++) {
                    ids.add(in.readUTF());
                }
                long readingFinished = in.readLong();
                long sourceStart = version >= VERSION_7 ? in.readLong() : 0;
                watched.add(
                        new WatchedTarget(
                                r,
                                accepted,
                                generation,
                                region,
                                target,
                                ids,
                                readingFinished,
                                sourceStart));
            }
        }
        Map<String, Long> positions = version >= VERSION_3 ? readLongs(in) : Map.of();
        AcceptedRequestIds accepted = new AcceptedRequestIds();
        if (version >= VERSION_7) {
            accepted = AcceptedRequestIds.readFrom(in);
        } else if (version >= VERSION_3) {
            // Ids with their accepted time, oldest first: fingerprinted in the same order.
            readLongs(in).forEach(accepted::add);
        }
        Map<String, List<LineageCopy>> lineages = new LinkedHashMap<>();
        if (version >= VERSION_4) {
            int n2 = in.readInt();
            for (int i = 0; i < n2; i++) {
                String key = in.readUTF();
                int copies = in.readInt();
                List<LineageCopy> list = new ArrayList<>(copies);
                for (int j = 0; j < copies; j++) {
                    list.add(
                            version >= VERSION_7
                                    ? new LineageCopy(
                                            readSnapshotId(in), readSnapshotId(in), in.readLong())
                                    : new LineageCopy(in.readUTF(), in.readUTF(), in.readLong()));
                }
                lineages.put(key, list);
            }
        }
        Map<String, RecoveryPoint> points = new LinkedHashMap<>();
        if (version >= VERSION_8) {
            int n3 = in.readInt();
            if (n3 < 0) {
                throw new IOException("A negative count of recovery points: " + n3);
            }
            for (int i = 0; i < n3; i++) {
                String key = in.readUTF();
                points.put(key, new RecoveryPoint(in.readLong(), in.readUTF()));
            }
        }
        List<RetentionPass> passes = new ArrayList<>();
        if (version >= VERSION_8) {
            int n4 = in.readInt();
            if (n4 < 0) {
                throw new IOException("A negative count of retention passes: " + n4);
            }
            for (int i = 0; i < n4; i++) {
                passes.add(
                        new RetentionPass(in.readUTF(), in.readUTF(), in.readUTF(), in.readUTF()));
            }
        }
        List<String> inFlight = new ArrayList<>();
        if (version >= VERSION_10) {
            int n5 = in.readInt();
            if (n5 < 0) {
                throw new IOException("A negative count of copy deletions in flight: " + n5);
            }
            for (int i = 0; i < n5; i++) {
                inFlight.add(in.readUTF());
            }
        }
        if (in.available() > 0) {
            throw new IOException(
                    "Trailing "
                            + in.available()
                            + " bytes after the enumerator state (version "
                            + version
                            + ")");
        }
        return new EbsLineageEnumeratorState(
                pending, splits, watched, positions, accepted, lineages, points, passes, inFlight);
    }

    /**
     * A snapshot id in as few bytes as its form allows: {@code snap-} and up to 59 lowercase hex
     * digits (every EBS id) as the digit count and the digits two per byte (9 bytes for 17 digits
     * instead of 24); anything else as 0 and the text.
     */
    static void writeSnapshotId(String id, DataOutputView out) throws IOException {
        int digits = id.length() - SNAP.length();
        if (!id.startsWith(SNAP) || digits < 1 || digits > 59 || !lowerHex(id, SNAP.length())) {
            out.writeByte(0);
            out.writeUTF(id);
            return;
        }
        out.writeByte(digits);
        for (int i = 0; i < digits; i += 2) {
            int high = Character.digit(id.charAt(SNAP.length() + i), 16);
            int low = i + 1 < digits ? Character.digit(id.charAt(SNAP.length() + i + 1), 16) : 0;
            out.writeByte(high << 4 | low);
        }
    }

    static String readSnapshotId(DataInputView in) throws IOException {
        int digits = in.readUnsignedByte();
        if (digits == 0) {
            return in.readUTF();
        }
        if (digits > 59) {
            throw new IOException("Corrupt snapshot id: " + digits + " digits");
        }
        StringBuilder id = new StringBuilder(SNAP.length() + digits).append(SNAP);
        for (int i = 0; i < digits; i += 2) {
            int b = in.readUnsignedByte();
            id.append(Character.forDigit(b >> 4, 16));
            if (i + 1 < digits) {
                id.append(Character.forDigit(b & 0xF, 16));
            }
        }
        return id.toString();
    }

    private static final String SNAP = "snap-";

    private static boolean lowerHex(String s, int from) {
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9') && !(c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    /** The split layout a state version holds. */
    private static int splitVersion(int version) {
        if (version >= VERSION_10) {
            return LineageSplitSerializer.VERSION_7;
        }
        if (version >= VERSION_9) {
            return LineageSplitSerializer.VERSION_6;
        }
        return version >= VERSION_6
                ? LineageSplitSerializer.VERSION_5
                : Math.min(version, LineageSplitSerializer.VERSION_4);
    }

    private static void writeLongs(Map<String, Long> values, DataOutputView out)
            throws IOException {
        out.writeInt(values.size());
        for (Map.Entry<String, Long> e : values.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeLong(e.getValue());
        }
    }

    private static Map<String, Long> readLongs(DataInputView in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            throw new IOException("A negative count: " + n);
        }
        Map<String, Long> out = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            out.put(in.readUTF(), in.readLong());
        }
        return out;
    }

    static void writeRequest(ReplicationRequest r, DataOutputView out) throws IOException {
        out.writeUTF(r.requestId());
        out.writeUTF(r.sourceRegion());
        out.writeUTF(r.sourceSnapshotId());
        writeOptional(out, r.baseSnapshotId());
        out.writeInt(r.targets().size());
        for (ReplicationTarget t : r.targets()) {
            out.writeUTF(t.region());
            writeOptional(out, t.parentSnapshotId());
            writeOptional(out, t.kmsKeyArn());
            out.writeInt(t.tags().size());
            for (Map.Entry<String, String> e : t.tags().entrySet()) {
                out.writeUTF(e.getKey());
                out.writeUTF(e.getValue());
            }
            writeOptional(out, t.description());
            writeOptional(out, t.roleArn());
        }
        writeOptional(out, r.lineage());
        out.writeBoolean(r.fromLatest());
        out.writeInt(r.attributes().size());
        for (Map.Entry<String, String> e : r.attributes().entrySet()) {
            out.writeUTF(e.getKey());
            out.writeUTF(e.getValue());
        }
        out.writeLong(r.deadlineMillis());
        out.writeInt(r.priority());
    }

    static ReplicationRequest readRequest(DataInputView in, int version) throws IOException {
        String id = in.readUTF();
        String region = in.readUTF();
        String snapshot = in.readUTF();
        String base = readOptional(in);
        int n = in.readInt();
        List<ReplicationTarget> targets = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String targetRegion = in.readUTF();
            String parent = readOptional(in);
            String kms = readOptional(in);
            int tagCount = in.readInt();
            Map<String, String> tags = new LinkedHashMap<>();
            for (int j = 0; j < tagCount; j++) {
                tags.put(in.readUTF(), in.readUTF());
            }
            String description = readOptional(in);
            String role = version >= VERSION_9 ? readOptional(in) : null;
            targets.add(new ReplicationTarget(targetRegion, parent, kms, tags, description, role));
        }
        if (version < VERSION_4) {
            return new ReplicationRequest(
                    id,
                    region,
                    snapshot,
                    base,
                    targets,
                    null,
                    false,
                    Map.of(),
                    ReplicationRequest.NO_DEADLINE,
                    0);
        }
        String lineage = readOptional(in);
        boolean fromLatest = in.readBoolean();
        Map<String, String> attributes = new LinkedHashMap<>();
        if (version >= VERSION_5) {
            int count = in.readInt();
            if (count < 0) {
                throw new IOException("A negative count: " + count);
            }
            for (int j = 0; j < count; j++) {
                attributes.put(in.readUTF(), in.readUTF());
            }
        }
        long deadline = version >= VERSION_7 ? in.readLong() : ReplicationRequest.NO_DEADLINE;
        int priority = version >= VERSION_7 ? in.readInt() : 0;
        return new ReplicationRequest(
                id,
                region,
                snapshot,
                base,
                targets,
                lineage,
                fromLatest,
                attributes,
                deadline,
                priority);
    }
}
