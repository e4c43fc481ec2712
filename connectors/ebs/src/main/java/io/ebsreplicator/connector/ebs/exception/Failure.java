package io.ebsreplicator.connector.ebs.exception;

import java.util.Objects;

/**
 * Why a request failed for a target: the {@link FailureReason} decided where the failure was found,
 * and a message with its context for people (snapshot, block, region, what EBS said). Nothing
 * decides anything by the message. Travels in failure splits, in stream records and in completion's
 * keyed state (a record of an enum and a string: Flink serializes it as a POJO), and ends in the
 * result's {@code error}.
 *
 * @param reason the public code
 * @param message what happened, for people; never parsed
 */
public record Failure(FailureReason reason, String message) {

    public Failure {
        Objects.requireNonNull(reason, "reason");
        message = message == null ? "" : message;
    }

    /** A failure the job decided itself. */
    public static Failure of(FailureReason reason, String message) {
        return new Failure(reason, message);
    }

    /**
     * A failure that a stream record or completion state restored from a savepoint of an earlier
     * version kept as text only. It ends as {@link FailureReason#TARGET_FAILED} with that text: a
     * reason is never read from a message.
     */
    public static Failure recordedWithoutReason(String text) {
        return new Failure(
                FailureReason.TARGET_FAILED,
                (text == null || text.isEmpty() ? "The request failed" : text)
                        + " (recorded by an earlier version, which kept no reason)");
    }

    /**
     * The failure an error stands for, with the reason decided where the error was built: an {@link
     * EbsProxyException} its classified reason, an {@link InvalidRequestException} {@link
     * FailureReason#INVALID_REQUEST}, a {@link FailureException} the failure it carries, anything
     * else {@link FailureReason#TARGET_FAILED}. Wrappers of futures and executors are looked
     * through.
     */
    public static Failure of(Throwable error) {
        Throwable e = EbsErrorClassifier.unwrap(error);
        if (e instanceof EbsProxyException p) {
            return new Failure(p.failureReason(), p.getMessage());
        }
        if (e instanceof InvalidRequestException) {
            return new Failure(FailureReason.INVALID_REQUEST, e.getMessage());
        }
        if (e instanceof FailureException f) {
            return f.failure();
        }
        return new Failure(
                FailureReason.TARGET_FAILED, e.getClass().getSimpleName() + ": " + e.getMessage());
    }
}
