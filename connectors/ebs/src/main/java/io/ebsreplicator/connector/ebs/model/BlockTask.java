package io.ebsreplicator.connector.ebs.model;

/**
 * What the lineage source emits: a block to copy (a descriptor of about 200 bytes, never the data),
 * the end of a split with the number of blocks it emitted, or the failure of a whole request found
 * while resolving it. Keyed by {@link #copyKey()} into the block copier.
 *
 * <p>The block token may be stale when this record is restored from a checkpoint; the copier lists
 * the block again when EBS refuses it.
 *
 * @param kind what this record is
 * @param requestId the replication request
 * @param splitId the split of the request that emitted it
 * @param totalSplits how many splits the request has
 * @param sourceRegion the source region
 * @param sourceSnapshotId the snapshot blocks are read from
 * @param blockIndex the block (BLOCK)
 * @param blockToken the token to read it with (BLOCK)
 * @param emittedBlocks blocks the split emitted (SPLIT_END)
 * @param targets the target snapshots, encoded by {@link TargetSnapshots}
 * @param failure why the request failed (REQUEST_FAILED)
 * @param requestStartMillis when the request was accepted, for durations and lag
 * @param generation the generation of the target snapshots (see {@code BlockRangeSplit})
 * @param deadLetter the encoded dead-letter record (DEAD_LETTER only): it leaves the pipeline right
 *     after the source, to the dead-letter sink
 */
public record BlockTask(
        Kind kind,
        String requestId,
        int splitId,
        int totalSplits,
        String sourceRegion,
        String sourceSnapshotId,
        int blockIndex,
        String blockToken,
        long emittedBlocks,
        String targets,
        String failure,
        long requestStartMillis,
        int generation,
        byte[] deadLetter,
        String copyInfo) {

    /** A task for targets of one generation. */
    public BlockTask(
            Kind kind,
            String requestId,
            int splitId,
            int totalSplits,
            String sourceRegion,
            String sourceSnapshotId,
            int blockIndex,
            String blockToken,
            long emittedBlocks,
            String targets,
            String failure,
            long requestStartMillis,
            int generation) {
        this(
                kind,
                requestId,
                splitId,
                totalSplits,
                sourceRegion,
                sourceSnapshotId,
                blockIndex,
                blockToken,
                emittedBlocks,
                targets,
                failure,
                requestStartMillis,
                generation,
                null,
                null);
    }

    /** A message that the intake could not accept, on its way to the dead-letter sink. */
    public static BlockTask deadLetter(String id, byte[] encoded) {
        return new BlockTask(
                Kind.DEAD_LETTER, id, 0, 1, "-", "-", -1, null, 0, "", null, 0, 0, encoded, null);
    }

    /** A task for targets of the first generation. */
    public BlockTask(
            Kind kind,
            String requestId,
            int splitId,
            int totalSplits,
            String sourceRegion,
            String sourceSnapshotId,
            int blockIndex,
            String blockToken,
            long emittedBlocks,
            String targets,
            String failure,
            long requestStartMillis) {
        this(
                kind,
                requestId,
                splitId,
                totalSplits,
                sourceRegion,
                sourceSnapshotId,
                blockIndex,
                blockToken,
                emittedBlocks,
                targets,
                failure,
                requestStartMillis,
                0,
                null,
                null);
    }

    /** What a {@link BlockTask} carries. */
    public enum Kind {
        BLOCK,
        SPLIT_END,
        REQUEST_FAILED,
        DEAD_LETTER
    }

    /** Spreads blocks of one request over the copier's subtasks; markers by split. */
    public int copyKey() {
        int salt = kind == Kind.BLOCK ? blockIndex : -1 - splitId;
        return 31 * requestId.hashCode() + salt;
    }
}
