package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.event.SplitsFinishedEvent;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.SplitsAssignment;
import org.apache.flink.api.connector.source.mocks.MockSplitEnumeratorContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests {@link EbsLineageSourceEnumerator} with a {@link MockSplitEnumeratorContext}, driving its
 * {@code callAsync} work by hand, against {@link FakeEbsProxy}.
 */
class EbsLineageSourceEnumeratorTest {

    private static final String SOURCE = "us-east-1";
    private static final String TARGET = "eu-west-1";
    private static final String OTHER_TARGET = "ap-south-1";
    private static final int BLOCKS_1GIB = 2048;

    private String name;
    private FakeEbsProxy.Factory factory;
    private FakeEbsProxy source;
    private FakeEbsProxy target;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void setUp() {
        name = "enumerator-test-" + UUID.randomUUID();
        factory = FakeEbsProxy.register(name);
        source = factory.proxy(SOURCE);
        target = factory.proxy(TARGET);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        FakeEbsProxy.unregister(name);
    }

    // ------------------------------------------------------------------ resolving

    @Test
    void fullCopyIsCutIntoTheRequestedNumberOfContiguousSplits() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(2);
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(request("r1", snap)), 4);

        enumerator.start();
        runAllAsync(ctx);

        List<BlockRangeSplit> splits = ranges(enumerator.snapshotState(1).unassignedSplits());
        assertThat(splits).hasSize(4);
        assertThat(splits).extracting(BlockRangeSplit::totalSplits).containsOnly(4);
        assertThat(splits).extracting(BlockRangeSplit::splitIndex).containsExactly(0, 1, 2, 3);
        assertCoversWithoutGapsOrOverlaps(splits, BLOCKS_1GIB);
        for (BlockRangeSplit s : splits) {
            assertThat(s.nextIndex()).isEqualTo(s.rangeStart());
            assertThat(s.emittedBlocks()).isZero();
            assertThat(s.baseSnapshotId()).isNull();
            assertThat(s.sourceSnapshotId()).isEqualTo(snap);
            assertThat(s.sourceRegion()).isEqualTo(SOURCE);
        }
        assertThat(splits).extracting(BlockRangeSplit::splitId).doesNotHaveDuplicates();
    }

    @Test
    void minSplitBlocksLimitsTheNumberOfSplits() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        EbsLineageSourceEnumerator enumerator =
                new EbsLineageSourceEnumerator(
                        ctx, factory, state(request("r1", snap)), 8, 1024, Duration.ofHours(1));
        toClose.add(enumerator);

        enumerator.start();
        runAllAsync(ctx);

        List<BlockRangeSplit> splits = ranges(enumerator.snapshotState(1).unassignedSplits());
        assertThat(splits).hasSize(2);
        assertCoversWithoutGapsOrOverlaps(splits, BLOCKS_1GIB);
    }

    @Test
    void aVolumeOfSeveralGibIsCoveredToItsLastBlock() throws Throwable {
        String snap = sourceSnapshot(3);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(request("r1", snap)), 7);

        enumerator.start();
        runAllAsync(ctx);

        List<BlockRangeSplit> splits = ranges(enumerator.snapshotState(1).unassignedSplits());
        assertThat(splits).hasSize(7);
        assertCoversWithoutGapsOrOverlaps(splits, 3 * BLOCKS_1GIB);
    }

    @Test
    void startsTheTargetWithTheDeterministicClientTokenAndNamesItInTheSplits() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(request("r1", snap)), 2);

        enumerator.start();
        runAllAsync(ctx);

        List<FakeEbsProxy.Call> starts = target.calls("StartSnapshot");
        assertThat(starts).hasSize(1);
        StartSnapshotSpec spec = (StartSnapshotSpec) starts.get(0).args().get(0);
        assertThat(spec.clientToken()).isEqualTo(RequestResolver.clientToken("r1", TARGET, 0));
        assertThat(spec.volumeSizeGib()).isEqualTo(1);
        assertThat(spec.parentSnapshotId()).isNull();
        assertThat(spec.timeoutMinutes()).isEqualTo(60);
        assertThat(target.snapshotIds()).hasSize(1);
        String targetSnap = target.snapshotIds().get(0);
        assertThat(target.status(targetSnap)).isEqualTo("pending");
        for (BlockRangeSplit s : ranges(enumerator.snapshotState(1).unassignedSplits())) {
            assertThat(s.targets().snapshotByRegion())
                    .containsExactly(Map.entry(TARGET, targetSnap));
        }
    }

    @Test
    void resolvingTheSameRequestAgainAfterARestoreStartsNoSecondTarget() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        EbsLineageSourceEnumerator first = enumerator(ctx, state(request("r1", snap)), 2);
        first.start();
        // A checkpoint while the request is being resolved: it is still pending in the state.
        EbsLineageEnumeratorState whileResolving = first.snapshotState(1);
        assertThat(whileResolving.pendingRequests()).hasSize(1);
        runAllAsync(ctx);
        List<BlockRangeSplit> before = ranges(first.snapshotState(2).unassignedSplits());

        MockSplitEnumeratorContext<LineageSplit> ctx2 = context(1);
        EbsLineageSourceEnumerator restored = enumerator(ctx2, roundTrip(whileResolving), 2);
        restored.start();
        runAllAsync(ctx2);
        List<BlockRangeSplit> after = ranges(restored.snapshotState(3).unassignedSplits());

        List<FakeEbsProxy.Call> starts = target.calls("StartSnapshot");
        assertThat(starts).hasSize(2);
        assertThat(starts)
                .extracting(c -> ((StartSnapshotSpec) c.args().get(0)).clientToken())
                .containsOnly(RequestResolver.clientToken("r1", TARGET, 0));
        assertThat(target.snapshotIds()).hasSize(1);
        assertThat(after).isEqualTo(before);
    }

    @Test
    void incrementalRequestListsChangedBlocksAndStartsTheTargetOnItsParent() throws Throwable {
        String base = sourceSnapshot(1);
        String snap = source.createSnapshot(1, base, Map.of(5, FakeEbsProxy.block(5)));
        String targetBase = target.createSnapshot(1, null, Map.of());
        ReplicationRequest r =
                new ReplicationRequest(
                        "incr",
                        SOURCE,
                        snap,
                        base,
                        List.of(new ReplicationTarget(TARGET, targetBase, null, Map.of(), null)),
                        null,
                        false,
                        Map.of());
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(r), 2);

        enumerator.start();
        runAllAsync(ctx);

        assertThat(source.calls("ListChangedBlocks")).hasSize(1);
        assertThat(source.calls("ListSnapshotBlocks")).isEmpty();
        StartSnapshotSpec spec =
                (StartSnapshotSpec) target.calls("StartSnapshot").get(0).args().get(0);
        assertThat(spec.parentSnapshotId()).isEqualTo(targetBase);
        List<BlockRangeSplit> splits = ranges(enumerator.snapshotState(1).unassignedSplits());
        assertThat(splits).hasSize(2);
        assertThat(splits).extracting(BlockRangeSplit::baseSnapshotId).containsOnly(base);
        assertCoversWithoutGapsOrOverlaps(splits, BLOCKS_1GIB);
    }

    // ------------------------------------------------------------------ assigning

    @Test
    void readersThatAskGetSplitsAndThenNoMoreSplits() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(2);
        ctx.registerReader(new ReaderInfo(0, "host-0"));
        ctx.registerReader(new ReaderInfo(1, "host-1"));
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(request("r1", snap)), 3);
        enumerator.start();

        // Asking before the request is resolved: the readers wait, they are not told "done".
        enumerator.handleSplitRequest(0, "host-0");
        enumerator.handleSplitRequest(1, "host-1");
        assertThat(assigned(ctx)).isEmpty();
        assertThat(ctx.hasNoMoreSplits(0)).isFalse();
        assertThat(ctx.hasNoMoreSplits(1)).isFalse();

        runAllAsync(ctx);
        assertThat(ranges(assignedTo(ctx, 0)))
                .extracting(BlockRangeSplit::splitIndex)
                .containsExactly(0);
        assertThat(ranges(assignedTo(ctx, 1)))
                .extracting(BlockRangeSplit::splitIndex)
                .containsExactly(1);

        enumerator.handleSplitRequest(0, "host-0");
        assertThat(ranges(assignedTo(ctx, 0)))
                .extracting(BlockRangeSplit::splitIndex)
                .containsExactly(0, 2);
        assertThat(ctx.hasNoMoreSplits(0)).isFalse();

        enumerator.handleSplitRequest(1, "host-1");
        enumerator.handleSplitRequest(0, "host-0");
        assertThat(ctx.hasNoMoreSplits(0)).isTrue();
        assertThat(ctx.hasNoMoreSplits(1)).isTrue();
        assertThat(assigned(ctx)).hasSize(3);
        assertCoversWithoutGapsOrOverlaps(ranges(assigned(ctx)), BLOCKS_1GIB);
        assertThat(enumerator.snapshotState(1).unassignedSplits()).isEmpty();
        assertThat(enumerator.snapshotState(1).pendingRequests()).isEmpty();
    }

    @Test
    void aReaderThatIsNotRegisteredGetsNothing() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(2);
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(request("r1", snap)), 2);
        enumerator.start();
        runAllAsync(ctx);

        enumerator.handleSplitRequest(1, "gone");

        assertThat(assigned(ctx)).isEmpty();
        assertThat(enumerator.snapshotState(1).unassignedSplits()).hasSize(2);
    }

    @Test
    void splitsAddedBackAreAssignedFirstWithTheirProgress() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(2);
        ctx.registerReader(new ReaderInfo(0, "host-0"));
        ctx.registerReader(new ReaderInfo(1, "host-1"));
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(request("r1", snap)), 4);
        enumerator.start();
        runAllAsync(ctx);
        enumerator.handleSplitRequest(0, "host-0");
        enumerator.handleSplitRequest(0, "host-0");
        List<BlockRangeSplit> taken = ranges(assignedTo(ctx, 0));
        assertThat(taken).extracting(BlockRangeSplit::splitIndex).containsExactly(0, 1);

        // Reader 0 fails; its splits come back with the progress of its last checkpoint.
        BlockRangeSplit progressed0 = taken.get(0).withProgress(100, 3);
        BlockRangeSplit progressed1 = taken.get(1).withProgress(600, 7);
        ctx.unregisterReader(0);
        enumerator.addSplitsBack(List.of(progressed0, progressed1), 0);

        List<BlockRangeSplit> queued = ranges(enumerator.snapshotState(1).unassignedSplits());
        assertThat(queued).extracting(BlockRangeSplit::splitIndex).containsExactly(0, 1, 2, 3);
        assertThat(queued.get(0)).isEqualTo(progressed0);
        assertThat(queued.get(1)).isEqualTo(progressed1);

        enumerator.handleSplitRequest(1, "host-1");
        assertThat(assignedTo(ctx, 1)).containsExactly(progressed0);
    }

    @Test
    void splitsAddedBackGoStraightToAWaitingReader() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(2);
        ctx.registerReader(new ReaderInfo(0, "host-0"));
        ctx.registerReader(new ReaderInfo(1, "host-1"));
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(request("r1", snap)), 1);
        enumerator.start();
        runAllAsync(ctx);
        enumerator.handleSplitRequest(0, "host-0");
        BlockRangeSplit only = ranges(assignedTo(ctx, 0)).get(0);
        // A second request of reader 1 would normally be answered "no more splits"; here the
        // split comes back first.
        ctx.unregisterReader(0);
        enumerator.addSplitsBack(List.of(only.withProgress(10, 1)), 0);

        enumerator.handleSplitRequest(1, "host-1");

        assertThat(assignedTo(ctx, 1)).containsExactly(only.withProgress(10, 1));
        assertThat(ctx.hasNoMoreSplits(1)).isFalse();
    }

    // ------------------------------------------------------------------ failures

    @Test
    void aRequestWhoseSourceIsMissingBecomesAFailureSplit() throws Throwable {
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        ctx.registerReader(new ReaderInfo(0, "host-0"));
        ReplicationRequest missing =
                new ReplicationRequest(
                        "missing",
                        SOURCE,
                        "snap-0deadbeef",
                        null,
                        List.of(ReplicationTarget.of(TARGET), ReplicationTarget.of(OTHER_TARGET)),
                        null,
                        false,
                        Map.of());
        EbsLineageSourceEnumerator enumerator =
                new EbsLineageSourceEnumerator(
                        ctx,
                        factory,
                        EbsLineageEnumeratorState.ofRequests(
                                List.of(new PendingRequest(missing, 1234L, 0))),
                        4,
                        1,
                        Duration.ofHours(1));
        toClose.add(enumerator);

        enumerator.start();
        runAllAsync(ctx);

        List<LineageSplit> splits = enumerator.snapshotState(1).unassignedSplits();
        assertThat(splits).hasSize(1);
        FailedRequestSplit failed = (FailedRequestSplit) splits.get(0);
        assertThat(failed.failure().reason()).isEqualTo(FailureReason.SNAPSHOT_NOT_FOUND);
        assertThat(failed.failure().message())
                .contains("ResourceNotFoundException")
                .contains("snap-0deadbeef");
        assertThat(failed.requestId()).isEqualTo("missing");
        assertThat(failed.requestStartMillis()).isEqualTo(1234L);
        assertThat(failed.targetRegions()).containsExactly(TARGET, OTHER_TARGET);
        assertThat(target.calls("StartSnapshot")).isEmpty();
        assertThat(enumerator.snapshotState(1).pendingRequests()).isEmpty();

        enumerator.handleSplitRequest(0, "host-0");
        enumerator.handleSplitRequest(0, "host-0");
        assertThat(assignedTo(ctx, 0)).containsExactly(failed);
        assertThat(ctx.hasNoMoreSplits(0)).isTrue();
    }

    @Test
    void anInvalidRequestBecomesAFailureSplit() throws Throwable {
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        ReplicationRequest invalid =
                new ReplicationRequest(
                        "invalid",
                        SOURCE,
                        "not-a-snapshot",
                        null,
                        List.of(ReplicationTarget.of(TARGET)),
                        null,
                        false,
                        Map.of());
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(invalid), 2);

        enumerator.start();
        runAllAsync(ctx);

        List<LineageSplit> splits = enumerator.snapshotState(1).unassignedSplits();
        assertThat(splits).hasSize(1);
        Failure failure = ((FailedRequestSplit) splits.get(0)).failure();
        assertThat(failure.reason()).isEqualTo(FailureReason.INVALID_REQUEST);
        assertThat(failure.message()).contains("not-a-snapshot");
        assertThat(source.calls()).isEmpty();
    }

    @Test
    void aRetryableFailureIsRetriedLaterAndDoesNotBlockTheNextRequest() throws Throwable {
        String snapA = sourceSnapshot(1);
        String snapB = sourceSnapshot(1);
        source.failNext("ListSnapshotBlocks", FakeEbsProxy::throttled);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        ctx.registerReader(new ReaderInfo(0, "host-0"));
        EbsLineageSourceEnumerator enumerator =
                enumerator(ctx, state(request("a", snapA), request("b", snapB)), 1);

        enumerator.start();
        ctx.runNextOneTimeCallable(); // a: throttled
        assertThat(enumerator.snapshotState(1).unassignedSplits()).isEmpty();
        assertThat(enumerator.snapshotState(1).pendingRequests())
                .extracting(p -> p.request().requestId())
                .containsExactly("b", "a");
        assertThat(ctx.getOneTimeCallables()).as("b is resolved without waiting for a").hasSize(1);

        ctx.runNextOneTimeCallable(); // b
        enumerator.handleSplitRequest(0, "host-0");
        assertThat(ranges(assignedTo(ctx, 0)))
                .extracting(BlockRangeSplit::requestId)
                .containsExactly("b");

        // a is still pending: the reader that asks again waits instead of being told "done".
        enumerator.handleSplitRequest(0, "host-0");
        assertThat(ctx.hasNoMoreSplits(0)).isFalse();

        // b resolving does not let a jump its backoff: a is tried again only after its delay.
        assertThat(ctx.getOneTimeCallables()).as("a waits for its retry delay").isEmpty();
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (ctx.getOneTimeCallables().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        runAllAsync(ctx); // a again, now without failure
        assertThat(ranges(assignedTo(ctx, 0)))
                .extracting(BlockRangeSplit::requestId)
                .containsExactly("b", "a");
        assertThat(source.calls("ListSnapshotBlocks")).hasSize(3);
        assertThat(enumerator.snapshotState(2).pendingRequests()).isEmpty();
        enumerator.handleSplitRequest(0, "host-0");
        assertThat(ctx.hasNoMoreSplits(0)).isTrue();
    }

    @Test
    void aLoneRetryableRequestIsResolvedAgainByTheRetryTimer() throws Throwable {
        String snap = sourceSnapshot(1);
        source.failNext("ListSnapshotBlocks", FakeEbsProxy::throttled);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(request("a", snap)), 2);

        enumerator.start();
        ctx.runNextOneTimeCallable();
        assertThat(ctx.getOneTimeCallables()).as("not retried at once").isEmpty();
        assertThat(enumerator.snapshotState(1).pendingRequests()).hasSize(1);

        // The retry timer hands the next attempt to the coordinator thread after its delay.
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (ctx.getOneTimeCallables().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(ctx.getOneTimeCallables()).as("retried after the delay").hasSize(1);
        ctx.runNextOneTimeCallable();

        assertThat(enumerator.snapshotState(2).unassignedSplits()).hasSize(2);
        assertThat(enumerator.snapshotState(2).pendingRequests()).isEmpty();
    }

    @Test
    void aRetryableTargetFailureRetriesTheWholeRequestAndReusesTheStartedTarget() throws Throwable {
        String snap = sourceSnapshot(1);
        FakeEbsProxy other = factory.proxy(OTHER_TARGET);
        other.failNext("StartSnapshot", FakeEbsProxy::throttled);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        ReplicationRequest r =
                new ReplicationRequest(
                        "two",
                        SOURCE,
                        snap,
                        null,
                        List.of(ReplicationTarget.of(TARGET), ReplicationTarget.of(OTHER_TARGET)),
                        null,
                        false,
                        Map.of());
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(r), 2);
        enumerator.start();
        ctx.runNextOneTimeCallable();
        assertThat(enumerator.snapshotState(1).unassignedSplits()).isEmpty();

        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (ctx.getOneTimeCallables().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        ctx.runNextOneTimeCallable();

        List<BlockRangeSplit> splits = ranges(enumerator.snapshotState(2).unassignedSplits());
        assertThat(splits).hasSize(2);
        assertThat(target.snapshotIds()).hasSize(1);
        assertThat(other.snapshotIds()).hasSize(1);
        assertThat(splits.get(0).targets().snapshotByRegion())
                .containsExactly(
                        Map.entry(TARGET, target.snapshotIds().get(0)),
                        Map.entry(OTHER_TARGET, other.snapshotIds().get(0)));
    }

    @Test
    void oneTargetRegionFailingFatallyGetsAFailureSplitWhileTheOtherIsCopied() throws Throwable {
        String snap = sourceSnapshot(1);
        FakeEbsProxy other = factory.proxy(OTHER_TARGET);
        other.failAlways("StartSnapshot", () -> FakeEbsProxy.fatal("AccessDeniedException", null));
        MockSplitEnumeratorContext<LineageSplit> ctx = context(2);
        ReplicationRequest r =
                new ReplicationRequest(
                        "two",
                        SOURCE,
                        snap,
                        null,
                        List.of(ReplicationTarget.of(TARGET), ReplicationTarget.of(OTHER_TARGET)),
                        null,
                        false,
                        Map.of());
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(r), 3);

        enumerator.start();
        runAllAsync(ctx);

        List<LineageSplit> splits = enumerator.snapshotState(1).unassignedSplits();
        List<BlockRangeSplit> normal = ofKind(splits, BlockRangeSplit.class);
        List<FailedRequestSplit> failed = ofKind(splits, FailedRequestSplit.class);
        assertThat(normal).hasSize(3);
        assertCoversWithoutGapsOrOverlaps(normal, BLOCKS_1GIB);
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
    void snapshotAndRestoreKeepPendingRequestsAndUnassignedSplits() throws Throwable {
        String snapA = sourceSnapshot(1);
        String snapB = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        ctx.registerReader(new ReaderInfo(0, "host-0"));
        EbsLineageSourceEnumerator enumerator =
                enumerator(ctx, state(request("a", snapA), request("b", snapB)), 3);
        enumerator.start();
        ctx.runNextOneTimeCallable(); // a resolved; b is now being resolved
        enumerator.handleSplitRequest(0, "host-0");
        BlockRangeSplit first = ranges(assignedTo(ctx, 0)).get(0);

        EbsLineageEnumeratorState checkpoint = enumerator.snapshotState(7);
        assertThat(checkpoint.pendingRequests())
                .extracting(p -> p.request().requestId())
                .containsExactly("b");
        assertThat(checkpoint.unassignedSplits())
                .extracting(LineageSplit::splitId)
                .containsExactly("a#1", "a#2");

        MockSplitEnumeratorContext<LineageSplit> ctx2 = context(1);
        ctx2.registerReader(new ReaderInfo(0, "host-0"));
        EbsLineageSourceEnumerator restored = enumerator(ctx2, roundTrip(checkpoint), 3);
        // A split assigned after the checkpoint comes back from the failed reader.
        restored.addSplitsBack(List.of(first), 0);
        restored.start();
        runAllAsync(ctx2);
        for (int i = 0; i < 7; i++) {
            restored.handleSplitRequest(0, "host-0");
        }

        assertThat(ranges(assignedTo(ctx2, 0)))
                .extracting(BlockRangeSplit::splitId)
                .containsExactly("a#0", "a#1", "a#2", "b#0", "b#1", "b#2");
        assertThat(ctx2.hasNoMoreSplits(0)).isTrue();
        assertThat(factory.proxy(TARGET).snapshotIds()).hasSize(2);
    }

    @Test
    void closeClosesTheProxiesItCreated() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, state(request("r1", snap)), 2);
        enumerator.start();
        runAllAsync(ctx);

        enumerator.close();

        assertThat(source.closeCount()).isEqualTo(1);
        assertThat(target.closeCount()).isEqualTo(1);
    }

    // ------------------------------------------------------------------ cancelled targets

    @Test
    void aTargetCancelledWhileItsSplitsAreReadIsReplacedByTheNextGeneration() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(2);
        ctx.registerReader(new ReaderInfo(0, "host-0"));
        ctx.registerReader(new ReaderInfo(1, "host-1"));
        EbsLineageSourceEnumerator enumerator = watching(ctx, state(request("r1", snap)), 2, 3);
        enumerator.start();
        runAllAsync(ctx);
        enumerator.handleSplitRequest(0, "host-0");
        enumerator.handleSplitRequest(1, "host-1");
        String first = target.snapshotIds().get(0);
        assertThat(assigned(ctx)).hasSize(2);
        assertThat(enumerator.snapshotState(1).watchedTargets())
                .singleElement()
                .satisfies(
                        w -> {
                            assertThat(w.targetSnapshotId()).isEqualTo(first);
                            assertThat(w.openSplits()).containsExactly("r1#0", "r1#1");
                        });

        // Pending: nothing happens.
        enumerator.describeWatched();
        runAllAsync(ctx);
        assertThat(target.calls("StartSnapshot")).hasSize(1);

        target.setStatus(first, "error", "Cancelled: not completed within the 60 minute timeout");
        enumerator.describeWatched();
        runAllAsync(ctx);

        List<FakeEbsProxy.Call> starts = target.calls("StartSnapshot");
        assertThat(starts).hasSize(2);
        assertThat(((StartSnapshotSpec) starts.get(1).args().get(0)).clientToken())
                .isEqualTo(RequestResolver.clientToken("r1", TARGET, 1));
        String second = target.snapshotIds().get(1);
        assertThat(second).isNotEqualTo(first);
        List<BlockRangeSplit> replacement = ranges(enumerator.snapshotState(2).unassignedSplits());
        assertThat(replacement).hasSize(2);
        assertCoversWithoutGapsOrOverlaps(replacement, BLOCKS_1GIB);
        for (BlockRangeSplit s : replacement) {
            assertThat(s.generation()).isEqualTo(1);
            assertThat(s.targets().snapshotByRegion()).containsExactly(Map.entry(TARGET, second));
        }
        assertThat(replacement)
                .extracting(BlockRangeSplit::splitId)
                .doesNotContainAnyElementsOf(List.of("r1#0", "r1#1"));
        assertThat(enumerator.snapshotState(2).watchedTargets())
                .singleElement()
                .satisfies(w -> assertThat(w.targetSnapshotId()).isEqualTo(second));

        // The readers finish the old splits and get the new ones.
        enumerator.handleSourceEvent(0, new SplitsFinishedEvent(List.of("r1#0")));
        enumerator.handleSplitRequest(0, "host-0");
        assertThat(ranges(assignedTo(ctx, 0)))
                .last()
                .extracting(BlockRangeSplit::generation)
                .isEqualTo(1);
    }

    @Test
    void aTargetCancelledMoreOftenThanAllowedFailsItsRegion() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        ctx.registerReader(new ReaderInfo(0, "host-0"));
        EbsLineageSourceEnumerator enumerator = watching(ctx, state(request("r1", snap)), 1, 1);
        enumerator.start();
        runAllAsync(ctx);

        target.setStatus(target.snapshotIds().get(0), "error", "Cancelled");
        enumerator.describeWatched();
        runAllAsync(ctx);
        assertThat(target.snapshotIds()).hasSize(2);
        target.setStatus(target.snapshotIds().get(1), "error", "Cancelled again");
        enumerator.describeWatched();
        runAllAsync(ctx);

        assertThat(target.snapshotIds()).as("no third target").hasSize(2);
        List<FailedRequestSplit> failures =
                ofKind(enumerator.snapshotState(3).unassignedSplits(), FailedRequestSplit.class);
        assertThat(failures).singleElement();
        assertThat(failures.get(0).failure().reason()).isEqualTo(FailureReason.TARGET_CANCELLED);
        assertThat(failures.get(0).failure().message())
                .contains(target.snapshotIds().get(1))
                .contains("Cancelled again")
                .contains("giving up");
        assertThat(failures.get(0).targetRegions()).containsExactly(TARGET);
        assertThat(enumerator.snapshotState(3).watchedTargets()).isEmpty();
    }

    @Test
    void noMoreSplitsWaitsUntilTheWatchedTargetsAreRead() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(2);
        ctx.registerReader(new ReaderInfo(0, "host-0"));
        ctx.registerReader(new ReaderInfo(1, "host-1"));
        EbsLineageSourceEnumerator enumerator = watching(ctx, state(request("r1", snap)), 2, 3);
        enumerator.start();
        runAllAsync(ctx);
        enumerator.handleSplitRequest(0, "host-0");
        enumerator.handleSplitRequest(1, "host-1");

        // Reader 0 is done, reader 1 still reads: a replacement may yet be needed.
        enumerator.handleSourceEvent(0, new SplitsFinishedEvent(List.of("r1#0")));
        enumerator.handleSplitRequest(0, "host-0");
        assertThat(ctx.hasNoMoreSplits(0)).isFalse();

        enumerator.handleSourceEvent(1, new SplitsFinishedEvent(List.of("r1#1")));
        assertThat(ctx.hasNoMoreSplits(0)).isTrue();
        enumerator.handleSplitRequest(1, "host-1");
        assertThat(ctx.hasNoMoreSplits(1)).isTrue();
    }

    @Test
    void aCompletedTargetIsNoLongerWatchedAndWatchesSurviveACheckpoint() throws Throwable {
        String snap = sourceSnapshot(1);
        MockSplitEnumeratorContext<LineageSplit> ctx = context(1);
        EbsLineageSourceEnumerator enumerator = watching(ctx, state(request("r1", snap)), 2, 3);
        enumerator.start();
        runAllAsync(ctx);
        EbsLineageEnumeratorState checkpoint = roundTrip(enumerator.snapshotState(1));
        assertThat(checkpoint.watchedTargets()).hasSize(1);

        MockSplitEnumeratorContext<LineageSplit> ctx2 = context(1);
        EbsLineageSourceEnumerator restored = watching(ctx2, checkpoint, 2, 3);
        restored.start();
        target.setStatus(target.snapshotIds().get(0), "completed", null);
        restored.describeWatched();
        runAllAsync(ctx2);

        assertThat(restored.snapshotState(2).watchedTargets()).isEmpty();
        assertThat(target.calls("StartSnapshot")).hasSize(1);
    }

    // ------------------------------------------------------------------ helpers

    private EbsLineageSourceEnumerator watching(
            MockSplitEnumeratorContext<LineageSplit> ctx,
            EbsLineageEnumeratorState state,
            int splitsPerRequest,
            int maxGenerations) {
        EbsLineageSourceEnumerator e =
                new EbsLineageSourceEnumerator(
                        ctx,
                        factory,
                        state,
                        splitsPerRequest,
                        1,
                        Duration.ofHours(1),
                        new TargetWatchSettings(
                                Duration.ofHours(1), Duration.ofMinutes(2), maxGenerations));
        toClose.add(e);
        return e;
    }

    private String sourceSnapshot(long gib) {
        return source.createSnapshot(
                gib, null, Map.of(0, FakeEbsProxy.block(0), 700, FakeEbsProxy.block(700)));
    }

    private static ReplicationRequest request(String id, String snapshot) {
        return new ReplicationRequest(
                id,
                SOURCE,
                snapshot,
                null,
                List.of(ReplicationTarget.of(TARGET)),
                null,
                false,
                Map.of());
    }

    private static EbsLineageEnumeratorState state(ReplicationRequest... requests) {
        List<PendingRequest> pending = new ArrayList<>();
        for (ReplicationRequest r : requests) {
            pending.add(new PendingRequest(r, 1000L, 0));
        }
        return EbsLineageEnumeratorState.ofRequests(pending);
    }

    private MockSplitEnumeratorContext<LineageSplit> context(int parallelism) {
        MockSplitEnumeratorContext<LineageSplit> ctx =
                new MockSplitEnumeratorContext<>(parallelism);
        toClose.add(ctx);
        return ctx;
    }

    private EbsLineageSourceEnumerator enumerator(
            MockSplitEnumeratorContext<LineageSplit> ctx,
            EbsLineageEnumeratorState state,
            int splitsPerRequest) {
        EbsLineageSourceEnumerator e =
                new EbsLineageSourceEnumerator(
                        ctx, factory, state, splitsPerRequest, 1, Duration.ofHours(1));
        toClose.add(e);
        return e;
    }

    /** Runs the queued {@code callAsync} work, including work queued by its handlers. */
    private static void runAllAsync(MockSplitEnumeratorContext<LineageSplit> ctx) throws Throwable {
        while (!ctx.getOneTimeCallables().isEmpty()) {
            ctx.runNextOneTimeCallable();
        }
    }

    private static EbsLineageEnumeratorState roundTrip(EbsLineageEnumeratorState s)
            throws Exception {
        EbsLineageEnumeratorStateSerializer ser = new EbsLineageEnumeratorStateSerializer();
        return ser.deserialize(ser.getVersion(), ser.serialize(s));
    }

    /** The splits, which must all be block ranges. */
    private static List<BlockRangeSplit> ranges(List<LineageSplit> splits) {
        assertThat(splits).allMatch(s -> s instanceof BlockRangeSplit, "a block range");
        return ofKind(splits, BlockRangeSplit.class);
    }

    private static <T extends LineageSplit> List<T> ofKind(
            List<LineageSplit> splits, Class<T> kind) {
        return splits.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    private static List<LineageSplit> assigned(MockSplitEnumeratorContext<LineageSplit> ctx) {
        List<LineageSplit> out = new ArrayList<>();
        for (SplitsAssignment<LineageSplit> a : ctx.getSplitsAssignmentSequence()) {
            a.assignment().values().forEach(out::addAll);
        }
        return out;
    }

    private static List<LineageSplit> assignedTo(
            MockSplitEnumeratorContext<LineageSplit> ctx, int reader) {
        List<LineageSplit> out = new ArrayList<>();
        for (SplitsAssignment<LineageSplit> a : ctx.getSplitsAssignmentSequence()) {
            out.addAll(a.assignment().getOrDefault(reader, List.of()));
        }
        return out;
    }

    private static void assertCoversWithoutGapsOrOverlaps(List<BlockRangeSplit> splits, int end) {
        List<BlockRangeSplit> sorted =
                splits.stream()
                        .sorted(Comparator.comparingInt(BlockRangeSplit::rangeStart))
                        .toList();
        assertThat(sorted.get(0).rangeStart()).isZero();
        for (int i = 0; i < sorted.size(); i++) {
            BlockRangeSplit s = sorted.get(i);
            assertThat(s.rangeEnd()).as("split %s is not empty", s).isGreaterThan(s.rangeStart());
            if (i > 0) {
                assertThat(s.rangeStart())
                        .as("split %s starts where the previous ended", s)
                        .isEqualTo(sorted.get(i - 1).rangeEnd());
            }
        }
        assertThat(sorted.get(sorted.size() - 1).rangeEnd()).isEqualTo(end);
    }
}
