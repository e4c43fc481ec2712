package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException.Kind;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.services.ebs.model.AccessDeniedException;
import software.amazon.awssdk.services.ebs.model.AccessDeniedExceptionReason;
import software.amazon.awssdk.services.ebs.model.EbsException;
import software.amazon.awssdk.services.ebs.model.RequestThrottledException;
import software.amazon.awssdk.services.ebs.model.RequestThrottledExceptionReason;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundException;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundExceptionReason;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.services.ebs.model.ValidationExceptionReason;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link RetryingCaller} alone: classification, the request budget, attempt and total timeouts,
 * backoff and the new-snapshot grace. Each attempt is a scripted {@link Attempts} that answers with
 * the exceptions the real SDK builds; deadlines, budgets and the grace run on clocks the test moves
 * by hand, and backoffs are a millisecond so that retries are immediate. Runs in the unit test JVM;
 * no server.
 */
class RetryingCallerTest {

    private static final String REGION = "us-west-2";
    private static final String SNAP = "snap-0123456789abcdef0";

    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final ManualClock clock = new ManualClock(Instant.parse("2026-01-01T00:00:00Z"));
    private final Listener listener = new Listener();
    private final List<RetryingCaller> callers = new ArrayList<>();

    @AfterEach
    void closeCallers() {
        callers.forEach(RetryingCaller::close);
    }

    // ------------------------------------------------------------------ classification

    @Test
    void retryableFailuresAreRetriedUntilTheCallSucceeds() throws Exception {
        RetryingCaller caller = caller(config());
        Attempts<String> attempts =
                new Attempts<String>().fail(serverError()).fail(serverError()).succeed("done");

        String result = get(caller.call(EbsOperation.GET_SNAPSHOT_BLOCK, SNAP, 7, attempts));

        assertThat(result).isEqualTo("done");
        assertThat(attempts.count()).as("two failures, then the answer").isEqualTo(3);
        assertThat(listener.count("request GetSnapshotBlock")).isEqualTo(3);
        assertThat(listener.count("failure GetSnapshotBlock")).isEqualTo(2);
        assertThat(listener.count("retry GetSnapshotBlock")).isEqualTo(2);
        assertThat(listener.count("throttle GetSnapshotBlock")).isZero();
    }

    @Test
    void fatalFailuresComeOutAtOnceWithTheirContext() throws Exception {
        RetryingCaller caller = caller(config());
        Attempts<Void> attempts =
                new Attempts<Void>()
                        .fail(
                                AccessDeniedException.builder()
                                        .reason(AccessDeniedExceptionReason.UNAUTHORIZED_ACCOUNT)
                                        .message("no")
                                        .statusCode(403)
                                        .build());

        EbsProxyException e =
                failure(caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 3, attempts));

