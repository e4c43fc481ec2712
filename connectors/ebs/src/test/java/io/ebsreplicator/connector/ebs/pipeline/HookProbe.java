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
     * state for the last checkpoint it learned completed, its subtask, its {@link #attemptSequence}
     * number}.
     */
    final Map<String, long[]> sourceAttempts = new ConcurrentHashMap<>();

    /** Numbers the source task attempts in the order they first called the hook. */
    final AtomicLong attemptSequence = new AtomicLong();

    /** A test action run once, on the copier's task thread, after this many copier records. */
    volatile long actionAfterCopierRecords = -1;

    volatile Runnable action;

    final AtomicBoolean actionDone = new AtomicBoolean();

    /**
     * Records the source emitted, in the attempts that a restart superseded (every attempt of a
     * subtask but its last), after its barrier of the last checkpoint it learned completed. The job
     * restores from the latest completed checkpoint, which is that one or a later one, so this
     * bounds from above what the source can replay after the restores. (Counting from when the
     * notification arrived instead would miss what was emitted between the barrier and a
     * notification that came late, as under load; telling failed attempts by whether they first
     * emitted before the injected failure would miss a subtask that first emitted just after it,
     * before the restart cancelled it.)
     */
    long failedAttemptTail() {
        Map<Long, Long> last = new java.util.HashMap<>();
        for (long[] a : sourceAttempts.values()) {
            last.merge(a[2], a[3], Math::max);
        }
        long sum = 0;
        for (long[] a : sourceAttempts.values()) {
            if (a[3] != last.get(a[2])) {
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
