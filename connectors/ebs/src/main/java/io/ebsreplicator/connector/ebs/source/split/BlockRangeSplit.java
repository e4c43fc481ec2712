package io.ebsreplicator.connector.ebs.source.split;

import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;

import java.util.Objects;

/**
 * A range of block indexes of one request's source snapshot, {@code [rangeStart, rangeEnd)}, to be
 * copied to the request's target snapshots, with how far a reader got: the next block index to list
 * and the blocks emitted so far. Only indexes are kept, never block tokens or NextTokens, which
 * expire. Cut by the enumerator on the JobManager, listed by a reader; built with {@link
 * #builder()}.
 */
public final class BlockRangeSplit implements LineageSplit {

    private final String requestId;
    private final int splitIndex;
    private final int totalSplits;
    private final String sourceRegion;
    private final String sourceSnapshotId;
    private final String baseSnapshotId;
    private final TargetSnapshots targets;
    private final int rangeStart;
    private final int rangeEnd;
    private final int nextIndex;
    private final long emittedBlocks;
    private final long requestStartMillis;
    private final int generation;
    private final CopyInfo copyInfo;

    private BlockRangeSplit(Builder b) {
        this.requestId = Objects.requireNonNull(b.requestId, "requestId");
        this.sourceRegion = Objects.requireNonNull(b.sourceRegion, "sourceRegion");
        this.sourceSnapshotId = Objects.requireNonNull(b.sourceSnapshotId, "sourceSnapshotId");
        this.targets = Objects.requireNonNull(b.targets, "targets");
        if (b.splitIndex < 0 || b.splitIndex >= b.totalSplits) {
            throw new IllegalArgumentException(
                    "split " + b.splitIndex + " of " + b.totalSplits + " of " + b.requestId);
        }
        if (b.rangeStart > b.rangeEnd) {
            throw new IllegalArgumentException(
                    "range [" + b.rangeStart + ", " + b.rangeEnd + ") of " + b.requestId);
        }
        this.splitIndex = b.splitIndex;
        this.totalSplits = b.totalSplits;
        this.baseSnapshotId = b.baseSnapshotId;
        this.rangeStart = b.rangeStart;
        this.rangeEnd = b.rangeEnd;
        this.nextIndex = b.nextIndex == null ? b.rangeStart : b.nextIndex;
        this.emittedBlocks = b.emittedBlocks;
        this.requestStartMillis = b.requestStartMillis;
        this.generation = b.generation;
        this.copyInfo = b.copyInfo;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding every field of this split, to change some. */
    public Builder toBuilder() {
        return new Builder()
                .requestId(requestId)
                .split(splitIndex, totalSplits)
                .source(sourceRegion, sourceSnapshotId)
                .base(baseSnapshotId)
                .targets(targets)
                .range(rangeStart, rangeEnd)
                .progress(nextIndex, emittedBlocks)
                .requestStartMillis(requestStartMillis)
                .generation(generation)
                .copyInfo(copyInfo);
    }

    @Override
    public String splitId() {
        return requestId
                + "#"
                + splitIndex
                + LineageSplit.generationSuffix(generation, targets.regions());
    }

    /** The same split, advanced to {@code nextIndex} with {@code emittedBlocks} emitted. */
    public BlockRangeSplit withProgress(int nextIndex, long emittedBlocks) {
        return toBuilder().progress(nextIndex, emittedBlocks).build();
    }

    /** The same split, telling how its request is copied. */
    public BlockRangeSplit withCopyInfo(CopyInfo info) {
        return toBuilder().copyInfo(info).build();
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

    /** The target snapshots the range is written to. */
    public TargetSnapshots targets() {
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

    /** When the request was accepted, for durations and lag. */
    public long requestStartMillis() {
        return requestStartMillis;
    }

    /**
     * The target generation this split writes to: 0 for the targets first started for the request,
     * n for the n-th replacement of targets that EBS cancelled.
     */
    public int generation() {
        return generation;
    }

    /** How the split's request is copied; {@code null} in splits of older checkpoints. */
    public CopyInfo copyInfo() {
        return copyInfo;
    }

    @Override
    public boolean equals(Object o) {
        if (!(o instanceof BlockRangeSplit s)) {
            return false;
        }
        return splitIndex == s.splitIndex
                && totalSplits == s.totalSplits
                && rangeStart == s.rangeStart
                && rangeEnd == s.rangeEnd
                && nextIndex == s.nextIndex
                && emittedBlocks == s.emittedBlocks
                && requestStartMillis == s.requestStartMillis
                && generation == s.generation
                && requestId.equals(s.requestId)
                && sourceRegion.equals(s.sourceRegion)
                && sourceSnapshotId.equals(s.sourceSnapshotId)
                && Objects.equals(baseSnapshotId, s.baseSnapshotId)
                && targets.equals(s.targets)
                && Objects.equals(copyInfo, s.copyInfo);
    }

    @Override
    public int hashCode() {
        return Objects.hash(requestId, splitIndex, generation, nextIndex, emittedBlocks);
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
                + targets.snapshotByRegion()
                + "}";
    }

    /** Builds a {@link BlockRangeSplit}; the request, source, targets and split are required. */
    public static final class Builder {
        private String requestId;
        private int splitIndex;
        private int totalSplits;
        private String sourceRegion;
        private String sourceSnapshotId;
        private String baseSnapshotId;
        private TargetSnapshots targets;
        private int rangeStart;
        private int rangeEnd;
        private Integer nextIndex;
        private long emittedBlocks;
        private long requestStartMillis;
        private int generation;
        private CopyInfo copyInfo;

        private Builder() {}

        /** The request's id, source and base. */
        public Builder request(ReplicationRequest r) {
            return requestId(r.requestId())
                    .source(r.sourceRegion(), r.sourceSnapshotId())
                    .base(r.baseSnapshotId());
        }

        public Builder requestId(String id) {
            requestId = id;
            return this;
        }

        /** Split {@code index} of the {@code total} the request's block space is cut into. */
        public Builder split(int index, int total) {
            splitIndex = index;
            totalSplits = total;
            return this;
        }

        public Builder source(String region, String snapshotId) {
            sourceRegion = region;
            sourceSnapshotId = snapshotId;
            return this;
        }

        /** The base of an incremental copy; {@code null} (the default) for a full copy. */
        public Builder base(String snapshotId) {
            baseSnapshotId = snapshotId;
            return this;
        }

        public Builder targets(TargetSnapshots t) {
            targets = t;
            return this;
        }

        /**
         * Block indexes {@code [start, end)}; listing starts at {@code start} unless progressed.
         */
        public Builder range(int start, int end) {
            rangeStart = start;
            rangeEnd = end;
            return this;
        }

        /** How far a reader got: the next index to list and the blocks emitted so far. */
        public Builder progress(int next, long emitted) {
            nextIndex = next;
            emittedBlocks = emitted;
            return this;
        }

        /** When the request was accepted. */
        public Builder requestStartMillis(long millis) {
            requestStartMillis = millis;
            return this;
        }

        public Builder generation(int g) {
            generation = g;
            return this;
        }

        public Builder copyInfo(CopyInfo info) {
            copyInfo = info;
            return this;
        }

        public BlockRangeSplit build() {
            return new BlockRangeSplit(this);
        }
    }
}
