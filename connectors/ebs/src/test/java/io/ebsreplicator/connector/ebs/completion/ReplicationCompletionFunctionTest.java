package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.BlockCopied;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.PojoFixtures;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;

import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

/**
 * Tests {@link ReplicationCompletionFunction} inside {@link CompletionOperator}, in a keyed
 * operator test harness with processing time driven by hand, against {@link FakeEbsProxy}.
 */
class ReplicationCompletionFunctionTest {

    private static final String SOURCE_REGION = "us-east-1";
    private static final String SOURCE_SNAPSHOT = "snap-0123";
    private static final String TARGET_REGION = "eu-west-1";
    private static final String SECOND_REGION = "ap-south-1";
    private static final String REQUEST = "req-1";
    private static final long POLL = 10;

    /** Split 0 holds blocks 0, 1, 2; split 1 holds 1000 and 1001. */
    private static final int[] SPLIT_0 = {0, 1, 2};

    private static final int[] SPLIT_1 = {1000, 1001};

    private String name;
    private FakeEbsProxy.Factory factory;
    private FakeEbsProxy target;
    private String targetSnapshot;
    private final Map<Integer, byte[]> written = new TreeMap<>();
    private final List<CompletionHarness> harnesses = new ArrayList<>();

    @BeforeEach
    void setUp() {
        name = "completion-test-" + UUID.randomUUID();
        factory = FakeEbsProxy.register(name);
        target = factory.proxy(TARGET_REGION);
        targetSnapshot = startTarget(target, "token-1");
        for (int i : SPLIT_0) {
            put(target, targetSnapshot, i);
        }
        for (int i : SPLIT_1) {
            put(target, targetSnapshot, i);
        }
        target.clearCalls();
    }

    @AfterEach
    void tearDown() throws Exception {
        for (var h : harnesses) {
            h.close();
        }
        FakeEbsProxy.unregister(name);
    }

    @Test
    void completesOnceWithTheCountAndLinearChecksumOnlyAfterTheTargetIsCompleted()
            throws Exception {
        target.sealAfterPolls(2);
        var harness = harness();
        harness.setProcessingTime(100);

        // Blocks out of index order, split 1 first: the aggregate must be in index order.
        blocks(harness, 1, SPLIT_1);
        harness.processElement(splitEnd(1, 2), 0);
        blocks(harness, 0, 2, 0, 1);
        assertThat(target.calls("CompleteSnapshot")).as("split 0 has not ended yet").isEmpty();
        harness.processElement(splitEnd(0, 3), 0);

        List<FakeEbsProxy.Call> completes = target.calls("CompleteSnapshot");
        assertThat(completes).hasSize(1);
        assertThat(completes.get(0).args())
                .containsExactly(targetSnapshot, 5, expectedLinearChecksum());
        assertThat(target.markedNew(targetSnapshot)).isNotNull();
        assertThat(harness.extractOutputValues()).as("still sealing").isEmpty();

        harness.setProcessingTime(100 + POLL); // DescribeSnapshots: pending
        assertThat(harness.extractOutputValues()).isEmpty();
        harness.setProcessingTime(100 + 2 * POLL); // pending (turns completed after answering)
        assertThat(harness.extractOutputValues()).isEmpty();
        harness.setProcessingTime(100 + 3 * POLL); // completed
        List<ReplicationResult> results = harness.extractOutputValues();

        assertThat(results).hasSize(1);
        ReplicationResult r = results.get(0);
        assertThat(r.status()).isEqualTo(ReplicationResult.COMPLETED);
        assertThat(r.succeeded()).isTrue();
        assertThat(r.requestId()).isEqualTo(REQUEST);
        assertThat(r.sourceRegion()).isEqualTo(SOURCE_REGION);
        assertThat(r.sourceSnapshotId()).isEqualTo(SOURCE_SNAPSHOT);
        assertThat(r.targetRegion()).isEqualTo(TARGET_REGION);
        assertThat(r.targetSnapshotId()).isEqualTo(targetSnapshot);
        assertThat(r.blocksWritten()).isEqualTo(5);
        assertThat(r.bytesWritten()).isEqualTo(5L * FakeEbsProxy.BLOCK_SIZE);
        assertThat(r.checksum()).isEqualTo(expectedLinearChecksum());
        assertThat(r.error()).isNull();
        assertThat(r.durationMs()).isEqualTo(100 + 3 * POLL - 50);
        assertThat(r.completedAtMillis())
                .as("when the target was seen completed, not when the result is written")
                .isEqualTo(100 + 3 * POLL);
        assertThat(target.calls("CompleteSnapshot")).hasSize(1);
        assertThat(target.calls("DescribeSnapshots")).hasSize(3);
        assertThat(target.status(targetSnapshot)).isEqualTo("completed");

        // No further polling and no second result.
        harness.setProcessingTime(100 + 10 * POLL);
        assertThat(harness.extractOutputValues()).hasSize(1);
        assertThat(target.calls("DescribeSnapshots")).hasSize(3);
    }

