package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.api.connector.source.mocks.MockSplitEnumeratorContext;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link MockSplitEnumeratorContext} that knows when its coordinator thread (the mock's single
 * "main" thread) has run everything posted to it, so that a test can call the enumerator there, as
 * Flink does, and wait until the results of asynchronous calls that came back through {@code
 * runInCoordinatorThread} are handled before it asserts. Runs in the test JVM; its methods are
 * called from the test thread.
 *
 * <p>Settling is exact, not timed: the fakes answer on the thread that calls them (or on the test
 * thread when held calls are released), so everything they post is posted before the work that made
 * the call ends. A wait that does not end within {@link #PATIENCE_SECONDS} fails the test: the
 * coordinator thread did not answer.
 */
final class TestingEnumeratorContext extends MockSplitEnumeratorContext<LineageSplit> {

    /** How long a test waits for the coordinator thread before it fails instead of hanging. */
    static final long PATIENCE_SECONDS = 30;

    /** Work posted through {@link #runInCoordinatorThread} and not yet finished. */
    private final AtomicInteger posted = new AtomicInteger();

    /** The first failure of posted work, rethrown to the test by {@link #settle()}. */
    private final AtomicReference<Throwable> failure = new AtomicReference<>();

    TestingEnumeratorContext(int parallelism) {
        super(parallelism);
    }

    @Override
    public void runInCoordinatorThread(Runnable runnable) {
        posted.incrementAndGet();
        super.runInCoordinatorThread(
                () -> {
                    try {
                        runnable.run();
                    } catch (Throwable t) {
                        if (!failure.compareAndSet(null, t)) {
                            failure.get().addSuppressed(t);
                        }
                    } finally {
                        posted.decrementAndGet();
                    }
                });
    }

    /**
     * Runs {@code action} on the coordinator thread, then waits until the work it caused is done.
     */
    <T> T call(Callable<T> action) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        super.runInCoordinatorThread(
                () -> {
                    try {
                        result.complete(action.call());
                    } catch (Throwable t) {
                        result.completeExceptionally(t);
                    }
                });
        T value = await(result);
        settle();
        return value;
    }

    /** Runs the periodic callable registered {@code index}-th, then waits for what it caused. */
    void runPeriodic(int index) throws Exception {
        try {
            runPeriodicCallable(index);
        } catch (Exception | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new ExecutionException(t);
        }
        settle();
    }

    /**
     * Waits until the coordinator thread has run everything posted to it, including what that work
     * posted in turn; rethrows the first failure of that work.
     */
    void settle() throws Exception {
        do {
            CompletableFuture<Void> mark = new CompletableFuture<>();
            super.runInCoordinatorThread(() -> mark.complete(null));
            await(mark);
        } while (posted.get() > 0);
        Throwable t = failure.get();
        if (t instanceof Exception e) {
            throw e;
        } else if (t != null) {
            throw new ExecutionException(t);
        }
    }

    /** Every split assigned so far, in assignment order. */
    List<LineageSplit> assigned() {
        List<LineageSplit> out = new ArrayList<>();
        for (SplitsAssignment<LineageSplit> a : getSplitsAssignmentSequence()) {
            a.assignment().values().forEach(out::addAll);
        }
        return out;
    }

    /** The splits assigned to {@code reader} so far, in assignment order. */
    List<LineageSplit> assignedTo(int reader) {
        List<LineageSplit> out = new ArrayList<>();
        for (SplitsAssignment<LineageSplit> a : getSplitsAssignmentSequence()) {
            out.addAll(a.assignment().getOrDefault(reader, List.of()));
        }
        return out;
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        try {
            return f.get(PATIENCE_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError(
                    "The coordinator thread did not answer within " + PATIENCE_SECONDS + " s", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            } else if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw e;
        }
    }
}
