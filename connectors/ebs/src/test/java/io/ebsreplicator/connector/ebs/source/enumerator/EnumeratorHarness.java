package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.LineageCopy;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.event.SplitsFinishedEvent;
import io.ebsreplicator.connector.ebs.source.intake.RequestIntake;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.apache.flink.api.connector.source.ReaderInfo;
import org.apache.flink.util.clock.ManualClock;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What a test of {@link EbsLineageSourceEnumerator} runs it in: EBS regions as {@link FakeEbsProxy}
 * fakes in a registry of the test's own, a {@link ManualClock}, settings, and enumerators on a
 * {@link TestingEnumeratorContext}, driven as Flink's source coordinator drives them: every method
 * on the coordinator thread, the intake poll and the tick run by hand as the periodic callables the
 * enumerator registered. One per test; {@link #close()} closes every enumerator and context it
 * made.
 */
final class EnumeratorHarness implements AutoCloseable {

    static final String SOURCE = "us-east-1";
    static final String TARGET = "eu-west-1";
    static final String OTHER_TARGET = "ap-south-1";
    static final int BLOCKS_PER_GIB = 2048;

    /** 2026-01-01T00:00:00Z: the clock starts at a plausible time, so deadlines look real. */
    static final long START_MILLIS = 1_767_225_600_000L;

    final ManualClock clock = new ManualClock(START_MILLIS * 1_000_000);
    final FakeEbsProxy.Factory factory;
    private final String name;
    private final List<Coordinator> started = new ArrayList<>();
    private int checkpoints;

    EnumeratorHarness() {
        name = "enumerator-" + UUID.randomUUID();
        factory = FakeEbsProxy.register(name);
    }

    /** The fake of {@code region}. */
    FakeEbsProxy region(String region) {
        return factory.proxy(region);
    }

    long now() {
        return clock.absoluteTimeMillis();
    }

    void advance(Duration d) {
        clock.advanceTime(d);
    }

    /** A completed source snapshot of {@code gib} GiB with blocks 0 and 700. */
    String sourceSnapshot(long gib) {
        return region(SOURCE)
                .createSnapshot(
                        gib, null, Map.of(0, FakeEbsProxy.block(0), 700, FakeEbsProxy.block(700)));
    }

    /** A completed source snapshot that changes block 3 of {@code parent} (a lineage's next). */
    String nextSourceSnapshot(String parent) {
        return region(SOURCE).createSnapshot(1, parent, Map.of(3, FakeEbsProxy.block(3)));
    }

    /** Settings with the defaults these tests start from. */
    static Settings settings() {
        return new Settings();
    }

    /** An enumerator of a bounded job (no intake) over {@code state}, not yet started. */
    Coordinator bounded(int parallelism, EbsLineageEnumeratorState state, Settings settings) {
        return create(parallelism, state, settings, null);
    }

    /**
     * An enumerator of a long-running job that takes requests from {@code intake}, from the
     * positions and accepted ids of {@code state} as the source restores it; not yet started.
     */
    Coordinator withIntake(
            EbsLineageEnumeratorState state, Settings settings, RequestIntake.Factory intake) {
        IntakeCursor cursor =
                new IntakeCursor(
                        intake, Duration.ofDays(7), state.intakePositions(), state.acceptedIds());
        return create(1, state, settings, cursor);
    }

    private Coordinator create(
            int parallelism,
            EbsLineageEnumeratorState state,
            Settings settings,
            IntakeCursor intake) {
        TestingEnumeratorContext context = new TestingEnumeratorContext(parallelism);
        EbsLineageSourceEnumerator enumerator =
                new EbsLineageSourceEnumerator(
                        context, factory, state, settings.build(), intake, clock);
        Coordinator c = new Coordinator(context, enumerator, settings, intake != null);
        started.add(c);
        return c;
    }

    @Override
    public void close() throws Exception {
        for (int i = started.size() - 1; i >= 0; i--) {
            started.get(i).close();
        }
        FakeEbsProxy.unregister(name);
    }

    /** An enumerator and its context, driven on the context's coordinator thread. */
    final class Coordinator {
        final TestingEnumeratorContext context;
        private final EbsLineageSourceEnumerator enumerator;
        private final Settings settings;
        private final boolean withIntake;
        private boolean closed;

        private Coordinator(
                TestingEnumeratorContext context,
                EbsLineageSourceEnumerator enumerator,
                Settings settings,
                boolean withIntake) {
            this.context = context;
            this.enumerator = enumerator;
            this.settings = settings;
            this.withIntake = withIntake;
        }

        /** Registers readers {@code 0..n-1}. */
        Coordinator readers(int n) {
            for (int i = 0; i < n; i++) {
                context.registerReader(new ReaderInfo(i, "host-" + i));
            }
            return this;
        }

        Coordinator start() throws Exception {
            run(EbsLineageSourceEnumerator::start);
            return this;
        }

        /** One run of the intake poll (registered first, only with an intake). */
        void takeRequests() throws Exception {
            assertThat(withIntake).as("only an enumerator with an intake polls one").isTrue();
            context.runPeriodic(0);
        }

        /** One run of the tick (registered after the intake poll). */
        void tick() throws Exception {
            context.runPeriodic(withIntake ? 1 : 0);
        }

        /** Lets the watch interval pass and runs the tick: every watched target is described. */
        void describeRound() throws Exception {
            advance(settings.watchInterval());
            tick();
        }

        /** Completes every pending snapshot of {@code region}; a describe round sees it. */
        void completeTargets(FakeEbsProxy region) throws Exception {
            for (String id : region.snapshotIds()) {
                if ("pending".equals(region.status(id))) {
                    region.setStatus(id, "completed", null);
                }
            }
            describeRound();
        }

        void run(Consumer<EbsLineageSourceEnumerator> action) throws Exception {
            context.call(
                    () -> {
                        action.accept(enumerator);
                        return null;
                    });
        }

        <T> T call(Function<EbsLineageSourceEnumerator, T> action) throws Exception {
            return context.call(() -> action.apply(enumerator));
        }

        void requestSplit(int reader) throws Exception {
            run(e -> e.handleSplitRequest(reader, "host-" + reader));
        }

        void finished(int reader, String... splitIds) throws Exception {
            run(e -> e.handleSourceEvent(reader, new SplitsFinishedEvent(List.of(splitIds))));
        }

        void addSplitsBack(List<LineageSplit> splits, int reader) throws Exception {
            run(e -> e.addSplitsBack(splits, reader));
        }

        /** A checkpoint, taken on the coordinator thread, as it reads back after serialization. */
        EbsLineageEnumeratorState checkpoint() throws Exception {
            long id = ++checkpoints;
            EbsLineageEnumeratorStateSerializer ser = new EbsLineageEnumeratorStateSerializer();
            byte[] bytes = call(e -> serialize(ser, e.snapshotState(id)));
            return ser.deserialize(ser.getVersion(), bytes);
        }

        /** The splits not yet assigned, as a checkpoint has them. */
        List<LineageSplit> unassigned() throws Exception {
            return checkpoint().unassignedSplits();
        }

        /** The ids of the requests not yet planned (queued or being planned), as checkpointed. */
        List<String> pendingIds() throws Exception {
            return checkpoint().pendingRequests().stream()
                    .map(p -> p.request().requestId())
                    .toList();
        }

        List<LineageSplit> assigned() {
            return context.assigned();
        }

        List<LineageSplit> assignedTo(int reader) {
            return context.assignedTo(reader);
        }

        void close() throws Exception {
            if (!closed) {
                closed = true;
                run(EbsLineageSourceEnumerator::close);
                context.close();
            }
        }
    }

    private static byte[] serialize(
            EbsLineageEnumeratorStateSerializer ser, EbsLineageEnumeratorState state) {
        try {
            return ser.serialize(state);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------ requests

    /** A request from {@link #SOURCE} to {@link #TARGET}, to adjust before {@link #build()}. */
    static RequestBuilder request(String id, String sourceSnapshotId) {
        return new RequestBuilder(id, sourceSnapshotId);
    }

    /** The state of a bounded job before it starts: these requests, accepted then. */
    static EbsLineageEnumeratorState state(long acceptedMillis, ReplicationRequest... requests) {
        List<PendingRequest> pending = new ArrayList<>();
        for (ReplicationRequest r : requests) {
            pending.add(new PendingRequest(r, acceptedMillis, 0));
        }
        return EbsLineageEnumeratorState.ofRequests(pending);
    }

    /** A test's request, with every field the enumerator reads. */
    static final class RequestBuilder {
        private final String id;
        private final String snapshot;
        private String sourceRegion = SOURCE;
        private String base;
        private List<ReplicationTarget> targets = List.of(ReplicationTarget.of(TARGET));
        private String lineage;
        private long deadlineMillis = ReplicationRequest.NO_DEADLINE;
        private int priority;

        private RequestBuilder(String id, String snapshot) {
            this.id = id;
            this.snapshot = snapshot;
        }

        /** Full copies to these regions. */
        RequestBuilder to(String... regions) {
            List<ReplicationTarget> t = new ArrayList<>();
            for (String r : regions) {
                t.add(ReplicationTarget.of(r));
            }
            targets = t;
            return this;
        }

        /**
         * An incremental copy from {@code base}, written onto {@code parent} in {@link #TARGET}.
         */
        RequestBuilder incremental(String base, String parent) {
            this.base = base;
            this.targets = List.of(new ReplicationTarget(TARGET, parent, null, Map.of(), null));
            return this;
        }

        /** The target in {@link #TARGET} written as {@code roleArn}. */
        RequestBuilder as(String roleArn) {
            this.targets = List.of(ReplicationTarget.of(TARGET).withRole(roleArn));
            return this;
        }

        /** Of {@code lineage}, copied from the latest replicated snapshot of it. */
        RequestBuilder fromLatest(String lineage) {
            this.lineage = lineage;
            return this;
        }

        /** A source in another region than {@link #SOURCE}. */
        RequestBuilder from(String region) {
            this.sourceRegion = region;
            return this;
        }

        RequestBuilder deadline(long millis) {
            this.deadlineMillis = millis;
            return this;
        }

        RequestBuilder priority(int p) {
            this.priority = p;
            return this;
        }

        ReplicationRequest build() {
            return new ReplicationRequest(
                    id,
                    sourceRegion,
                    snapshot,
                    base,
                    targets,
                    lineage,
                    lineage != null,
                    Map.of(),
                    deadlineMillis,
                    priority);
        }
    }

    // ------------------------------------------------------------------ settings

    /** {@link EnumeratorSettings} to adjust before {@link #build()}. */
    static final class Settings {
        private int splitsPerRequest = 2;
        private int minSplitBlocks = 1;
        private Duration watchInterval = Duration.ofSeconds(30);
        private Duration grace = Duration.ofMinutes(2);
        private int maxGenerations = 3;
        private Duration sealInterval = Duration.ofSeconds(1);
        private int maxPending = 100;
        private RequestQueue.Order order = RequestQueue.Order.DEADLINE;
        private Duration quotaWait = Duration.ofHours(1);
        private io.ebsreplicator.connector.ebs.policy.PolicyFile policy;
        private boolean retentionDryRun;

        Settings splitsPerRequest(int n) {
            splitsPerRequest = n;
            return this;
        }

        Settings minSplitBlocks(int n) {
            minSplitBlocks = n;
            return this;
        }

        Settings maxGenerations(int n) {
            maxGenerations = n;
            return this;
        }

        Settings maxPending(int n) {
            maxPending = n;
            return this;
        }

        Settings order(RequestQueue.Order o) {
            order = o;
            return this;
        }

        /** Plans requests without targets from this policy file (reloaded every 30 s). */
        Settings policy(java.nio.file.Path file) {
            policy = new io.ebsreplicator.connector.ebs.policy.PolicyFile(file.toString());
            return this;
        }

        Settings retentionDryRun(boolean dryRun) {
            retentionDryRun = dryRun;
            return this;
        }

        Settings quotaWait(Duration d) {
            quotaWait = d;
            return this;
        }

        Duration watchInterval() {
            return watchInterval;
        }

        Duration sealInterval() {
            return sealInterval;
        }

        Duration grace() {
            return grace;
        }

        EnumeratorSettings build() {
            return new EnumeratorSettings(
                    splitsPerRequest,
                    minSplitBlocks,
                    Duration.ofHours(1),
                    new TargetWatchSettings(watchInterval, grace, maxGenerations),
                    sealInterval,
                    maxPending,
                    order,
                    Duration.ofMinutes(2),
                    quotaWait,
                    policy,
                    Duration.ofSeconds(30),
                    retentionDryRun);
        }
    }

    // ------------------------------------------------------------------ splits and calls

    /** The splits, which must all be block ranges. */
    static List<BlockRangeSplit> ranges(List<LineageSplit> splits) {
        assertThat(splits).as("only block ranges").allMatch(s -> s instanceof BlockRangeSplit);
        return ofKind(splits, BlockRangeSplit.class);
    }

    static <T extends LineageSplit> List<T> ofKind(List<LineageSplit> splits, Class<T> kind) {
        return splits.stream().filter(kind::isInstance).map(kind::cast).toList();
    }

    /** The block range of {@code requestId} among {@code splits} (its first). */
    static BlockRangeSplit splitOf(List<LineageSplit> splits, String requestId) {
        return ofKind(splits, BlockRangeSplit.class).stream()
                .filter(s -> s.requestId().equals(requestId))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no split of " + requestId));
    }

    /**
     * Asserts that {@code split} copies the blocks changed since {@code base} onto {@code parent},
     * the copy of the base in {@link #TARGET}, and says so in its copy info.
     */
    static void assertCopiedIncrementally(BlockRangeSplit split, String base, String parent) {
        assertThat(split.baseSnapshotId()).as("the base of %s", split).isEqualTo(base);
        CopyInfo info = split.copyInfo();
        assertThat(info.incremental()).as("incremental").isTrue();
        assertThat(info.baseSnapshotId()).isEqualTo(base);
        assertThat(info.parents()).as("the parents").containsExactly(Map.entry(TARGET, parent));
    }

    /** Asserts what the enumerator remembers of {@code lineage}'s copies in {@link #TARGET}. */
    static void assertLineageCopies(
            EbsLineageEnumeratorState state, String lineage, LineageCopy... copies) {
        assertThat(state.lineageCopies())
                .as("the completed copies of %s", lineage)
                .containsEntry(LineageBook.key(SOURCE, lineage, TARGET), List.of(copies));
    }

    /** The ids of the requests whose targets {@code region} was asked to start, in call order. */
    static List<String> startedRequests(FakeEbsProxy region) {
        return region.calls("StartSnapshot").stream()
                .map(
                        c ->
                                ((StartSnapshotSpec) c.args().get(0))
                                        .tags()
                                        .get("ebs-replicator:request"))
                .toList();
    }

    /** The StartSnapshot spec of the {@code i}-th call in {@code region}. */
    static StartSnapshotSpec startSpec(FakeEbsProxy region, int i) {
        return (StartSnapshotSpec) region.calls("StartSnapshot").get(i).args().get(0);
    }

    static void assertCoversWithoutGapsOrOverlaps(List<BlockRangeSplit> splits, int end) {
        List<BlockRangeSplit> sorted =
                splits.stream()
                        .sorted(Comparator.comparingInt(BlockRangeSplit::rangeStart))
                        .toList();
        assertThat(sorted.get(0).rangeStart()).as("the first range starts at 0").isZero();
        for (int i = 0; i < sorted.size(); i++) {
            BlockRangeSplit s = sorted.get(i);
            assertThat(s.rangeEnd()).as("split %s is not empty", s).isGreaterThan(s.rangeStart());
            if (i > 0) {
                assertThat(s.rangeStart())
                        .as("split %s starts where the previous ended", s)
                        .isEqualTo(sorted.get(i - 1).rangeEnd());
            }
        }
        assertThat(sorted.get(sorted.size() - 1).rangeEnd())
                .as("the last range ends at the volume's end")
                .isEqualTo(end);
    }
}
