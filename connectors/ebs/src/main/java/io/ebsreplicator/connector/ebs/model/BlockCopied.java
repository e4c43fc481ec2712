package io.ebsreplicator.connector.ebs.model;

import io.ebsreplicator.connector.ebs.exception.Failure;

import java.util.Arrays;
import java.util.Objects;

/**
 * What the block copier emits per target: a block written (index and SHA-256, never the data), the
 * end of a split, or a failure of the request for this target. Keyed by {@link #completionKey()}
 * into completion. {@code generation} tells a replacement target (after EBS cancelled one) from the
 * one it replaced, whatever order their events arrive in. Built with the factory of its kind, from
 * the task it answers.
 *
 * <p>Serialized by Flink as a POJO (and kept in unaligned checkpoints while in flight), so fields
 * are only added or removed, never retyped. {@code failure} and {@code copyInfo} are the one-string
 * forms of records of earlier versions, null in every record this version makes; {@link
 * #upgraded()} turns such a record into the typed form where it enters completion.
 *
 * @param error why the request failed for this target (FAILED)
 * @param copyDetails how the request is copied (from split ends and request failures)
 * @param failure earlier versions' failure text; only in restored records
 * @param copyInfo earlier versions' one-string copy info; only in restored records
 */
public record BlockCopied(
        Kind kind,
        String requestId,
        String targetRegion,
        String targetSnapshotId,
        int splitId,
        int totalSplits,
        int blockIndex,
        byte[] digest,
        long emittedBlocks,
        Failure error,
        String sourceRegion,
        String sourceSnapshotId,
        long requestStartMillis,
        int generation,
        CopyInfo copyDetails,
        String failure,
        String copyInfo) {

    /** What a {@link BlockCopied} carries. */
    public enum Kind {
        BLOCK,
        SPLIT_END,
        FAILED
    }

    /**
     * Block {@code task} was written to {@code targetSnapshotId}; {@code digest} is its SHA-256.
     */
    public static BlockCopied block(
            BlockTask task, String targetRegion, String targetSnapshotId, byte[] digest) {
        return of(
                Kind.BLOCK,
                task,
                targetRegion,
                targetSnapshotId,
                Arrays.copyOf(digest, digest.length),
                null);
    }

    /** The split of {@code task} ended for this target. */
    public static BlockCopied splitEnd(
            BlockTask task, String targetRegion, String targetSnapshotId) {
        return of(Kind.SPLIT_END, task, targetRegion, targetSnapshotId, null, null);
    }

    /**
     * The request of {@code task} failed for this target; {@code targetSnapshotId} is {@code null}
     * if the target was never started.
     */
    public static BlockCopied failed(
            BlockTask task, String targetRegion, String targetSnapshotId, Failure error) {
        return of(
                Kind.FAILED,
                task,
                targetRegion,
                targetSnapshotId,
                null,
                Objects.requireNonNull(error, "error"));
    }

    private static BlockCopied of(
            Kind kind,
            BlockTask task,
            String targetRegion,
            String targetSnapshotId,
            byte[] digest,
            Failure error) {
        return new BlockCopied(
                kind,
                task.requestId(),
                targetRegion,
                targetSnapshotId,
                task.splitId(),
                task.totalSplits(),
                task.blockIndex(),
                digest,
                task.emittedBlocks(),
                error,
                task.sourceRegion(),
                task.sourceSnapshotId(),
                task.requestStartMillis(),
                task.generation(),
                task.copyDetails(),
                null,
                null);
    }

    /**
     * This event in this version's form: an event restored from before failures and copy details
     * were typed has them as text; the copy details are read from it, and a failure becomes {@link
     * Failure#recordedWithoutReason}, so that the request still ends for this target.
     */
    public BlockCopied upgraded() {
        boolean failedWithoutError = kind == Kind.FAILED && error == null;
        if (failure == null && copyInfo == null && !failedWithoutError) {
            return this;
        }
        return new BlockCopied(
                kind,
                requestId,
                targetRegion,
                targetSnapshotId,
                splitId,
                totalSplits,
                blockIndex,
                digest,
                emittedBlocks,
                failedWithoutError ? Failure.recordedWithoutReason(failure) : error,
                sourceRegion,
                sourceSnapshotId,
                requestStartMillis,
                generation,
                copyDetails != null ? copyDetails : CopyInfo.decodeLegacy(copyInfo),
                null,
                null);
    }

    public String completionKey() {
        return requestId + "\n" + targetRegion;
    }
}
