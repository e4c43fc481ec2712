package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.LineageCopy;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.WatchedTarget;
import io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.Coordinator;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.BLOCKS_PER_GIB;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.OTHER_TARGET;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.SOURCE;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.TARGET;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.assertCopiedIncrementally;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.assertCoversWithoutGapsOrOverlaps;
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
 * Tests {@link EbsLineageSourceEnumerator} of a bounded job as its parts work together: planning
 * requests into splits, assigning them, failures and retries, the start order and the limits per
 * region, lineages, watched targets and checkpoints. The enumerator runs on a {@link
 * TestingEnumeratorContext} against {@link FakeEbsProxy} regions; time is a manual clock and the
 * tick is run by hand (see {@link EnumeratorHarness}).
 */
class EbsLineageSourceEnumeratorTest {

    private EnumeratorHarness h;
    private FakeEbsProxy source;
    private FakeEbsProxy target;

    @BeforeEach
    void setUp() {
        h = new EnumeratorHarness();
        source = h.region(SOURCE);
        target = h.region(TARGET);
    }

    @AfterEach
    void tearDown() throws Exception {
        h.close();
    }

    // ------------------------------------------------------------------ planning

    @Test
    void aFullCopyIsCutIntoTheRequestedNumberOfContiguousSplits() throws Exception {
        String snap = h.sourceSnapshot(1);

        List<BlockRangeSplit> splits = cut(snap, settings().splitsPerRequest(4));

        assertThat(splits).hasSize(4);
        assertThat(splits).extracting(BlockRangeSplit::totalSplits).containsOnly(4);
        assertThat(splits).extracting(BlockRangeSplit::splitIndex).containsExactly(0, 1, 2, 3);
        assertCoversWithoutGapsOrOverlaps(splits, BLOCKS_PER_GIB);
        for (BlockRangeSplit s : splits) {
            assertThat(s.nextIndex()).as("not read yet").isEqualTo(s.rangeStart());
            assertThat(s.emittedBlocks()).isZero();
            assertThat(s.baseSnapshotId()).as("a full copy").isNull();
            assertThat(s.sourceSnapshotId()).isEqualTo(snap);
            assertThat(s.sourceRegion()).isEqualTo(SOURCE);
        }
        assertThat(splits).extracting(BlockRangeSplit::splitId).doesNotHaveDuplicates();
    }

    @Test
    void minSplitBlocksLimitsTheNumberOfSplits() throws Exception {
        List<BlockRangeSplit> splits =
                cut(h.sourceSnapshot(1), settings().splitsPerRequest(8).minSplitBlocks(1024));

        assertThat(splits).as("2048 blocks, at least 1024 per split").hasSize(2);
        assertCoversWithoutGapsOrOverlaps(splits, BLOCKS_PER_GIB);
    }

    @Test
    void aVolumeOfSeveralGibIsCoveredToItsLastBlock() throws Exception {
        List<BlockRangeSplit> splits = cut(h.sourceSnapshot(3), settings().splitsPerRequest(7));

        assertThat(splits).hasSize(7);
        assertCoversWithoutGapsOrOverlaps(splits, 3 * BLOCKS_PER_GIB);
    }

    @Test
    void startsTheTargetWithTheDeterministicClientTokenAndNamesItInTheSplits() throws Exception {
        String snap = h.sourceSnapshot(1);
        Coordinator c = start(1, settings(), request("r1", snap).build());

        assertThat(target.calls("StartSnapshot")).hasSize(1);
        StartSnapshotSpec spec = startSpec(target, 0);
        assertThat(spec.clientToken()).isEqualTo(RequestResolver.clientToken("r1", TARGET, 0));
        assertThat(spec.volumeSizeGib()).isEqualTo(1);
        assertThat(spec.parentSnapshotId()).isNull();
        assertThat(spec.timeoutMinutes()).as("the target timeout of the settings").isEqualTo(60);
        assertThat(target.snapshotIds()).hasSize(1);
        String targetSnap = target.snapshotIds().get(0);
        assertThat(target.status(targetSnap)).isEqualTo("pending");
        for (BlockRangeSplit s : ranges(c.unassigned())) {
            assertThat(s.targets().snapshotByRegion())
                    .containsExactly(Map.entry(TARGET, targetSnap));
        }
    }

    @Test
    void aRequestPlannedAgainAfterARestoreStartsNoSecondTarget() throws Exception {
        String snap = h.sourceSnapshot(1);
        target.hold("StartSnapshot");
        Coordinator first = start(1, settings(), request("r1", snap).build());
        EbsLineageEnumeratorState whilePlanning = first.checkpoint();
        assertThat(whilePlanning.pendingRequests())
                .as("a request being planned is checkpointed as pending")
                .extracting(p -> p.request().requestId())
                .containsExactly("r1");
        target.release();
        first.context.settle();
        List<LineageSplit> before = first.unassigned();
        first.close();

        Coordinator restored = h.bounded(1, whilePlanning, settings()).start();

        assertThat(target.calls("StartSnapshot"))
                .extracting(call -> ((StartSnapshotSpec) call.args().get(0)).clientToken())
                .as("started again with the same ClientToken")
                .containsExactly(
                        RequestResolver.clientToken("r1", TARGET, 0),
                        RequestResolver.clientToken("r1", TARGET, 0));
        assertThat(target.snapshotIds()).as("EBS returned the same target").hasSize(1);
        assertThat(restored.unassigned()).isEqualTo(before);
    }

