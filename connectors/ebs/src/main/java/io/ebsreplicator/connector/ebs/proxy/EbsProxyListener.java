package io.ebsreplicator.connector.ebs.proxy;

/**
 * Hears what a proxy does, so that its user can count requests, retries and throttling answers (in
 * Flink metrics, for instance). Called on whichever thread runs the attempt: a task thread, the
 * enumerator's worker, an SDK completion thread or the proxy's scheduler. Implementations must be
 * thread-safe, cheap and must not throw.
 */
public interface EbsProxyListener {

    /** A listener that ignores everything: the default. */
    EbsProxyListener NO_OP = new EbsProxyListener() {};

    /** One attempt of {@code operation} (API name, e.g. {@code PutSnapshotBlock}) is sent. */
    default void onRequest(String operation) {}

    /**
     * A retryable failure of {@code operation} will be retried after a backoff.
     *
     * @param errorCode the AWS error code or the client-side exception name
     * @param reason the modelled reason, or {@code null}
     */
    default void onRetry(String operation, String errorCode, String reason) {}

    /**
     * An attempt of {@code operation} failed, whether it will be retried or not; called before
     * {@link #onThrottle} and {@link #onRetry} for the same attempt.
     *
     * @param errorCode the AWS error code or the client-side exception name
     * @param reason the modelled reason, or {@code null}
     */
    default void onFailure(String operation, String errorCode, String reason) {}

    /** EBS (or EC2) answered {@code operation} with a throttling error. */
    default void onThrottle(String operation) {}
}
