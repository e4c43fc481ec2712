package io.ebsreplicator.local.service;

/** A thread-safe token bucket holding at most one second's worth of permits. */
final class TokenBucket {

    private final double ratePerSecond;
    private double tokens;
    private long lastNanos;

    TokenBucket(double ratePerSecond) {
        this.ratePerSecond = ratePerSecond;
        this.tokens = ratePerSecond;
        this.lastNanos = System.nanoTime();
    }

    synchronized boolean tryAcquire() {
        long now = System.nanoTime();
        tokens = Math.min(ratePerSecond, tokens + (now - lastNanos) / 1e9 * ratePerSecond);
        lastNanos = now;
        if (tokens >= 1.0) {
            tokens -= 1.0;
            return true;
        }
        return false;
    }
}
