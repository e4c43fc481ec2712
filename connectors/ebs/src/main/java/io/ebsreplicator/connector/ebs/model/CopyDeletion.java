package io.ebsreplicator.connector.ebs.model;

import io.ebsreplicator.connector.ebs.exception.Failure;

import java.util.Objects;

/**
 * What became of one copy that a DR policy's retention let go: one per deletion split, emitted by
 * the source reader that ran it, split off right after the source and written to the lifecycle
 * topic in {@code serve} (logged only elsewhere). Flink serializes it as a POJO, inside a {@link
 * BlockTask} and on its way to the sink.
 *
 * @param id the deletion, unique per copy decided (the id of its split)
 * @param rule the policy rule whose retention let the copy go
 * @param sourceRegion the region of the lineage's source snapshots
 * @param lineage the lineage the copy belongs to
 * @param region the region of the copy
 * @param snapshotId the copy
 * @param copyStartMillis when the copy was started (EC2's start time of the snapshot)
 * @param decidedMillis when the retention decided to delete it
 * @param doneMillis when the deletion ran (or, in a dry run, would have)
 * @param outcome how it ended
 * @param failure why it failed ({@link Outcome#FAILED} only)
 */
public record CopyDeletion(
        String id,
        String rule,
        String sourceRegion,
        String lineage,
        String region,
        String snapshotId,
        long copyStartMillis,
        long decidedMillis,
        long doneMillis,
        Outcome outcome,
        Failure failure) {

    /** How a deletion ended. */
    public enum Outcome {
        /** EC2 accepted the deletion. */
        DELETED,
        /**
         * The copy was gone when the deletion ran: deleted by an attempt whose report a restore
         * discarded, or by someone else. The copy is gone either way.
         */
        ALREADY_GONE,
        /** A dry run: nothing was deleted. */
        DRY_RUN,
        /** The deletion failed; the lineage's next retention pass decides again. */
        FAILED
    }

    public CopyDeletion {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(outcome, "outcome");
        if ((outcome == Outcome.FAILED) != (failure != null)) {
            throw new IllegalArgumentException(
                    "A failed deletion, and only a failed one, has a failure: " + id);
        }
    }
}
