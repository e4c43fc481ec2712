package io.ebsreplicator.connector.ebs.pipeline;

import java.io.Serializable;

/**
 * A test seam into the operators: called for each record an operator handles and for each
 * checkpoint it completes. Production jobs use {@link #NONE}. Failover tests pass a hook that
 * throws once, after a checkpoint, from a chosen operator (state for "once" lives in the test's
 * shared objects, not in static fields). Runs on the operator's task thread.
 */
public interface PipelineHook extends Serializable {

    /** Does nothing. */
    PipelineHook NONE = new PipelineHook() {};

    String SOURCE = "source";
    String COPIER = "copier";
    String COMPLETION = "completion";

    /** Before {@code operator} handles a record. May throw to simulate a failure. */
    default void onRecord(String operator, int subtask) {}

    /** When {@code operator} takes its state for checkpoint {@code checkpointId} (the barrier). */
    default void onSnapshot(String operator, int subtask, long checkpointId) {}

    /** After {@code operator} learned that checkpoint {@code checkpointId} completed. */
    default void onCheckpointComplete(String operator, int subtask, long checkpointId) {}
}
