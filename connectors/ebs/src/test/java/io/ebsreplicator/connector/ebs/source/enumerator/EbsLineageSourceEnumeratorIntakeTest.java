package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.LineageCopy;
import io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.Coordinator;
import io.ebsreplicator.connector.ebs.source.intake.IntakeRecord;
import io.ebsreplicator.connector.ebs.source.intake.RequestIntake;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.DeadLetterSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.OTHER_TARGET;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.TARGET;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.assertCopiedIncrementally;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.assertLineageCopies;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.ofKind;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.ranges;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.request;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.settings;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.splitOf;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.startSpec;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.startedRequests;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests the long-running side of {@link EbsLineageSourceEnumerator}: requests taken from an intake
 * by the periodic poll (duplicates dropped, dead letters and invalid requests turned into splits,
 * positions checkpointed and sought on restore), lineages taken in order and copied incrementally,
 * and what a checkpoint keeps across a restore. The intake is scripted; see {@link
 * EnumeratorHarness} for the rest.
 */
class EbsLineageSourceEnumeratorIntakeTest {

    private EnumeratorHarness h;
    private FakeEbsProxy target;
    private ScriptedIntake intake;

    @BeforeEach
    void setUp() {
        h = new EnumeratorHarness();
        target = h.region(TARGET);
        intake = new ScriptedIntake();
    }

    @AfterEach
    void tearDown() throws Exception {
        h.close();
    }

    @Test
    void takesRequestsDropsDuplicatesAndCheckpointsWhereItStopped() throws Exception {
        String snap = h.sourceSnapshot(1);
        intake.deliver(
                IntakeRecord.request("requests-0", 0, request("r1", snap).build()),
                IntakeRecord.deadLetter(
                        "requests-0", 1, "dead-letter:requests-0@1", new byte[] {1, 2}),
                IntakeRecord.request("requests-1", 0, request("r1", snap).build()),
                IntakeRecord.invalid(
                        "requests-1",
                        1,
                        request("r2", snap).build(),
                        Failure.of(FailureReason.INVALID_REQUEST, "bad")));
        Coordinator c = start(EbsLineageEnumeratorState.empty());

        c.takeRequests();

        EbsLineageEnumeratorState state = c.checkpoint();
        assertThat(state.intakePositions())
                .containsExactly(Map.entry("requests-0", 2L), Map.entry("requests-1", 2L));
        assertThat(state.acceptedIds().contains("r1")).isTrue();
        assertThat(state.acceptedIds().contains("r2")).isTrue();
        assertThat(state.acceptedIds().size()).isEqualTo(2);
        assertThat(target.calls("StartSnapshot")).as("r1 once, r2 never").hasSize(1);
        List<LineageSplit> splits = state.unassignedSplits();
        assertThat(ofKind(splits, DeadLetterSplit.class))
                .singleElement()
                .satisfies(
                        d -> {
                            assertThat(d.id()).isEqualTo("dead-letter:requests-0@1");
                            assertThat(d.record()).containsExactly(1, 2);
                        });
        assertThat(ofKind(splits, FailedRequestSplit.class))
                .singleElement()
                .satisfies(
                        f -> {
                            assertThat(f.requestId()).isEqualTo("r2");
                            assertThat(f.failure())
                                    .isEqualTo(Failure.of(FailureReason.INVALID_REQUEST, "bad"));
                        });
        assertThat(ofKind(splits, BlockRangeSplit.class))
                .extracting(BlockRangeSplit::requestId)
                .containsOnly("r1")
                .isNotEmpty();
        assertThat(state.pendingRequests()).isEmpty();
        assertThat(intake.timeouts)
                .as("a poll holds the worker thread no longer than this")
                .containsOnly(Duration.ofMillis(EbsLineageSourceEnumerator.INTAKE_POLL_MILLIS));
    }

    @Test
    void aRestoredEnumeratorSeeksTheIntakeToItsCheckpointedPositionsAndRemembersIds()
            throws Exception {
        String snap = h.sourceSnapshot(1);
        AcceptedRequestIds accepted = new AcceptedRequestIds();
        accepted.add("r1", h.now());
        Coordinator c =
                start(
                        new EbsLineageEnumeratorState(
                                List.of(),
                                List.of(),
                                List.of(),
                                Map.of("requests-0", 17L),
                                accepted,
                                Map.of()));
        intake.deliver(IntakeRecord.request("requests-0", 17, request("r1", snap).build()));

        c.takeRequests();

        assertThat(intake.seeks).containsExactly(Map.of("requests-0", 17L));
        assertThat(target.calls("StartSnapshot"))
                .as("r1 was accepted before the restore")
                .isEmpty();
        assertThat(c.checkpoint().intakePositions()).containsExactly(Map.entry("requests-0", 18L));
    }

