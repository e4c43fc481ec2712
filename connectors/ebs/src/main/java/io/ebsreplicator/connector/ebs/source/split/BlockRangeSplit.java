package io.ebsreplicator.connector.ebs.source.split;

import org.apache.flink.api.connector.source.SourceSplit;

import java.util.Objects;

/**
 * A range of block indexes of one request's source snapshot, {@code [rangeStart, rangeEnd)}, with
 * how far a reader got: the next block index to list and the blocks emitted so far. Only indexes
 * are kept, never block tokens or NextTokens, which expire. A split with a {@code failure} carries
 * a request that could not be resolved; its reader emits the failure and finishes it.
 *
 * <p>Stored in reader and enumerator state; see {@link BlockRangeSplitSerializer}.
 */
public final class BlockRangeSplit implements SourceSplit {

    private final String requestId;
    private final int splitIndex;
    private final int totalSplits;
    private final String sourceRegion;
    private final String sourceSnapshotId;
    private final String baseSnapshotId;
    private final String targets;
    private final int rangeStart;
    private final int rangeEnd;
    private final int nextIndex;
    private final long emittedBlocks;
    private final String failure;
    private final long requestStartMillis;
    private final int generation;
    private final byte[] deadLetter;
    private final String copyInfo;

    public BlockRangeSplit(
            String requestId,
            int splitIndex,
            int totalSplits,
            String sourceRegion,
            String sourceSnapshotId,
            String baseSnapshotId,
            String targets,
            int rangeStart,
            int rangeEnd,
            int nextIndex,
            long emittedBlocks,
            String failure,
            long requestStartMillis) {
        this(
                requestId,
                splitIndex,
                totalSplits,
                sourceRegion,
                sourceSnapshotId,
                baseSnapshotId,
                targets,
                rangeStart,
                rangeEnd,
                nextIndex,
                emittedBlocks,
                failure,
                requestStartMillis,
                0);
    }

    /**
     * @param generation the target generation this split writes to: 0 for the targets first started
     *     for the request, n for the n-th replacement of targets that EBS cancelled
     */
    public BlockRangeSplit(
            String requestId,
            int splitIndex,
            int totalSplits,
            String sourceRegion,
            String sourceSnapshotId,
            String baseSnapshotId,
            String targets,
            int rangeStart,
            int rangeEnd,
            int nextIndex,
            long emittedBlocks,
            String failure,
            long requestStartMillis,
            int generation) {
        this(
                requestId,
                splitIndex,
                totalSplits,
                sourceRegion,
                sourceSnapshotId,
                baseSnapshotId,
                targets,
                rangeStart,
                rangeEnd,
                nextIndex,
                emittedBlocks,
                failure,
                requestStartMillis,
                generation,
                null,
                null);
    }

    /** Every field; the serializer restores any split, dead letters included, through it. */
    BlockRangeSplit(
            String requestId,
            int splitIndex,
            int totalSplits,
            String sourceRegion,
            String sourceSnapshotId,
            String baseSnapshotId,
            String targets,
            int rangeStart,
            int rangeEnd,
            int nextIndex,
            long emittedBlocks,
            String failure,
            long requestStartMillis,
            int generation,
            byte[] deadLetter,
            String copyInfo) {
        this.requestId = Objects.requireNonNull(requestId);
        this.splitIndex = splitIndex;
        this.totalSplits = totalSplits;
        this.sourceRegion = Objects.requireNonNull(sourceRegion);
        this.sourceSnapshotId = Objects.requireNonNull(sourceSnapshotId);
        this.baseSnapshotId = baseSnapshotId;
        this.targets = Objects.requireNonNull(targets);
        this.rangeStart = rangeStart;
        this.rangeEnd = rangeEnd;
        this.nextIndex = nextIndex;
        this.emittedBlocks = emittedBlocks;
        this.failure = failure;
        this.requestStartMillis = requestStartMillis;
        this.generation = generation;
        this.deadLetter = deadLetter;
        this.copyInfo = copyInfo;
    }

    /**
     * A split that only carries a message the intake could not accept: its reader emits the encoded
     * dead-letter record once. {@code id} names the message (stream and offset).
     */
    public static BlockRangeSplit deadLetter(String id, byte[] encoded, long acceptedMillis) {
        return new BlockRangeSplit(
                id,
                0,
                1,
                "-",
                "-",
                null,
                "",
                0,
                0,
                0,
                0,
                "dead letter",
                acceptedMillis,
                0,
                encoded.clone(),
                null);
    }

    /** A split that only reports that its request failed. */
    public static BlockRangeSplit failed(
            String requestId,
            String sourceRegion,
            String sourceSnapshotId,
            String targets,
            String failure,
            long requestStartMillis) {
        return failed(
                requestId, sourceRegion, sourceSnapshotId, targets, failure, requestStartMillis, 0);
    }

