package io.ebsreplicator.connector.ebs.source.intake;

import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * Where a long-running job's requests come from (a Kafka topic in {@code serve} mode). The
 * enumerator owns one, polls it on its worker thread (never the coordinator thread), and keeps the
 * position after every record it took in its checkpointed state together with the requests
 * themselves, so that a restore neither loses nor repeats a request: it seeks the intake back to
 * the checkpointed positions. Runs on the JobManager, one per job.
 */
public interface RequestIntake extends AutoCloseable {

    /**
     * Moves to the checkpointed positions (stream to next offset); streams without a position start
     * where the implementation says (for Kafka: the group's committed offset, else the earliest).
     * Called once, before the first poll.
     */
    void seek(Map<String, Long> positions);

    /** What arrived, in order per stream; empty when nothing did within {@code timeout}. */
    List<IntakeRecord> poll(Duration timeout);

    /** Interrupts a poll in progress from another thread. */
    default void wakeup() {}

    @Override
    void close();

    /** Creates the intake where it is used: in the enumerator, on the JobManager. */
    interface Factory extends Serializable {
        RequestIntake open();
    }
}