    @Test
    void anIncrementalRequestListsChangedBlocksAndStartsTheTargetOnItsParent() throws Exception {
        String base = h.sourceSnapshot(1);
        String snap = source.createSnapshot(1, base, Map.of(5, FakeEbsProxy.block(5)));
        String targetBase = target.createSnapshot(1, null, Map.of());
        Coordinator c =
                start(1, settings(), request("incr", snap).incremental(base, targetBase).build());

        assertThat(source.calls("ListChangedBlocks")).hasSize(1);
        assertThat(source.calls("ListSnapshotBlocks")).isEmpty();
        assertThat(startSpec(target, 0).parentSnapshotId()).isEqualTo(targetBase);
        List<BlockRangeSplit> splits = ranges(c.unassigned());
        assertThat(splits).hasSize(2);
        assertThat(splits).extracting(BlockRangeSplit::baseSnapshotId).containsOnly(base);
        assertCoversWithoutGapsOrOverlaps(splits, BLOCKS_PER_GIB);
    }

    // ------------------------------------------------------------------ assigning

    @Test
    void readersThatAskGetSplitsAndThenNoMoreSplits() throws Exception {
        String snap = h.sourceSnapshot(1);
        target.hold("StartSnapshot");
        Coordinator c =
                start(2, settings().splitsPerRequest(3), request("r1", snap).build()).readers(2);

        // Asking before the request is planned: the readers wait, they are not told "done".
        c.requestSplit(0);
        c.requestSplit(1);
        assertThat(c.assigned()).isEmpty();
        assertThat(c.context.hasNoMoreSplits(0)).isFalse();
        assertThat(c.context.hasNoMoreSplits(1)).isFalse();

        target.release();
        c.context.settle();
        assertThat(ranges(c.assignedTo(0)))
                .extracting(BlockRangeSplit::splitIndex)
                .containsExactly(0);
        assertThat(ranges(c.assignedTo(1)))
                .extracting(BlockRangeSplit::splitIndex)
                .containsExactly(1);

        c.requestSplit(0);
        assertThat(ranges(c.assignedTo(0)))
                .extracting(BlockRangeSplit::splitIndex)
                .containsExactly(0, 2);
        assertThat(c.context.hasNoMoreSplits(0)).isFalse();

        c.requestSplit(1);
        c.requestSplit(0);
        assertThat(c.context.hasNoMoreSplits(0)).isTrue();
        assertThat(c.context.hasNoMoreSplits(1)).isTrue();
        assertThat(c.assigned()).hasSize(3);
        assertCoversWithoutGapsOrOverlaps(ranges(c.assigned()), BLOCKS_PER_GIB);
        EbsLineageEnumeratorState state = c.checkpoint();
        assertThat(state.unassignedSplits()).isEmpty();
        assertThat(state.pendingRequests()).isEmpty();
    }

    @Test
    void aReaderThatIsNotRegisteredGetsNothing() throws Exception {
        String snap = h.sourceSnapshot(1);
        Coordinator c = start(2, settings(), request("r1", snap).build());

        c.requestSplit(1);

        assertThat(c.assigned()).isEmpty();
        assertThat(c.unassigned()).hasSize(2);
    }

    @Test
    void splitsAddedBackAreAssignedFirstWithTheirProgress() throws Exception {
        String snap = h.sourceSnapshot(1);
        Coordinator c =
                start(2, settings().splitsPerRequest(4), request("r1", snap).build()).readers(2);
        c.requestSplit(0);
        c.requestSplit(0);
        List<BlockRangeSplit> taken = ranges(c.assignedTo(0));
        assertThat(taken).extracting(BlockRangeSplit::splitIndex).containsExactly(0, 1);

        // Reader 0 fails; its splits come back with the progress of its last checkpoint.
        BlockRangeSplit progressed0 = taken.get(0).withProgress(100, 3);
        BlockRangeSplit progressed1 = taken.get(1).withProgress(600, 7);
        c.context.unregisterReader(0);
        c.addSplitsBack(List.of(progressed0, progressed1), 0);

        List<BlockRangeSplit> queued = ranges(c.unassigned());
        assertThat(queued).extracting(BlockRangeSplit::splitIndex).containsExactly(0, 1, 2, 3);
        assertThat(queued.get(0)).isEqualTo(progressed0);
        assertThat(queued.get(1)).isEqualTo(progressed1);

        c.requestSplit(1);
        assertThat(c.assignedTo(1)).containsExactly(progressed0);
    }

    @Test
    void splitsAddedBackGoToTheNextReaderThatAsks() throws Exception {
        String snap = h.sourceSnapshot(1);
        Coordinator c =
                start(2, settings().splitsPerRequest(1), request("r1", snap).build()).readers(2);
        c.requestSplit(0);
        BlockRangeSplit only = ranges(c.assignedTo(0)).get(0);
        // Reader 1 asking now would be told "no more splits"; here the split comes back first.
        c.context.unregisterReader(0);
        c.addSplitsBack(List.of(only.withProgress(10, 1)), 0);

        c.requestSplit(1);

        assertThat(c.assignedTo(1)).containsExactly(only.withProgress(10, 1));
        assertThat(c.context.hasNoMoreSplits(1)).isFalse();
    }

    // ------------------------------------------------------------------ failures

    @Test
    void aRequestWhoseSourceIsMissingBecomesAFailureSplit() throws Exception {
        ReplicationRequest missing =
                request("missing", "snap-deadbeef").to(TARGET, OTHER_TARGET).build();
        Coordinator c =
                h.bounded(
                                1,
                                EnumeratorHarness.state(1234L, missing),
                                settings().splitsPerRequest(4))
                        .readers(1)
                        .start();

        EbsLineageEnumeratorState state = c.checkpoint();
        assertThat(state.unassignedSplits()).hasSize(1);
        FailedRequestSplit failed = (FailedRequestSplit) state.unassignedSplits().get(0);
        assertThat(failed.failure().reason()).isEqualTo(FailureReason.SNAPSHOT_NOT_FOUND);
        assertThat(failed.failure().message())
                .contains("ResourceNotFoundException")
                .contains("snap-deadbeef");
        assertThat(failed.requestId()).isEqualTo("missing");
        assertThat(failed.requestStartMillis()).as("when it was accepted").isEqualTo(1234L);
        assertThat(failed.targetRegions()).containsExactly(TARGET, OTHER_TARGET);
        assertThat(target.calls("StartSnapshot")).as("no target is started").isEmpty();
        assertThat(state.pendingRequests()).isEmpty();

        c.requestSplit(0);
        c.requestSplit(0);
        assertThat(c.assignedTo(0)).containsExactly(failed);
        assertThat(c.context.hasNoMoreSplits(0)).isTrue();
    }

