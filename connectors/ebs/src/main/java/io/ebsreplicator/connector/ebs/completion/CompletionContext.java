package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.model.ReplicationResult;

import java.util.concurrent.CompletableFuture;

/**
 * What {@link CompletionOperator} offers {@link ReplicationCompletionFunction} for the current key,
 * on the task thread: time, timers, output, and remote calls whose answers come back as mails with
 * the key set again (see {@link KeyedMailbox}).
 */
interface CompletionContext {

    /** The current key: request and target region. */
    String key();

    /** The current processing time. */
    long now();

    /** A processing-time timer for the current key, kept in state with it. */
    void registerTimer(long time);

    /** Emits a result. */
    void emit(ReplicationResult result);

    /** Whether the current key has a call in flight. */
    boolean inFlight();

    /**
     * Sends the current key's {@code call}; {@code answer} runs in a mail with the key set, unless
     * the key is {@link #forget forgotten} first.
     */
    <T> void send(String what, CompletableFuture<T> call, KeyedMailbox.Answer<T> answer);

    /** Drops the answer of the current key's call in flight: its target moved on. */
    void forget();

    /** Whether the input ended and the operator waits for every key to be done. */
    boolean draining();

    /**
     * While {@link #draining()}: {@link ReplicationCompletionFunction#onDrainStep} for the current
     * key after {@code delayMillis}, as timers no longer serve.
     */
    void later(long delayMillis);
}