    @Test
    void aLineageIsAppliedInOrderAndCopiedIncrementallyOntoTheLastCompletedCopy() throws Exception {
        String first = h.sourceSnapshot(1);
        String second = h.nextSourceSnapshot(first);
        intake.deliver(
                IntakeRecord.request(
                        "requests-0", 0, request("g1", first).fromLatest("vol-1").build()),
                IntakeRecord.request(
                        "requests-0", 1, request("g2", second).fromLatest("vol-1").build()));
        Coordinator c = start(EbsLineageEnumeratorState.empty());

        c.takeRequests();

        assertThat(startedRequests(target)).as("g2 waits for g1").containsExactly("g1");
        String firstCopy = target.snapshotIds().get(0);
        assertThat(ranges(c.unassigned()).get(0).copyInfo())
                .satisfies(
                        info -> {
                            assertThat(info.incremental()).isFalse();
                            assertThat(info.fallbackReason()).contains("vol-1");
                        });

        c.completeTargets(target);

        assertThat(startedRequests(target)).containsExactly("g1", "g2");
        assertThat(startSpec(target, 1).parentSnapshotId()).isEqualTo(firstCopy);
        EbsLineageEnumeratorState state = c.checkpoint();
        BlockRangeSplit g2 = splitOf(state.unassignedSplits(), "g2");
        assertThat(g2.targets().snapshotByRegion()).containsKey(TARGET);
        assertCopiedIncrementally(g2, first, firstCopy);
        assertLineageCopies(state, "vol-1", new LineageCopy(first, firstCopy, 0));
    }

    @Test
    void theIntakeKeepsTakingRequestsWhileARegionDoesNotAnswer() throws Exception {
        FakeEbsProxy other = h.region(OTHER_TARGET).hold("StartSnapshot");
        Coordinator c = start(EbsLineageEnumeratorState.empty()).readers(1);
        intake.deliver(
                IntakeRecord.request(
                        "requests-0",
                        0,
                        request("stuck", h.sourceSnapshot(1)).to(OTHER_TARGET).build()));
        c.takeRequests();
        intake.deliver(
                IntakeRecord.request(
                        "requests-0", 1, request("free", h.sourceSnapshot(1)).build()));

        c.takeRequests();
        c.requestSplit(0);

        assertThat(c.checkpoint().intakePositions())
                .as("the second message was taken")
                .containsExactly(Map.entry("requests-0", 2L));
        assertThat(ranges(c.assignedTo(0)))
                .as("the request to the region that answers is planned and read")
                .extracting(BlockRangeSplit::requestId)
                .containsExactly("free");
        assertThat(c.pendingIds()).containsExactly("stuck");

        other.release();
        c.context.settle();

        assertThat(c.pendingIds()).isEmpty();
        assertThat(other.snapshotIds()).hasSize(1);
    }

    @Test
    void aRestoreKeepsPendingWatchedAndAcceptedRequestsAndPlansNothingTwice() throws Exception {
        String first = h.sourceSnapshot(1);
        String second = h.nextSourceSnapshot(first);
        FakeEbsProxy other = h.region(OTHER_TARGET).hold("StartSnapshot");
        intake.deliver(
                IntakeRecord.request(
                        "requests-0", 0, request("g1", first).fromLatest("vol-1").build()),
                IntakeRecord.request(
                        "requests-0", 1, request("g2", second).fromLatest("vol-1").build()),
                IntakeRecord.request(
                        "requests-0",
                        2,
                        request("x", h.sourceSnapshot(1)).to(OTHER_TARGET).build()));
        Coordinator c = start(EbsLineageEnumeratorState.empty());
        c.takeRequests();
        EbsLineageEnumeratorState checkpoint = c.checkpoint();
        assertThat(checkpoint.pendingRequests())
                .as("x being planned, g2 waiting for g1")
                .extracting(p -> p.request().requestId())
                .containsExactly("x", "g2");
        assertThat(checkpoint.watchedTargets())
                .extracting(EbsLineageEnumeratorState.WatchedTarget::targetSnapshotId)
                .containsExactly(target.snapshotIds().get(0));
        // x's target starts after the checkpoint; then the job fails.
        other.release();
        c.context.settle();
        c.close();

        ScriptedIntake replay = new ScriptedIntake();
        replay.deliver(
                IntakeRecord.request(
                        "requests-0", 3, request("g1", first).fromLatest("vol-1").build()));
        Coordinator restored = h.withIntake(checkpoint, settings(), replay::opened).start();
        restored.takeRequests();
        restored.tick();

        assertThat(replay.seeks).containsExactly(Map.of("requests-0", 3L));
        assertThat(startedRequests(target))
                .as("g1 is not taken again and g2 still waits for g1's copy")
                .containsExactly("g1");
        assertThat(startedRequests(other)).as("x is planned again").containsExactly("x", "x");
        assertThat(other.snapshotIds()).as("with the same target").hasSize(1);

        String firstCopy = target.snapshotIds().get(0);
        restored.completeTargets(target);

        assertThat(startedRequests(target)).containsExactly("g1", "g2");
        assertThat(target.snapshotIds()).as("one target per request").hasSize(2);
        EbsLineageEnumeratorState after = restored.checkpoint();
        assertCopiedIncrementally(splitOf(after.unassignedSplits(), "g2"), first, firstCopy);
        assertThat(after.intakePositions()).containsExactly(Map.entry("requests-0", 4L));
        assertThat(List.of("g1", "g2", "x")).allMatch(after.acceptedIds()::contains);
        assertThat(after.pendingRequests()).isEmpty();
    }

