package io.ebsreplicator.connector.ebs.exception;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException.Kind;

import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkServiceException;
import software.amazon.awssdk.services.ebs.model.AccessDeniedException;
import software.amazon.awssdk.services.ebs.model.ConcurrentLimitExceededException;
import software.amazon.awssdk.services.ebs.model.ConflictException;
import software.amazon.awssdk.services.ebs.model.InternalServerException;
import software.amazon.awssdk.services.ebs.model.RequestThrottledException;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundException;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundExceptionReason;
import software.amazon.awssdk.services.ebs.model.ServiceQuotaExceededException;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.services.ebs.model.ValidationExceptionReason;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * The one place where a failure of an EBS or EC2 call is classified into an {@link
 * EbsProxyException} of kind {@link Kind#RETRYABLE}, {@link Kind#INVALID_TOKEN} or {@link
 * Kind#FATAL}. Stateless; called by the proxy on the thread that sees the failure (a task thread,
 * the enumerator's worker, or an SDK completion thread).
 *
 * <p>The chain, first match wins:
 *
 * <ol>
 *   <li>{@link CompletionException} / {@link ExecutionException} are unwrapped; an {@link
 *       EbsProxyException} is returned as it is (already classified).
 *   <li>RETRYABLE: HTTP 5xx and {@code InternalServerException}; {@code RequestThrottledException}
 *       (any reason), {@code ThrottlingException} and the other SDK throttling codes; {@code
 *       ConcurrentLimitExceededException}; {@code ExpiredTokenException} / {@code ExpiredToken}
 *       (assumed-role credentials that expired in flight; the provider has refreshed them); {@code
 *       ValidationException} "Failed to read block data", {@code CONFLICTING_BLOCK_UPDATE}, {@code
 *       WRITE_REQUEST_TIMEOUT}; {@code ResourceNotFoundException(SNAPSHOT_NOT_FOUND)} on a snapshot
 *       still within its grace after StartSnapshot; client-side I/O failures (resets, closed
 *       connections), attempt and call timeouts; an interrupted or abandoned call.
 *   <li>INVALID_TOKEN: {@code ValidationException} {@code INVALID_BLOCK_TOKEN} / {@code
 *       INVALID_PAGE_TOKEN}: list again from the block index.
 *   <li>FATAL: an endpoint certificate that is not trusted (a certificate error anywhere in the
 *       chain, although it arrives as an I/O failure), and everything else ({@code
 *       AccessDeniedException}, other {@code ValidationException}s, {@code
 *       ResourceNotFoundException}, {@code ConflictException}, {@code
 *       ServiceQuotaExceededException}, unknown errors).
 * </ol>
 *
 * <p>Each classified error also gets the {@link FailureReason} a request that fails on it reports
 * ({@link #failureReason}): decided here, from the kind, the error code and the modelled reason,
 * never from a message.
 *
 * <p>A read whose data does not match its checksum is not an SDK failure: the copier detects and
 * retries it itself.
 */
public final class EbsErrorClassifier {

    /**
     * Codes for temporary (assumed-role) credentials that expired: a request signed just before the
     * session ended arrived just after. The credentials provider refreshes ahead of expiry, so the
     * next attempt is signed with the new session; if the refresh itself fails, resolving the
     * credentials fails (fatally) instead.
     */
    private static final Set<String> EXPIRED_CREDENTIALS_CODES =
            Set.of("ExpiredTokenException", "ExpiredToken");

    /**
     * EC2's code for a snapshot that does not exist (any more): DescribeSnapshots of a missing id,
     * DeleteSnapshot of one deleted before. Fatal for a request; a deletion takes it as done.
     */
    public static final String SNAPSHOT_GONE = "InvalidSnapshot.NotFound";

    /** EC2's code for a call the account's policy does not allow (e.g. DescribeSnapshots). */
    static final String EC2_UNAUTHORIZED = "UnauthorizedOperation";

    /** EC2's code for credentials it does not accept. */
    static final String EC2_AUTH_FAILURE = "AuthFailure";

    /** The message EBS gives when it lost the body of a PutSnapshotBlock on the way; transient. */
    static final String FAILED_TO_READ_BLOCK_DATA = "Failed to read block data";

    /**
     * Throttling codes of AWS services beyond the EBS ones (EC2 answers {@code
     * RequestLimitExceeded}); the SDK's own list ({@code AwsErrorCode}) is internal API, so the
     * codes we can meet are named here.
     */
    private static final Set<String> THROTTLING_CODES =
            Set.of(
                    "RequestThrottledException",
                    "ThrottlingException",
                    "Throttling",
                    "ThrottledException",
                    "TooManyRequestsException",
                    "RequestLimitExceeded",
                    "RequestThrottled",
                    "EC2ThrottledException",
                    "SlowDown");

    /**
     * The error codes this chain names, plus the client-side failures it tells apart: a failure
     * with another code still gets a kind, but is counted as "other" in metrics, so that metric
     * names stay a bounded set.
     */
    private static final Set<String> KNOWN_CODES = knownCodes();

    /** The modelled reasons of the EBS exceptions, as the SDK lists them. */
    private static final Set<String> KNOWN_REASONS = knownReasonSet();

    private EbsErrorClassifier() {}

    /**
     * Whether {@code errorCode} is one this classifier names (AWS codes and client-side exception
     * names): the bounded set that metrics count by name.
     */
    public static boolean isKnownErrorCode(String errorCode) {
        return errorCode != null && KNOWN_CODES.contains(errorCode);
    }

    /** Whether {@code reason} is a modelled reason of an EBS exception the SDK knows. */
    public static boolean isKnownReason(String reason) {
        return reason != null && KNOWN_REASONS.contains(reason);
    }

    /**
     * Classifies {@code error} of {@code operation} (API name, e.g. {@code PutSnapshotBlock}).
     *
     * @param snapshotId the snapshot the call was about, or {@code null}
     * @param blockIndex the block the call was about, or {@code null}
     * @param snapshotIsNew whether {@code snapshotId} was started by us within the grace period in
     *     which EBS may still answer "snapshot does not exist" for it
     */
    public static EbsProxyException classify(
            Throwable error,
            String operation,
            String region,
            String snapshotId,
            Integer blockIndex,
            boolean snapshotIsNew) {
        Throwable e = unwrap(error);
        if (e instanceof EbsProxyException classified) {
            return classified;
        }
        String code = errorCode(e);
        String reason = reason(e);
        Kind kind = kind(e, code, reason, snapshotIsNew);
        return new EbsProxyException(
                kind,
                code,
                reason,
                region,
                snapshotId,
                blockIndex,
                message(kind, operation, region, snapshotId, blockIndex, code, reason, e),
                e);
    }

    /**
     * The reason a request that fails on an error of this kind, AWS error code and modelled reason
     * reports. An error that was still retryable when the proxy gave up means EBS was unavailable
     * for longer than the total timeout; a fatal one is named by its code.
     */
    public static FailureReason failureReason(Kind kind, String errorCode, String reason) {
        if (kind == Kind.RETRYABLE) {
            return FailureReason.EBS_UNAVAILABLE;
        }
        if (errorCode == null) {
            return FailureReason.TARGET_FAILED;
        }
        return switch (errorCode) {
            case "ValidationException" ->
                    ValidationExceptionReason.UNRELATED_SNAPSHOTS.toString().equals(reason)
                            ? FailureReason.UNRELATED_BASE
                            : FailureReason.REJECTED_BY_EBS;
            case "ResourceNotFoundException", SNAPSHOT_GONE -> FailureReason.SNAPSHOT_NOT_FOUND;
            case "AccessDeniedException", EC2_UNAUTHORIZED, EC2_AUTH_FAILURE ->
                    FailureReason.ACCESS_DENIED;
            case "ServiceQuotaExceededException" -> FailureReason.QUOTA_EXCEEDED;
            case "ConflictException" -> FailureReason.REQUEST_ID_REUSED;
            default -> FailureReason.TARGET_FAILED;
        };
    }

    /** Whether {@code error} is worth another attempt (kind {@link Kind#RETRYABLE}). */
    public static boolean isRetryable(Throwable error, boolean snapshotIsNew) {
        Throwable e = unwrap(error);
        if (e instanceof EbsProxyException classified) {
            return classified.kind() == Kind.RETRYABLE;
        }
        return kind(e, errorCode(e), reason(e), snapshotIsNew) == Kind.RETRYABLE;
    }

    /**
     * Whether {@code error} says the caller sends too fast: the request budget of the region cuts
     * its rate on it. ConcurrentLimitExceeded counts too: fewer requests per second also means
     * fewer at once.
     */
    public static boolean isThrottling(Throwable error) {
        Throwable e = unwrap(error);
        if (e instanceof EbsProxyException classified) {
            return classified.errorCode() != null
                    && (THROTTLING_CODES.contains(classified.errorCode())
                            || "ConcurrentLimitExceededException".equals(classified.errorCode()));
        }
        if (e instanceof RequestThrottledException
                || e instanceof ConcurrentLimitExceededException) {
            return true;
        }
        if (e instanceof SdkServiceException s) {
            String code = errorCode(e);
            return s.statusCode() == 429 || THROTTLING_CODES.contains(code);
        }
        return false;
    }

    /** Strips the wrappers that futures and executors put around the real failure. */
    public static Throwable unwrap(Throwable error) {
        Throwable e = error;
        while ((e instanceof CompletionException || e instanceof ExecutionException)
                && e.getCause() != null) {
            e = e.getCause();
        }
        return e;
    }

    // ------------------------------------------------------------------ the chain

    private static Kind kind(Throwable e, String code, String reason, boolean snapshotIsNew) {
        if (e instanceof SdkServiceException s) {
            return serviceKind(s, code, reason, snapshotIsNew);
        }
        if (e instanceof ApiCallAttemptTimeoutException || e instanceof ApiCallTimeoutException) {
            // The attempt took too long (a stalled connection, a slow link): another may not.
            return Kind.RETRYABLE;
        }
        if (hasCertificateCause(e)) {
            // The endpoint's certificate is not trusted (unknown CA, wrong host name, expired):
            // a configuration error that every attempt meets again, though it is an IOException.
            return Kind.FATAL;
        }
        if (e instanceof SdkClientException) {
            // Only failures of the connection are transient; others (credentials that cannot be
            // loaded, a request that cannot be marshalled) fail the same way every time.
            return hasTransientCause(e) ? Kind.RETRYABLE : Kind.FATAL;
        }
        if (e instanceof IOException
                || e instanceof UncheckedIOException
                || e instanceof TimeoutException) {
            return Kind.RETRYABLE;
        }
        if (e instanceof InterruptedException || e instanceof CancellationException) {
            // The call was abandoned (task cancelled, proxy closed), not refused by EBS: doing it
            // again later may well succeed, so it must not turn into a failed request.
            return Kind.RETRYABLE;
        }
        return Kind.FATAL;
    }

    private static Kind serviceKind(
            SdkServiceException s, String code, String reason, boolean snapshotIsNew) {
        if (s instanceof InternalServerException || s.statusCode() >= 500) {
            return Kind.RETRYABLE;
        }
        if (isThrottling(s)) {
            return Kind.RETRYABLE;
        }
        if (EXPIRED_CREDENTIALS_CODES.contains(code)) {
            return Kind.RETRYABLE;
        }
        if (s instanceof ValidationException v) {
            ValidationExceptionReason r = v.reason();
            if (r == ValidationExceptionReason.INVALID_BLOCK_TOKEN
                    || r == ValidationExceptionReason.INVALID_PAGE_TOKEN) {
                return Kind.INVALID_TOKEN;
            }
            if (r == ValidationExceptionReason.CONFLICTING_BLOCK_UPDATE
                    || r == ValidationExceptionReason.WRITE_REQUEST_TIMEOUT) {
                // An earlier attempt of the same put is still arriving, or its body stalled.
                return Kind.RETRYABLE;
            }
            String message = serviceMessage(v);
            if (message != null && message.contains(FAILED_TO_READ_BLOCK_DATA)) {
                return Kind.RETRYABLE;
            }
            return Kind.FATAL;
        }
        if (s instanceof ResourceNotFoundException nf) {
            // A new snapshot takes a while to become visible everywhere in EBS; after the grace it
            // really is gone.
            return snapshotIsNew
                            && nf.reason() == ResourceNotFoundExceptionReason.SNAPSHOT_NOT_FOUND
                    ? Kind.RETRYABLE
                    : Kind.FATAL;
        }
        if (s instanceof AccessDeniedException
                || s instanceof ConflictException
                || s instanceof ServiceQuotaExceededException) {
            return Kind.FATAL;
        }
        return Kind.FATAL;
    }

    private static boolean hasCertificateCause(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof java.security.cert.CertificateException
                    || c instanceof java.security.cert.CertPathBuilderException
                    || c instanceof java.security.cert.CertPathValidatorException) {
                return true;
            }
        }
        return false;
    }

    private static boolean hasTransientCause(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof IOException
                    || c instanceof UncheckedIOException
                    || c instanceof TimeoutException
                    || c instanceof InterruptedException
                    || c instanceof ApiCallAttemptTimeoutException
                    || c instanceof ApiCallTimeoutException) {
                return true;
            }
        }
        String m = e.getMessage();
        // Netty reports a connection closed mid-response without an IOException in the chain.
        return m != null
                && (m.contains("Connection reset")
                        || m.contains("connection was closed")
                        || m.contains("channel was closed")
                        || m.contains("Server failed to complete"));
    }

    private static Set<String> knownCodes() {
        Set<String> codes = new java.util.HashSet<>(THROTTLING_CODES);
        codes.addAll(
                Set.of(
                        "InternalServerException",
                        "ConcurrentLimitExceededException",
                        "ValidationException",
                        "ResourceNotFoundException",
                        "AccessDeniedException",
                        "ConflictException",
                        "ServiceQuotaExceededException",
                        // EC2 DescribeSnapshots or DeleteSnapshot of a snapshot that does not
                        // exist (any more).
                        SNAPSHOT_GONE,
                        // EC2 DeleteSnapshot of a snapshot still pending.
                        "IncorrectState",
                        // EC2 calls the account may not make, or credentials EC2 refuses.
                        EC2_UNAUTHORIZED,
                        EC2_AUTH_FAILURE,
                        // Client side: the simple names errorCode() gives them.
                        ApiCallAttemptTimeoutException.class.getSimpleName(),
                        ApiCallTimeoutException.class.getSimpleName(),
                        SdkClientException.class.getSimpleName(),
                        IOException.class.getSimpleName(),
                        UncheckedIOException.class.getSimpleName(),
                        TimeoutException.class.getSimpleName(),
                        InterruptedException.class.getSimpleName(),
                        CancellationException.class.getSimpleName()));
        return Set.copyOf(codes);
    }

    private static Set<String> knownReasonSet() {
        Set<String> reasons = new java.util.HashSet<>();
        ValidationExceptionReason.knownValues().forEach(r -> reasons.add(r.toString()));
        ResourceNotFoundExceptionReason.knownValues().forEach(r -> reasons.add(r.toString()));
        software.amazon.awssdk.services.ebs.model.RequestThrottledExceptionReason.knownValues()
                .forEach(r -> reasons.add(r.toString()));
        software.amazon.awssdk.services.ebs.model.AccessDeniedExceptionReason.knownValues()
                .forEach(r -> reasons.add(r.toString()));
        software.amazon.awssdk.services.ebs.model.ServiceQuotaExceededExceptionReason.knownValues()
                .forEach(r -> reasons.add(r.toString()));
        return Set.copyOf(reasons);
    }

    // ------------------------------------------------------------------ context

    private static String errorCode(Throwable e) {
        if (e instanceof AwsServiceException a) {
            AwsErrorDetails d = a.awsErrorDetails();
            if (d != null && d.errorCode() != null && !d.errorCode().isEmpty()) {
                return d.errorCode();
            }
        }
        return e.getClass().getSimpleName();
    }

    private static String reason(Throwable e) {
        if (e instanceof ValidationException v) {
            return v.reasonAsString();
        }
        if (e instanceof RequestThrottledException t) {
            return t.reasonAsString();
        }
        if (e instanceof ResourceNotFoundException nf) {
            return nf.reasonAsString();
        }
        if (e instanceof AccessDeniedException ad) {
            return ad.reasonAsString();
        }
        if (e instanceof ServiceQuotaExceededException q) {
            return q.reasonAsString();
        }
        return null;
    }

    private static String serviceMessage(AwsServiceException e) {
        AwsErrorDetails d = e.awsErrorDetails();
        if (d != null && d.errorMessage() != null) {
            return d.errorMessage();
        }
        return e.getMessage();
    }

    private static String message(
            Kind kind,
            String operation,
            String region,
            String snapshotId,
            Integer blockIndex,
            String code,
            String reason,
            Throwable e) {
        StringBuilder b = new StringBuilder();
        b.append(operation).append(" failed in ").append(region);
        if (snapshotId != null) {
            b.append(" for ").append(snapshotId);
        }
        if (blockIndex != null) {
            b.append(" block ").append(blockIndex);
        }
        b.append(" (").append(kind).append("): ").append(code);
        if (reason != null) {
            b.append('/').append(reason);
        }
        String detail = e instanceof AwsServiceException a ? serviceMessage(a) : e.getMessage();
        if (detail != null) {
            b.append(": ").append(detail);
        }
        return b.toString();
    }
}
