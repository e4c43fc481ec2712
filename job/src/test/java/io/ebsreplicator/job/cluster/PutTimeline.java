package io.ebsreplicator.job.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * A count of accepted PutSnapshotBlock calls sampled every 20 ms on its own thread, to find when
 * the writes paused and resumed around a failover. Runs in the test JVM.
 */
final class PutTimeline {

    private final ScheduledExecutorService sampler =
            Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "put-timeline"));
    private final List<long[]> changes = new ArrayList<>();
    private long last = -1;

    /** A pause in the writes: from the last write before it to the first after (nanoTime). */
    record Stall(long from, long to) {

        long nanos() {
            return to - from;
        }
    }

    PutTimeline(LongSupplier puts) {
        sampler.scheduleAtFixedRate(
                () -> {
                    long now = System.nanoTime();
                    long v;
                    try {
                        v = puts.getAsLong();
                    } catch (RuntimeException e) {
                        // The store is restarting: no sample this time.
                        return;
                    }
                    synchronized (changes) {
                        if (v != last) {
                            changes.add(new long[] {now, v});
                            last = v;
                        }
                    }
                },
                0,
                20,
                TimeUnit.MILLISECONDS);
    }

    void stop() throws InterruptedException {
        sampler.shutdownNow();
        sampler.awaitTermination(10, TimeUnit.SECONDS);
    }

    /** Whether a write was seen after {@code t} (nanoTime). */
    boolean wroteAfter(long t) {
        synchronized (changes) {
            return !changes.isEmpty() && changes.get(changes.size() - 1)[0] > t;
        }
    }

    /** The longest time without a new write after {@code t}: from the last write before it. */
    Stall longestStallAfter(long t) {
        return longestStallBetween(t, Long.MAX_VALUE);
    }

    /**
     * The longest time without a new write that ends after {@code t} and begins before {@code
     * until}, cut at {@code t}: a pause that started later does not count.
     */
    Stall longestStallBetween(long t, long until) {
        synchronized (changes) {
            Stall best = new Stall(t, t);
            for (int i = 1; i < changes.size(); i++) {
                long from = changes.get(i - 1)[0];
                long to = changes.get(i)[0];
                if (to > t && from < until && to - Math.max(from, t) > best.nanos()) {
                    best = new Stall(Math.max(from, t), to);
                }
            }
            return best;
        }
    }
}