    @Test
    void splitsReadBeforeARestoreCountAsReadOnceEveryReaderIsIdle() throws Exception {
        String first = h.sourceSnapshot(1);
        String second = h.nextSourceSnapshot(first);
        intake.deliver(
                IntakeRecord.request(
                        "requests-0", 0, request("g1", first).fromLatest("vol-1").build()));
        Coordinator c = start(EbsLineageEnumeratorState.empty());
        c.takeRequests();
        // The checkpoint holds g1's target with its splits still open; their finished reports
        // came after it and are lost with the failure.
        EbsLineageEnumeratorState checkpoint = c.checkpoint();
        assertThat(checkpoint.watchedTargets().get(0).openSplits()).isNotEmpty();
        c.close();

        ScriptedIntake replay = new ScriptedIntake();
        replay.deliver(
                IntakeRecord.request(
                        "requests-0", 1, request("g2", second).fromLatest("vol-1").build()));
        Coordinator restored = h.withIntake(checkpoint, settings(), replay::opened).start();
        restored.readers(1);
        restored.takeRequests();
        // The restored splits go out again and are read; then the reader is idle.
        while (!restored.unassigned().isEmpty()) {
            restored.requestSplit(0);
        }
        restored.requestSplit(0);
        restored.tick();

        assertThat(restored.checkpoint().watchedTargets().get(0).openSplits())
                .as("no reader reads, so none of g1's splits is open")
                .isEmpty();
        h.advance(Duration.ofMinutes(3));
        restored.tick();
        assertThat(startedRequests(target))
                .as("past the grace, g1's copy no longer holds its lineage: g2 starts")
                .containsExactly("g1", "g2");
    }

    @Test
    void aFailedPollReopensTheIntakeAtTheLastPositionTaken() throws Exception {
        String snap = h.sourceSnapshot(1);
        intake.deliver(IntakeRecord.request("requests-0", 0, request("r1", snap).build()));
        Coordinator c = start(EbsLineageEnumeratorState.empty());
        c.takeRequests();

        intake.failNextPoll = true;
        c.takeRequests();
        intake.deliver(IntakeRecord.request("requests-0", 1, request("r2", snap).build()));
        c.takeRequests();

        assertThat(intake.seeks)
                .as("opened, then reopened where it stood")
                .containsExactly(Map.of(), Map.of("requests-0", 1L));
        assertThat(startedRequests(target)).containsExactly("r1", "r2");
        assertThat(c.checkpoint().intakePositions()).containsExactly(Map.entry("requests-0", 2L));
    }

    // ------------------------------------------------------------------ helpers

    private Coordinator start(EbsLineageEnumeratorState state) throws Exception {
        return h.withIntake(state, settings().splitsPerRequest(1), intake::opened).start();
    }

    /**
     * An intake that delivers scripted batches, one per poll, and records where it was told to
     * seek. Polled on the context's worker thread, scripted from the test thread.
     */
    private static final class ScriptedIntake implements RequestIntake {
        final Queue<List<IntakeRecord>> batches = new ConcurrentLinkedQueue<>();
        final List<Map<String, Long>> seeks = new CopyOnWriteArrayList<>();
        final List<Duration> timeouts = new CopyOnWriteArrayList<>();
        volatile boolean failNextPoll;

        RequestIntake opened() {
            return this;
        }

        void deliver(IntakeRecord... records) {
            batches.add(List.of(records));
        }

        @Override
        public void seek(Map<String, Long> positions) {
            seeks.add(Map.copyOf(positions));
        }

        @Override
        public List<IntakeRecord> poll(Duration timeout) {
            timeouts.add(timeout);
            if (failNextPoll) {
                failNextPoll = false;
                throw new IllegalStateException("the broker went away (scripted)");
            }
            List<IntakeRecord> next = batches.poll();
            return next == null ? List.of() : next;
        }

        @Override
        public void close() {}
    }
}
