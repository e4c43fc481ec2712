package io.ebsreplicator.connector.ebs.proxy;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** {@link RequestBudget} on a hand-moved clock. Runs in the unit test JVM. */
class RequestBudgetTest {

    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);
    private static final long MILLI = TimeUnit.MILLISECONDS.toNanos(1);

    private final AtomicLong now = new AtomicLong(1_000_000 * SECOND);

    private RequestBudget budget(double rate, Duration burst) {
        return new RequestBudget(rate, burst, Duration.ofMillis(250), now::get);
    }

    @Test
    void aFullBucketLetsOneSecondOfRequestsGoAtOnceThenPacesThem() {
        RequestBudget b = budget(10, Duration.ofSeconds(1));
        for (int i = 0; i < 10; i++) {
            assertThat(b.reserveNanos()).as("request %d of the burst", i).isZero();
        }
        // The 11th, 12th, ... wait one, two, ... intervals of 100 ms.
        assertThat(b.reserveNanos()).isEqualTo(100 * MILLI);
        assertThat(b.reserveNanos()).isEqualTo(200 * MILLI);
    }

    @Test
    void theRateIsHonouredOverTime() {
        RequestBudget b = budget(50, Duration.ofMillis(100));
        // A caller that always waits as told sends at most rate * time + burst requests.
        long start = now.get();
        int sent = 0;
        while (now.get() - start < 10 * SECOND) {
            long wait = b.reserveNanos();
            now.addAndGet(wait);
            sent++;
        }
        assertThat(sent).isBetween(500, 506);
    }

    @Test
    void requestsSpacedAtTheRateNeverWait() {
        RequestBudget b = budget(100, Duration.ZERO);
        for (int i = 0; i < 1000; i++) {
            assertThat(b.reserveNanos()).isZero();
            now.addAndGet(10 * MILLI);
        }
    }

    @Test
    void aThrottleCutsTheRateByAQuarterAndWidensTheSpacing() {
        RequestBudget b = budget(100, Duration.ZERO);
        b.onThrottle();
        assertThat(b.currentRate()).isEqualTo(75.0);
        assertThat(b.reserveNanos()).isZero();
        // 75/s: the next request waits 13.3 ms, not 10.
        assertThat(b.reserveNanos()).isEqualTo(SECOND / 75);
        now.addAndGet(300 * MILLI);
        b.onThrottle();
        assertThat(b.currentRate()).isEqualTo(56.25);
        assertThat(b.throttles()).isEqualTo(2);
    }

    @Test
    void aWaveOfThrottlesWithinTheWindowCutsOnce() {
        RequestBudget b = budget(1000, Duration.ofSeconds(1));
        for (int i = 0; i < 80; i++) {
            b.onThrottle();
            now.addAndGet(MILLI);
        }
        assertThat(b.currentRate()).isEqualTo(750.0);
        assertThat(b.throttles()).isEqualTo(80);
        now.addAndGet(250 * MILLI);
        b.onThrottle();
        assertThat(b.currentRate()).isEqualTo(562.5);
    }

    @Test
    void theRateNeverFallsBelowOnePercent() {
        RequestBudget b = budget(1000, Duration.ZERO);
        for (int i = 0; i < 60; i++) {
            b.onThrottle();
            now.addAndGet(300 * MILLI);
            // Moving the clock also regrows a little; throttle again at once so it cannot matter.
        }
        assertThat(b.currentRate()).isCloseTo(10.0, within(1.0));
        b.onThrottle();
        assertThat(b.currentRate()).isGreaterThanOrEqualTo(10.0);
        // At the floor a request still gets through every 100 ms: the budget keeps probing.
        b.reserveNanos();
        assertThat(b.reserveNanos()).isLessThanOrEqualTo(100 * MILLI);
    }

    @Test
    void eachCalmSecondGrowsTheRateByFivePercentUpToTheConfiguredRate() {
        RequestBudget b = budget(100, Duration.ZERO);
        b.onThrottle();
        assertThat(b.currentRate()).isEqualTo(75.0);
        now.addAndGet(999 * MILLI);
        assertThat(b.currentRate()).as("less than a calm second").isEqualTo(75.0);
        now.addAndGet(MILLI);
        assertThat(b.currentRate()).isCloseTo(78.75, within(1e-9));
        now.addAndGet(SECOND);
        assertThat(b.currentRate()).isCloseTo(82.6875, within(1e-9));
        // ln(4/3) / ln(1.05) = 5.9: back to the full rate after 6 calm seconds, and no further.
        now.addAndGet(3 * SECOND);
        assertThat(b.currentRate()).isLessThan(100.0);
        now.addAndGet(SECOND);
        assertThat(b.currentRate()).isEqualTo(100.0);
        now.addAndGet(60 * SECOND);
        assertThat(b.currentRate()).isEqualTo(100.0);
    }

    @Test
    void aThrottleRestartsTheCalmSecond() {
        RequestBudget b = budget(100, Duration.ZERO);
        b.onThrottle();
        now.addAndGet(900 * MILLI);
        b.onThrottle();
        assertThat(b.currentRate()).isEqualTo(56.25);
        now.addAndGet(900 * MILLI);
        assertThat(b.currentRate()).as("only 0.9 s since the last throttle").isEqualTo(56.25);
        now.addAndGet(100 * MILLI);
        assertThat(b.currentRate()).isCloseTo(59.0625, within(1e-9));
    }

    @Test
    void reservationsQueueUpWithoutBlocking() {
        RequestBudget b = budget(10, Duration.ZERO);
        long[] waits = new long[5];
        for (int i = 0; i < waits.length; i++) {
            waits[i] = b.reserveNanos();
        }
        assertThat(waits).containsExactly(0, 100 * MILLI, 200 * MILLI, 300 * MILLI, 400 * MILLI);
        // Time passing pays the queue off; an idle budget does not bank more than its burst.
        now.addAndGet(10 * SECOND);
        assertThat(b.reserveNanos()).isZero();
        assertThat(b.reserveNanos()).isEqualTo(100 * MILLI);
    }

    @Test
    void aQuotasBudgetSpendsLessThanTheQuotaToKeepAReserveForBunchedArrivals() {
        RequestBudget b = RequestBudget.forQuota(100);
        assertThat(b.configuredRate()).isEqualTo(100 * RequestBudget.QUOTA_SHARE_SPENT);
        assertThat(b.configuredRate()).isLessThan(100).isGreaterThanOrEqualTo(90);
    }

    @Test
    void aRateMustBePositive() {
        assertThatThrownBy(() -> budget(0, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> budget(-1, Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
