package io.ebsreplicator.connector.ebs.completion;

import org.apache.flink.streaming.runtime.tasks.StreamTaskActionExecutor;
import org.apache.flink.streaming.runtime.tasks.mailbox.MailboxExecutorImpl;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailbox;
import org.apache.flink.streaming.runtime.tasks.mailbox.TaskMailboxImpl;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests {@link KeyedMailbox} on a real task mailbox, the test's thread being the task thread: the
 * mails are run by hand, as the task's mailbox loop runs them.
 */
class KeyedMailboxTest {

    private final TaskMailbox tasks = new TaskMailboxImpl(Thread.currentThread());

    /** The key each mail ran with, in order, and what the answers saw. */
    private final List<String> log = new ArrayList<>();

    private final KeyedMailbox mailbox =
            new KeyedMailbox(
                    new MailboxExecutorImpl(tasks, 0, StreamTaskActionExecutor.IMMEDIATE),
                    (key, work) -> {
                        log.add("key " + key);
                        work.run();
                    });

    @AfterEach
    void tearDown() {
        mailbox.close();
    }

    @Test
    void anAnswerComesBackAsAMailWithItsKeyNotInTheThreadThatCompletesTheCall() throws Exception {
        CompletableFuture<String> call = new CompletableFuture<>();
        mailbox.send("k1", "a call", call, (value, error) -> log.add("answer " + value));
        assertThat(mailbox.inFlight("k1")).isTrue();

        call.complete("pending");

        assertThat(log).as("only enqueued").isEmpty();
        assertThat(runMails()).isEqualTo(1);
        assertThat(log).containsExactly("key k1", "answer pending");
        assertThat(mailbox.inFlight("k1")).isFalse();
    }

    @Test
    void aCallAnsweredBeforeItWasSentIsStillHandledInAMail() throws Exception {
        mailbox.send(
                "k1",
                "a call",
                CompletableFuture.completedFuture("completed"),
                (value, error) -> log.add("answer " + value));

        assertThat(log).isEmpty();
        runMails();
        assertThat(log).containsExactly("key k1", "answer completed");
    }

    @Test
    void aFailedCallHandsItsErrorToTheAnswer() throws Exception {
        IllegalStateException failure = new IllegalStateException("no");
        List<Throwable> errors = new ArrayList<>();
        mailbox.send(
                "k1",
                "a call",
                CompletableFuture.failedFuture(failure),
                (value, error) -> errors.add(error));

        runMails();

        assertThat(errors).containsExactly(failure);
    }

    @Test
    void theAnswerOfAForgottenKeysOldCallIsDropped() throws Exception {
        CompletableFuture<String> old = new CompletableFuture<>();
        CompletableFuture<String> current = new CompletableFuture<>();
        mailbox.send("k1", "the old call", old, (value, error) -> log.add("answer " + value));
        mailbox.forget("k1");
        mailbox.send("k1", "the new call", current, (value, error) -> log.add("answer " + value));

        old.complete("old");
        runMails();
        assertThat(log).as("dropped: another call is in flight").doesNotContain("answer old");
        assertThat(mailbox.inFlight("k1")).isTrue();

        current.complete("new");
        runMails();
        assertThat(log).contains("answer new").doesNotContain("answer old");
        assertThat(mailbox.inFlight("k1")).isFalse();
    }

    @Test
    void keysAreInFlightIndependently() throws Exception {
        CompletableFuture<String> first = new CompletableFuture<>();
        mailbox.send("k1", "a call", first, (value, error) -> log.add("answer " + value));
        mailbox.send(
                "k2",
                "a call",
                CompletableFuture.completedFuture("k2 done"),
                (value, error) -> log.add("answer " + value));

        runMails();

        assertThat(log).containsExactly("key k2", "answer k2 done");
        assertThat(mailbox.inFlight("k1")).isTrue();
        assertThat(mailbox.inFlight("k2")).isFalse();
    }

    @Test
    void anAnswerAfterTheTaskClosedIsDroppedQuietly() {
        CompletableFuture<String> call = new CompletableFuture<>();
        mailbox.send("k1", "a call", call, (value, error) -> log.add("answer " + value));
        tasks.close();

        assertThat(call.complete("late")).isTrue();
        assertThat(log).isEmpty();
    }

    @Test
    void aDelayedStepRunsAsAMailOnceTheDelayIsOver() throws Exception {
        mailbox.later("k2", 1, () -> log.add("step"));

        // Waits in the mailbox, as the task thread waits for its next mail.
        tasks.take(TaskMailbox.MIN_PRIORITY).run();

        assertThat(log).containsExactly("key k2", "step");
    }

    private int runMails() throws Exception {
        return CompletionHarness.runMails(tasks);
    }
}
