package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.model.CopyInfo;

/**
 * What completion keeps per request and target besides the block digests: identity, how many splits
 * there are, where the target is in its life, and the completion values once computed. Keyed state
 * (a POJO: Flink serializes it with schema evolution), so fields are only added or removed, never
 * retyped: {@link #copyInfo} and {@link #heldFailure} are the text forms of state restored from
 * savepoints of earlier versions, turned into {@link #copyDetails} and {@link #heldError} by {@link
 * #upgrade()} when the state is read.
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

    /** How the request is copied, from its split ends. */
    public CopyInfo copyDetails;

    /**
     * The failure of a block that arrived before any event with the copy details: reported with the
     * next split end or failure, which carries them.
     */
    public Failure heldError;

    /**
     * A failure of the current target that waits for DescribeSnapshots to tell whether EBS
     * cancelled the target (then the failure is the cancellation's, and a replacement follows) or
     * the failure stands; {@code null} when none waits. Kept in state so that a restore asks again;
     * the first failure is the one reported.
     */
    public Failure pendingError;

    /**
     * Whether {@link #pendingError} is one block's failure, which may then wait for the copy
     * details as {@link #heldError} does; no longer once another failure came.
     */
    public boolean pendingErrorMayWait;

    /**
     * How far the read-back of the completed target got: every block below this index was read back
     * and found equal (and its digest dropped), so a restore reads on from here.
     */
    public int verifiedBelow;

    /** Earlier versions' one-string {@link #copyDetails}; only in restored state. */
    public String copyInfo;

    /** Earlier versions' text of {@link #heldError}; only in restored state. */
    public String heldFailure;

    public CompletionInfo() {}

    /**
     * Turns the text fields of state restored from an earlier version into the typed ones; a held
     * failure becomes {@link Failure#recordedWithoutReason}. Returns whether anything changed.
     */
    public boolean upgrade() {
        boolean changed = false;
        if (copyInfo != null) {
            copyDetails = copyDetails != null ? copyDetails : CopyInfo.decodeLegacy(copyInfo);
            copyInfo = null;
            changed = true;
        }
        if (heldFailure != null) {
            heldError = heldError != null ? heldError : Failure.recordedWithoutReason(heldFailure);
            heldFailure = null;
            changed = true;
        }
        return changed;
    }

    /** The role that writes the target, or {@code null}: the job's own credentials. */
    public String targetRole() {
        return copyDetails == null ? null : copyDetails.roleArn(targetRegion);
    }
}
