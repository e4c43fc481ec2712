package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.model.BlockCopied;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;

import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractUdfStreamOperator;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.TimestampedCollector;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.streaming.api.operators.YieldingOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.function.ThrowingRunnable;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The completion operator: runs {@link ReplicationCompletionFunction} for each key (request and
 * target region), and gives it what a keyed process function lacks: remote calls whose answers come
 * back to the task thread as mails with their key set again ({@link KeyedMailbox}), and a drain at
 * the end of a bounded input.
 *
 * <p>Threads: records, timers, mails and the end of input all run on the subtask's task thread, one
 * at a time, so the function's state needs no locks. The proxies answer on their own threads, which
 * only enqueue a mail; nothing on the task thread waits for EBS, so a checkpoint is taken between
 * any two of them, whatever is in flight.
 *
 * <p>End of input: Flink drops pending processing-time timers when a bounded job finishes, so
 * {@link #endInput()} starts what every key still needs and then yields to the mailbox, as Flink's
 * async operator does while elements are in flight, until every key has its result. The waits
 * between attempts are mails enqueued after a delay, never a sleep of the task thread.
 *
 * <p>The timers live in the timer service named {@link #TIMERS}, as under the keyed process
 * operator of earlier versions, so that their savepoints restore them.
 */
public final class CompletionOperator
        extends AbstractUdfStreamOperator<ReplicationResult, ReplicationCompletionFunction>
        implements OneInputStreamOperator<BlockCopied, ReplicationResult>,
                Triggerable<String, VoidNamespace>,
                BoundedOneInput,
                YieldingOperator<ReplicationResult> {

    private static final long serialVersionUID = 1L;

    /** The timer service name of earlier versions' keyed process operator, in their savepoints. */
    static final String TIMERS = "user-timers";

    private transient MailboxExecutor mailboxExecutor;
    private transient InternalTimerService<VoidNamespace> timers;
    private transient TimestampedCollector<ReplicationResult> out;
    private transient KeyedMailbox mailbox;
    private transient Context context;

    /** The keys still in progress after the input ended; {@code null} before. */
    private transient Set<String> draining;

    public CompletionOperator(ReplicationCompletionFunction function) {
        super(function);
    }

    @Override
    public void setMailboxExecutor(MailboxExecutor mailboxExecutor) {
        this.mailboxExecutor = mailboxExecutor;
    }

    @Override
    public void open() throws Exception {
        super.open();
        out = new TimestampedCollector<>(output);
        out.eraseTimestamp();
        timers = getInternalTimerService(TIMERS, VoidNamespaceSerializer.INSTANCE, this);
        mailbox = new KeyedMailbox(mailboxExecutor, this::runFor);
        context = new Context();
    }

    @Override
    public void processElement(StreamRecord<BlockCopied> element) throws Exception {
        userFunction.processElement(element.getValue(), context);
    }

    @Override
    public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
        userFunction.onTimer(timer.getTimestamp(), context);
    }

    @Override
    public void onEventTime(InternalTimer<String, VoidNamespace> timer) {
        // Completion sets processing-time timers only.
    }

    @Override
    public void endInput() throws Exception {
        List<String> keys = new ArrayList<>();
        this.<String>getKeyedStateBackend()
                .applyToAllKeys(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        CompletionState.INFO,
                        (key, state) -> keys.add(key));
        draining = new HashSet<>();
        for (String key : keys) {
            setCurrentKey(key);
            if (userFunction.drain(context)) {
                draining.add(key);
            }
        }
        while (!draining.isEmpty()) {
            mailboxExecutor.yield();
        }
    }

    /** Runs a mail of {@code key}: with the key set, then notes whether a draining key is done. */
    private void runFor(String key, ThrowingRunnable<Exception> work) throws Exception {
        setCurrentKey(key);
        work.run();
        if (draining != null && draining.contains(key) && userFunction.settled()) {
            draining.remove(key);
        }
    }

    @Override
    public void close() throws Exception {
        try {
            super.close();
        } finally {
            if (mailbox != null) {
                mailbox.close();
            }
        }
    }

    /** The function's view of this operator, for the current key. */
    private final class Context implements CompletionContext {

        @Override
        public String key() {
            return (String) getCurrentKey();
        }

        @Override
        public long now() {
            return getProcessingTimeService().getCurrentProcessingTime();
        }

        @Override
        public void registerTimer(long time) {
            timers.registerProcessingTimeTimer(VoidNamespace.INSTANCE, time);
        }

        @Override
        public void emit(ReplicationResult result) {
            out.collect(result);
        }

        @Override
        public boolean inFlight() {
            return mailbox.inFlight(key());
        }

        @Override
        public <T> void send(
                String what, CompletableFuture<T> call, KeyedMailbox.Answer<T> answer) {
            mailbox.send(key(), what, call, answer);
        }

        @Override
        public void forget() {
            mailbox.forget(key());
        }

        @Override
        public boolean draining() {
            return draining != null;
        }

        @Override
        public void later(long delayMillis) {
            mailbox.later(key(), delayMillis, () -> userFunction.onDrainStep(this));
        }
    }
}