    @Test
    void anInvalidRequestBecomesAFailureSplit() throws Exception {
        Coordinator c = start(1, settings(), request("invalid", "not-a-snapshot").build());

        List<LineageSplit> splits = c.unassigned();
        assertThat(splits).hasSize(1);
        FailedRequestSplit failed = (FailedRequestSplit) splits.get(0);
        assertThat(failed.failure().reason()).isEqualTo(FailureReason.INVALID_REQUEST);
        assertThat(failed.failure().message()).contains("not-a-snapshot");
        assertThat(source.calls()).as("nothing is asked of EBS").isEmpty();
    }

    @Test
    void aTargetRoleNotOnTheAllowListFailsItsRequestWhileOthersArePlanned() throws Exception {
        String allowed = "arn:aws:iam::222222222222:role/dr-copier";
        String other = "arn:aws:iam::333333333333:role/admin";
        h.factory.allowRole(allowed);
        String snapA = h.sourceSnapshot(1);
        String snapB = h.sourceSnapshot(1);
        Coordinator c =
                start(
                        1,
                        settings().splitsPerRequest(1),
                        request("refused", snapA).as(other).build(),
                        request("allowed", snapB).as(allowed).build());

        List<LineageSplit> splits = c.unassigned();
        FailedRequestSplit failed =
                splits.stream()
                        .filter(FailedRequestSplit.class::isInstance)
                        .map(FailedRequestSplit.class::cast)
                        .findFirst()
                        .orElseThrow();
        assertThat(failed.requestId()).isEqualTo("refused");
        assertThat(failed.failure().reason()).isEqualTo(FailureReason.ROLE_NOT_ALLOWED);
        assertThat(failed.failure().message()).contains(other).contains(TARGET);
        BlockRangeSplit range =
                splits.stream()
                        .filter(BlockRangeSplit.class::isInstance)
                        .map(BlockRangeSplit.class::cast)
                        .findFirst()
                        .orElseThrow();
        assertThat(splits).hasSize(2);
        assertThat(range.requestId()).isEqualTo("allowed");
        assertThat(range.targets().roleArn(TARGET))
                .as("the readers and the copier write the target as the role")
                .isEqualTo(allowed);
        assertThat(h.factory.createdAs())
                .as("the target was started as the role, the source read with the job's own")
                .contains(EbsProxyFactory.key(TARGET, allowed), SOURCE)
                .doesNotContain(EbsProxyFactory.key(TARGET, other));
        assertThat(target.calls("StartSnapshot")).as("only the allowed one started").hasSize(1);
    }

    @Test
    void aRequestWithoutTargetsThatFailsStillGetsOneResultInItsSourceRegion() throws Exception {
        Coordinator c =
                start(1, settings(), request("no-targets", h.sourceSnapshot(1)).to().build());

        List<LineageSplit> splits = c.unassigned();
        assertThat(splits).hasSize(1);
        FailedRequestSplit failed = (FailedRequestSplit) splits.get(0);
        assertThat(failed.failure().reason()).isEqualTo(FailureReason.INVALID_REQUEST);
        assertThat(failed.failure().message()).contains("at least one target region");
        assertThat(failed.targetRegions())
                .as("one result, keyed by the source region")
                .containsExactly(SOURCE);
    }

    @Test
    void aRetryableFailureWaitsItsBackoffAndDoesNotHoldTheNextRequest() throws Exception {
        String snapA = h.sourceSnapshot(1);
        String snapB = h.sourceSnapshot(1);
        source.failNext("ListSnapshotBlocks", FakeEbsProxy::throttled);
        Coordinator c =
                start(
                                1,
                                settings().splitsPerRequest(1),
                                request("a", snapA).build(),
                                request("b", snapB).build())
                        .readers(1);

        assertThat(c.pendingIds()).as("a waits for its retry").containsExactly("a");
        c.requestSplit(0);
        assertThat(ranges(c.assignedTo(0)))
                .as("b is planned without waiting for a")
                .extracting(BlockRangeSplit::requestId)
                .containsExactly("b");

        // a is still pending: the reader that asks again waits instead of being told "done".
        c.requestSplit(0);
        assertThat(c.context.hasNoMoreSplits(0)).isFalse();

        // b being planned does not let a jump its backoff.
        h.advance(Duration.ofMillis(RequestQueue.FIRST_RETRY_MILLIS - 1));
        c.tick();
        assertThat(source.calls("ListSnapshotBlocks")).as("not tried again yet").hasSize(2);

        h.advance(Duration.ofMillis(1));
        c.tick();
        assertThat(ranges(c.assignedTo(0)))
                .as("a, tried again after its backoff, goes to the waiting reader")
                .extracting(BlockRangeSplit::requestId)
                .containsExactly("b", "a");
        assertThat(source.calls("ListSnapshotBlocks")).hasSize(3);
        assertThat(c.pendingIds()).isEmpty();
        c.requestSplit(0);
        assertThat(c.context.hasNoMoreSplits(0)).isTrue();
    }

    @Test
    void aLoneRetryableRequestIsPlannedAgainByTheTickAfterItsBackoff() throws Exception {
        String snap = h.sourceSnapshot(1);
        source.failNext("ListSnapshotBlocks", FakeEbsProxy::throttled);
        Coordinator c = start(1, settings(), request("a", snap).build());

        c.tick();
        assertThat(source.calls("ListSnapshotBlocks")).as("not retried at once").hasSize(1);
        assertThat(c.pendingIds()).containsExactly("a");

        h.advance(Duration.ofMillis(RequestQueue.FIRST_RETRY_MILLIS));
        c.tick();

        EbsLineageEnumeratorState state = c.checkpoint();
        assertThat(state.unassignedSplits()).hasSize(2);
        assertThat(state.pendingRequests()).isEmpty();
    }

