package io.ebsreplicator.connector.ebs.source.intake;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;

import java.util.Objects;

/**
 * One message taken from a {@link RequestIntake}, already decoded: a request to replicate, a
 * request that names its targets but is not served ({@code failure}: invalid as written, or its
 * deadline passed; it ends in a failure result per target), or a message that is not a usable
 * request at all ({@code deadLetter}: the encoded dead-letter record to publish, with the original
 * bytes inside), or a message that is deliberately not acted on ({@code skipped}: e.g. an AWS event
 * of a failed snapshot, with why). {@code stream} and {@code offset} say where it was, so the
 * enumerator can resume after it.
 */
public record IntakeRecord(
        String stream,
        long offset,
        ReplicationRequest request,
        Failure failure,
        byte[] deadLetter,
        String deadLetterId,
        String skipped) {

    public IntakeRecord {
        Objects.requireNonNull(stream, "stream");
        int kinds =
                (request == null ? 0 : 1)
                        + (deadLetter == null ? 0 : 1)
                        + (skipped == null ? 0 : 1);
        if (kinds != 1) {
            throw new IllegalArgumentException("either a request, a dead letter or a skip");
        }
    }

    public static IntakeRecord request(String stream, long offset, ReplicationRequest r) {
        return new IntakeRecord(stream, offset, r, null, null, null, null);
    }

    /** A message not acted on, and why (one log line); its position is taken like any other. */
    public static IntakeRecord skipped(String stream, long offset, String why) {
        return new IntakeRecord(
                stream, offset, null, null, null, null, Objects.requireNonNull(why));
    }

    /**
     * A request that is not served, for the reason the intake decided ({@code INVALID_REQUEST},
     * {@code DEADLINE_EXCEEDED}); it must name at least one target region, since its failure is
     * reported per target (otherwise it is a dead letter).
     */
    public static IntakeRecord invalid(
            String stream, long offset, ReplicationRequest r, Failure failure) {
        if (r.targets().isEmpty()) {
            throw new IllegalArgumentException(
                    "an invalid request without targets is a dead letter");
        }
        return new IntakeRecord(
                stream, offset, r, Objects.requireNonNull(failure), null, null, null);
    }

    /**
     * @param id a stable name for the dead letter, unique per message (its stream and offset)
     */
    public static IntakeRecord deadLetter(String stream, long offset, String id, byte[] encoded) {
        return new IntakeRecord(stream, offset, null, null, encoded, id, null);
    }
}