        assertThat(e.kind()).isEqualTo(Kind.FATAL);
        assertThat(e.errorCode()).isEqualTo("AccessDeniedException");
        assertThat(e.reason()).isEqualTo("UNAUTHORIZED_ACCOUNT");
        assertThat(e.region()).isEqualTo(REGION);
        assertThat(e.snapshotId()).isEqualTo(SNAP);
        assertThat(e.blockIndex()).isEqualTo(3);
        assertThat(attempts.count()).as("nothing fatal is retried").isEqualTo(1);
        assertThat(listener.count("failure PutSnapshotBlock")).isEqualTo(1);
        assertThat(listener.count("retry PutSnapshotBlock")).isZero();
    }

    @Test
    void invalidTokensComeOutAtOnceForTheCallerToListAgain() throws Exception {
        RetryingCaller caller = caller(config());
        Attempts<Void> attempts =
                new Attempts<Void>()
                        .fail(
                                ValidationException.builder()
                                        .reason(ValidationExceptionReason.INVALID_BLOCK_TOKEN)
                                        .message("expired")
                                        .statusCode(400)
                                        .build());

        EbsProxyException e =
                failure(caller.call(EbsOperation.GET_SNAPSHOT_BLOCK, SNAP, 0, attempts));

        assertThat(e.kind()).isEqualTo(Kind.INVALID_TOKEN);
        assertThat(attempts.count()).isEqualTo(1);
    }

    @Test
    void anAttemptThatThrowsInsteadOfAnsweringIsClassifiedLikeAFailedOne() throws Exception {
        RetryingCaller caller = caller(config());
        Attempts<String> attempts =
                new Attempts<String>().fail(serverError()).succeed("done").throwingFirst();

        assertThat(get(caller.call(EbsOperation.LIST_SNAPSHOT_BLOCKS, SNAP, null, attempts)))
                .isEqualTo("done");
        assertThat(listener.count("retry ListSnapshotBlocks")).isEqualTo(1);
    }

    // ------------------------------------------------------------------ new-snapshot grace

    @Test
    void notFoundOnAWriteToANewSnapshotIsRetriedOnlyWithinTheGrace() throws Exception {
        RetryingCaller caller = caller(config().newSnapshotGrace(Duration.ofSeconds(90)));
        caller.snapshotStarted(SNAP, clock.instant());

        Attempts<Void> put = new Attempts<Void>().fail(notFound()).fail(notFound()).succeed(null);
        get(caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 0, put));
        assertThat(put.count()).as("retried while EBS makes it visible").isEqualTo(3);

        Attempts<String> complete = new Attempts<String>().fail(notFound()).succeed("pending");
        assertThat(get(caller.call(EbsOperation.COMPLETE_SNAPSHOT, SNAP, null, complete)))
                .isEqualTo("pending");

        Attempts<Void> read = new Attempts<Void>().fail(notFound());
        assertThat(failure(caller.call(EbsOperation.GET_SNAPSHOT_BLOCK, SNAP, 0, read)).kind())
                .as("reads and lists are of completed snapshots: no grace")
                .isEqualTo(Kind.FATAL);

        clock.advance(Duration.ofSeconds(91));
        Attempts<Void> late = new Attempts<Void>().fail(notFound());
        EbsProxyException e = failure(caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 0, late));
        assertThat(e.kind()).as("past the grace, the snapshot is gone").isEqualTo(Kind.FATAL);
        assertThat(e.reason()).isEqualTo("SNAPSHOT_NOT_FOUND");
        assertThat(late.count()).isEqualTo(1);
    }

    @Test
    void aSnapshotNobodyToldTheCallerAboutGetsNoGrace() throws Exception {
        RetryingCaller caller = caller(config());
        caller.snapshotStarted("snap-other", clock.instant());
        Attempts<Void> put = new Attempts<Void>().fail(notFound());

        assertThat(failure(caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 0, put)).kind())
                .isEqualTo(Kind.FATAL);
        assertThat(caller.isNew(null)).isFalse();
    }

    @Test
    void aStartTimeAheadOfTheClockCountsFromNowAndTheLaterStartWins() {
        RetryingCaller caller = caller(config().newSnapshotGrace(Duration.ofSeconds(90)));
        caller.snapshotStarted(SNAP, clock.instant().plus(Duration.ofHours(1)));
        clock.advance(Duration.ofSeconds(60));
        assertThat(caller.isNew(SNAP)).isTrue();
        clock.advance(Duration.ofSeconds(31));
        assertThat(caller.isNew(SNAP)).as("skew does not stretch the grace").isFalse();

        caller.snapshotStarted("snap-a", clock.instant());
        caller.snapshotStarted("snap-a", clock.instant().minus(Duration.ofMinutes(10)));
        clock.advance(Duration.ofSeconds(60));
        assertThat(caller.isNew("snap-a")).as("an older start does not end the grace").isTrue();
    }

    // ------------------------------------------------------------------ budget

    @Test
    void throttlingSlowsTheBudgetOfItsGroupAndIsRetried() throws Exception {
        RetryingCaller caller = caller(config());
        RequestBudget put = caller.budget(RequestBudget.Group.PUT);
        RequestBudget get = caller.budget(RequestBudget.Group.GET);
        Attempts<Void> attempts =
                new Attempts<Void>()
                        .fail(
                                RequestThrottledException.builder()
                                        .reason(RequestThrottledExceptionReason.ACCOUNT_THROTTLED)
                                        .message("slow down")
                                        .statusCode(400)
                                        .build())
                        .succeed(null);

        get(caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 0, attempts));

        assertThat(put.throttles()).isEqualTo(1);
        assertThat(put.currentRate()).isLessThan(put.configuredRate());
        assertThat(get.throttles()).as("only the group that was throttled").isZero();
        assertThat(listener.count("throttle PutSnapshotBlock")).isEqualTo(1);
        assertThat(listener.count("retry PutSnapshotBlock")).isEqualTo(1);
    }

    @Test
    void anAttemptBeyondTheBudgetWaitsOnTheSchedulerNotOnTheCallersThread() throws Exception {
        // 1/s, of which the budget spends 95 %, with a burst of one second: one request at once,
        // the next a second later. The budget's clock stands still, so only the scheduler's real
        // wait lets the second one go.
        RetryingCaller caller = caller(config().putRate(1));
        Attempts<String> first = new Attempts<String>().succeed("first");
        Attempts<String> second = new Attempts<String>().succeed("second");

        CompletableFuture<String> a = caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 0, first);
        long t0 = System.nanoTime();
        CompletableFuture<String> b = caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 1, second);

        assertThat(first.count()).as("sent on the caller's thread").isEqualTo(1);
        assertThat(a).isCompletedWithValue("first");
        assertThat(second.count()).as("waits for the budget, not sent yet").isZero();
        assertThat(get(b)).isEqualTo("second");
        assertThat(System.nanoTime() - t0).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(800));
        assertThat(caller.call(EbsOperation.GET_SNAPSHOT_BLOCK, SNAP, 0, first))
                .as("another group's budget is not spent by puts")
                .isCompletedWithValue("first");
    }

    // ------------------------------------------------------------------ timeouts and backoff

    @Test
    void eachAttemptGetsItsTimeoutCappedByWhatIsLeftOfTheTotal() throws Exception {
        RetryingCaller caller =
                caller(
                        config().attemptTimeout(Duration.ofSeconds(2))
                                .totalTimeout(Duration.ofMillis(2_500)));
        // Every attempt takes a second of the caller's clock and fails retryably.
        Attempts<Void> attempts =
                new Attempts<Void>()
                        .taking(Duration.ofSeconds(1))
                        .fail(serverError())
                        .fail(serverError())
                        .fail(serverError())
                        .fail(serverError());

        EbsProxyException e =
                failure(caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 0, attempts));

        assertThat(attempts.timeouts())
                .as("the attempt timeout, then what is left of the 2.5 s")
                .containsExactly(
                        Duration.ofSeconds(2), Duration.ofMillis(1_500), Duration.ofMillis(500));
        assertThat(e.kind()).isEqualTo(Kind.RETRYABLE);
        assertThat(e.getMessage())
                .contains("gave up after 3 attempts within the total timeout of PT2.5S");
        assertThat(listener.count("retry PutSnapshotBlock")).isEqualTo(2);
        assertThat(listener.count("failure PutSnapshotBlock")).isEqualTo(3);
    }

    @Test
    void anAttemptIsNeverGivenLessThanTheShortestUsefulTimeout() throws Exception {
        RetryingCaller caller =
                caller(
                        config().attemptTimeout(Duration.ofSeconds(1))
                                .totalTimeout(Duration.ofMillis(1_020)));
        Attempts<Void> attempts =
                new Attempts<Void>()
                        .taking(Duration.ofSeconds(1))
                        .fail(serverError())
                        .fail(serverError());

        failure(caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 0, attempts));

        assertThat(attempts.timeouts())
                .containsExactly(
                        Duration.ofSeconds(1), Duration.ofNanos(RetryingCaller.MIN_ATTEMPT_NANOS));
    }

    @Test
    void controlPlaneCallsRunOnTheirOwnTimeouts() throws Exception {
        RetryingCaller caller =
                caller(
                        config().attemptTimeout(Duration.ofSeconds(30))
                                .totalTimeout(Duration.ofMinutes(10))
                                .controlAttemptTimeout(Duration.ofMillis(300))
                                .controlTotalTimeout(Duration.ofSeconds(2)));
        Attempts<Void> attempts =
                new Attempts<Void>().taking(Duration.ofSeconds(1)).fail(serverError());
        for (int i = 0; i < 5; i++) {
            attempts.fail(serverError());
        }

        EbsProxyException e =
                failure(caller.call(EbsOperation.START_SNAPSHOT, null, null, attempts));

        assertThat(attempts.timeouts().get(0)).isEqualTo(Duration.ofMillis(300));
        assertThat(e.getMessage()).contains("within the total timeout of PT2S");
    }

    @Test
    void backoffIsFullJitterUnderACapThatDoublesUpToTheMax() {
        RetryingCaller caller =
                caller(
                        config().baseBackoff(Duration.ofMillis(100))
                                .maxBackoff(Duration.ofSeconds(1)));
        long ms = TimeUnit.MILLISECONDS.toNanos(1);
        Map<Integer, Long> caps =
                Map.of(
                        1, 100 * ms, 2, 200 * ms, 3, 400 * ms, 4, 800 * ms, 5, 1000 * ms, 40,
                        1000 * ms);
        caps.forEach(
                (failed, cap) -> {
                    long low = Long.MAX_VALUE;
                    long high = 0;
                    for (int i = 0; i < 2_000; i++) {
                        long b = caller.backoffNanos(failed);
                        assertThat(b).isBetween(0L, cap);
                        low = Math.min(low, b);
                        high = Math.max(high, b);
                    }
                    assertThat(low)
                            .as("jitter reaches down to 0 after %d", failed)
                            .isLessThan(cap / 10);
                    assertThat(high)
                            .as("and up to the cap after %d", failed)
                            .isGreaterThan(cap * 9 / 10);
                });
    }

    // ------------------------------------------------------------------ close and cancel

    @Test
    void closingFailsWaitingAndNewCallsAsRetryable() throws Exception {
        RetryingCaller caller = caller(config());
        Attempts<Void> hanging = new Attempts<Void>().hang();
        CompletableFuture<Void> waiting =
                caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 0, hanging);

        caller.close();

        assertThat(failure(waiting).kind()).isEqualTo(Kind.RETRYABLE);
        Attempts<Void> after = new Attempts<Void>().succeed(null);
        assertThat(failure(caller.call(EbsOperation.PUT_SNAPSHOT_BLOCK, SNAP, 1, after)).kind())
                .isEqualTo(Kind.RETRYABLE);
        assertThat(after.count()).as("a closed caller sends nothing").isZero();
    }

    @Test
    void cancellingACallCancelsItsAttemptOnTheWire() {
        RetryingCaller caller = caller(config());
        Attempts<Void> hanging = new Attempts<Void>().hang();
        CompletableFuture<Void> call =
                caller.call(EbsOperation.GET_SNAPSHOT_BLOCK, SNAP, 0, hanging);

        call.cancel(true);

        assertThat(hanging.last()).isCancelled();
    }

    // ------------------------------------------------------------------ helpers

    private RetryingCaller caller(EbsProxyConfig.Builder config) {
        RetryingCaller caller =
                new RetryingCaller(REGION, config.build(), listener, nanos::get, clock);
        callers.add(caller);
        return caller;
    }

    /** Short backoffs, so that a retry comes at once; production defaults are 100 ms .. 20 s. */
    private static EbsProxyConfig.Builder config() {
        return EbsProxyConfig.builder()
                .attemptTimeout(Duration.ofSeconds(5))
                .totalTimeout(Duration.ofSeconds(20))
                .baseBackoff(Duration.ofMillis(1))
                .maxBackoff(Duration.ofMillis(1));
    }

    private static EbsException serverError() {
        return (EbsException)
                EbsException.builder()
                        .statusCode(503)
                        .awsErrorDetails(
                                AwsErrorDetails.builder()
                                        .errorCode("ServiceUnavailable")
                                        .errorMessage("try later")
                                        .build())
                        .build();
    }

    private static ResourceNotFoundException notFound() {
        return ResourceNotFoundException.builder()
                .reason(ResourceNotFoundExceptionReason.SNAPSHOT_NOT_FOUND)
                .message("The snapshot does not exist")
                .statusCode(404)
                .build();
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    private static EbsProxyException failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(EbsProxyException.class);
            return (EbsProxyException) e.getCause();
        }
        throw new AssertionError("Expected a failure");
    }

    /**
     * The attempts of one call, scripted: each answers the next scripted failure or value, after
     * moving the caller's clock by {@link #taking}; the last answer repeats. Records each attempt's
     * timeout.
     */
    private final class Attempts<T> implements Function<Duration, CompletableFuture<T>> {
        private final List<Supplier<CompletableFuture<T>>> answers = new ArrayList<>();
        private final List<Duration> timeouts = new CopyOnWriteArrayList<>();
        private final List<CompletableFuture<T>> sent = new CopyOnWriteArrayList<>();
        private Duration takes = Duration.ZERO;
        private boolean throwFirst;

        Attempts<T> fail(Throwable error) {
            answers.add(() -> CompletableFuture.failedFuture(error));
            return this;
        }

        Attempts<T> succeed(T value) {
            answers.add(() -> CompletableFuture.completedFuture(value));
            return this;
        }

        Attempts<T> hang() {
            answers.add(CompletableFuture::new);
            return this;
        }

        Attempts<T> taking(Duration d) {
            takes = d;
            return this;
        }

        /** The first attempt throws its failure instead of returning it in a future. */
        Attempts<T> throwingFirst() {
            throwFirst = true;
            return this;
        }

        @Override
        public CompletableFuture<T> apply(Duration timeout) {
            int n = timeouts.size();
            timeouts.add(timeout);
            nanos.addAndGet(takes.toNanos());
            CompletableFuture<T> answer = answers.get(Math.min(n, answers.size() - 1)).get();
            if (n == 0 && throwFirst) {
                Throwable error = answer.handle((v, e) -> e).join();
                throw (RuntimeException) error;
            }
            sent.add(answer);
            return answer;
        }

        int count() {
            return timeouts.size();
        }

        List<Duration> timeouts() {
            return timeouts;
        }

        CompletableFuture<T> last() {
            return sent.get(sent.size() - 1);
        }
    }

    /** Counts what the caller reports, as "event operation". */
    private static final class Listener implements EbsProxyListener {
        private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

        @Override
        public void onRequest(String operation) {
            add("request " + operation);
        }

        @Override
        public void onRetry(String operation, String errorCode, String reason) {
            add("retry " + operation);
        }

        @Override
        public void onFailure(String operation, String errorCode, String reason) {
            add("failure " + operation);
        }

        @Override
        public void onThrottle(String operation) {
            add("throttle " + operation);
        }

        private void add(String key) {
            counts.computeIfAbsent(key, k -> new LongAdder()).increment();
        }

        long count(String key) {
            LongAdder a = counts.get(key);
            return a == null ? 0 : a.sum();
        }
    }

    /** A wall clock the test moves by hand, for the new-snapshot grace. */
    private static final class ManualClock extends Clock {
        private volatile Instant now;

        ManualClock(Instant start) {
            this.now = start;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }
    }
}
