package io.ebsreplicator.local.service;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The service clock: wall-clock time plus an offset that tests move forward to make block tokens,
 * page tokens, snapshot timeouts and STS session credentials expire without waiting. Signature time
 * checks do not use it: clients sign with the real time.
 */
public final class EbsClock {

    private final Clock base;
    private final AtomicLong offsetMillis = new AtomicLong();

    public EbsClock() {
        this(Clock.systemUTC());
    }

    public EbsClock(Clock base) {
        this.base = base;
    }

    public Instant now() {
        return base.instant().plusMillis(offsetMillis.get());
    }

    /** The wall-clock time, without the offset: what clients see, for times answered to them. */
    public Instant wallNow() {
        return base.instant();
    }

    public long nowMillis() {
        return now().toEpochMilli();
    }

    /** Moves the service clock forward (or back, with a negative duration). */
    public void advance(Duration duration) {
        offsetMillis.addAndGet(duration.toMillis());
    }

    public Duration offset() {
        return Duration.ofMillis(offsetMillis.get());
    }
}
