package io.ebsreplicator.connector.ebs.model;

/**
 * What the block copier emits per target: a block written (index and SHA-256, never the data), the
 * end of a split, or a failure of the request for this target. Keyed by {@link #completionKey()}
 * into completion. {@code generation} tells a replacement target (after EBS cancelled one) from the
 * one it replaced, whatever order their events arrive in.
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
        String failure,
        String sourceRegion,
        String sourceSnapshotId,
        long requestStartMillis,
        int generation,
        String copyInfo) {

    /** An event of a first-generation target. */
    public BlockCopied(
            Kind kind,
            String requestId,
            String targetRegion,
            String targetSnapshotId,
            int splitId,
            int totalSplits,
            int blockIndex,
            byte[] digest,
            long emittedBlocks,
            String failure,
            String sourceRegion,
            String sourceSnapshotId,
            long requestStartMillis) {
        this(
                kind,
                requestId,
                targetRegion,
                targetSnapshotId,
                splitId,
                totalSplits,
                blockIndex,
                digest,
                emittedBlocks,
                failure,
                sourceRegion,
                sourceSnapshotId,
                requestStartMillis,
                0,
                null);
    }

    /** An event of a target of {@code generation}, without copy info. */
    public BlockCopied(
            Kind kind,
            String requestId,
            String targetRegion,
            String targetSnapshotId,
            int splitId,
            int totalSplits,
            int blockIndex,
            byte[] digest,
            long emittedBlocks,
            String failure,
            String sourceRegion,
            String sourceSnapshotId,
            long requestStartMillis,
            int generation) {
        this(
                kind,
                requestId,
                targetRegion,
                targetSnapshotId,
                splitId,
                totalSplits,
                blockIndex,
                digest,
                emittedBlocks,
                failure,
                sourceRegion,
                sourceSnapshotId,
                requestStartMillis,
                generation,
                null);
    }

    /** What a {@link BlockCopied} carries. */
    public enum Kind {
        BLOCK,
        SPLIT_END,
        FAILED
    }

    public String completionKey() {
        return requestId + "\n" + targetRegion;
    }
}
