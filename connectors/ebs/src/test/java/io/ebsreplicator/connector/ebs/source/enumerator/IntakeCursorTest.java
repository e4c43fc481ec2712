package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.source.intake.IntakeRecord;
import io.ebsreplicator.connector.ebs.source.intake.RequestIntake;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link IntakeCursor}: positions, duplicates, reopening, retention. */
class IntakeCursorTest {

    private static final long DAY = Duration.ofDays(1).toMillis();

    @Test
    void opensAtTheCheckpointedPositionsAndAdvancesPastEveryRecordTaken() {
        Scripted intake = new Scripted();
        IntakeCursor cursor =
                new IntakeCursor(
                        () -> intake.opened(),
                        Duration.ofDays(7),
                        Map.of("requests-0", 5L),
                        new AcceptedRequestIds());
        intake.batches.add(
                List.of(
                        IntakeRecord.request("requests-0", 5, request("a")),
                        IntakeRecord.deadLetter(
                                "requests-0", 6, "dead-letter:requests-0@6", new byte[] {1}),
                        IntakeRecord.request("requests-1", 0, request("b"))));

        List<IntakeRecord> polled = cursor.poll(Duration.ofMillis(10));
        assertThat(intake.seeks).containsExactly(Map.of("requests-0", 5L));
        List<IntakeRecord> taken = cursor.take(polled, DAY);

        assertThat(taken).hasSize(3);
        assertThat(cursor.positions())
                .containsExactly(Map.entry("requests-0", 7L), Map.entry("requests-1", 1L));
    }

    @Test
    void aRequestIdAcceptedBeforeIsLeftOutUntilTheRetentionPasses() {
        Scripted intake = new Scripted();
        IntakeCursor cursor =
                new IntakeCursor(
                        () -> intake.opened(),
                        Duration.ofDays(7),
                        Map.of(),
                        new AcceptedRequestIds());

        assertThat(cursor.take(List.of(IntakeRecord.request("requests-0", 0, request("a"))), DAY))
                .hasSize(1);
        assertThat(
                        cursor.take(
                                List.of(IntakeRecord.request("requests-0", 1, request("a"))),
                                2 * DAY))
                .as("a duplicate")
                .isEmpty();
        assertThat(cursor.positions()).containsEntry("requests-0", 2L);
        assertThat(
                        cursor.take(
                                List.of(IntakeRecord.request("requests-0", 2, request("a"))),
                                9 * DAY))
                .as("forgotten after 7 days")
                .hasSize(1);
    }

    @Test
    void aFailedTakeReopensTheIntakeAtThePositionsTaken() {
        Scripted intake = new Scripted();
        IntakeCursor cursor =
                new IntakeCursor(
                        () -> intake.opened(),
                        Duration.ofDays(7),
                        Map.of(),
                        new AcceptedRequestIds());
        intake.batches.add(List.of(IntakeRecord.request("requests-0", 0, request("a"))));
        cursor.take(cursor.poll(Duration.ZERO), DAY);

        cursor.failed(new IllegalStateException("broker gone"));
        cursor.poll(Duration.ZERO);

        assertThat(intake.seeks).containsExactly(Map.of(), Map.of("requests-0", 1L));
        assertThat(intake.closed).isEqualTo(1);
    }

    private static ReplicationRequest request(String id) {
        return new ReplicationRequest(
                id,
                "us-east-1",
                "snap-0123456789abcdef0",
                null,
                List.of(ReplicationTarget.of("us-west-2")),
                null,
                false,
                Map.of(),
                ReplicationRequest.NO_DEADLINE,
                0);
    }

    /** An intake that hands out scripted batches and records each open's seek. */
    private static final class Scripted implements RequestIntake {
        final Deque<List<IntakeRecord>> batches = new ArrayDeque<>();
        final List<Map<String, Long>> seeks = new ArrayList<>();
        int closed;

        RequestIntake opened() {
            return this;
        }

        @Override
        public void seek(Map<String, Long> positions) {
            seeks.add(Map.copyOf(positions));
        }

        @Override
        public List<IntakeRecord> poll(Duration timeout) {
            List<IntakeRecord> next = batches.poll();
            return next == null ? List.of() : next;
        }

        @Override
        public void close() {
            closed++;
        }
    }
}
