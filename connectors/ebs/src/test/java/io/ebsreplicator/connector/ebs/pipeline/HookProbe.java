package io.ebsreplicator.connector.ebs.pipeline;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What an {@link InjectingHook} saw and decided, shared between the test thread and every task
 * attempt of a job through {@code SharedObjectsExtension} (never a static field). Thread-safe.
 */
final class HookProbe {

    /** Set once the one injected failure was thrown. */
    final AtomicBoolean failed = new AtomicBoolean();

    /** Injected failures thrown (the hook throws at most once, so 0 or 1). */
    final AtomicInteger failures = new AtomicInteger();

    /** Operators in which at least one checkpoint completed (any subtask, any attempt). */
    final Set<String> checkpointed = ConcurrentHashMap.newKeySet();

    /** Records handled by the source emitter over all attempts (blocks and split ends). */
    final AtomicLong sourceRecords = new AtomicLong();

    /** Records handled by the copier over all attempts. */
    final AtomicLong copierRecords = new AtomicLong();

    /**
     * Per source task attempt (one hook instance each): {emitted, emitted when the source took its
     * state for the last checkpoint it learned completed, 1 if the instance started after the
     * injected failure}.
     */
    final Map<String, long[]> sourceAttempts = new ConcurrentHashMap<>();

    /** A test action run once, on the copier's task thread, after this many copier records. */
    volatile long actionAfterCopierRecords = -1;

    volatile Runnable action;

    final AtomicBoolean actionDone = new AtomicBoolean();

    /**
     * Records the source emitted, in the attempt that failed, after its barrier of the last
     * checkpoint each source subtask learned completed. The job restores from the latest completed
     * checkpoint, which is that one or a later one, so this bounds from above what the source can
     * replay after the restore. (Counting from when the notification arrived instead would miss
     * what was emitted between the barrier and a notification that came late, as under load.)
     */
    long failedAttemptTail() {
        long sum = 0;
        for (long[] a : sourceAttempts.values()) {
            if (a[2] == 0) {
                sum += a[0] - a[1];
            }
        }
        return sum;
    }

    @Override
    public String toString() {
        return "failures="
                + failures.get()
                + " checkpointed="
                + checkpointed
                + " sourceRecords="
                + sourceRecords.get()
                + " copierRecords="
                + copierRecords.get()
                + " failedAttemptTail="
                + failedAttemptTail()
                + " sourceTaskAttempts="
                + sourceAttempts.size();
    }
}
