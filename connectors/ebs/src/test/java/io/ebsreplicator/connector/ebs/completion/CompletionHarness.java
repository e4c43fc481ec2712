package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.model.BlockCopied;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;

import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

import java.util.List;

/**
 * {@link CompletionOperator} in a keyed operator test harness, driven as its task thread would
 * drive it: after each record, each advance of processing time and the end of input, the mails in
 * the task's mailbox (the answers of calls that have answered) are run, the thread being free.
 * Calls held unanswered in the fake stay out until released, and {@link #runMails()} then delivers
 * them. Runs in the test's thread, which is the harness's mailbox thread.
 */
final class CompletionHarness implements AutoCloseable {

    private final KeyedOneInputStreamOperatorTestHarness<String, BlockCopied, ReplicationResult>
            harness;

    CompletionHarness(ReplicationCompletionFunction function, OperatorSubtaskState restoreFrom)
            throws Exception {
        harness =
                new KeyedOneInputStreamOperatorTestHarness<>(
                        new CompletionOperator(function),
                        (KeySelector<BlockCopied, String>) BlockCopied::completionKey,
                        Types.STRING);
        if (restoreFrom != null) {
            harness.initializeState(restoreFrom);
        }
        harness.open();
    }

    void processElement(BlockCopied event, long timestamp) throws Exception {
        harness.processElement(event, timestamp);
        runMails();
    }

    void setProcessingTime(long time) throws Exception {
        harness.setProcessingTime(time);
        runMails();
    }

    void endInput() throws Exception {
        harness.endInput();
        runMails();
    }

    /** A checkpoint of the operator, taken between two mails as the task takes it. */
    OperatorSubtaskState snapshot(long checkpointId, long timestamp) throws Exception {
        return harness.snapshot(checkpointId, timestamp);
    }

    List<ReplicationResult> extractOutputValues() {
        return harness.extractOutputValues();
    }

    /** Runs every mail waiting, and those they enqueue; returns how many ran. */
    int runMails() throws Exception {
        return runMails(harness.getTaskMailbox());
    }

    /** Runs every mail waiting in {@code mailbox}, and those they enqueue, as the task would. */
    static int runMails(TaskMailbox mailbox) throws Exception {
        int ran = 0;
        while (mailbox.hasMail()) {
            mailbox.take(TaskMailbox.MIN_PRIORITY).run();
            ran++;
        }
        return ran;
    }

    @Override
    public void close() throws Exception {
        harness.close();
    }
}
