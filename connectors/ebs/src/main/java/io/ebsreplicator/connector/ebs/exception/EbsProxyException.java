package io.ebsreplicator.connector.ebs.exception;

/**
 * A classified failure of an EBS call, with its context. Thrown by the proxy after it has retried
 * what is retryable; the {@link Kind} tells the caller what to do next, and the {@link
 * FailureReason} what a request that ends on it reports.
 */
public class EbsProxyException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** What a caller does about a failure. */
    public enum Kind {
        /**
         * Transient (throttling, 5xx, resets, timeouts) and the retry budget is spent: retry later.
         */
        RETRYABLE,
        /** A block token or page token expired or is invalid: list again from the block index. */
        INVALID_TOKEN,
        /** The request cannot succeed (access denied, not found, unrelated lineage, bad input). */
        FATAL
    }

    private final Kind kind;
    private final String errorCode;
    private final String reason;
    private final String region;
    private final String snapshotId;
    private final Integer blockIndex;
    private final FailureReason failureReason;

    /**
     * The failure reason follows from the kind, the error code and the modelled reason alone,
     * through {@link EbsErrorClassifier#failureReason}: never from the message.
     */
    public EbsProxyException(
            Kind kind,
            String errorCode,
            String reason,
            String region,
            String snapshotId,
            Integer blockIndex,
            String message,
            Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.errorCode = errorCode;
        this.reason = reason;
        this.region = region;
        this.snapshotId = snapshotId;
        this.blockIndex = blockIndex;
        this.failureReason = EbsErrorClassifier.failureReason(kind, errorCode, reason);
    }

    public Kind kind() {
        return kind;
    }

    /** The AWS error code (e.g. {@code ValidationException}), or a client-side one. */
    public String errorCode() {
        return errorCode;
    }

    /** The modelled reason (e.g. {@code UNRELATED_SNAPSHOTS}), or {@code null}. */
    public String reason() {
        return reason;
    }

    public String region() {
        return region;
    }

    public String snapshotId() {
        return snapshotId;
    }

    public Integer blockIndex() {
        return blockIndex;
    }

    /** What a request that fails on this error reports. */
    public FailureReason failureReason() {
        return failureReason;
    }
}
