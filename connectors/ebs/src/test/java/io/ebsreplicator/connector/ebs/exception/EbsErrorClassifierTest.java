package io.ebsreplicator.connector.ebs.exception;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException.Kind;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.AbortedException;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.ebs.model.AccessDeniedException;
import software.amazon.awssdk.services.ebs.model.AccessDeniedExceptionReason;
import software.amazon.awssdk.services.ebs.model.ConcurrentLimitExceededException;
import software.amazon.awssdk.services.ebs.model.ConflictException;
import software.amazon.awssdk.services.ebs.model.EbsException;
import software.amazon.awssdk.services.ebs.model.InternalServerException;
import software.amazon.awssdk.services.ebs.model.RequestThrottledException;
import software.amazon.awssdk.services.ebs.model.RequestThrottledExceptionReason;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundException;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundExceptionReason;
import software.amazon.awssdk.services.ebs.model.ServiceQuotaExceededException;
import software.amazon.awssdk.services.ebs.model.ServiceQuotaExceededExceptionReason;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.services.ebs.model.ValidationExceptionReason;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.SocketException;
import java.nio.channels.ClosedChannelException;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every entry of {@link EbsErrorClassifier}'s chain, with the exception objects the real SDK
 * builds. Runs in the unit test JVM; no server.
 */
class EbsErrorClassifierTest {

    private static final String OP = "PutSnapshotBlock";
    private static final String REGION = "us-west-2";
    private static final String SNAP = "snap-0123456789abcdef0";

    // ------------------------------------------------------------------ RETRYABLE

    @Test
    void internalServerErrorIsRetryable() {
        InternalServerException e =
                InternalServerException.builder()
                        .message("An internal error has occurred")
                        .statusCode(500)
                        .build();
        assertKind(e, Kind.RETRYABLE, "InternalServerException", null);
    }

    @ParameterizedTest
    @ValueSource(ints = {500, 502, 503, 504})
    void any5xxIsRetryable(int status) {
        EbsException e = ebsError(status, "ServiceUnavailable", "try later");
        assertKind(e, Kind.RETRYABLE, "ServiceUnavailable", null);
    }

    @ParameterizedTest
    @EnumSource(
            value = RequestThrottledExceptionReason.class,
            names = "UNKNOWN_TO_SDK_VERSION",
            mode = EnumSource.Mode.EXCLUDE)
    void requestThrottledIsRetryableWhateverTheReason(RequestThrottledExceptionReason reason) {
        RequestThrottledException e =
                RequestThrottledException.builder()
                        .reason(reason)
                        .message("Request throttled")
                        .statusCode(400)
                        .build();
        assertKind(e, Kind.RETRYABLE, "RequestThrottledException", reason.toString());
        assertThat(EbsErrorClassifier.isThrottling(e)).isTrue();
    }