    @Test
    void aRetryableTargetFailureRetriesTheWholeRequestAndReusesTheStartedTarget() throws Exception {
        String snap = h.sourceSnapshot(1);
        FakeEbsProxy other = h.region(OTHER_TARGET);
        other.failNext("StartSnapshot", FakeEbsProxy::throttled);
        Coordinator c = start(1, settings(), request("two", snap).to(TARGET, OTHER_TARGET).build());
        assertThat(c.unassigned()).isEmpty();

        h.advance(Duration.ofMillis(RequestQueue.FIRST_RETRY_MILLIS));
        c.tick();

        List<BlockRangeSplit> splits = ranges(c.unassigned());
        assertThat(splits).hasSize(2);
        assertThat(target.snapshotIds()).as("the target started first is found again").hasSize(1);
        assertThat(other.snapshotIds()).hasSize(1);
        assertThat(splits.get(0).targets().snapshotByRegion())
                .containsExactly(
                        Map.entry(TARGET, target.snapshotIds().get(0)),
                        Map.entry(OTHER_TARGET, other.snapshotIds().get(0)));
    }

    @Test
    void oneTargetRegionFailingFatallyGetsAFailureSplitWhileTheOtherIsCopied() throws Exception {
        String snap = h.sourceSnapshot(1);
        FakeEbsProxy other = h.region(OTHER_TARGET);
        other.failAlways("StartSnapshot", () -> FakeEbsProxy.fatal("AccessDeniedException", null));
        Coordinator c =
                start(
                        2,
                        settings().splitsPerRequest(3),
                        request("two", snap).to(TARGET, OTHER_TARGET).build());

        List<LineageSplit> splits = c.unassigned();
        List<BlockRangeSplit> normal = ofKind(splits, BlockRangeSplit.class);
        List<FailedRequestSplit> failed = ofKind(splits, FailedRequestSplit.class);
        assertThat(normal).hasSize(3);
        assertCoversWithoutGapsOrOverlaps(normal, BLOCKS_PER_GIB);
        for (BlockRangeSplit s : normal) {
            assertThat(s.targets().snapshotByRegion())
                    .containsExactly(Map.entry(TARGET, target.snapshotIds().get(0)));
        }
        assertThat(failed).hasSize(1);
        assertThat(failed.get(0).failure().reason()).isEqualTo(FailureReason.ACCESS_DENIED);
        assertThat(failed.get(0).failure().message()).contains("AccessDeniedException");
        assertThat(failed.get(0).targetRegions()).containsExactly(OTHER_TARGET);
        assertThat(other.snapshotIds()).isEmpty();
        // Split ids must be unique (SourceSplit contract): readers key split state by id.
        assertThat(splits).extracting(LineageSplit::splitId).doesNotHaveDuplicates();
        assertThat(splits).hasSize(4);
    }

    // ------------------------------------------------------------------ checkpoints

    @Test
    void snapshotAndRestoreKeepPendingRequestsAndUnassignedSplits() throws Exception {
        String snapA = h.sourceSnapshot(1);
        String snapB = h.sourceSnapshot(1);
        FakeEbsProxy other = h.region(OTHER_TARGET).hold("StartSnapshot");
        Coordinator c =
                start(
                                1,
                                settings().splitsPerRequest(3),
                                request("a", snapA).build(),
                                request("b", snapB).to(OTHER_TARGET).build())
                        .readers(1);
        c.requestSplit(0);
        BlockRangeSplit first = ranges(c.assignedTo(0)).get(0);

        EbsLineageEnumeratorState checkpoint = c.checkpoint();
        assertThat(checkpoint.pendingRequests())
                .as("b is being planned")
                .extracting(p -> p.request().requestId())
                .containsExactly("b");
        assertThat(checkpoint.unassignedSplits())
                .extracting(LineageSplit::splitId)
                .containsExactly("a#1", "a#2");
        // b's target starts after the checkpoint, then the job fails.
        other.release();
        c.context.settle();
        c.close();

        Coordinator restored = h.bounded(1, checkpoint, settings().splitsPerRequest(3)).readers(1);
        restored.start();
        // A split assigned after the checkpoint comes back from the failed reader.
        restored.addSplitsBack(List.of(first), 0);
        for (int i = 0; i < 7; i++) {
            restored.requestSplit(0);
        }

        assertThat(ranges(restored.assignedTo(0)))
                .extracting(BlockRangeSplit::splitId)
                .containsExactly("a#0", "a#1", "a#2", "b#0", "b#1", "b#2");
        assertThat(restored.context.hasNoMoreSplits(0)).isTrue();
        assertThat(target.snapshotIds()).as("a's target, once").hasSize(1);
        assertThat(other.snapshotIds()).as("b's target, once").hasSize(1);
    }

    @Test
    void closeClosesTheProxiesItCreated() throws Exception {
        String snap = h.sourceSnapshot(1);
        Coordinator c = start(1, settings(), request("r1", snap).build());

        c.close();

        assertThat(source.closeCount()).isEqualTo(1);
        assertThat(target.closeCount()).isEqualTo(1);
    }

    // ------------------------------------------------------------------ watched targets