    @Test
    void aSealIsFirstCheckedSoonAfterCompleteSnapshotThenLessOftenUpToThePollInterval()
            throws Exception {
        target.sealAfterPolls(9);
        var harness =
                harness(
                        new ReplicationCompletionFunction(
                                factory,
                                Duration.ofSeconds(2),
                                Duration.ofMillis(250),
                                Duration.ofMinutes(5),
                                false),
                        null);
        harness.setProcessingTime(0);
        allEvents(harness);
        assertThat(target.calls("CompleteSnapshot")).hasSize(1);

        List<Long> polls = new ArrayList<>();
        for (long t = 1; t <= 12_000; t++) {
            int before = target.calls("DescribeSnapshots").size();
            harness.setProcessingTime(t);
            if (target.calls("DescribeSnapshots").size() > before) {
                polls.add(t);
            }
        }

        assertThat(polls)
                .as("each wait half the time sealed so far: 250 ms at least, 2 s at most")
                .containsExactly(250L, 500L, 750L, 1125L, 1687L, 2530L, 3795L, 5692L, 7692L, 9692L);
        assertThat(harness.extractOutputValues())
                .extracting(ReplicationResult::status, ReplicationResult::completedAtMillis)
                .containsExactly(tuple(ReplicationResult.COMPLETED, 9692L));
    }