    @Test
    void throttlingExceptionIsRetryable() {
        EbsException e = ebsError(400, "ThrottlingException", "Rate exceeded");
        assertKind(e, Kind.RETRYABLE, "ThrottlingException", null);
        assertThat(EbsErrorClassifier.isThrottling(e)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ExpiredTokenException", "ExpiredToken"})
    void expiredSessionCredentialsAreRetryableNotThrottling(String code) {
        EbsException e =
                ebsError(403, code, "The security token included in the" + " request is expired");
        assertKind(e, Kind.RETRYABLE, code, null);
        assertThat(EbsErrorClassifier.isThrottling(e))
                .as("a fresh session, not a slower rate, cures it")
                .isFalse();
    }

    @Test
    void ec2RequestLimitExceededIsRetryableThrottling() {
        Ec2Exception e = ec2Error(503, "RequestLimitExceeded", null);
        assertKind(e, Kind.RETRYABLE, "RequestLimitExceeded", null);
        assertThat(EbsErrorClassifier.isThrottling(e)).isTrue();
    }

    @Test
    void concurrentLimitExceededIsRetryable() {
        ConcurrentLimitExceededException e =
                ConcurrentLimitExceededException.builder()
                        .message("You have reached the limit for concurrent API requests")
                        .statusCode(400)
                        .build();
        assertKind(e, Kind.RETRYABLE, "ConcurrentLimitExceededException", null);
        assertThat(EbsErrorClassifier.isThrottling(e)).isTrue();
    }

    @Test
    void failedToReadBlockDataIsRetryable() {
        ValidationException e =
                ValidationException.builder()
                        .reason(ValidationExceptionReason.INVALID_PARAMETER_VALUE)
                        .message("Failed to read block data")
                        .statusCode(400)
                        .build();
        assertKind(e, Kind.RETRYABLE, "ValidationException", "INVALID_PARAMETER_VALUE");
    }

    @Test
    void failedToReadBlockDataIsFoundInTheWireMessageToo() {
        ValidationException e =
                (ValidationException)
                        ValidationException.builder()
                                .reason(ValidationExceptionReason.INVALID_PARAMETER_VALUE)
                                .statusCode(400)
                                .awsErrorDetails(
                                        AwsErrorDetails.builder()
                                                .errorCode("ValidationException")
                                                .errorMessage("Failed to read block data")
                                                .build())
                                .build();
        assertKind(e, Kind.RETRYABLE, "ValidationException", "INVALID_PARAMETER_VALUE");
    }

    @ParameterizedTest
    @EnumSource(
            value = ValidationExceptionReason.class,
            names = {"CONFLICTING_BLOCK_UPDATE", "WRITE_REQUEST_TIMEOUT"})
    void transientValidationReasonsAreRetryable(ValidationExceptionReason reason) {
        ValidationException e =
                ValidationException.builder()
                        .reason(reason)
                        .message("The block is being updated")
                        .statusCode(400)
                        .build();
        assertKind(e, Kind.RETRYABLE, "ValidationException", reason.toString());
        assertThat(EbsErrorClassifier.isThrottling(e)).isFalse();
    }

    @Test
    void snapshotNotFoundIsRetryableWhileTheSnapshotIsNew() {
        ResourceNotFoundException e = notFound(ResourceNotFoundExceptionReason.SNAPSHOT_NOT_FOUND);
        EbsProxyException c = EbsErrorClassifier.classify(e, OP, REGION, SNAP, 3, true);
        assertThat(c.kind()).isEqualTo(Kind.RETRYABLE);
        assertThat(c.reason()).isEqualTo("SNAPSHOT_NOT_FOUND");
        assertThat(EbsErrorClassifier.isRetryable(e, true)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(
            classes = {
                IOException.class,
                SocketException.class,
                ClosedChannelException.class,
                UncheckedIOException.class
            })
    void clientFailuresCausedByIoAreRetryable(Class<? extends Throwable> causeType)
            throws Exception {
        Throwable cause =
                causeType == UncheckedIOException.class
                        ? new UncheckedIOException(new IOException("Connection reset"))
                        : causeType == ClosedChannelException.class
                                ? new ClosedChannelException()
                                : causeType
                                        .getConstructor(String.class)
                                        .newInstance("Connection reset by peer");
        SdkClientException e =
                SdkClientException.builder()
                        .message("Unable to execute HTTP request: " + cause.getMessage())
                        .cause(cause)
                        .build();
        assertKind(e, Kind.RETRYABLE, "SdkClientException", null);
    }

    @Test
    void closedConnectionReportedByNettyIsRetryable() {
        // Netty's "connection closed" comes without an IOException in the chain.
        SdkClientException e =
                SdkClientException.create(
                        "The connection was closed during the request. The request will usually"
                                + " succeed on a retry");
        assertKind(e, Kind.RETRYABLE, "SdkClientException", null);
    }

    @Test
    void anUntrustedCertificateIsFatalThoughItArrivesAsAnIoFailure() {
        javax.net.ssl.SSLHandshakeException handshake =
                new javax.net.ssl.SSLHandshakeException("PKIX path building failed");
        handshake.initCause(
                new java.security.cert.CertificateException(
                        new java.security.cert.CertPathValidatorException("unknown CA")));
        SdkClientException e =
                SdkClientException.builder()
                        .message("Unable to execute HTTP request: PKIX path building failed")
                        .cause(handshake)
                        .build();
        assertFatal(e, "SdkClientException", null, FailureReason.TARGET_FAILED);
        assertFatal(handshake, "SSLHandshakeException", null, FailureReason.TARGET_FAILED);
    }

    @Test
    void aHandshakeCutShortIsRetryable() {
        // The peer closed the connection during the handshake: nothing wrong with the certificate.
        SdkClientException e =
                SdkClientException.builder()
                        .message("Unable to execute HTTP request")
                        .cause(
                                new javax.net.ssl.SSLHandshakeException(
                                        "Remote host terminated the handshake"))
                        .build();
        assertKind(e, Kind.RETRYABLE, "SdkClientException", null);
    }

    @Test
    void bareIoExceptionsAreRetryable() {
        assertKind(new IOException("Connection reset"), Kind.RETRYABLE, "IOException", null);
        assertKind(
                new UncheckedIOException(new IOException("closed")),
                Kind.RETRYABLE,
                "UncheckedIOException",
                null);
    }

    @Test
    void attemptAndCallTimeoutsAreRetryable() {
        assertKind(
                ApiCallAttemptTimeoutException.create(300),
                Kind.RETRYABLE,
                "ApiCallAttemptTimeoutException",
                null);
        assertKind(
                ApiCallTimeoutException.create(2000),
                Kind.RETRYABLE,
                "ApiCallTimeoutException",
                null);
        // The async client may wrap the timeout in a generic client exception.
        assertKind(
                SdkClientException.builder()
                        .message("timeout")
                        .cause(ApiCallAttemptTimeoutException.create(300))
                        .build(),
                Kind.RETRYABLE,
                "SdkClientException",
                null);
    }

    @Test
    void abandonedCallsAreRetryableNotFailures() {
        assertKind(new InterruptedException(), Kind.RETRYABLE, "InterruptedException", null);
        assertKind(
                new CancellationException("closed"), Kind.RETRYABLE, "CancellationException", null);
        assertKind(
                AbortedException.builder().cause(new InterruptedException()).build(),
                Kind.RETRYABLE,
                "AbortedException",
                null);
    }

    // ------------------------------------------------------------------ INVALID_TOKEN

    @ParameterizedTest
    @EnumSource(
            value = ValidationExceptionReason.class,
            names = {"INVALID_BLOCK_TOKEN", "INVALID_PAGE_TOKEN"})
    void invalidTokensAskForANewListing(ValidationExceptionReason reason) {
        ValidationException e =
                ValidationException.builder()
                        .reason(reason)
                        .message("The token is expired")
                        .statusCode(400)
                        .build();
        assertKind(e, Kind.INVALID_TOKEN, "ValidationException", reason.toString());
    }

    // ------------------------------------------------------------------ FATAL

    @ParameterizedTest
    @EnumSource(
            value = AccessDeniedExceptionReason.class,
            names = "UNKNOWN_TO_SDK_VERSION",
            mode = EnumSource.Mode.EXCLUDE)
    void accessDeniedIsFatal(AccessDeniedExceptionReason reason) {
        AccessDeniedException e =
                AccessDeniedException.builder()
                        .reason(reason)
                        .message("Access denied")
                        .statusCode(403)
                        .build();
        assertFatal(e, "AccessDeniedException", reason.toString(), FailureReason.ACCESS_DENIED);
    }

    @ParameterizedTest
    @EnumSource(
            value = ValidationExceptionReason.class,
            names = {
                "INVALID_BLOCK_TOKEN",
                "INVALID_PAGE_TOKEN",
                "CONFLICTING_BLOCK_UPDATE",
                "WRITE_REQUEST_TIMEOUT",
                "UNKNOWN_TO_SDK_VERSION"
            },
            mode = EnumSource.Mode.EXCLUDE)
    void otherValidationErrorsAreFatal(ValidationExceptionReason reason) {
        ValidationException e =
                ValidationException.builder()
                        .reason(reason)
                        .message("The snapshots are not related")
                        .statusCode(400)
                        .build();
        assertFatal(
                e,
                "ValidationException",
                reason.toString(),
                reason == ValidationExceptionReason.UNRELATED_SNAPSHOTS
                        ? FailureReason.UNRELATED_BASE
                        : FailureReason.REJECTED_BY_EBS);
    }

    @Test
    void validationWithoutReasonIsFatal() {
        // What EBS answers to a write on a snapshot that is no longer pending.
        ValidationException e =
                ValidationException.builder()
                        .message("The snapshot is not in pending state")
                        .statusCode(400)
                        .build();
        assertFatal(e, "ValidationException", null, FailureReason.REJECTED_BY_EBS);
    }

    @Test
    void snapshotNotFoundIsFatalOnceTheSnapshotIsNotNew() {
        ResourceNotFoundException e = notFound(ResourceNotFoundExceptionReason.SNAPSHOT_NOT_FOUND);
        assertFatal(
                e,
                "ResourceNotFoundException",
                "SNAPSHOT_NOT_FOUND",
                FailureReason.SNAPSHOT_NOT_FOUND);
    }

    @Test
    void dependencyNotFoundIsFatalEvenForANewSnapshot() {
        ResourceNotFoundException e =
                notFound(ResourceNotFoundExceptionReason.DEPENDENCY_RESOURCE_NOT_FOUND);
        EbsProxyException c = EbsErrorClassifier.classify(e, OP, REGION, SNAP, 3, true);
        assertThat(c.kind()).isEqualTo(Kind.FATAL);
        assertThat(c.reason()).isEqualTo("DEPENDENCY_RESOURCE_NOT_FOUND");
        assertThat(c.failureReason()).isEqualTo(FailureReason.SNAPSHOT_NOT_FOUND);
        assertThat(EbsErrorClassifier.isRetryable(e, true)).isFalse();
    }

    @Test
    void conflictIsFatal() {
        ConflictException e =
                ConflictException.builder()
                        .message("ClientToken reused with different parameters")
                        .statusCode(409)
                        .build();
        assertFatal(e, "ConflictException", null, FailureReason.REQUEST_ID_REUSED);
    }

    @Test
    void serviceQuotaExceededIsFatal() {
        ServiceQuotaExceededException e =
                ServiceQuotaExceededException.builder()
                        .reason(
                                ServiceQuotaExceededExceptionReason
                                        .DEPENDENCY_SERVICE_QUOTA_EXCEEDED)
                        .message("Too many pending snapshots")
                        .statusCode(402)
                        .build();
        assertFatal(
                e,
                "ServiceQuotaExceededException",
                "DEPENDENCY_SERVICE_QUOTA_EXCEEDED",
                FailureReason.QUOTA_EXCEEDED);
        assertThat(EbsErrorClassifier.isThrottling(e)).isFalse();
    }

    @Test
    void ec2SnapshotNotFoundIsFatalWithItsCode() {
        Ec2Exception e = ec2Error(400, "InvalidSnapshot.NotFound", null);
        assertFatal(e, "InvalidSnapshot.NotFound", null, FailureReason.SNAPSHOT_NOT_FOUND);
    }

    @Test
    void ec2RefusalsAreFatalAccessDenied() {
        for (String code : List.of("UnauthorizedOperation", "AuthFailure")) {
            Ec2Exception e =
                    (Ec2Exception)
                            Ec2Exception.builder()
                                    .statusCode(code.equals("AuthFailure") ? 401 : 403)
                                    .awsErrorDetails(
                                            AwsErrorDetails.builder().errorCode(code).build())
                                    .build();
            assertFatal(e, code, null, FailureReason.ACCESS_DENIED);
            assertThat(EbsErrorClassifier.isKnownErrorCode(code)).isTrue();
        }
    }

    @Test
    void ec2DeleteOfAPendingSnapshotIsFatalAndNamedInMetrics() {
        Ec2Exception e = ec2Error(400, "IncorrectState", null);
        assertFatal(e, "IncorrectState", null, FailureReason.TARGET_FAILED);
        assertThat(EbsErrorClassifier.isKnownErrorCode("IncorrectState")).isTrue();
        assertThat(EbsErrorClassifier.isKnownErrorCode(EbsErrorClassifier.SNAPSHOT_GONE)).isTrue();
    }

    @Test
    void clientFailuresWithoutIoAreFatal() {
        SdkClientException e =
                SdkClientException.create("Unable to load credentials from any provider");
        assertFatal(e, "SdkClientException", null, FailureReason.TARGET_FAILED);
    }

    @Test
    void unknownErrorsAreFatal() {
        assertFatal(
                new IllegalStateException("bug"),
                "IllegalStateException",
                null,
                FailureReason.TARGET_FAILED);
    }

    // ------------------------------------------------------------------ wrapping and context

    @Test
    void completionAndExecutionExceptionsAreUnwrapped() {
        RequestThrottledException throttled =
                RequestThrottledException.builder()
                        .reason(RequestThrottledExceptionReason.ACCOUNT_THROTTLED)
                        .message("slow down")
                        .statusCode(400)
                        .build();
        AccessDeniedException denied =
                AccessDeniedException.builder()
                        .reason(AccessDeniedExceptionReason.UNAUTHORIZED_ACCOUNT)
                        .message("no")
                        .statusCode(403)
                        .build();
        assertKind(
                new CompletionException(throttled),
                Kind.RETRYABLE,
                "RequestThrottledException",
                "ACCOUNT_THROTTLED");
        assertFatal(
                new ExecutionException(denied),
                "AccessDeniedException",
                "UNAUTHORIZED_ACCOUNT",
                FailureReason.ACCESS_DENIED);
        assertFatal(
                new CompletionException(new ExecutionException(denied)),
                "AccessDeniedException",
                "UNAUTHORIZED_ACCOUNT",
                FailureReason.ACCESS_DENIED);
        assertThat(EbsErrorClassifier.isThrottling(new CompletionException(throttled))).isTrue();
        assertThat(
                        EbsErrorClassifier.classify(
                                        new CompletionException(denied), OP, REGION, SNAP, 1, false)
                                .getCause())
                .isSameAs(denied);
    }

    @Test
    void validationWrappedInCompletionExceptionKeepsItsReason() {
        ValidationException e =
                ValidationException.builder()
                        .reason(ValidationExceptionReason.UNRELATED_SNAPSHOTS)
                        .message("The snapshots are not related")
                        .statusCode(400)
                        .build();
        assertFatal(
                new CompletionException(e),
                "ValidationException",
                "UNRELATED_SNAPSHOTS",
                FailureReason.UNRELATED_BASE);
        ValidationException token =
                ValidationException.builder()
                        .reason(ValidationExceptionReason.INVALID_BLOCK_TOKEN)
                        .message("expired")
                        .statusCode(400)
                        .build();
        assertKind(
                new CompletionException(token),
                Kind.INVALID_TOKEN,
                "ValidationException",
                "INVALID_BLOCK_TOKEN");
    }

    @Test
    void alreadyClassifiedErrorsPassThrough() {
        EbsProxyException first =
                EbsErrorClassifier.classify(
                        ApiCallAttemptTimeoutException.create(300), OP, REGION, SNAP, 7, false);
        assertThat(
                        EbsErrorClassifier.classify(
                                new CompletionException(first), "x", "y", null, null, false))
                .isSameAs(first);
        assertThat(EbsErrorClassifier.isRetryable(first, false)).isTrue();
    }

    @Test
    void theClassifiedErrorCarriesItsContext() {
        ValidationException e =
                ValidationException.builder()
                        .reason(ValidationExceptionReason.INVALID_BLOCK)
                        .message("The block index is outside the volume")
                        .statusCode(400)
                        .build();
        EbsProxyException c = EbsErrorClassifier.classify(e, OP, REGION, SNAP, 42, false);
        assertThat(c.region()).isEqualTo(REGION);
        assertThat(c.snapshotId()).isEqualTo(SNAP);
        assertThat(c.blockIndex()).isEqualTo(42);
        assertThat(c.getCause()).isSameAs(e);
        assertThat(c.getMessage())
                .contains(
                        OP,
                        REGION,
                        SNAP,
                        "block 42",
                        "FATAL",
                        "ValidationException",
                        "INVALID_BLOCK")
                .contains("The block index is outside the volume");
    }

    @Test
    void everyKindIsReachable() {
        // Guards the chain against an entry that shadows a whole kind.
        Set<Kind> seen =
                Set.of(
                        EbsErrorClassifier.classify(
                                        ApiCallTimeoutException.create(1),
                                        OP,
                                        REGION,
                                        SNAP,
                                        1,
                                        false)
                                .kind(),
                        EbsErrorClassifier.classify(
                                        ValidationException.builder()
                                                .reason(
                                                        ValidationExceptionReason
                                                                .INVALID_PAGE_TOKEN)
                                                .statusCode(400)
                                                .build(),
                                        OP,
                                        REGION,
                                        SNAP,
                                        1,
                                        false)
                                .kind(),
                        EbsErrorClassifier.classify(
                                        new IllegalArgumentException(), OP, REGION, SNAP, 1, false)
                                .kind());
        assertThat(seen).containsExactlyInAnyOrder(Kind.values());
    }

    // ------------------------------------------------------------------ failure reasons

    @Test
    void anExceptionBuiltByHandGetsItsReasonFromKindCodeAndModelledReasonOnly() {
        // What the proxy builds when it gives up, and what fakes build: no classifier call.
        EbsProxyException unrelated =
                new EbsProxyException(
                        Kind.FATAL,
                        "ValidationException",
                        "UNRELATED_SNAPSHOTS",
                        REGION,
                        SNAP,
                        null,
                        "AccessDeniedException ResourceNotFoundException in the text",
                        null);
        EbsProxyException gaveUp =
                new EbsProxyException(
                        Kind.RETRYABLE,
                        "AccessDeniedException",
                        null,
                        REGION,
                        SNAP,
                        null,
                        "UNRELATED_SNAPSHOTS",
                        null);

        assertThat(unrelated.failureReason())
                .as("the message does not count")
                .isEqualTo(FailureReason.UNRELATED_BASE);
        assertThat(gaveUp.failureReason())
                .as("still retryable when the retries ran out")
                .isEqualTo(FailureReason.EBS_UNAVAILABLE);
        assertThat(
                        new EbsProxyException(
                                        Kind.FATAL, null, null, null, null, null, "no code", null)
                                .failureReason())
                .isEqualTo(FailureReason.TARGET_FAILED);
    }

    @Test
    void aFailureOfAnErrorTakesTheReasonDecidedWhereTheErrorWasBuilt() {
        EbsProxyException denied =
                EbsErrorClassifier.classify(
                        AccessDeniedException.builder()
                                .reason(AccessDeniedExceptionReason.UNAUTHORIZED_ACCOUNT)
                                .message("not yours")
                                .statusCode(403)
                                .build(),
                        "ListSnapshotBlocks",
                        REGION,
                        SNAP,
                        null,
                        false);

        Failure fromProxy = Failure.of(new CompletionException(denied));
        Failure invalid = Failure.of(new InvalidRequestException("sourceRegion 'x' is bad"));
        Failure carried =
                Failure.of(
                        new CompletionException(
                                new FailureException(
                                        Failure.of(FailureReason.CHECKSUM_MISMATCH, "block 3"))));
        Failure unexpected = Failure.of(new IllegalStateException("bug"));

        assertThat(fromProxy.reason()).isEqualTo(FailureReason.ACCESS_DENIED);
        assertThat(fromProxy.message()).contains("ListSnapshotBlocks", REGION, SNAP, "not yours");
        assertThat(invalid)
                .isEqualTo(Failure.of(FailureReason.INVALID_REQUEST, "sourceRegion 'x' is bad"));
        assertThat(carried).isEqualTo(Failure.of(FailureReason.CHECKSUM_MISMATCH, "block 3"));
        assertThat(unexpected)
                .isEqualTo(Failure.of(FailureReason.TARGET_FAILED, "IllegalStateException: bug"));
    }

    // ------------------------------------------------------------------ helpers

    private static ResourceNotFoundException notFound(ResourceNotFoundExceptionReason reason) {
        return ResourceNotFoundException.builder()
                .reason(reason)
                .message("The snapshot does not exist")
                .statusCode(404)
                .build();
    }

    /**
     * A retryable error that outlasted the proxy's retries means EBS was unavailable; a token that
     * is still refused after a fresh listing is EBS refusing the input.
     */
    private static void assertKind(Throwable e, Kind kind, String errorCode, String reason) {
        assertClassified(
                e,
                kind,
                errorCode,
                reason,
                kind == Kind.RETRYABLE
                        ? FailureReason.EBS_UNAVAILABLE
                        : FailureReason.REJECTED_BY_EBS);
    }

    private static void assertFatal(
            Throwable e, String errorCode, String reason, FailureReason failure) {
        assertClassified(e, Kind.FATAL, errorCode, reason, failure);
    }

    private static void assertClassified(
            Throwable e, Kind kind, String errorCode, String reason, FailureReason failure) {
        EbsProxyException c = EbsErrorClassifier.classify(e, OP, REGION, SNAP, 5, false);
        assertThat(c.failureReason()).as("failure reason of %s", e).isEqualTo(failure);
        assertThat(c.kind()).as("kind of %s", e).isEqualTo(kind);
        assertThat(c.errorCode()).as("error code of %s", e).isEqualTo(errorCode);
        assertThat(c.reason()).as("reason of %s", e).isEqualTo(reason);
        assertThat(EbsErrorClassifier.isRetryable(e, false)).isEqualTo(kind == Kind.RETRYABLE);
        assertThat(c.getMessage()).contains(OP, REGION, SNAP);
    }

    /** An EBS service error as the SDK builds it from the wire: status, code and message. */
    private static EbsException ebsError(int status, String code, String message) {
        return wireError(EbsException.builder(), status, code, message);
    }

    /** An EC2 service error as the SDK builds it from the wire: status, code and message. */
    private static Ec2Exception ec2Error(int status, String code, String message) {
        return wireError(Ec2Exception.builder(), status, code, message);
    }

    @SuppressWarnings("unchecked")
    private static <T extends AwsServiceException> T wireError(
            AwsServiceException.Builder builder, int status, String code, String message) {
        return (T)
                builder.statusCode(status)
                        .awsErrorDetails(
                                AwsErrorDetails.builder()
                                        .errorCode(code)
                                        .errorMessage(message)
                                        .build())
                        .build();
    }
}