    @Test
    void aTargetCancelledWhileItsSplitsAreReadIsReplacedByTheNextGeneration() throws Exception {
        String snap = h.sourceSnapshot(1);
        Coordinator c = start(2, settings(), request("r1", snap).build()).readers(2);
        c.requestSplit(0);
        c.requestSplit(1);
        String first = target.snapshotIds().get(0);
        assertThat(c.assigned()).hasSize(2);
        assertThat(c.checkpoint().watchedTargets())
                .singleElement()
                .satisfies(
                        w -> {
                            assertThat(w.targetSnapshotId()).isEqualTo(first);
                            assertThat(w.openSplits()).containsExactly("r1#0", "r1#1");
                        });

        c.describeRound();
        assertThat(target.calls("StartSnapshot")).as("pending: nothing happens").hasSize(1);

        target.setStatus(first, "error", "Cancelled: not completed within the 60 minute timeout");
        c.describeRound();

        assertThat(target.calls("StartSnapshot")).hasSize(2);
        assertThat(startSpec(target, 1).clientToken())
                .isEqualTo(RequestResolver.clientToken("r1", TARGET, 1));
        String second = target.snapshotIds().get(1);
        assertThat(second).isNotEqualTo(first);
        EbsLineageEnumeratorState state = c.checkpoint();
        List<BlockRangeSplit> replacement = ranges(state.unassignedSplits());
        assertThat(replacement).hasSize(2);
        assertCoversWithoutGapsOrOverlaps(replacement, BLOCKS_PER_GIB);
        for (BlockRangeSplit s : replacement) {
            assertThat(s.generation()).isEqualTo(1);
            assertThat(s.targets().snapshotByRegion()).containsExactly(Map.entry(TARGET, second));
        }
        assertThat(replacement)
                .extracting(BlockRangeSplit::splitId)
                .doesNotContainAnyElementsOf(List.of("r1#0", "r1#1"));
        assertThat(state.watchedTargets())
                .singleElement()
                .satisfies(w -> assertThat(w.targetSnapshotId()).isEqualTo(second));

        // The readers finish the old splits and get the new ones.
        c.finished(0, "r1#0");
        c.requestSplit(0);
        assertThat(ranges(c.assignedTo(0)))
                .last()
                .extracting(BlockRangeSplit::generation)
                .isEqualTo(1);
    }

    @Test
    void aTargetCancelledMoreOftenThanAllowedFailsItsRegion() throws Exception {
        String snap = h.sourceSnapshot(1);
        Coordinator c =
                start(
                                1,
                                settings().splitsPerRequest(1).maxGenerations(1),
                                request("r1", snap).build())
                        .readers(1);

        target.setStatus(target.snapshotIds().get(0), "error", "Cancelled");
        c.describeRound();
        assertThat(target.snapshotIds()).as("replaced once").hasSize(2);
        target.setStatus(target.snapshotIds().get(1), "error", "Cancelled again");
        c.describeRound();

        assertThat(target.snapshotIds()).as("no third target").hasSize(2);
        EbsLineageEnumeratorState state = c.checkpoint();
        List<FailedRequestSplit> failures =
                ofKind(state.unassignedSplits(), FailedRequestSplit.class);
        assertThat(failures).hasSize(1);
        assertThat(failures.get(0).failure().reason()).isEqualTo(FailureReason.TARGET_CANCELLED);
        assertThat(failures.get(0).failure().message())
                .contains(target.snapshotIds().get(1))
                .contains("Cancelled again")
                .contains("replaced 1 times already");
        assertThat(failures.get(0).targetRegions()).containsExactly(TARGET);
        assertThat(state.watchedTargets()).isEmpty();
    }

    @Test
    void noMoreSplitsWaitsUntilTheWatchedTargetsAreRead() throws Exception {
        String snap = h.sourceSnapshot(1);
        Coordinator c = start(2, settings(), request("r1", snap).build()).readers(2);
        c.requestSplit(0);
        c.requestSplit(1);

        // Reader 0 is done, reader 1 still reads: a replacement may yet be needed.
        c.finished(0, "r1#0");
        c.requestSplit(0);
        assertThat(c.context.hasNoMoreSplits(0)).isFalse();

        c.finished(1, "r1#1");
        assertThat(c.context.hasNoMoreSplits(0)).isTrue();
        c.requestSplit(1);
        assertThat(c.context.hasNoMoreSplits(1)).isTrue();
    }

    @Test
    void aCompletedTargetIsNoLongerWatchedAndWatchesSurviveACheckpoint() throws Exception {
        String snap = h.sourceSnapshot(1);
        Coordinator c = start(1, settings(), request("r1", snap).build());
        EbsLineageEnumeratorState checkpoint = c.checkpoint();
        assertThat(checkpoint.watchedTargets()).hasSize(1);
        c.close();

        Coordinator restored = h.bounded(1, checkpoint, settings()).start();
        target.setStatus(target.snapshotIds().get(0), "completed", null);
        restored.tick();

        assertThat(restored.checkpoint().watchedTargets())
                .as("a restored watch is described at the first tick")
                .isEmpty();
        assertThat(target.calls("StartSnapshot")).hasSize(1);
    }

    @Test
    void aRegionWhoseDescribeFailsIsAskedAgainWhileOthersGoOn() throws Exception {
        FakeEbsProxy other = h.region(OTHER_TARGET);
        Coordinator c =
                start(
                        1,
                        settings(),
                        request("a", h.sourceSnapshot(1)).build(),
                        request("b", h.sourceSnapshot(1)).to(OTHER_TARGET).build());
        target.setStatus(target.snapshotIds().get(0), "completed", null);
        other.setStatus(other.snapshotIds().get(0), "completed", null);
        target.failNext("DescribeSnapshots", FakeEbsProxy::throttled);

        c.describeRound();
        assertThat(c.checkpoint().watchedTargets())
                .as("the other region's target is seen completed")
                .extracting(WatchedTarget::region)
                .containsExactly(TARGET);

        h.advance(settings().sealInterval());
        c.tick();
        assertThat(c.checkpoint().watchedTargets()).as("asked again, soon").isEmpty();
    }