    /** A split that only reports that the request failed for the targets of one generation. */
    public static BlockRangeSplit failed(
            String requestId,
            String sourceRegion,
            String sourceSnapshotId,
            String targets,
            String failure,
            long requestStartMillis,
            int generation) {
        return new BlockRangeSplit(
                requestId,
                0,
                1,
                sourceRegion,
                sourceSnapshotId,
                null,
                targets,
                0,
                0,
                0,
                0,
                failure,
                requestStartMillis,
                generation);
    }

    @Override
    public String splitId() {
        // A failure split for some targets shares index 0 with the request's first range; the
        // splits of a replacement generation cover the same ranges for some of the regions.
        return requestId
                + "#"
                + splitIndex
                + (generation == 0 ? "" : "@g" + generation + ":" + targetRegions())
                + (failure == null ? "" : "!failed");
    }

    private String targetRegions() {
        return String.join(
                ",", io.ebsreplicator.connector.ebs.model.TargetSnapshots.decode(targets).keySet());
    }

    /** The same split, advanced to {@code nextIndex} with {@code emittedBlocks} emitted. */
    public BlockRangeSplit withProgress(int nextIndex, long emittedBlocks) {
        return new BlockRangeSplit(
                requestId,
                splitIndex,
                totalSplits,
                sourceRegion,
                sourceSnapshotId,
                baseSnapshotId,
                targets,
                rangeStart,
                rangeEnd,
                nextIndex,
                emittedBlocks,
                failure,
                requestStartMillis,
                generation,
                deadLetter,
                copyInfo);
    }

    /** The same split, telling how its request is copied (see {@code CopyInfo}). */
    public BlockRangeSplit withCopyInfo(String encoded) {
        return new BlockRangeSplit(
                requestId,
                splitIndex,
                totalSplits,
                sourceRegion,
                sourceSnapshotId,
                baseSnapshotId,
                targets,
                rangeStart,
                rangeEnd,
                nextIndex,
                emittedBlocks,
                failure,
                requestStartMillis,
                generation,
                deadLetter,
                encoded);
    }

    public String requestId() {
        return requestId;
    }

    public int splitIndex() {
        return splitIndex;
    }

    public int totalSplits() {
        return totalSplits;
    }

    public String sourceRegion() {
        return sourceRegion;
    }

    public String sourceSnapshotId() {
        return sourceSnapshotId;
    }

    /** The base of an incremental copy, or {@code null} for a full copy. */
    public String baseSnapshotId() {
        return baseSnapshotId;
    }

    /** Target snapshots, encoded by {@code TargetSnapshots}. */
    public String targets() {
        return targets;
    }

    public int rangeStart() {
        return rangeStart;
    }

    public int rangeEnd() {
        return rangeEnd;
    }

    public int nextIndex() {
        return nextIndex;
    }

    public long emittedBlocks() {
        return emittedBlocks;
    }

    public String failure() {
        return failure;
    }

    public long requestStartMillis() {
        return requestStartMillis;
    }

    /** The target generation: 0 first, then one more for each replacement of cancelled targets. */
    public int generation() {
        return generation;
    }

    /** How the split's request is copied, encoded by {@code CopyInfo}; {@code null} if unknown. */
    public String copyInfo() {
        return copyInfo;
    }

    /** The encoded dead-letter record this split carries, or {@code null} for a request split. */
    public byte[] deadLetter() {
        return deadLetter == null ? null : deadLetter.clone();
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof BlockRangeSplit)) {
            return false;
        }
        BlockRangeSplit s = (BlockRangeSplit) o;
        return splitIndex == s.splitIndex
                && totalSplits == s.totalSplits
                && rangeStart == s.rangeStart
                && rangeEnd == s.rangeEnd
                && nextIndex == s.nextIndex
                && emittedBlocks == s.emittedBlocks
                && requestStartMillis == s.requestStartMillis
                && generation == s.generation
                && java.util.Arrays.equals(deadLetter, s.deadLetter)
                && Objects.equals(copyInfo, s.copyInfo)
                && requestId.equals(s.requestId)
                && sourceRegion.equals(s.sourceRegion)
                && sourceSnapshotId.equals(s.sourceSnapshotId)
                && Objects.equals(baseSnapshotId, s.baseSnapshotId)
                && targets.equals(s.targets)
                && Objects.equals(failure, s.failure);
    }

    @Override
    public int hashCode() {
        return Objects.hash(requestId, splitIndex, nextIndex, emittedBlocks);
    }

    @Override
    public String toString() {
        return "BlockRangeSplit{"
                + splitId()
                + " ["
                + rangeStart
                + ","
                + rangeEnd
                + ") next="
                + nextIndex
                + " emitted="
                + emittedBlocks
                + " source="
                + sourceRegion
                + "/"
                + sourceSnapshotId
                + (baseSnapshotId == null ? "" : " base=" + baseSnapshotId)
                + " targets="
                + targets
                + (failure == null ? "" : " failure=" + failure)
                + "}";
    }
}
