package io.ebsreplicator.local.api;

import org.slf4j.Logger;

import java.util.UUID;

/**
 * An error answered to a client in the EBS direct API error format: an HTTP status, the error shape
 * name sent in {@code x-amzn-ErrorType}, a message and, where the shape has one, a reason.
 *
 * <p>Thrown from anywhere in request handling; the HTTP layer turns it into the response. The
 * factory methods name every shape of the EBS service model so that call sites read like the
 * documentation.
 */
public final class EbsError extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int status;
    private final String type;
    private final String reason;

    public EbsError(int status, String type, String message, String reason) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.reason = reason;
    }

    public int status() {
        return status;
    }

    /** The error shape name, for example {@code ValidationException}. */
    public String type() {
        return type;
    }

    /** The modelled {@code Reason} member, or {@code null} when the shape has none. */
    public String reason() {
        return reason;
    }

    @Override
    public String toString() {
        return type + (reason == null ? "" : "(" + reason + ")") + ": " + getMessage();
    }

    public static EbsError validation(String reason, String message) {
        return new EbsError(400, "ValidationException", message, reason);
    }

    public static EbsError invalidParameter(String message) {
        return validation("INVALID_PARAMETER_VALUE", message);
    }

    public static EbsError throttled(String reason, String message) {
        return new EbsError(400, "RequestThrottledException", message, reason);
    }

    public static EbsError concurrentLimit(String message) {
        return new EbsError(400, "ConcurrentLimitExceededException", message, null);
    }

    public static EbsError accessDenied(String reason, String message) {
        return new EbsError(403, "AccessDeniedException", message, reason);
    }

    public static EbsError notFound(String reason, String message) {
        return new EbsError(404, "ResourceNotFoundException", message, reason);
    }

    public static EbsError snapshotNotFound(String snapshotId) {
        return notFound("SNAPSHOT_NOT_FOUND", "The snapshot '" + snapshotId + "' does not exist.");
    }

    public static EbsError conflict(String message) {
        return new EbsError(409, "ConflictException", message, null);
    }

    public static EbsError quotaExceeded(String reason, String message) {
        return new EbsError(402, "ServiceQuotaExceededException", message, reason);
    }

    public static EbsError internal(String message) {
        return new EbsError(500, "InternalServerException", message, null);
    }

    /**
     * An InternalServerException for a failure whose details stay on the server: the cause is
     * logged in full with a reference that the client's message carries, because a cause's text can
     * hold server paths.
     */
    public static EbsError internal(Logger log, String what, Throwable cause) {
        String reference = UUID.randomUUID().toString();
        log.error("{} (reference {})", what, reference, cause);
        return internal(what + " (reference " + reference + ").");
    }

    /** Authentication failures are answered by the AWS front end, outside the EBS model. */
    public static EbsError authFailure(String type, String message) {
        return new EbsError(403, type, message, null);
    }

    /** A body that is not valid JSON for the operation, as the AWS front end reports it. */
    public static EbsError serialization(String message) {
        return new EbsError(400, "SerializationException", message, null);
    }
}
