package io.ebsreplicator.connector.ebs.model;

import io.ebsreplicator.connector.ebs.exception.Failure;

/**
 * What the lineage source emits: a block to copy (a descriptor of about 200 bytes, never the data),
 * the end of a split with the number of blocks it emitted, the failure of a request for the targets
 * of a split, or a dead letter or a copy deletion on its way out. Keyed by {@link #copyKey()} into
 * the block copier. Built with the factory of its kind.
 *
 * <p>The block token may be stale when this record is restored from a checkpoint; the copier lists
 * the block again when EBS refuses it.
 *
 * <p>Stored in savepoints (the copier keeps its in-flight tasks in operator state) and serialized
 * by Flink as a POJO, so fields are only added or removed, never retyped. {@code targets}, {@code
 * failure} and {@code copyInfo} are the one-string forms of records from savepoints of earlier
 * versions, null in every record this version makes; {@link #upgraded()} turns such a record into
 * the typed form where it enters the copier.
 *
 * @param kind what this record is
 * @param requestId the replication request (the message id of a dead letter)
 * @param splitId the split of the request that emitted it
 * @param totalSplits how many splits the request has
 * @param sourceRegion the source region
 * @param sourceSnapshotId the snapshot blocks are read from
 * @param blockIndex the block (BLOCK)
 * @param blockToken the token to read it with (BLOCK)
 * @param emittedBlocks blocks the split emitted (SPLIT_END)
 * @param targetSnapshots the target snapshots of the split
 * @param error why the request failed (REQUEST_FAILED)
 * @param requestStartMillis when the request was accepted, for durations and lag
 * @param generation the generation of the target snapshots (see {@code BlockRangeSplit})
 * @param deadLetter the encoded dead-letter record (DEAD_LETTER only): it leaves the pipeline right
 *     after the source, to the dead-letter sink
 * @param copyDetails how the request is copied (SPLIT_END and REQUEST_FAILED only: blocks stay
 *     small)
 * @param targets earlier versions' one-string targets; only in restored records
 * @param failure earlier versions' failure text; only in restored records
 * @param copyInfo earlier versions' one-string copy info; only in restored records
 * @param deletion what became of a copy that retention let go (COPY_DELETION only): it leaves the
 *     pipeline right after the source, to the lifecycle sink
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
        TargetSnapshots targetSnapshots,
        Failure error,
        long requestStartMillis,
        int generation,
        byte[] deadLetter,
        CopyInfo copyDetails,
        String targets,
        String failure,
        String copyInfo,
        CopyDeletion deletion) {

    /** What a {@link BlockTask} carries. */
    public enum Kind {
        BLOCK,
        SPLIT_END,
        REQUEST_FAILED,
        DEAD_LETTER,
        COPY_DELETION
    }

    /**
     * What every task of one split shares: the request, the split, the source, the targets, the
     * target generation and how the request is copied.
     */
    public record Origin(
            String requestId,
            int splitId,
            int totalSplits,
            String sourceRegion,
            String sourceSnapshotId,
            TargetSnapshots targets,
            long requestStartMillis,
            int generation,
            CopyInfo copyDetails) {}

    /** A block to copy to the split's targets; without the copy details, to stay small. */
    public static BlockTask block(Origin o, int blockIndex, String blockToken) {
        return of(Kind.BLOCK, o, blockIndex, blockToken, 0, null, null);
    }

    /** The end of the split, after {@code emittedBlocks} blocks in all. */
    public static BlockTask splitEnd(Origin o, long emittedBlocks) {
        return of(Kind.SPLIT_END, o, -1, null, emittedBlocks, null, o.copyDetails());
    }

    /** The failure of the request for the split's targets. */
    public static BlockTask requestFailed(Origin o, Failure error) {
        return of(
                Kind.REQUEST_FAILED,
                o,
                -1,
                null,
                0,
                java.util.Objects.requireNonNull(error),
                o.copyDetails());
    }

    /** A message that the intake could not accept, on its way to the dead-letter sink. */
    public static BlockTask deadLetter(String id, byte[] encoded) {
        return new BlockTask(
                Kind.DEAD_LETTER,
                id,
                0,
                1,
                null,
                null,
                -1,
                null,
                0,
                TargetSnapshots.of(null),
                null,
                0,
                0,
                encoded.clone(),
                null,
                null,
                null,
                null,
                null);
    }

    /** What became of a copy that retention let go, on its way to the lifecycle sink. */
    public static BlockTask copyDeletion(CopyDeletion deletion) {
        return new BlockTask(
                Kind.COPY_DELETION,
                deletion.id(),
                0,
                1,
                deletion.sourceRegion(),
                null,
                -1,
                null,
                0,
                TargetSnapshots.of(null),
                null,
                0,
                0,
                null,
                null,
                null,
                null,
                null,
                deletion);
    }

    private static BlockTask of(
            Kind kind,
            Origin o,
            int blockIndex,
            String blockToken,
            long emittedBlocks,
            Failure error,
            CopyInfo copyDetails) {
        return new BlockTask(
                kind,
                o.requestId(),
                o.splitId(),
                o.totalSplits(),
                o.sourceRegion(),
                o.sourceSnapshotId(),
                blockIndex,
                blockToken,
                emittedBlocks,
                o.targets(),
                error,
                o.requestStartMillis(),
                o.generation(),
                null,
                copyDetails,
                null,
                null,
                null,
                null);
    }

    /**
     * This task in this version's form. A task restored from a savepoint taken before targets,
     * failures and copy details were typed has them as text: the targets and copy details are read
     * from it, and a failure becomes {@link Failure#recordedWithoutReason}, so that the request
     * still ends for every target.
     */
    public BlockTask upgraded() {
        boolean failedWithoutError = kind == Kind.REQUEST_FAILED && error == null;
        if (targets == null && failure == null && copyInfo == null && !failedWithoutError) {
            return this;
        }
        return new BlockTask(
                kind,
                requestId,
                splitId,
                totalSplits,
                sourceRegion,
                sourceSnapshotId,
                blockIndex,
                blockToken,
                emittedBlocks,
                targetSnapshots != null ? targetSnapshots : TargetSnapshots.decodeLegacy(targets),
                failedWithoutError ? Failure.recordedWithoutReason(failure) : error,
                requestStartMillis,
                generation,
                deadLetter,
                copyDetails != null ? copyDetails : CopyInfo.decodeLegacy(copyInfo),
                null,
                null,
                null,
                deletion);
    }

    /** Spreads blocks of one request over the copier's subtasks; markers by split. */
    public int copyKey() {
        int salt = kind == Kind.BLOCK ? blockIndex : -1 - splitId;
        return 31 * requestId.hashCode() + salt;
    }
}
