package io.ebsreplicator.benchmarks;

import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.service.Snapshot;

import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.ebsreplicator.benchmarks.EndToEndBenchmark.TARGET;

/**
 * Watches an in-process ebs-local for the first block written to a target snapshot that did not
 * exist when it started: the time to the first written block of a copy. A daemon thread looks every
 * few milliseconds until it sees one or is stopped.
 */
final class FirstBlockWatcher {

    /** How often the target region's snapshots are looked at: a few ms of resolution is enough. */
    private static final long LOOK_EVERY_MS = 2;

    private final AtomicLong firstBlockNanos = new AtomicLong(-1);
    private final ScheduledExecutorService looks =
            Executors.newSingleThreadScheduledExecutor(
                    r -> {
                        Thread t = new Thread(r, "first-block-watcher");
                        t.setDaemon(true);
                        return t;
                    });

    /** Starts watching; {@code onFirst} runs on the watcher's thread when it sees the block. */
    static FirstBlockWatcher start(EbsLocalServer ebs, Runnable onFirst) {
        return new FirstBlockWatcher(ebs, onFirst);
    }

    private FirstBlockWatcher(EbsLocalServer ebs, Runnable onFirst) {
        Set<String> before = new HashSet<>();
        ebs.service().snapshots(TARGET).forEach(s -> before.add(s.id()));
        looks.scheduleWithFixedDelay(
                () -> {
                    for (Snapshot s : ebs.service().snapshots(TARGET)) {
                        if (!before.contains(s.id())
                                && s.putRequestsAccepted() > 0
                                && firstBlockNanos.compareAndSet(-1, System.nanoTime())) {
                            onFirst.run();
                            looks.shutdown();
                        }
                    }
                },
                0,
                LOOK_EVERY_MS,
                TimeUnit.MILLISECONDS);
    }

    /** When the first block was seen ({@link System#nanoTime}), or -1. */
    long firstBlockNanos() {
        return firstBlockNanos.get();
    }

    /** Stops watching and waits a moment for the thread (it may be running {@code onFirst}). */
    void stop() throws InterruptedException {
        looks.shutdownNow();
        looks.awaitTermination(1, TimeUnit.SECONDS);
    }
}