    @Test
    void aWatchedTargetThatEbsNoLongerKnowsIsLetGoAfterTheGraceAndFreesItsSlot() throws Exception {
        String snap = h.sourceSnapshot(1);
        // Restored with a target EBS has no record of, and the only slot of its region taken.
        EbsLineageEnumeratorState state =
                new EbsLineageEnumeratorState(
                        List.of(new PendingRequest(request("next", snap).build(), h.now(), 0)),
                        List.of(),
                        List.of(
                                new WatchedTarget(
                                        request("gone", snap).build(),
                                        h.now(),
                                        0,
                                        TARGET,
                                        "snap-0123456789abcdef0",
                                        List.of("gone#0"),
                                        0,
                                        0)),
                        Map.of(),
                        new AcceptedRequestIds(),
                        Map.of());
        Coordinator c = h.bounded(1, state, settings().maxPending(1)).start();

        c.tick();
        c.describeRound();
        assertThat(target.calls("StartSnapshot"))
                .as("within the grace, the slot is held")
                .isEmpty();

        for (int i = 0; i < 4; i++) {
            c.describeRound();
        }

        assertThat(startedRequests(target)).containsExactly("next");
        assertThat(c.checkpoint().watchedTargets())
                .extracting(t -> t.request().requestId())
                .containsExactly("next");
    }

    // ------------------------------------------------------------------ regions and order

    @Test
    void aRegionThatStopsAnsweringDelaysOnlyItsOwnRequests() throws Exception {
        FakeEbsProxy other = h.region(OTHER_TARGET).hold("StartSnapshot");
        List<ReplicationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            requests.add(request("stuck" + i, h.sourceSnapshot(1)).to(OTHER_TARGET).build());
        }
        requests.add(request("free", h.sourceSnapshot(1)).build());
        Coordinator c =
                start(
                                1,
                                settings().splitsPerRequest(1),
                                requests.toArray(ReplicationRequest[]::new))
                        .readers(1);

        assertThat(other.heldCalls())
                .as("starts in flight in the region that does not answer")
                .isEqualTo(EbsLineageSourceEnumerator.MAX_STARTS_IN_FLIGHT);
        c.requestSplit(0);
        assertThat(ranges(c.assignedTo(0)))
                .as("a request to another region, queued behind them, is planned and read")
                .extracting(BlockRangeSplit::requestId)
                .containsExactly("free");
        c.tick();
        assertThat(other.heldCalls())
                .as("no more starts pile up there")
                .isEqualTo(EbsLineageSourceEnumerator.MAX_STARTS_IN_FLIGHT);

        other.release();
        c.context.settle();

