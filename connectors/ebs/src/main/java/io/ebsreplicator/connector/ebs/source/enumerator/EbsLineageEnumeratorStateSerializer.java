package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplitSerializer;

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

import static io.ebsreplicator.connector.ebs.source.split.BlockRangeSplitSerializer.readOptional;
import static io.ebsreplicator.connector.ebs.source.split.BlockRangeSplitSerializer.writeOptional;

/**
 * Versioned serializer of {@link EbsLineageEnumeratorState}. Version 1: the pending requests (id,
 * source, optional base, targets with region, optional parent, optional KMS key, tags, optional
 * description; accepted time), then the unassigned splits in the {@link BlockRangeSplitSerializer}
 * version 1 layout. Unknown versions and trailing bytes are rejected.
 */
public final class EbsLineageEnumeratorStateSerializer
        implements SimpleVersionedSerializer<EbsLineageEnumeratorState> {

    public static final int VERSION_1 = 1;

    @Override
    public int getVersion() {
        return VERSION_1;
    }

    @Override
    public byte[] serialize(EbsLineageEnumeratorState state) throws IOException {
        DataOutputSerializer out = new DataOutputSerializer(1024);
        out.writeInt(state.pendingRequests().size());
        for (PendingRequest p : state.pendingRequests()) {
            writeRequest(p.request(), out);
            out.writeLong(p.acceptedMillis());
        }
        out.writeInt(state.unassignedSplits().size());
        for (BlockRangeSplit s : state.unassignedSplits()) {
            BlockRangeSplitSerializer.write(s, out);
        }
        return out.getCopyOfBuffer();
    }

    @Override
    public EbsLineageEnumeratorState deserialize(int version, byte[] serialized)
            throws IOException {
        if (version != VERSION_1) {
            throw new IOException("Unknown enumerator state serializer version " + version);
        }
        DataInputDeserializer in = new DataInputDeserializer(serialized);
        int n = in.readInt();
        List<PendingRequest> pending = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            ReplicationRequest r = readRequest(in);
            pending.add(new PendingRequest(r, in.readLong()));
        }
        int m = in.readInt();
        List<BlockRangeSplit> splits = new ArrayList<>(m);
        for (int i = 0; i < m; i++) {
            splits.add(BlockRangeSplitSerializer.read(in));
        }
        if (in.available() > 0) {
            throw new IOException(
                    "Trailing " + in.available() + " bytes after the enumerator state (version 1)");
        }
        return new EbsLineageEnumeratorState(pending, splits);
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
        }
    }

    static ReplicationRequest readRequest(DataInputView in) throws IOException {
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
            targets.add(new ReplicationTarget(targetRegion, parent, kms, tags, readOptional(in)));
        }
        return new ReplicationRequest(id, region, snapshot, base, targets);
    }
}
