package io.ebsreplicator.connector.ebs.proxy;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * The request rate one proxy may spend on one group of operations in its region: a token bucket
 * (kept as a "theoretical arrival time", so a reservation is one compare-and-add under a lock)
 * whose rate adapts to throttling, AIMD style. A throttling answer cuts the rate by a quarter
 * ({@link #DECREASE_ON_THROTTLE}), never below {@link #FLOOR_FRACTION} of the configured rate;
 * every second without throttling grows it by {@link #GROWTH_PER_SECOND} back up to the configured
 * rate.
 *
 * <p>One instance per operation group in each proxy's {@link RetryingCaller}, shared by every
 * thread that uses that proxy (async completions, task threads); it lives in the TaskManager or
 * JobManager that built the proxy and is never serialized. Thread-safe. Pure Java, driven by an
 * injectable clock so that tests can move time by hand.
 */
public final class RequestBudget {

    /**
     * The operation groups EBS has separate quotas for: StartSnapshot and CompleteSnapshot have 10
     * per second each. DESCRIBE is the EC2 calls (DescribeSnapshots, DeleteSnapshot), which EC2
     * throttles on its own account-wide buckets, not on the EBS quotas.
     */
    public enum Group {
        GET,
        PUT,
        LIST,
        START,
        COMPLETE,
        DESCRIBE
    }

    /**
     * Lowest rate the adaptation goes to: 1% keeps a throttled proxy probing so that it notices
     * when the pressure is gone, without adding measurably to it.
     */
    static final double FLOOR_FRACTION = 0.01;

    /**
     * What a throttling answer leaves of the rate. A quarter less, not half: the job's rates are
     * configured to the account's quotas, so a throttle usually means requests that reached EBS
     * bunched, not a rate far too high; halving kept 85 % of a saturated put quota in the fleet
     * benchmark's put-quota scenario, a quarter 93 %. A rate far too high (another writer shares
     * the account) still falls fast: to 1 % after 16 waves, about 4 s.
     */
    static final double DECREASE_ON_THROTTLE = 0.75;

    /**
     * Additive-ish increase: 5% per calm second brings a cut rate back in about 6 s, slow enough
     * that subtasks sharing one account quota do not all overshoot again together.
     */
    static final double GROWTH_PER_SECOND = 1.05;

    /**
     * EBS quotas allow a burst of one second's worth of requests; the job splits the configured
     * rate among its users, so one second of each user's share adds up to EBS's own burst.
     */
    public static final Duration DEFAULT_BURST = Duration.ofSeconds(1);

    /**
     * Throttling answers arrive in waves: every request sent at the old rate comes back refused
     * within about one round trip. Counting a wave once stops 80 refusals of one burst from driving
     * the rate to its floor; a quarter second covers a cross-region round trip with margin.
     */
    public static final Duration DEFAULT_HALVING_WINDOW = Duration.ofMillis(250);

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    /**
     * The share of a quota a budget spends. Requests leave evenly spaced but reach EBS bunched
     * (connection queues, pauses, other subtasks' traffic), and a quota's bucket that is always
     * drained has no tokens left to absorb a bunch: every spike is throttled, and each throttle
     * cuts the rate. Spending 95 % keeps a reserve in EBS's bucket that absorbs them (see the
     * put-quota scenario of the fleet benchmark in benchmarks/RESULTS.md).
     */
    public static final double QUOTA_SHARE_SPENT = 0.95;

    private final double configuredRate;
    private final double floorRate;
    private final long burstNanos;
    private final long halvingWindowNanos;
    private final LongSupplier nanoTime;

    // Guarded by this.
    private double rate;
    private long theoreticalArrival;
    private long lastRateChange;
    private long lastHalving;
    private long throttles;

    /**
     * The budget of a quota of {@code quotaPerSecond}: it spends {@link #QUOTA_SHARE_SPENT} of it,
     * on the system clock, with the default burst and window.
     */
    public static RequestBudget forQuota(double quotaPerSecond) {
        return forQuota(quotaPerSecond, System::nanoTime);
    }

    /** {@link #forQuota(double)} on the clock {@code nanoTime}. */
    public static RequestBudget forQuota(double quotaPerSecond, LongSupplier nanoTime) {
        return new RequestBudget(
                quotaPerSecond * QUOTA_SHARE_SPENT,
                DEFAULT_BURST,
                DEFAULT_HALVING_WINDOW,
                nanoTime);
    }

    /** A budget of {@code ratePerSecond} on the system clock, with the default burst and window. */
    public RequestBudget(double ratePerSecond) {
        this(ratePerSecond, DEFAULT_BURST, DEFAULT_HALVING_WINDOW, System::nanoTime);
    }

    public RequestBudget(
            double ratePerSecond, Duration burst, Duration halvingWindow, LongSupplier nanoTime) {
        if (!(ratePerSecond > 0) || Double.isInfinite(ratePerSecond)) {
            throw new IllegalArgumentException("A rate must be positive, not " + ratePerSecond);
        }
        this.configuredRate = ratePerSecond;
        this.floorRate = ratePerSecond * FLOOR_FRACTION;
        this.burstNanos = Math.max(0, burst.toNanos());
        this.halvingWindowNanos = Math.max(0, halvingWindow.toNanos());
        this.nanoTime = nanoTime;
        long now = nanoTime.getAsLong();
        this.rate = ratePerSecond;
        this.theoreticalArrival = now;
        this.lastRateChange = now;
        this.lastHalving = now - halvingWindowNanos - 1;
    }

    /**
     * Reserves one request and returns how long the caller must wait before sending it, in
     * nanoseconds (0: send now). Never blocks: async callers schedule the send after the wait. The
     * reservation is taken whatever the caller does afterwards.
     */
    public long reserveNanos() {
        synchronized (this) {
            long now = nanoTime.getAsLong();
            grow(now);
            long interval = intervalNanos();
            // The bucket holds burstNanos worth of requests: a request may go as early as
            // (theoretical arrival - burst tolerance); the first one of a full bucket goes now.
            long tolerance = Math.max(0, burstNanos - interval);
            long earliest = theoreticalArrival - tolerance;
            long wait = Math.max(0, earliest - now);
            theoreticalArrival = Math.max(theoreticalArrival, now) + interval;
            return wait;
        }
    }

    /** Reports a throttling answer: cuts the rate, at most once per halving window. */
    public void onThrottle() {
        synchronized (this) {
            long now = nanoTime.getAsLong();
            throttles++;
            if (now - lastHalving <= halvingWindowNanos) {
                return;
            }
            grow(now);
            rate = Math.max(floorRate, rate * DECREASE_ON_THROTTLE);
            lastHalving = now;
            lastRateChange = now;
        }
    }

    /** The rate in force now, in requests per second. */
    public double currentRate() {
        synchronized (this) {
            grow(nanoTime.getAsLong());
            return rate;
        }
    }

    /** The rate this budget was configured with and grows back to. */
    public double configuredRate() {
        return configuredRate;
    }

    /** Throttling answers reported since the start (also those inside a halving window). */
    public long throttles() {
        synchronized (this) {
            return throttles;
        }
    }

    private long intervalNanos() {
        return Math.max(1, (long) (SECOND / rate));
    }

    private void grow(long now) {
        long calm = now - lastRateChange;
        if (calm < SECOND) {
            return;
        }
        long seconds = calm / SECOND;
        lastRateChange += seconds * SECOND;
        if (rate < configuredRate) {
            rate = Math.min(configuredRate, rate * Math.pow(GROWTH_PER_SECOND, seconds));
        }
    }

    @Override
    public String toString() {
        return "RequestBudget{configured="
                + configuredRate
                + "/s, current="
                + currentRate()
                + "/s}";
    }
}
