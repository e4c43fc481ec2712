package io.ebsreplicator.connector.ebs.completion;

/**
 * What completion keeps per request and target besides the block digests: identity, how many splits
 * there are, where the target is in its life, and the completion values once computed. Keyed state
 * (a POJO: Flink serializes it with schema evolution).
 */
public class CompletionInfo {

    /** Blocks are still arriving. */
    public static final int COPYING = 0;

    /** CompleteSnapshot was accepted; waiting for the target to be {@code completed}. */
    public static final int SEALING = 1;

    /** The result was emitted. */
    public static final int DONE = 2;

    public String requestId;
    public String sourceRegion;
    public String sourceSnapshotId;
    public String targetRegion;
    public String targetSnapshotId;
    public long requestStartMillis;
    public int totalSplits = -1;
    public int phase = COPYING;
    public int changedBlocks;
    public String checksum;
    public long sealStartedMillis;

    /** The generation of {@link #targetSnapshotId}: events of older generations are late. */
    public int generation;

    /**
     * When the current target was found cancelled by EBS (0 if it was not): completion then waits
     * for the events of its replacement, the next generation.
     */
    public long cancelledMillis;

    /** What DescribeSnapshots said about the cancelled target. */
    public String cancelReason;

    /** How the request is copied, encoded by {@code CopyInfo}, from its split ends. */
    public String copyInfo;

    /**
     * The failure of a block that arrived before any event with the copy info: reported with the
     * next split end or failure, which carries it.
     */
    public String heldFailure;

    public CompletionInfo() {}
}