        assertThat(other.snapshotIds()).as("every request of the region is planned").hasSize(20);
        assertThat(c.pendingIds()).isEmpty();
        assertThat(ranges(c.unassigned())).hasSize(20);
    }

    @Test
    void aSourceRegionThatStopsAnsweringHoldsOnlyItsOwnPlans() throws Exception {
        String otherSource = "us-west-2";
        FakeEbsProxy frozen = h.region(SOURCE).hold("ListSnapshotBlocks");
        List<ReplicationRequest> requests = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            requests.add(request("stuck" + i, h.sourceSnapshot(1)).build());
        }
        String elsewhere =
                h.region(otherSource).createSnapshot(1, null, Map.of(5, FakeEbsProxy.block(5)));
        requests.add(request("free", elsewhere).from(otherSource).build());
        Coordinator c =
                start(
                                1,
                                settings().splitsPerRequest(1),
                                requests.toArray(ReplicationRequest[]::new))
                        .readers(1);

        assertThat(frozen.heldCalls())
                .as("plans waiting on the source region that does not answer")
                .isEqualTo(EbsLineageSourceEnumerator.MAX_PLANS_IN_FLIGHT);
        c.requestSplit(0);
        assertThat(ranges(c.assignedTo(0)))
                .as("a request from another source to the same target region goes ahead")
                .extracting(BlockRangeSplit::requestId)
                .containsExactly("free");

        frozen.release();
        c.context.settle();
        c.tick();
        c.context.settle();
        assertThat(target.snapshotIds()).as("every request is planned in the end").hasSize(21);
    }

    @Test
    void queuedRequestsStartEarliestDeadlineFirstThenHigherPriorityThenArrival() throws Exception {
        Coordinator c = startOrderTest(RequestQueue.Order.DEADLINE);

        assertThat(startedRequests(target)).containsExactly("sooner", "soon-high");
        c.completeTargets(target);
        c.completeTargets(target);
        c.completeTargets(target);

        assertThat(startedRequests(target))
                .as("two targets at a time, in deadline, priority, arrival order")
                .containsExactly("sooner", "soon-high", "soon-low", "late", "none-high", "none");
    }

    @Test
    void withArrivalOrderQueuedRequestsStartInArrivalOrder() throws Exception {
        Coordinator c = startOrderTest(RequestQueue.Order.ARRIVAL);

        c.completeTargets(target);
        c.completeTargets(target);
        c.completeTargets(target);

        assertThat(startedRequests(target))
                .containsExactly("late", "none", "soon-low", "soon-high", "sooner", "none-high");
    }

    @Test
    void aQueuedRequestWhoseDeadlinePassesFailsWithoutStartingATarget() throws Exception {
        long now = h.now();
        Coordinator c =
                start(
                        1,
                        settings().maxPending(1),
                        request("first", h.sourceSnapshot(1)).deadline(now + 60_000).build(),
                        request("late", h.sourceSnapshot(1)).deadline(now + 120_000).build());
        assertThat(startedRequests(target)).containsExactly("first");

        h.advance(Duration.ofMinutes(3));
        c.tick();

        assertFailsInTarget(c.unassigned(), "late", FailureReason.DEADLINE_EXCEEDED);
        c.completeTargets(target);
        assertThat(startedRequests(target))
                .as("not even once a slot is free")
                .containsExactly("first");
        assertThat(c.pendingIds()).isEmpty();
    }

    @Test
    void neverMoreTargetsPendingInARegionThanMaxPending() throws Exception {
        List<ReplicationRequest> backlog = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            backlog.add(request("r" + i, h.sourceSnapshot(1)).build());
        }
        Coordinator c =
                start(
                        1,
                        settings().splitsPerRequest(1).maxPending(3),
                        backlog.toArray(ReplicationRequest[]::new));

        int rounds = 0;
        while (target.snapshotIds().size() < 20) {
            assertThat(pendingIn(target)).as("pending targets in round %d", rounds).isEqualTo(3);
            c.completeTargets(target);
            assertThat(++rounds).as("the backlog drains").isLessThanOrEqualTo(7);
        }
        assertThat(pendingIn(target)).isEqualTo(2);
        assertThat(target.calls("StartSnapshot")).as("no start is refused").hasSize(20);
        assertThat(c.pendingIds()).isEmpty();
    }

    // ------------------------------------------------------------------ lineages

    @Test
    void aLineagesNextRequestWaitsForThePreviousCopyAndIsCopiedIncrementallyFromIt()
            throws Exception {
        String first = h.sourceSnapshot(1);
        String second = h.nextSourceSnapshot(first);
        String unrelated = h.sourceSnapshot(1);
        Coordinator c =
                startLineage(first, second, request("h1", unrelated).fromLatest("vol-2").build());

        assertThat(startedRequests(target))
                .as("g2 waits for g1; another lineage does not")
                .containsExactly("g1", "h1");
        BlockRangeSplit g1 = splitOf(c.unassigned(), "g1");
        String firstCopy = g1.targets().snapshotId(TARGET);
        assertThat(g1.copyInfo().incremental()).isFalse();
        assertThat(g1.copyInfo().fallbackReason()).contains("vol-1");

        c.describeRound();
        c.finished(0, g1.splitId());
        h.advance(Duration.ofSeconds(1));
        c.tick();
        assertThat(startedRequests(target))
                .as("g1's blocks are read, but its copy is not completed yet")
                .containsExactly("g1", "h1");

        target.setStatus(firstCopy, "completed", null);
        h.advance(Duration.ofSeconds(1));
        c.tick();

        assertThat(startedRequests(target)).containsExactly("g1", "h1", "g2");
        assertThat(startSpec(target, 2).parentSnapshotId()).isEqualTo(firstCopy);
        assertThat(source.calls("ListChangedBlocks"))
                .extracting(call -> call.args().subList(0, 2))
                .containsExactly(List.of(first, second));
        assertCopiedIncrementally(splitOf(c.unassigned(), "g2"), first, firstCopy);
    }

    @Test
    void aCopyPastItsGraceNoLongerHoldsItsLineage() throws Exception {
        String first = h.sourceSnapshot(1);
        String second = h.nextSourceSnapshot(first);
        Coordinator c = startLineage(first, second);
        BlockRangeSplit g1 = splitOf(c.unassigned(), "g1");
        String firstCopy = g1.targets().snapshotId(TARGET);
        c.finished(0, g1.splitId());

        h.advance(settings().grace());
        c.tick();
        assertThat(startedRequests(target)).as("within the grace").containsExactly("g1");

        h.advance(settings().sealInterval());
        c.tick();
        assertThat(startedRequests(target))
                .as("past the grace, g1's copy no longer holds its lineage")
                .containsExactly("g1", "g2");
        BlockRangeSplit g2 = splitOf(c.unassigned(), "g2");
        assertThat(g2.baseSnapshotId()).as("no completed copy to start from").isNull();
        assertThat(g2.copyInfo().fallbackReason()).contains("vol-1");

        target.setStatus(firstCopy, "completed", null);
        c.describeRound();
        // g1's copy, completed late, is remembered for the lineage's next copies.
        assertLineageCopies(c.checkpoint(), "vol-1", new LineageCopy(first, firstCopy, 0));
    }

    @Test
    void aLineagesCancelledCopyIsReplacedBeforeItsNextCopyStartsFromTheReplacement()
            throws Exception {
        String first = h.sourceSnapshot(1);
        String second = h.nextSourceSnapshot(first);
        Coordinator c = startLineage(first, second);
        target.setStatus(target.snapshotIds().get(0), "error", "Cancelled");

        c.describeRound();

        assertThat(startedRequests(target))
                .as("g1 copied again into a new target, g2 still waits")
                .containsExactly("g1", "g1");
        String replacement = target.snapshotIds().get(1);
        c.completeTargets(target);
        assertThat(startedRequests(target)).containsExactly("g1", "g1", "g2");
        assertCopiedIncrementally(splitOf(c.unassigned(), "g2"), first, replacement);
    }

    // ------------------------------------------------------------------ quota

    @Test
    void thePendingSnapshotQuotaMakesARequestWaitAndTryAgain() throws Exception {
        target.failNext("StartSnapshot", () -> quotaExceeded(TARGET));
        Coordinator c =
                start(
                        1,
                        settings().maxPending(1),
                        request("q1", h.sourceSnapshot(1)).build(),
                        request("q2", h.sourceSnapshot(1)).build());

        assertThat(c.unassigned()).as("no failure").isEmpty();
        assertThat(c.pendingIds()).containsExactly("q1", "q2");
        assertThat(startedRequests(target))
                .as("q2 does not start in the slot q1 left: the region is full")
                .containsExactly("q1");

        h.advance(Duration.ofMillis(RequestQueue.FIRST_RETRY_MILLIS));
        c.tick();

        assertThat(startedRequests(target)).containsExactly("q1", "q1");
        assertThat(ranges(c.unassigned()))
                .extracting(BlockRangeSplit::requestId)
                .containsOnly("q1");
        assertThat(c.pendingIds()).as("q2 waits for room").containsExactly("q2");
    }

    @Test
    void aRequestThatMeetsTheQuotaLongerThanQuotaWaitFailsWithQuotaExceeded() throws Exception {
        target.failAlways("StartSnapshot", () -> quotaExceeded(TARGET));
        Coordinator c =
                start(
                        1,
                        settings().quotaWait(Duration.ofSeconds(1)),
                        request("q1", h.sourceSnapshot(1)).build());
        h.advance(Duration.ofMillis(RequestQueue.FIRST_RETRY_MILLIS));
        c.tick();
        assertThat(c.unassigned()).as("still within quota-wait").isEmpty();

        h.advance(Duration.ofMillis(2 * RequestQueue.FIRST_RETRY_MILLIS));
        c.tick();

        assertThat(target.calls("StartSnapshot")).hasSize(3);
        assertFailsInTarget(c.unassigned(), "q1", FailureReason.QUOTA_EXCEEDED);
        assertThat(c.pendingIds()).isEmpty();
    }

    @Test
    void aFullRegionDoesNotHoldRequestsToAnotherRegion() throws Exception {
        FakeEbsProxy other = h.region(OTHER_TARGET);
        target.failAlways("StartSnapshot", () -> quotaExceeded(TARGET));
        Coordinator c =
                start(
                        1,
                        settings().maxPending(1),
                        request("both", h.sourceSnapshot(1)).to(TARGET, OTHER_TARGET).build(),
                        request("other-only", h.sourceSnapshot(1)).to(OTHER_TARGET).build());

        assertThat(startedRequests(other))
                .as("other-only starts in the slot both left in the region with room")
                .containsExactly("both", "other-only");
        assertThat(c.pendingIds())
                .as("both waits for room in the full region")
                .containsExactly("both");
    }

    // ------------------------------------------------------------------ the coordinator thread

    @Test
    void aCheckpointIsAnsweredWhileARegionHoldsEveryStartAndDescribe() throws Exception {
        source.failNext("ListSnapshotBlocks", FakeEbsProxy::throttled);
        Coordinator c =
                start(
                                1,
                                settings(),
                                request("later", h.sourceSnapshot(1)).build(),
                                request("watched", h.sourceSnapshot(1)).build())
                        .readers(1);
        String watchedTarget = target.snapshotIds().get(0);
        target.hold("StartSnapshot", "DescribeSnapshots");

        c.describeRound();
        assertThat(target.heldCalls())
                .as("later's StartSnapshot and the describe of watched's target")
                .isEqualTo(2);

        EbsLineageEnumeratorState state = c.checkpoint();

        assertThat(state.pendingRequests())
                .extracting(p -> p.request().requestId())
                .containsExactly("later");
        assertThat(state.watchedTargets())
                .extracting(WatchedTarget::targetSnapshotId)
                .containsExactly(watchedTarget);
        c.requestSplit(0);
        assertThat(ranges(c.assignedTo(0)))
                .as("readers are still served")
                .extracting(BlockRangeSplit::requestId)
                .containsExactly("watched");

        target.release();
        c.context.settle();
        assertThat(c.pendingIds()).as("answered at last, later is planned").isEmpty();
    }

    // ------------------------------------------------------------------ helpers

    private Coordinator start(
            int parallelism, EnumeratorHarness.Settings settings, ReplicationRequest... requests)
            throws Exception {
        return h.bounded(parallelism, EnumeratorHarness.state(h.now(), requests), settings).start();
    }

    /** The splits that a full copy of {@code snap}, alone in its job, is cut into. */
    private List<BlockRangeSplit> cut(String snap, EnumeratorHarness.Settings settings)
            throws Exception {
        return ranges(start(1, settings, request("r1", snap).build()).unassigned());
    }

    /**
     * Copies g1 of {@code first} and g2 of {@code second} of lineage vol-1, each from the latest
     * replicated snapshot, then {@code more}; one split per request.
     */
    private Coordinator startLineage(String first, String second, ReplicationRequest... more)
            throws Exception {
        List<ReplicationRequest> all = new ArrayList<>();
        all.add(request("g1", first).fromLatest("vol-1").build());
        all.add(request("g2", second).fromLatest("vol-1").build());
        all.addAll(List.of(more));
        return start(1, settings().splitsPerRequest(1), all.toArray(ReplicationRequest[]::new));
    }

    /** Six requests to {@link #TARGET} with two pending at most, started in {@code order}. */
    private Coordinator startOrderTest(RequestQueue.Order order) throws Exception {
        long now = h.now();
        long hour = Duration.ofHours(1).toMillis();
        return start(
                1,
                settings().maxPending(2).order(order),
                request("late", h.sourceSnapshot(1)).deadline(now + 10 * hour).build(),
                request("none", h.sourceSnapshot(1)).build(),
                request("soon-low", h.sourceSnapshot(1)).deadline(now + hour).build(),
                request("soon-high", h.sourceSnapshot(1)).deadline(now + hour).priority(5).build(),
                request("sooner", h.sourceSnapshot(1)).deadline(now + hour / 2).build(),
                request("none-high", h.sourceSnapshot(1)).priority(9).build());
    }

    /** Asserts that the only failure among {@code splits} is {@code requestId}'s in TARGET. */
    private static void assertFailsInTarget(
            List<LineageSplit> splits, String requestId, FailureReason reason) {
        assertThat(ofKind(splits, FailedRequestSplit.class))
                .singleElement()
                .satisfies(
                        f -> {
                            assertThat(f.requestId()).isEqualTo(requestId);
                            assertThat(f.failure().reason()).isEqualTo(reason);
                            assertThat(f.targetRegions()).containsExactly(TARGET);
                        });
    }

    private static long pendingIn(FakeEbsProxy region) {
        return region.snapshotIds().stream()
                .filter(id -> "pending".equals(region.status(id)))
                .count();
    }

    /**
     * What the proxy throws when StartSnapshot in {@code region} meets the account's
     * pending-snapshot quota there (as {@link FakeEbsProxy#fatal}, with the region the proxy adds).
     */
    private static RuntimeException quotaExceeded(String region) {
        return new EbsProxyException(
                EbsProxyException.Kind.FATAL,
                "ServiceQuotaExceededException",
                null,
                region,
                null,
                null,
                "StartSnapshot failed in " + region + ": ServiceQuotaExceededException (fake)",
                null);
    }
}
