package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.connector.ebs.source.intake.IntakeRecord;
import io.ebsreplicator.connector.ebs.source.intake.RequestIntake;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.DeadLetterSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.api.connector.source.mocks.MockSplitEnumeratorContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests the long-running side of {@link EbsLineageSourceEnumerator}: requests taken from an intake
 * (duplicates dropped, dead letters and invalid requests turned into splits, positions checkpointed
 * and sought on restore) and lineages (in order, incremental from the last completed copy).
 */
class EbsLineageSourceEnumeratorIntakeTest {

    private static final String SOURCE = "us-east-1";
    private static final String TARGET = "eu-west-1";

    /** What each test's intake delivers and what it was asked; shared with the factory. */
    static final Map<String, ScriptedIntake> INTAKES = new ConcurrentHashMap<>();

    private String name;
    private FakeEbsProxy.Factory factory;
    private FakeEbsProxy source;
    private FakeEbsProxy target;
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @BeforeEach
    void setUp() {
        name = "intake-test-" + UUID.randomUUID();
        factory = FakeEbsProxy.register(name);
        source = factory.proxy(SOURCE);
        target = factory.proxy(TARGET);
        INTAKES.put(name, new ScriptedIntake());
    }

    @AfterEach
    void tearDown() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
        FakeEbsProxy.unregister(name);
        INTAKES.remove(name);
    }

    @Test
    void takesRequestsDropsDuplicatesAndCheckpointsWhereItStopped() throws Throwable {
        String snap = snapshot(null);
        ScriptedIntake intake = INTAKES.get(name);
        intake.batches.add(
                List.of(
                        IntakeRecord.request("requests-0", 0, request("r1", snap, null)),
                        IntakeRecord.deadLetter(
                                "requests-0", 1, "dead-letter:requests-0@1", new byte[] {1, 2}),
                        IntakeRecord.request("requests-1", 0, request("r1", snap, null)),
                        IntakeRecord.invalid(
                                "requests-1",
                                1,
                                request("r2", snap, null),
                                Failure.of(FailureReason.INVALID_REQUEST, "bad"))));
        MockSplitEnumeratorContext<LineageSplit> ctx = context();
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, EbsLineageEnumeratorState.empty());
        enumerator.start();

        enumerator.takeRequests();
        runAllAsync(ctx);

        EbsLineageEnumeratorState state = enumerator.snapshotState(1);
        assertThat(state.intakePositions())
                .containsExactly(Map.entry("requests-0", 2L), Map.entry("requests-1", 2L));
        assertThat(state.acceptedRequests()).containsOnlyKeys("r1", "r2");
        assertThat(target.calls("StartSnapshot")).as("r1 once, r2 never").hasSize(1);
        List<LineageSplit> splits = state.unassignedSplits();
        assertThat(splits)
                .filteredOn(s -> s instanceof DeadLetterSplit)
                .singleElement()
                .satisfies(
                        s -> {
                            DeadLetterSplit d = (DeadLetterSplit) s;
                            assertThat(d.id()).isEqualTo("dead-letter:requests-0@1");
                            assertThat(d.record()).containsExactly(1, 2);
                        });
        assertThat(splits)
                .filteredOn(s -> s instanceof FailedRequestSplit)
                .singleElement()
                .satisfies(
                        s -> {
                            FailedRequestSplit f = (FailedRequestSplit) s;
                            assertThat(f.requestId()).isEqualTo("r2");
                            assertThat(f.failure())
                                    .isEqualTo(Failure.of(FailureReason.INVALID_REQUEST, "bad"));
                        });
        assertThat(splits)
                .filteredOn(s -> s instanceof BlockRangeSplit r && r.requestId().equals("r1"))
                .isNotEmpty();
        assertThat(state.pendingRequests()).isEmpty();
    }

    @Test
    void aRestoredEnumeratorSeeksTheIntakeToItsCheckpointedPositionsAndRemembersIds()
            throws Throwable {
        String snap = snapshot(null);
        MockSplitEnumeratorContext<LineageSplit> ctx = context();
        EbsLineageSourceEnumerator enumerator =
                enumerator(
                        ctx,
                        new EbsLineageEnumeratorState(
                                List.of(),
                                List.of(),
                                List.of(),
                                Map.of("requests-0", 17L),
                                Map.of("r1", System.currentTimeMillis()),
                                Map.of()));
        ScriptedIntake intake = INTAKES.get(name);
        intake.batches.add(
                List.of(IntakeRecord.request("requests-0", 17, request("r1", snap, null))));
        enumerator.start();

        enumerator.takeRequests();
        runAllAsync(ctx);

        assertThat(intake.sought).containsExactly(Map.entry("requests-0", 17L));
        assertThat(target.calls("StartSnapshot"))
                .as("r1 was accepted before the restore")
                .isEmpty();
        assertThat(enumerator.snapshotState(2).intakePositions())
                .containsExactly(Map.entry("requests-0", 18L));
    }

    @Test
    void aLineageIsAppliedInOrderAndCopiedIncrementallyOntoTheLastCompletedCopy() throws Throwable {
        String first = snapshot(null);
        String second = snapshot(first);
        ScriptedIntake intake = INTAKES.get(name);
        intake.batches.add(
                List.of(
                        IntakeRecord.request("requests-0", 0, request("g1", first, "vol-1")),
                        IntakeRecord.request("requests-0", 1, request("g2", second, "vol-1"))));
        MockSplitEnumeratorContext<LineageSplit> ctx = context();
        EbsLineageSourceEnumerator enumerator = enumerator(ctx, EbsLineageEnumeratorState.empty());
        enumerator.start();

        enumerator.takeRequests();
        runAllAsync(ctx);

        assertThat(target.calls("StartSnapshot")).as("g2 waits for g1").hasSize(1);
        String firstCopy = target.snapshotIds().get(0);
        assertThat(
                        ((BlockRangeSplit) enumerator.snapshotState(1).unassignedSplits().get(0))
                                .copyInfo())
                .satisfies(
                        c -> {
                            assertThat(c.incremental()).isFalse();
                            assertThat(c.fallbackReason()).contains("vol-1");
                        });

        target.setStatus(firstCopy, "completed", null);
        enumerator.describeWatched();
        runAllAsync(ctx);

        List<FakeEbsProxy.Call> starts = target.calls("StartSnapshot");
        assertThat(starts).hasSize(2);
        StartSnapshotSpec spec = (StartSnapshotSpec) starts.get(1).args().get(0);
        assertThat(spec.parentSnapshotId()).isEqualTo(firstCopy);
        EbsLineageEnumeratorState state = enumerator.snapshotState(2);
        BlockRangeSplit g2 =
                state.unassignedSplits().stream()
                        .map(BlockRangeSplit.class::cast)
                        .filter(s -> s.requestId().equals("g2"))
                        .findFirst()
                        .orElseThrow();
        assertThat(g2.baseSnapshotId()).isEqualTo(first);
        assertThat(g2.targets().snapshotByRegion()).containsKey(TARGET);
        CopyInfo info = g2.copyInfo();
        assertThat(info.incremental()).isTrue();
        assertThat(info.parents()).containsExactly(Map.entry(TARGET, firstCopy));
        assertThat(state.lineageCopies())
                .containsEntry(
                        EbsLineageEnumeratorState.lineageKey(SOURCE, "vol-1", TARGET),
                        List.of(new EbsLineageEnumeratorState.LineageCopy(first, firstCopy, 0)));
    }

    // ------------------------------------------------------------------ helpers

    private String snapshot(String parent) {
        return source.createSnapshot(1, parent, Map.of(3, FakeEbsProxy.block(3)));
    }

    private static ReplicationRequest request(String id, String snapshot, String lineage) {
        return new ReplicationRequest(
                id,
                SOURCE,
                snapshot,
                null,
                List.of(ReplicationTarget.of(TARGET)),
                lineage,
                lineage != null,
                Map.of());
    }

    private MockSplitEnumeratorContext<LineageSplit> context() {
        MockSplitEnumeratorContext<LineageSplit> ctx = new MockSplitEnumeratorContext<>(1);
        ctx.registerReader(new ReaderInfo(0, "host-0"));
        toClose.add(ctx);
        return ctx;
    }

    private EbsLineageSourceEnumerator enumerator(
            MockSplitEnumeratorContext<LineageSplit> ctx, EbsLineageEnumeratorState state) {
        EbsLineageSourceEnumerator e =
                new EbsLineageSourceEnumerator(
                        ctx,
                        factory,
                        state,
                        1,
                        1,
                        Duration.ofHours(1),
                        new TargetWatchSettings(Duration.ofHours(1), Duration.ofMinutes(2), 3),
                        new ScriptedIntakeFactory(name),
                        Duration.ofDays(7));
        toClose.add(e);
        return e;
    }

    private static void runAllAsync(MockSplitEnumeratorContext<LineageSplit> ctx) throws Throwable {
        while (!ctx.getOneTimeCallables().isEmpty()) {
            ctx.runNextOneTimeCallable();
        }
    }

    /** An intake that delivers scripted batches and records where it was told to seek. */
    static final class ScriptedIntake implements RequestIntake {
        final Deque<List<IntakeRecord>> batches = new ArrayDeque<>();
        volatile Map<String, Long> sought;

        @Override
        public void seek(Map<String, Long> positions) {
            sought = Map.copyOf(positions);
        }

        @Override
        public List<IntakeRecord> poll(Duration timeout) {
            List<IntakeRecord> next = batches.poll();
            return next == null ? List.of() : next;
        }

        @Override
        public void close() {}
    }

    /** Finds the test's intake by name: the factory is serializable, the intake is not. */
    record ScriptedIntakeFactory(String name) implements RequestIntake.Factory {
        @Override
        public RequestIntake open() {
            return INTAKES.get(name);
        }
    }
}
