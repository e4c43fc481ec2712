package io.ebsreplicator.connector.ebs.completion;

import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.util.function.ThrowingRunnable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Brings completion's work for one key back to the operator's task thread, as a mail: the answer of
 * a remote call, or a step after a delay. One per completion subtask.
 *
 * <p>Threads: {@link #send}, {@link #forget}, {@link #inFlight} and {@link #later} are called on
 * the task thread, and the mails run there, each with its key set by the {@link KeyRunner}. A
 * call's future completes on a thread of the proxy, and a delay ends on the one daemon thread of
 * this class; both only enqueue the mail. So the task thread never waits for EBS, and a checkpoint
 * or another key's record is processed while a call is unanswered.
 *
 * <p>At most one call per key is in flight, marked by a ticket. A key whose target moved on (a
 * replacement, a result) is {@link #forget forgotten}: the answer of its old call then finds a
 * different ticket, or none, and is dropped. The marks are not checkpointed: after a restore no
 * call is in flight, and completion's timers send again what is still needed.
 */
final class KeyedMailbox implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(KeyedMailbox.class);

    /** Runs {@code work} on the task thread with {@code key} as the current key. */
    @FunctionalInterface
    interface KeyRunner {
        void run(String key, ThrowingRunnable<Exception> work) throws Exception;
    }

    /** What to do with a call's answer, on the task thread with the key set. */
    @FunctionalInterface
    interface Answer<T> {
        /** Either {@code value} or {@code error} (as the future failed) is set. */
        void accept(T value, Throwable error) throws Exception;
    }

    private final MailboxExecutor mailbox;
    private final KeyRunner runner;

    /** The ticket of each key's call in flight; task thread only. */
    private final Map<String, Object> inFlight = new HashMap<>();

    /** Ends delays ({@link #later}); created on first use, as only a draining subtask needs it. */
    private ScheduledExecutorService delays;

    KeyedMailbox(MailboxExecutor mailbox, KeyRunner runner) {
        this.mailbox = mailbox;
        this.runner = runner;
    }

    /** Whether {@code key} has a call in flight. */
    boolean inFlight(String key) {
        return inFlight.containsKey(key);
    }

    /**
     * Marks {@code key}'s {@code call} in flight; its answer is handed to {@code answer} in a mail,
     * unless the key was {@link #forget forgotten} meanwhile.
     */
    <T> void send(String key, String what, CompletableFuture<T> call, Answer<T> answer) {
        Object ticket = new Object();
        inFlight.put(key, ticket);
        call.whenComplete(
                (value, error) ->
                        enqueue(
                                key,
                                () -> {
                                    if (inFlight.get(key) != ticket) {
                                        return; // the target moved on while the call was out
                                    }
                                    inFlight.remove(key);
                                    answer.accept(value, error);
                                },
                                what));
    }

    /** Drops the answer of {@code key}'s call in flight, if any. */
    void forget(String key) {
        inFlight.remove(key);
    }

    /**
     * Runs {@code step} for {@code key} on the task thread after {@code delayMillis} of wall-clock
     * time, without a timer: at the end of a bounded input, where the operator's timers end.
     */
    void later(String key, long delayMillis, ThrowingRunnable<Exception> step) {
        if (delays == null) {
            delays =
                    Executors.newSingleThreadScheduledExecutor(
                            r -> {
                                Thread t = new Thread(r, "ebs-completion-delays");
                                t.setDaemon(true);
                                return t;
                            });
        }
        delays.schedule(
                () -> enqueue(key, step, "a delayed step"), delayMillis, TimeUnit.MILLISECONDS);
    }

    private void enqueue(String key, ThrowingRunnable<Exception> work, String what) {
        try {
            mailbox.execute(() -> runner.run(key, work), "completion of %s: %s", key, what);
        } catch (RejectedExecutionException e) {
            // The task is closing: nothing is lost, a restore sends what is still needed again.
            LOG.debug("Completion of {} is closing; dropped {}", key, what);
        }
    }

    @Override
    public void close() {
        inFlight.clear();
        if (delays != null) {
            delays.shutdownNow();
        }
    }
}
