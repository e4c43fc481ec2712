package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException;

import org.apache.flink.annotation.VisibleForTesting;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * The one way a proxy calls EBS or EC2: every call of one {@link SdkEbsProxy} goes through its
 * caller, asynchronously; the blocking forms of {@link EbsProxy} wait for the same futures ({@link
 * EbsProxy#await}), so there is no second, blocking retry loop. Lives with its proxy on the
 * JobManager or a TaskManager; never serialized. Thread-safe.
 *
 * <p>Each attempt first spends the {@link RequestBudget} of its operation group (a wait is
 * scheduled, never slept), then runs with the per-attempt timeout, capped by what is left of the
 * call's total timeout. A failure is classified once by {@link EbsErrorClassifier}; a throttling
 * answer slows the budget. Retryable failures are retried after an exponential backoff with full
 * jitter until the total timeout would pass, then come out as {@link
 * EbsProxyException.Kind#RETRYABLE} saying so; invalid tokens and fatal errors come out at once.
 * Control-plane calls have their own, shorter timeouts (see {@link EbsOperation#controlPlane()}).
 *
 * <p>The classification context is the new-snapshot grace: the caller keeps the snapshots started a
 * moment ago (by its own proxy's StartSnapshot, or as {@link NewSnapshotAware told}), and a
 * "snapshot does not exist" answer to a write on one of them (PutSnapshotBlock, CompleteSnapshot)
 * is retryable until the grace has passed.
 */
final class RetryingCaller implements NewSnapshotAware, AutoCloseable {

    /**
     * Threads that run scheduled attempts (retries after a backoff, sends after a budget wait):
     * they only hand requests to the SDK, so two keep up with thousands of requests per second.
     */
    private static final int SCHEDULER_THREADS = 2;

    /** An attempt shorter than this cannot even get a response back; give it at least this long. */
    static final long MIN_ATTEMPT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final String region;
    private final EbsProxyConfig config;
    private final EbsProxyListener listener;
    private final LongSupplier nanoTime;
    private final Clock clock;
    private final ScheduledExecutorService scheduler;
    private final Map<RequestBudget.Group, RequestBudget> budgets;

    /** Snapshots started a moment ago, by our proxy or as told, with the time they started. */
    private final Map<String, Instant> newSnapshots = new ConcurrentHashMap<>();

    /** Calls not finished yet, so that close() can fail them instead of leaving them hanging. */
    private final Set<CompletableFuture<?>> pending = ConcurrentHashMap.newKeySet();

    private volatile boolean closed;

    /** The caller of {@code region}'s proxy, on the system clocks. */
    RetryingCaller(String region, EbsProxyConfig config, EbsProxyListener listener) {
        this(region, config, listener, System::nanoTime, Clock.systemUTC());
    }

    /**
     * A caller whose deadlines and budgets run on {@code nanoTime} and whose new-snapshot grace
     * runs on {@code clock}, so that tests move time by hand. Backoffs and budget waits are still
     * scheduled in real time.
     */
    @VisibleForTesting
    RetryingCaller(
            String region,
            EbsProxyConfig config,
            EbsProxyListener listener,
            LongSupplier nanoTime,
            Clock clock) {
        this.region = region;
        this.config = config;
        this.listener = listener == null ? EbsProxyListener.NO_OP : listener;
        this.nanoTime = nanoTime;
        this.clock = clock;
        this.budgets = new EnumMap<>(RequestBudget.Group.class);
        for (RequestBudget.Group g : RequestBudget.Group.values()) {
            budgets.put(g, RequestBudget.forQuota(config.ratePerUser(g), nanoTime));
        }
        int instance = INSTANCES.incrementAndGet();
        ScheduledThreadPoolExecutor s =
                new ScheduledThreadPoolExecutor(
                        SCHEDULER_THREADS,
                        r -> {
                            Thread t = new Thread(r, "ebs-proxy-" + region + "-" + instance);
                            t.setDaemon(true);
                            return t;
                        });
        s.setRemoveOnCancelPolicy(true);
        this.scheduler = s;
    }

    /**
     * Runs {@code attempt} (given each attempt's timeout) with budget, per-attempt timeout, retries
     * and classification; {@code snapshotId} and {@code blockIndex} (either may be {@code null})
     * name what the call is about, in errors and for the new-snapshot grace. The future completes
     * exceptionally with an {@link EbsProxyException} only. Cancelling it cancels the attempt on
     * the wire.
     */
    <T> CompletableFuture<T> call(
            EbsOperation op,
            String snapshotId,
            Integer blockIndex,
            Function<Duration, CompletableFuture<T>> attempt) {
        Call<T> call = new Call<>(op, snapshotId, blockIndex, attempt);
        if (closed) {
            call.result.completeExceptionally(
                    classify(
                            new CancellationException("The EBS proxy is closed"),
                            op,
                            snapshotId,
                            blockIndex));
            return call.result;
        }
        pending.add(call.result);
        call.result.whenComplete((v, e) -> pending.remove(call.result));
        call.spendBudget();
        return call.result;
    }

    /**
     * Classifies a failure of {@code op} once, with the new-snapshot grace: only writes to a
     * snapshot started a moment ago may meet "does not exist" for a while; reads and lists are of
     * completed snapshots.
     */
    EbsProxyException classify(
            Throwable error, EbsOperation op, String snapshotId, Integer blockIndex) {
        boolean isNew =
                (op == EbsOperation.PUT_SNAPSHOT_BLOCK || op == EbsOperation.COMPLETE_SNAPSHOT)
                        && isNew(snapshotId);
        return EbsErrorClassifier.classify(
                error, op.apiName(), region, snapshotId, blockIndex, isNew);
    }

    // ------------------------------------------------------------------ new-snapshot grace

    @Override
    public void snapshotStarted(String snapshotId, Instant startTime) {
        Instant now = clock.instant();
        // Forget what is past its grace, so a long-lived proxy does not collect every snapshot.
        newSnapshots.values().removeIf(t -> t.plus(config.newSnapshotGrace()).isBefore(now));
        // A start time ahead of our clock (skew) counts from now, so the grace stays bounded.
        Instant start = startTime == null || startTime.isAfter(now) ? now : startTime;
        newSnapshots.merge(snapshotId, start, (a, b) -> a.isAfter(b) ? a : b);
    }

    /** Whether EBS may still answer "does not exist" for this snapshot because it is too new. */
    @VisibleForTesting
    boolean isNew(String snapshotId) {
        if (snapshotId == null) {
            return false;
        }
        Instant started = newSnapshots.get(snapshotId);
        return started != null && clock.instant().isBefore(started.plus(config.newSnapshotGrace()));
    }

    // ------------------------------------------------------------------ budget and backoff

    /** The request budget of one operation group, to observe its adaptation. */
    RequestBudget budget(RequestBudget.Group group) {
        return budgets.get(group);
    }

    /**
     * Full jitter (uniform in [0, cap]) with the cap doubling from the base backoff per failed
     * attempt up to the max backoff: spreads the retries of a throttled burst instead of sending
     * them back in lockstep.
     */
    @VisibleForTesting
    long backoffNanos(int failedAttempts) {
        long base = config.baseBackoff().toNanos();
        long max = config.maxBackoff().toNanos();
        int doublings = Math.min(Math.max(0, failedAttempts - 1), 30);
        long cap = base << doublings;
        if (cap <= 0 || cap > max) {
            cap = max;
        }
        return ThreadLocalRandom.current().nextLong(cap + 1);
    }

    /** The timeout of the next attempt: the operation's, or what is left of the call's. */
    private Duration attemptTimeout(EbsOperation op, long deadline) {
        long remaining = deadline - nanoTime.getAsLong();
        long attempt = Math.min(config.attemptTimeout(op).toNanos(), remaining);
        return Duration.ofNanos(Math.max(MIN_ATTEMPT_NANOS, attempt));
    }

    /**
     * After a failed attempt: reports the failure and throttling, then either throws (not
     * retryable, or the total timeout would pass during the backoff) or returns the backoff to
     * wait, in nanoseconds.
     */
    private long afterFailure(
            EbsOperation op, EbsProxyException failure, int attempts, long deadline) {
        listener.onFailure(op.apiName(), failure.errorCode(), failure.reason());
        if (EbsErrorClassifier.isThrottling(failure)) {
            budgets.get(op.group()).onThrottle();
            listener.onThrottle(op.apiName());
        }
        if (failure.kind() != EbsProxyException.Kind.RETRYABLE) {
            throw failure;
        }
        long backoff = backoffNanos(attempts);
        if (nanoTime.getAsLong() + backoff >= deadline) {
            throw giveUp(op, failure, attempts);
        }
        listener.onRetry(op.apiName(), failure.errorCode(), failure.reason());
        return backoff;
    }

    private EbsProxyException giveUp(EbsOperation op, EbsProxyException last, int attempts) {
        return new EbsProxyException(
                last.kind(),
                last.errorCode(),
                last.reason(),
                last.region(),
                last.snapshotId(),
                last.blockIndex(),
                last.getMessage()
                        + " (gave up after "
                        + attempts
                        + " attempts within the total timeout of "
                        + config.totalTimeout(op)
                        + ")",
                last.getCause());
    }

    /** Stops scheduling, and fails the calls still waiting for a backoff, the budget or EBS. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        scheduler.shutdownNow();
        for (CompletableFuture<?> f : List.copyOf(pending)) {
            f.completeExceptionally(
                    EbsErrorClassifier.classify(
                            new CancellationException("The EBS proxy was closed"),
                            "close",
                            region,
                            null,
                            null,
                            false));
        }
    }

    /** One call through its attempts. Runs on the caller, SDK and scheduler threads. */
    private final class Call<T> {
        final EbsOperation op;
        final String snapshotId;
        final Integer blockIndex;
        final Function<Duration, CompletableFuture<T>> attempt;
        final CompletableFuture<T> result = new CompletableFuture<>();
        final long deadline;
        int attempts; // only touched by the one thread running the current step
        volatile CompletableFuture<T> inFlight;

        Call(
                EbsOperation op,
                String snapshotId,
                Integer blockIndex,
                Function<Duration, CompletableFuture<T>> attempt) {
            this.op = op;
            this.snapshotId = snapshotId;
            this.blockIndex = blockIndex;
            this.attempt = attempt;
            this.deadline = nanoTime.getAsLong() + config.totalTimeout(op).toNanos();
            // A caller that gives up on the result also gives up on the request on the wire.
            result.whenComplete(
                    (v, e) -> {
                        CompletableFuture<T> f = inFlight;
                        if (result.isCancelled() && f != null) {
                            f.cancel(true);
                        }
                    });
        }

        void spendBudget() {
            long wait = budgets.get(op.group()).reserveNanos();
            if (wait == 0) {
                send();
            } else {
                later(this::send, wait);
            }
        }

        void send() {
            if (result.isDone()) {
                return;
            }
            attempts++;
            listener.onRequest(op.apiName());
            CompletableFuture<T> f;
            try {
                f = attempt.apply(attemptTimeout(op, deadline));
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            inFlight = f;
            f.whenComplete(
                    (value, error) -> {
                        if (error == null) {
                            result.complete(value);
                        } else {
                            failed(error);
                        }
                    });
        }

        void failed(Throwable error) {
            EbsProxyException failure = classify(error, op, snapshotId, blockIndex);
            long backoff;
            try {
                backoff = afterFailure(op, failure, attempts, deadline);
            } catch (EbsProxyException e) {
                result.completeExceptionally(e);
                return;
            }
            later(this::spendBudget, backoff);
        }

        void later(Runnable step, long delayNanos) {
            try {
                scheduler.schedule(step, delayNanos, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                result.completeExceptionally(
                        classify(
                                new CancellationException("The EBS proxy was closed"),
                                op,
                                snapshotId,
                                blockIndex));
            }
        }
    }
}