    @Test
    void aDuplicateBlockEventIsNotCountedTwice() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);

        blocks(harness, 0, SPLIT_0);
        harness.processElement(block(0, 1), 0); // replayed after a failover
        blocks(harness, 1, SPLIT_1);
        harness.processElement(block(1, 1000), 0);
        harness.processElement(splitEnd(0, 3), 0);
        harness.processElement(splitEnd(1, 2), 0);
        harness.setProcessingTime(POLL);

        assertThat(target.calls("CompleteSnapshot")).hasSize(1);
        assertThat(target.calls("CompleteSnapshot").get(0).args().get(1)).isEqualTo(5);
        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.COMPLETED);
        assertThat(results.get(0).blocksWritten()).isEqualTo(5);
    }

    @Test
    void doesNotCompleteBeforeEveryBlockOfAnEndedSplitArrived() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);

        // Split ends can overtake blocks (different copier subtasks).
        harness.processElement(splitEnd(0, 3), 0);
        harness.processElement(splitEnd(1, 2), 0);
        blocks(harness, 0, 0, 1);
        blocks(harness, 1, SPLIT_1);
        harness.setProcessingTime(10 * POLL);
        assertThat(target.calls("CompleteSnapshot")).isEmpty();
        assertThat(harness.extractOutputValues()).isEmpty();

        blocks(harness, 0, 2);
        harness.setProcessingTime(11 * POLL);

        assertThat(target.calls("CompleteSnapshot")).hasSize(1);
        assertThat(harness.extractOutputValues())
                .extracting(ReplicationResult::status)
                .containsExactly(ReplicationResult.COMPLETED);
    }

    @Test
    void aFailedEventYieldsExactlyOneFailedResultAndLaterEventsAreIgnored() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);

        blocks(harness, 0, SPLIT_0);
        harness.processElement(failed(DENIED), 0);
        blocks(harness, 1, SPLIT_1);
        harness.processElement(splitEnd(0, 3), 0);
        harness.processElement(splitEnd(1, 2), 0);
        harness.processElement(
                failed(Failure.of(FailureReason.SNAPSHOT_NOT_FOUND, "a second failure")), 0);
        harness.setProcessingTime(100 * POLL);

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        ReplicationResult r = results.get(0);
        assertThat(r.status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(r.succeeded()).isFalse();
        assertThat(r.error()).as("the first failure, as it was decided").isEqualTo(DENIED);
        assertThat(r.targetSnapshotId()).isEqualTo(targetSnapshot);
        assertThat(r.blocksWritten()).isZero();
        assertThat(r.checksum()).isNull();
        assertThat(target.calls("CompleteSnapshot")).isEmpty();
        // Asked once, to tell a failure from a cancellation by EBS (which waits for a
        // replacement); the target is pending, so the failure stands.
        assertThat(target.calls("DescribeSnapshots")).hasSize(1);
    }

    @Test
    void aFailedBlockIsReportedWithTheAttributesOfTheSplitEndThatFollows() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);
        CopyInfo info =
                new CopyInfo(false, null, Map.of(), null, Map.of("ticket", "T-1", "trace", "abc"));

        // Blocks travel without the copy info; the block's failure overtakes every split end.
        harness.processElement(events(targetSnapshot, 0, null).failedBlock(0, 1, DENIED), 0);
        assertThat(harness.extractOutputValues()).isEmpty();
        harness.processElement(events(targetSnapshot, 0, info).splitEnd(0, 3), 0);
        harness.processElement(splitEnd(1, 2), 0);

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(results.get(0).error()).isEqualTo(DENIED);
        assertThat(results.get(0).copyMode()).isEqualTo(ReplicationResult.FULL);
        assertThat(results.get(0).attributes())
                .containsExactly(Map.entry("ticket", "T-1"), Map.entry("trace", "abc"));
        assertThat(target.calls("CompleteSnapshot")).isEmpty();
    }

    @Test
    void aFailedBlockAfterASplitEndWithoutCopyInfoIsReportedAtOnce() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);
        // A split end from a checkpoint older than copy info: no later event brings it, so
        // holding the failure would leave the request without a result in an unbounded job.
        harness.processElement(splitEnd(0, 3), 0);
        harness.processElement(events(targetSnapshot, 0, null).failedBlock(1, 1000, DENIED), 0);

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(results.get(0).error()).isEqualTo(DENIED);
    }

    @Test
    void aFailedEventForATargetThatNeverStartedHasNoTargetSnapshot() throws Exception {
        var harness = harness();

        harness.processElement(events("ap-south-1", null, 0, null).failed(DENIED), 0);

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).targetRegion()).isEqualTo("ap-south-1");
        assertThat(results.get(0).targetSnapshotId()).isNull();
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(results.get(0).error()).isEqualTo(DENIED);
    }

    @Test
    void aFailureRestoredFromAnEarlierVersionWithoutAReasonEndsAsTargetFailed() throws Exception {
        // As the copier of the version before failures had reasons emitted it; from a savepoint.
        BlockCopied restored =
                PojoFixtures.read(
                                "/serializer-fixtures/block-copied-pojo-v1.bin", BlockCopied.class)
                        .get(2);
        assertThat(restored.error()).isNull();
        var harness = harness();

        harness.processElement(restored, 0);

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        ReplicationResult r = results.get(0);
        assertThat(r.requestId()).isEqualTo("req-pojo-bad");
        assertThat(r.targetRegion()).isEqualTo("eu-west-1");
        assertThat(r.targetSnapshotId()).isNull();
        assertThat(r.status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(r.error().reason()).isEqualTo(FailureReason.TARGET_FAILED);
        assertThat(r.error().message())
                .contains("AccessDeniedException(UNAUTHORIZED_ACCOUNT)")
                .contains("earlier version");
        assertThat(r.attributes()).containsEntry("ticket", "T-9");
    }

    @Test
    void aRejectedCompleteSnapshotYieldsAFailedResult() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);

        // Two blocks reported written, but only one reached the target: EBS rejects the count
        // with a fatal ValidationException.
        String other = startTarget(target, "token-2");
        put(target, other, 0);
        Events req2 = new Events("req-2", TARGET_REGION, other, 1, 0, null);
        harness.processElement(req2.block(0, 0), 0);
        harness.processElement(req2.block(0, 1), 0);
        harness.processElement(req2.splitEnd(0, 2), 0);

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(results.get(0).error().reason()).isEqualTo(FailureReason.REJECTED_BY_EBS);
        assertThat(results.get(0).error().message()).contains("ValidationException");
    }

    @Test
    void aTargetThatGoesToErrorWithoutAReplacementYieldsAFailedResult() throws Exception {
        target.sealAfterPolls(5);
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);
        assertThat(target.calls("CompleteSnapshot")).hasSize(1);

        target.setStatus(targetSnapshot, "error", "cancelled by EBS");
        harness.setProcessingTime(POLL);
        assertThat(harness.extractOutputValues()).as("waits for a replacement").isEmpty();

        harness.setProcessingTime(POLL + Duration.ofMinutes(5).toMillis());

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(results.get(0).error().reason()).isEqualTo(FailureReason.TARGET_CANCELLED);
        assertThat(results.get(0).error().message())
                .contains("cancelled by EBS")
                .contains(targetSnapshot)
                .contains("no replacement");
    }

    @Test
    void aReplacementTargetResetsCompletionAndLateEventsOfTheCancelledOneAreIgnored()
            throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);
        blocks(harness, 0, 0, 1);
        // EBS cancels the target; puts to it fail from then on.
        target.setStatus(targetSnapshot, "error", "Cancelled: not completed within the timeout");
        harness.processElement(failed(NOT_PENDING), 0);
        assertThat(harness.extractOutputValues()).as("not a failure of the request").isEmpty();

        // The source started generation 1 and copies every block again.
        String replacement = startTarget(target, "token-2");
        written.clear();
        for (int i : SPLIT_0) {
            put(target, replacement, i);
        }
        for (int i : SPLIT_1) {
            put(target, replacement, i);
        }
        for (int i : SPLIT_0) {
            harness.processElement(events(replacement, 1, null).block(0, i), 0);
            // Late events of the cancelled target, in between.
            harness.processElement(events(targetSnapshot, 0, null).block(1, 1000 + i), 0);
        }
        harness.processElement(events(targetSnapshot, 0, null).splitEnd(1, 7), 0);
        for (int i : SPLIT_1) {
            harness.processElement(events(replacement, 1, null).block(1, i), 0);
        }
        harness.processElement(events(replacement, 1, null).splitEnd(0, 3), 0);
        harness.processElement(events(replacement, 1, null).splitEnd(1, 2), 0);
        harness.processElement(
                failed(
                        Failure.of(
                                FailureReason.TARGET_FAILED,
                                "late failure of the cancelled target")),
                0);
        harness.setProcessingTime(POLL);

        List<FakeEbsProxy.Call> completes = target.calls("CompleteSnapshot");
        assertThat(completes).hasSize(1);
        assertThat(completes.get(0).args())
                .containsExactly(replacement, 5, expectedLinearChecksum());
        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).as(results.get(0).toJson()).isEqualTo("COMPLETED");
        assertThat(results.get(0).targetSnapshotId()).isEqualTo(replacement);
        assertThat(results.get(0).blocksWritten()).isEqualTo(5);
    }

    @Test
    void aCancelledTargetAtTheEndOfABoundedInputFailsWithTheReason() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);
        blocks(harness, 0, 0);
        target.setStatus(targetSnapshot, "error", "Cancelled: not completed within the timeout");
        harness.processElement(failed(NOT_PENDING), 0);

        harness.endInput();

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(results.get(0).error().reason()).isEqualTo(FailureReason.TARGET_CANCELLED);
        assertThat(results.get(0).error().message())
                .contains("was cancelled by EBS")
                .contains("not completed within the timeout")
                .contains("input ended");
    }

    @Test
    void aTransientCompleteSnapshotFailureIsRetriedOnATimer() throws Exception {
        target.failNext("CompleteSnapshot", FakeEbsProxy::throttled);
        var harness = harness();
        harness.setProcessingTime(0);

        allEvents(harness);
        assertThat(target.calls("CompleteSnapshot")).hasSize(1);
        assertThat(harness.extractOutputValues()).isEmpty();

        // No further event arrives for this target: a timer must try again.
        for (int t = 1; t <= 5; t++) {
            harness.setProcessingTime(t * POLL);
        }

        assertThat(target.calls("CompleteSnapshot")).hasSize(2);
        assertThat(harness.extractOutputValues())
                .extracting(ReplicationResult::status)
                .containsExactly(ReplicationResult.COMPLETED);
    }

    @Test
    void twoTargetsOfOneRequestCompleteIndependently() throws Exception {
        FakeEbsProxy second = factory.proxy("ap-south-1");
        String secondSnapshot = startTarget(second, "token-3");
        for (int i : SPLIT_0) {
            put(second, secondSnapshot, i);
        }
        var harness = harness();
        harness.setProcessingTime(0);

        allEvents(harness);
        Events toSecond = new Events(REQUEST, "ap-south-1", secondSnapshot, 1, 0, null);
        for (int i : SPLIT_0) {
            harness.processElement(toSecond.block(0, i), 0);
        }
        harness.processElement(toSecond.splitEnd(0, 3), 0);
        harness.setProcessingTime(POLL);

        assertThat(harness.extractOutputValues())
                .extracting(ReplicationResult::targetRegion, ReplicationResult::blocksWritten)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple(TARGET_REGION, 5L),
                        org.assertj.core.groups.Tuple.tuple("ap-south-1", 3L));
    }

    // ------------------------------------------------------------------ checkpoints

    @Test
    void aSnapshotTakenWhileCopyingRestoresAndContinues() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);
        blocks(harness, 0, SPLIT_0);
        harness.processElement(splitEnd(0, 3), 0);
        blocks(harness, 1, 1000);
        OperatorSubtaskState snapshot = checkpointThenFail(harness);

        var restored = harness(snapshot);
        restored.setProcessingTime(0);
        // After the failover the last block is replayed together with the rest.
        blocks(restored, 1, 1000, 1001);
        restored.processElement(splitEnd(1, 2), 0);
        restored.setProcessingTime(POLL);

        List<FakeEbsProxy.Call> completes = target.calls("CompleteSnapshot");
        assertThat(completes).hasSize(1);
        assertThat(completes.get(0).args())
                .containsExactly(targetSnapshot, 5, expectedLinearChecksum());
        assertThat(restored.extractOutputValues())
                .extracting(ReplicationResult::status, ReplicationResult::checksum)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(
                                ReplicationResult.COMPLETED, expectedLinearChecksum()));
    }

    @Test
    void aSnapshotTakenWhileSealingRestoresItsTimerAndEmitsTheResult() throws Exception {
        target.sealAfterPolls(3);
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);
        harness.setProcessingTime(POLL);
        OperatorSubtaskState snapshot = checkpointThenFail(harness);
        assertThat(harness.extractOutputValues()).isEmpty();

        var restored = harness(snapshot);
        for (int t = 2; t <= 6; t++) {
            restored.setProcessingTime(t * POLL);
        }

        assertThat(target.calls("CompleteSnapshot")).hasSize(1);
        assertThat(restored.extractOutputValues())
                .extracting(ReplicationResult::status)
                .containsExactly(ReplicationResult.COMPLETED);
    }

    @Test
    void aSnapshotTakenAfterTheResultIgnoresReplayedEvents() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);
        harness.setProcessingTime(POLL);
        assertThat(harness.extractOutputValues()).hasSize(1);
        OperatorSubtaskState snapshot = checkpointThenFail(harness);

        var restored = harness(snapshot);
        restored.setProcessingTime(0);
        allEvents(restored);
        restored.setProcessingTime(10 * POLL);
        restored.endInput();

        assertThat(restored.extractOutputValues()).isEmpty();
        assertThat(target.calls("CompleteSnapshot")).hasSize(1);
    }

    // ------------------------------------------------------------------ end of input

    @Test
    void endInputDrainsASealingTarget() throws Exception {
        target.sealAfterPolls(3);
        var harness = harness();
        // The drain waits in wall-clock time, as processing time is in a running job.
        harness.setProcessingTime(System.currentTimeMillis());
        allEvents(harness);
        assertThat(harness.extractOutputValues()).isEmpty();

        harness.endInput();

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).error()).isNull();
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.COMPLETED);
        assertThat(results.get(0).checksum()).isEqualTo(expectedLinearChecksum());
        assertThat(target.status(targetSnapshot)).isEqualTo("completed");
        assertThat(target.calls("CompleteSnapshot")).hasSize(1);
    }

    @Test
    void endInputFailsATargetWhoseBlocksDidNotAllArrive() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);
        blocks(harness, 0, SPLIT_0);
        harness.processElement(splitEnd(0, 3), 0);
        blocks(harness, 1, 1000);

        harness.endInput();

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(results.get(0).error().reason()).isEqualTo(FailureReason.TARGET_FAILED);
        assertThat(results.get(0).error().message())
                .contains("1 of 2 splits ended")
                .contains("4 blocks");
        assertThat(target.calls("CompleteSnapshot")).isEmpty();
    }

    @Test
    void endInputFailsATargetWhoseCompleteSnapshotKeepsFailingTransientlyAsEbsUnavailable()
            throws Exception {
        target.failAlways("CompleteSnapshot", FakeEbsProxy::throttled);
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);

        harness.endInput();

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(results.get(0).error().reason()).isEqualTo(FailureReason.EBS_UNAVAILABLE);
        assertThat(results.get(0).error().message())
                .contains("CompleteSnapshot")
                .contains(targetSnapshot);
        assertThat(target.calls("CompleteSnapshot")).hasSizeGreaterThan(1);
    }

    @Test
    void aTargetThatIsNotCompletedWithinTheSealTimeoutFailsAsTargetFailed() throws Exception {
        target.sealAfterPolls(Integer.MAX_VALUE);
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);
        assertThat(target.calls("CompleteSnapshot")).hasSize(1);

        harness.setProcessingTime(Duration.ofMinutes(5).toMillis() + 2 * POLL);

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(results.get(0).error().reason()).isEqualTo(FailureReason.TARGET_FAILED);
        assertThat(results.get(0).error().message())
                .contains(targetSnapshot)
                .contains("was not completed within");
    }

    @Test
    void endInputCompletesATargetWhoseCompleteSnapshotFailedTransiently() throws Exception {
        target.failNext("CompleteSnapshot", FakeEbsProxy::throttled);
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);

        harness.endInput();

        assertThat(target.calls("CompleteSnapshot")).hasSize(2);
        assertThat(harness.extractOutputValues())
                .extracting(ReplicationResult::status)
                .containsExactly(ReplicationResult.COMPLETED);
    }

    // ------------------------------------------------------------------ calls in flight

    @Test
    void aCheckpointAndOtherKeysGoOnWhileCompleteSnapshotIsUnanswered() throws Exception {
        target.hold("CompleteSnapshot");
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);
        assertThat(target.heldCalls()).as("CompleteSnapshot sent, unanswered").isEqualTo(1);

        checkpointAndAnotherKeyGoOn(harness, POLL);
        assertThat(target.heldCalls()).as("the timers re-armed; no second call").isEqualTo(1);

        target.release();
        harness.runMails();
        harness.setProcessingTime(3 * POLL);

        assertThat(target.calls("CompleteSnapshot")).hasSize(1);
        assertBothCompleted(harness);
    }

    @Test
    void aCheckpointAndOtherKeysGoOnWhileASealPollIsUnanswered() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);
        target.hold("DescribeSnapshots");
        harness.setProcessingTime(POLL);
        assertThat(target.heldCalls()).as("the seal poll, unanswered").isEqualTo(1);

        checkpointAndAnotherKeyGoOn(harness, 2 * POLL);
        assertThat(target.heldCalls()).as("the timers re-armed; no second poll").isEqualTo(1);

        target.release();
        harness.runMails();

        assertThat(target.calls("DescribeSnapshots")).hasSize(1);
        assertBothCompleted(harness);
    }

    @Test
    void aCheckpointAndOtherKeysGoOnWhileTheReadBackIsUnanswered() throws Exception {
        ReadBackProbe probe = new ReadBackProbe(target).holdReads();
        var harness = harness(function(probed(probe), true), null);
        harness.setProcessingTime(0);
        allEvents(harness);
        harness.setProcessingTime(POLL); // completed: the read-back starts
        assertThat(probe.heldReads()).as("every block read at once, unanswered").isEqualTo(5);

        checkpointAndAnotherKeyGoOn(harness, 2 * POLL);
        assertThat(target.calls("GetSnapshotBlock")).as("no block read twice").hasSize(5);

        probe.release();
        harness.runMails();

        assertThat(target.calls("GetSnapshotBlock")).hasSize(5);
        assertBothCompleted(harness);
    }

    @Test
    void aCompleteSnapshotInFlightAtACheckpointIsSentAgainAfterTheRestoreAndCompletesOnce()
            throws Exception {
        target.hold("CompleteSnapshot");
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);
        OperatorSubtaskState snapshot = checkpointThenFail(harness);
        // EBS answers the call of the failed attempt; nobody is left to hear it.
        target.release();

        var restored = harness(snapshot);
        restored.setProcessingTime(POLL); // the restored timer sends CompleteSnapshot again
        restored.setProcessingTime(2 * POLL); // the seal poll

        List<FakeEbsProxy.Call> completes = target.calls("CompleteSnapshot");
        assertThat(completes).as("sent again, with the same values").hasSize(2);
        assertThat(completes.get(1).args()).isEqualTo(completes.get(0).args());
        assertThat(completes.get(1).args())
                .containsExactly(targetSnapshot, 5, expectedLinearChecksum());
        assertThat(restored.extractOutputValues())
                .extracting(ReplicationResult::status, ReplicationResult::checksum)
                .containsExactly(tuple(ReplicationResult.COMPLETED, expectedLinearChecksum()));
    }

    @Test
    void aSealPollInFlightAtACheckpointIsSentAgainAfterTheRestore() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);
        target.hold("DescribeSnapshots");
        harness.setProcessingTime(POLL);
        OperatorSubtaskState snapshot = checkpointThenFail(harness);
        target.release();

        var restored = harness(snapshot);
        restored.setProcessingTime(2 * POLL);

        assertThat(target.calls("DescribeSnapshots")).as("asked again").hasSize(2);
        assertThat(target.calls("CompleteSnapshot")).hasSize(1);
        assertThat(restored.extractOutputValues())
                .extracting(ReplicationResult::status)
                .containsExactly(ReplicationResult.COMPLETED);
    }

    @Test
    void sealPollsOfManyTargetsInOneRegionGoInFewDescribeSnapshotsCalls() throws Exception {
        int targets = 20;
        var harness = harness();
        harness.setProcessingTime(0);
        for (int k = 0; k < targets; k++) {
            String snapshot = startTarget(target, "token-many-" + k);
            put(target, snapshot, k);
            Events request = new Events("req-many-" + k, TARGET_REGION, snapshot, 1, 0, null);
            harness.processElement(request.block(0, k), 0);
            harness.processElement(request.splitEnd(0, 1), 0);
        }
        assertThat(target.calls("CompleteSnapshot")).hasSize(targets);
        target.clearCalls();
        // A region with a round trip: the first poll is out while the others are asked.
        target.hold("DescribeSnapshots");

        harness.setProcessingTime(POLL);
        target.release();
        harness.runMails();

        List<FakeEbsProxy.Call> describes = target.calls("DescribeSnapshots");
        assertThat(describes).as("one call in flight, the rest together in the next").hasSize(2);
        assertThat((List<?>) describes.get(1).args().get(0)).hasSize(targets - 1);
        assertThat(harness.extractOutputValues())
                .hasSize(targets)
                .allSatisfy(r -> assertThat(r.status()).isEqualTo(ReplicationResult.COMPLETED));
    }

    @Test
    void endInputTakesOverASealPollThatIsInFlight() throws Exception {
        var harness = harness();
        harness.setProcessingTime(0);
        allEvents(harness);
        target.hold("DescribeSnapshots");
        harness.setProcessingTime(POLL);
        // Answered (completed), but its mail waits: the task thread is busy ending the input.
        target.release();

        harness.endInput();

        assertThat(target.calls("DescribeSnapshots"))
                .as("the answer in flight was taken, not asked for again")
                .hasSize(1);
        assertThat(harness.extractOutputValues())
                .extracting(ReplicationResult::status)
                .containsExactly(ReplicationResult.COMPLETED);
    }

    // ------------------------------------------------------------------ read-back

    @Test
    void theReadBackListsPagesAndReadsABoundedWindowOfBlocksAtOnce() throws Exception {
        ReadBackProbe probe = new ReadBackProbe(target).holdReads();
        var harness = harness(function(probed(probe), true).readBackWindows(3, 2), null);
        harness.setProcessingTime(0);
        allEvents(harness);
        target.clearCalls();

        harness.setProcessingTime(POLL); // completed: the read-back starts
        List<Integer> held = new ArrayList<>();
        while (probe.heldReads() > 0) {
            held.add(probe.heldReads());
            probe.release();
            probe.holdReads();
            harness.runMails();
        }

        // Pages of three blocks: {0, 1, 2} read as {0, 1} and {2}, then {1000, 1001}.
        assertThat(held).containsExactly(2, 1, 2);
        assertThat(probe.mostReadsInFlight()).isEqualTo(2);
        assertThat(target.calls("ListSnapshotBlocks")).hasSize(2);
        assertThat(target.calls("GetSnapshotBlock"))
                .extracting(c -> c.args().get(1))
                .containsExactly(0, 1, 2, 1000, 1001);
        assertThat(harness.extractOutputValues())
                .extracting(ReplicationResult::status)
                .containsExactly(ReplicationResult.COMPLETED);
    }

    @Test
    void aReadBackInterruptedByARestoreGoesOnFromTheBlockItReached() throws Exception {
        ReadBackProbe probe = new ReadBackProbe(target).holdReads();
        var harness = harness(function(probed(probe), true).readBackWindows(2, 2), null);
        harness.setProcessingTime(0);
        allEvents(harness);
        harness.setProcessingTime(POLL); // completed: blocks 0 and 1 are read
        probe.release();
        probe.holdReads();
        harness.runMails(); // equal: the read-back reached block 2, and reads 2 and 1000
        assertThat(probe.heldReads()).isEqualTo(2);
        OperatorSubtaskState snapshot = checkpointThenFail(harness);
        target.clearCalls();

        ReadBackProbe after = new ReadBackProbe(target);
        var restored = harness(function(probed(after), true).readBackWindows(2, 2), snapshot);
        restored.setProcessingTime(2 * POLL);

        assertThat(target.calls("ListSnapshotBlocks").get(0).args())
                .as("listed again from the block reached, without a token")
                .containsExactly(targetSnapshot, 2, null, 2);
        assertThat(target.calls("GetSnapshotBlock"))
                .extracting(c -> c.args().get(1))
                .containsExactly(2, 1000, 1001);
        assertThat(restored.extractOutputValues())
                .extracting(ReplicationResult::status)
                .containsExactly(ReplicationResult.COMPLETED);
    }

    @Test
    void aBlockThatReadsBackDifferentlyFailsVerification() throws Exception {
        var harness = harness(function(true), null);
        harness.setProcessingTime(0);
        allEvents(harness);
        target.corruptNextReads(1);

        harness.setProcessingTime(POLL);

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).status()).isEqualTo(ReplicationResult.FAILED);
        assertThat(results.get(0).error().reason()).isEqualTo(FailureReason.VERIFICATION_FAILED);
        assertThat(results.get(0).error().message())
                .contains("block 0 of " + targetSnapshot)
                .contains("differs from the source");
    }

    @Test
    void aBlockMissingFromTheTargetFailsVerification() throws Exception {
        ReadBackProbe probe = new ReadBackProbe(target).unlist(1000);
        var harness = harness(function(probed(probe), true).readBackWindows(2, 2), null);
        harness.setProcessingTime(0);
        allEvents(harness);

        harness.setProcessingTime(POLL);

        List<ReplicationResult> results = harness.extractOutputValues();
        assertThat(results).hasSize(1);
        assertThat(results.get(0).error().reason()).isEqualTo(FailureReason.VERIFICATION_FAILED);
        assertThat(results.get(0).error().message())
                .contains("block 1000 is missing from " + targetSnapshot);
    }

    // ------------------------------------------------------------------ helpers

    private CompletionHarness harness() throws Exception {
        return harness(null);
    }

    private CompletionHarness harness(OperatorSubtaskState restoreFrom) throws Exception {
        return harness(function(false), restoreFrom);
    }

    private CompletionHarness harness(
            ReplicationCompletionFunction function, OperatorSubtaskState restoreFrom)
            throws Exception {
        CompletionHarness h = new CompletionHarness(function, restoreFrom);
        harnesses.add(h);
        return h;
    }

    private ReplicationCompletionFunction function(boolean verify) {
        return function(factory, verify);
    }

    private ReplicationCompletionFunction function(EbsProxyFactory proxies, boolean verify) {
        return new ReplicationCompletionFunction(
                proxies,
                Duration.ofMillis(POLL),
                Duration.ofMillis(POLL),
                Duration.ofMinutes(5),
                verify);
    }

    /** The fakes, with {@code probe} in front of the target region's. */
    private EbsProxyFactory probed(ReadBackProbe probe) {
        return region -> TARGET_REGION.equals(region) ? probe : factory.proxy(region);
    }

    /**
     * While the target region's call is unanswered: a checkpoint is taken, and a request to {@link
     * #SECOND_REGION} completes, its seal polled by the timers of {@code from} and one poll later,
     * which find the unanswered key's call in flight.
     */
    private void checkpointAndAnotherKeyGoOn(CompletionHarness h, long from) throws Exception {
        OperatorSubtaskState snapshot = h.snapshot(1, 1);
        requestToSecondRegion(h);
        h.setProcessingTime(from);
        h.setProcessingTime(from + POLL);

        assertThat(snapshot).as("the checkpoint did not wait for EBS").isNotNull();
        assertThat(h.extractOutputValues())
                .as("another key completed meanwhile")
                .extracting(ReplicationResult::targetRegion, ReplicationResult::status)
                .containsExactly(tuple(SECOND_REGION, ReplicationResult.COMPLETED));
    }

    private static void assertBothCompleted(CompletionHarness h) {
        assertThat(h.extractOutputValues())
                .extracting(ReplicationResult::targetRegion, ReplicationResult::status)
                .containsExactly(
                        tuple(SECOND_REGION, ReplicationResult.COMPLETED),
                        tuple(TARGET_REGION, ReplicationResult.COMPLETED));
    }

    /** A checkpoint, then the task fails: the harness is gone, the checkpoint restores. */
    private OperatorSubtaskState checkpointThenFail(CompletionHarness h) throws Exception {
        OperatorSubtaskState snapshot = h.snapshot(1, 1);
        h.close();
        harnesses.remove(h);
        return snapshot;
    }

    /** A request of its own to {@link #SECOND_REGION}: every block written and reported. */
    private void requestToSecondRegion(CompletionHarness h) throws Exception {
        FakeEbsProxy second = factory.proxy(SECOND_REGION);
        String snapshot = startTarget(second, "token-second");
        for (int i : SPLIT_0) {
            put(second, snapshot, i);
        }
        Events request = new Events("req-2", SECOND_REGION, snapshot, 1, 0, null);
        for (int i : SPLIT_0) {
            h.processElement(request.block(0, i), 0);
        }
        h.processElement(request.splitEnd(0, SPLIT_0.length), 0);
    }

    private static String startTarget(FakeEbsProxy proxy, String token) {
        return proxy.startSnapshot(
                        new StartSnapshotSpec(1, null, token, null, Map.of(), null, null, 60))
                .snapshotId();
    }

    private void put(FakeEbsProxy proxy, String snapshot, int index) {
        byte[] data = FakeEbsProxy.block(index);
        written.put(index, data);
        proxy.putBlock(snapshot, index, data, FakeEbsProxy.sha256(data)).join();
    }

    private void allEvents(CompletionHarness h) throws Exception {
        blocks(h, 0, SPLIT_0);
        blocks(h, 1, SPLIT_1);
        h.processElement(splitEnd(0, 3), 0);
        h.processElement(splitEnd(1, 2), 0);
    }

    private void blocks(CompletionHarness h, int split, int... indexes) throws Exception {
        for (int i : indexes) {
            h.processElement(block(split, i), 0);
        }
    }

    /** An access denied as the proxy classifies it. */
    private static final Failure DENIED =
            Failure.of(
                    FailureReason.ACCESS_DENIED,
                    "PutSnapshotBlock failed in eu-west-1 (FATAL): AccessDeniedException: no");

    /** A write refused because the target is no longer pending. */
    private static final Failure NOT_PENDING =
            Failure.of(
                    FailureReason.REJECTED_BY_EBS,
                    "PutSnapshotBlock failed in eu-west-1 (FATAL): ValidationException: the"
                            + " snapshot is error");

    private BlockCopied block(int split, int index) {
        return events(targetSnapshot, 0, null).block(split, index);
    }

    private BlockCopied splitEnd(int split, long emitted) {
        return events(targetSnapshot, 0, null).splitEnd(split, emitted);
    }

    private BlockCopied failed(Failure failure) {
        return events(targetSnapshot, 0, null).failed(failure);
    }

    private Events events(String snapshot, int generation, CopyInfo copyDetails) {
        return events(TARGET_REGION, snapshot, generation, copyDetails);
    }

    private Events events(String region, String snapshot, int generation, CopyInfo copyDetails) {
        return new Events(REQUEST, region, snapshot, 2, generation, copyDetails);
    }

    /**
     * The copier's events for one target of a request of {@code totalSplits} splits, built with the
     * factories the copier uses.
     */
    private record Events(
            String request,
            String region,
            String snapshot,
            int totalSplits,
            int generation,
            CopyInfo copyDetails) {

        BlockTask.Origin origin(int split) {
            Map<String, String> targets = new java.util.LinkedHashMap<>();
            targets.put(region, snapshot);
            return new BlockTask.Origin(
                    request,
                    split,
                    totalSplits,
                    SOURCE_REGION,
                    SOURCE_SNAPSHOT,
                    TargetSnapshots.of(targets),
                    50,
                    generation,
                    copyDetails);
        }

        BlockCopied block(int split, int index) {
            return BlockCopied.block(
                    BlockTask.block(origin(split), index, "token"),
                    region,
                    snapshot,
                    digest(index));
        }

        BlockCopied splitEnd(int split, long emitted) {
            return BlockCopied.splitEnd(
                    BlockTask.splitEnd(origin(split), emitted), region, snapshot);
        }

        /** The failure of one block's write, which travels without the copy details. */
        BlockCopied failedBlock(int split, int index, Failure failure) {
            return BlockCopied.failed(
                    BlockTask.block(origin(split), index, "token"), region, snapshot, failure);
        }

        /** The failure of the request for this target. */
        BlockCopied failed(Failure failure) {
            return BlockCopied.failed(
                    BlockTask.requestFailed(origin(0), failure), region, snapshot, failure);
        }
    }

    /** The raw 32-byte SHA-256 of the block written at {@code index}. */
    private static byte[] digest(int index) {
        return sha256(FakeEbsProxy.block(index));
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** SHA-256 over the raw block digests in ascending index order, base64; computed here. */
    private String expectedLinearChecksum() throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (byte[] data : new TreeMap<>(written).values()) {
            md.update(sha256(data));
        }
        return Base64.getEncoder().encodeToString(md.digest());
    }
}
