package io.ebsreplicator.connector.ebs.pipeline;

import java.io.Serializable;

/**
 * A test seam at the operators' inputs: called for each record on its way into an operator, at each
 * checkpoint barrier and for each completed checkpoint, by a pass-through function that {@link
 * EbsReplicationPipeline#build} chains in front of the operator only when it is given a hook (the
 * operators know nothing of it; production jobs have none). Failover tests pass a hook that throws
 * once, after a checkpoint, in a chosen operator's task (state for "once" lives in the test's
 * shared objects, not in static fields); benchmarks time records with one. Runs on the operator's
 * task thread.
 */
public interface PipelineHook extends Serializable {

    /** Does nothing. */
    PipelineHook NONE = new PipelineHook() {};

    String SOURCE = "source";
    String COPIER = "copier";
    String COMPLETION = "completion";

    /** Before {@code operator} handles a record. May throw to simulate a failure in its task. */
    default void onRecord(String operator, int subtask) {}

    /** When {@code operator} takes its state for checkpoint {@code checkpointId} (the barrier). */
    default void onSnapshot(String operator, int subtask, long checkpointId) {}

    /** After {@code operator} learned that checkpoint {@code checkpointId} completed. */
    default void onCheckpointComplete(String operator, int subtask, long checkpointId) {}
}
