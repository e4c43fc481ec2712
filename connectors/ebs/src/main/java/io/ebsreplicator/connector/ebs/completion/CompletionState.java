package io.ebsreplicator.connector.ebs.completion;

import org.apache.flink.api.common.functions.RuntimeContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Completion's keyed state of the current key (request and target region): its {@link
 * CompletionInfo}, the digest of every block written to the target, and per split the blocks the
 * split's end announced and the blocks received. Used by {@link ReplicationCompletionFunction} on
 * the task thread, with the key set. In savepoints under these names: never rename them.
 */
final class CompletionState {

    static final ValueStateDescriptor<CompletionInfo> INFO =
            new ValueStateDescriptor<>("completion-info", CompletionInfo.class);

    private final ValueState<CompletionInfo> info;
    private final MapState<Integer, byte[]> digests;
    private final MapState<Integer, Long> expected;
    private final MapState<Integer, Long> received;

    CompletionState(RuntimeContext context) {
        info = context.getState(INFO);
        digests =
                context.getMapState(
                        new MapStateDescriptor<Integer, byte[]>(
                                "block-digests",
                                Types.INT,
                                PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        expected =
                context.getMapState(
                        new MapStateDescriptor<>("split-expected", Types.INT, Types.LONG));
        received =
                context.getMapState(
                        new MapStateDescriptor<>("split-received", Types.INT, Types.LONG));
    }

    /**
     * The key's info in this version's form (see {@link CompletionInfo#upgrade()}), or {@code null}
     * if the key has none.
     */
    CompletionInfo info() throws Exception {
        CompletionInfo i = info.value();
        if (i != null && i.upgrade()) {
            info.update(i);
        }
        return i;
    }

    void update(CompletionInfo i) throws Exception {
        info.update(i);
    }

    /** Keeps the digest of a block written; returns whether the block is new (not a replay). */
    boolean addBlock(int split, int blockIndex, byte[] digest) throws Exception {
        boolean added = !digests.contains(blockIndex);
        if (added) {
            Long n = received.get(split);
            received.put(split, n == null ? 1 : n + 1);
        }
        digests.put(blockIndex, digest);
        return added;
    }

    /** The end of a split, which announced how many blocks it emitted. */
    void endSplit(int split, long emittedBlocks) throws Exception {
        expected.put(split, emittedBlocks);
    }

    /** Whether every split of {@code i} ended and every block each one announced arrived. */
    boolean allBlocksArrived(CompletionInfo i) throws Exception {
        if (i.totalSplits <= 0) {
            return false;
        }
        int ended = 0;
        for (Map.Entry<Integer, Long> s : expected.entries()) {
            ended++;
            Long got = received.get(s.getKey());
            if ((got == null ? 0 : got) != s.getValue()) {
                return false;
            }
        }
        return ended == i.totalSplits;
    }

    /** The LINEAR aggregate of the digests kept, fed in ascending block index order. */
    LinearChecksum linear() throws Exception {
        List<Integer> indexes = new ArrayList<>();
        for (Integer k : digests.keys()) {
            indexes.add(k);
        }
        Collections.sort(indexes);
        LinearChecksum linear = new LinearChecksum();
        for (Integer k : indexes) {
            linear.add(digests.get(k));
        }
        return linear;
    }

    /** The digest of a block written, or {@code null} if it was not written (or was dropped). */
    byte[] digest(int blockIndex) throws Exception {
        return digests.get(blockIndex);
    }

    /** Drops the digest of a block the read-back found equal. */
    void dropDigest(int blockIndex) throws Exception {
        digests.remove(blockIndex);
    }

    /** The lowest index of a block whose digest is still kept, or {@code null} if none is. */
    Integer lowestDigest() throws Exception {
        Integer lowest = null;
        for (Integer k : digests.keys()) {
            lowest = lowest == null ? k : Math.min(lowest, k);
        }
        return lowest;
    }

    /** Forgets the blocks and splits of the current target; the info stays. */
    void clearBlocks() {
        digests.clear();
        expected.clear();
        received.clear();
    }

    /** How far the copy of {@code i} got, for people. */
    String progress(CompletionInfo i) throws Exception {
        int ended = 0;
        for (Integer ignored : expected.keys()) {
            ended++;
        }
        int blocks = 0;
        for (Integer ignored : digests.keys()) {
            blocks++;
        }
        return ended + " of " + i.totalSplits + " splits ended, " + blocks + " blocks";
    }
}
