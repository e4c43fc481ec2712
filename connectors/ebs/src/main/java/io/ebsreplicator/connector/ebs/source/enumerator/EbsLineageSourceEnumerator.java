package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.metrics.EbsMetricConstants;
import io.ebsreplicator.connector.ebs.metrics.EbsProxyMetrics;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.DescribeBatcher;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyListener;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.WatchedTarget;
import io.ebsreplicator.connector.ebs.source.enumerator.LineageBook.LineagePlan;
import io.ebsreplicator.connector.ebs.source.enumerator.RequestPlanner.Planned;
import io.ebsreplicator.connector.ebs.source.enumerator.RequestQueue.Entry;
import io.ebsreplicator.connector.ebs.source.enumerator.TargetWatcher.Outcome;
import io.ebsreplicator.connector.ebs.source.enumerator.TargetWatcher.Watch;
import io.ebsreplicator.connector.ebs.source.event.SplitsFinishedEvent;
import io.ebsreplicator.connector.ebs.source.intake.IntakeRecord;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.CopyDeletionSplit;
import io.ebsreplicator.connector.ebs.source.split.DeadLetterSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.util.clock.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The lineage source's enumerator: the job's control plane, one per job, on the JobManager. It
 * takes requests, decides which start when, starts their target snapshots, hands block ranges to
 * readers, and watches the targets until EBS lets them go. It composes parts that each do one job
 * and are tested alone:
 *
 * <ul>
 *   <li>{@link IntakeCursor}: a long-running job's intake, its positions and the request ids
 *       accepted (dedupe);
 *   <li>{@link RequestQueue}: the requests waiting to start, in deadline-first order, a lineage's
 *       requests one at a time, transient failures backing off;
 *   <li>{@link LineageBook}: each lineage's completed copies and the base of its next copy;
 *   <li>{@link RequestPlanner} and {@link RequestResolver}: a request into splits (base choice,
 *       StartSnapshot per target, ranges);
 *   <li>{@link StartWindows}: how many plans may be in flight per source region and how many
 *       StartSnapshot calls per target region, with the start gate between the two;
 *   <li>{@link TargetWatcher}: the targets started, described in batches per region, the pending
 *       count per region that gates starts, and what each answer decides (completed, cancelled by
 *       EBS, settled);
 *   <li>{@link PolicyPlanning}: with a DR policy, the targets of a request that names none, from
 *       the first rule that selects its source (described first); and the policy's reloads.
 * </ul>
 *
 * <p>Threads:
 *
 * <ul>
 *   <li><b>Coordinator thread</b> (Flink's one source-coordinator thread): every method of this
 *       class and every use of the parts. It never waits for a remote call: the results of
 *       asynchronous calls come back to it through {@code runInCoordinatorThread}.
 *   <li><b>Worker thread</b> ({@code callAsync}): the intake's poll, bounded by {@link
 *       #INTAKE_POLL_MILLIS}, so that no region can stall intake; and the policy file's periodic
 *       read (a local file of at most 1 MiB).
 *   <li><b>Proxy threads</b> (the SDK's and each proxy's scheduler): the control-plane calls, with
 *       the control-plane timeouts: DescribeSnapshots (batched per region), the probe listing and
 *       StartSnapshot. A plan counts against its source region ({@link #MAX_PLANS_IN_FLIGHT}) until
 *       it reaches StartSnapshot, then against its target regions ({@link #MAX_STARTS_IN_FLIGHT});
 *       it reserves a pending slot in each target region throughout. A region that stops answering
 *       holds only its own calls, windows and slots; requests between other regions go on.
 *   <li><b>Readers</b> (TaskManagers): list the block ranges of their splits and report finished
 *       splits with {@link SplitsFinishedEvent}.
 * </ul>
 *
 * <p>Periodic work runs through the context's {@code callAsync} with a period (the intake poll and
 * a tick that expires deadlines, wakes backed-off requests, settles copies past their grace and
 * describes the targets due), so tests drive it by hand and time through an injected clock.
 *
 * <p>Bounded (no intake): when every request is resolved, every split handed out and read, readers
 * are told there is no more work.
 */
public final class EbsLineageSourceEnumerator
        implements SplitEnumerator<LineageSplit, EbsLineageEnumeratorState> {

    private static final Logger LOG = LoggerFactory.getLogger(EbsLineageSourceEnumerator.class);

    /**
     * How long each intake poll waits for a request, and how often one is made: a request is picked
     * up within about this delay, and the worker thread is never held longer.
     */
    static final long INTAKE_POLL_MILLIS = 200;

    /**
     * How often the tick runs: often enough that a backoff of {@link
     * RequestQueue#FIRST_RETRY_MILLIS} and a completion seen by DescribeSnapshots let the next
     * request start promptly, while a tick is a few map lookups.
     */
    static final long TICK_MILLIS = 200;

    /**
     * StartSnapshot calls (with their probe listing) in flight per region. EBS admits 10
     * StartSnapshot per second per account: sixteen in flight keep that rate busy across a
     * cross-region round trip, while the order of everything behind them is still decided here
     * (deadline first) rather than in the request budget's queue.
     */
    static final int MAX_STARTS_IN_FLIGHT = 16;

    /**
     * Plans per source region still on their way to StartSnapshot (describing the source and the
     * base's copies, one probe listing): sixteen keep the source's List quota (50 per second) busy,
     * and a source region that stops answering holds these sixteen and nothing else.
     */
    static final int MAX_PLANS_IN_FLIGHT = 16;

    private final SplitEnumeratorContext<LineageSplit> context;
    private final EbsProxyFactory proxyFactory;
    private final EnumeratorSettings settings;
    private final Clock clock;
    private final RequestQueue queue;
    private final LineageBook book;
    private final TargetWatcher watcher;

    /** Where requests come from in a long-running job; {@code null} in a bounded one. */
    private final IntakeCursor intake;

    private final Deque<LineageSplit> unassigned;
    private final Set<Integer> waitingReaders = new LinkedHashSet<>();

    /** Requests whose plan is in flight, by entry id: checkpointed as pending. */
    private final Map<String, Entry> resolving = new LinkedHashMap<>();

    private final StartWindows windows;

    /** Watches of a request (and generation) that do not yet release its lineage. */
    private final Map<String, Integer> unsettled = new HashMap<>();

    /** First time a request met the pending-snapshot quota, by entry id. */
    private final Map<String, Long> quotaSince = new HashMap<>();

    // Proxies and batchers are built on first use and closed with the enumerator. Guarded by this.
    private final Map<String, EbsProxy> proxies = new LinkedHashMap<>();
    private final Map<String, DescribeBatcher> describers = new LinkedHashMap<>();

    private RequestPlanner planner;
    private volatile boolean closed;

    /** Plans requests without targets from the DR policy; {@code null} without a policy. */
    private final PolicyPlanning policy;

    /** Requests without targets restored from a checkpoint, planned when the policy is loaded. */
    private final List<PendingRequest> toPlan = new ArrayList<>();

    /**
     * Decides which copies a policy's retention no longer keeps; {@code null} without a policy.
     * Each decision becomes a {@link CopyDeletionSplit}, which a reader runs.
     */
    private final RetentionPruner pruner;

    /**
     * The ids of the copy deletions decided and not yet reported finished by a reader: a pass never
     * decides one of them again (its deletion, and its one record, are on their way).
     */
    private final Set<String> deletionsInFlight;

    /**
     * In a long-running job, deletions decided since the last checkpoint: they are assigned only
     * once a checkpoint that holds them completes ({@link #sealedDeletions}), so that a restore
     * never forgets a decision whose deletion ran (its copy gone, a later pass would not see it,
     * and its record would be lost with the aborted transaction).
     */
    private final List<CopyDeletionSplit> newDeletions = new ArrayList<>();

    /** Deletions in the checkpoint of the key, assigned when that checkpoint completes. */
    private final java.util.TreeMap<Long, List<CopyDeletionSplit>> sealedDeletions =
            new java.util.TreeMap<>();

    private final RpoTracker rpo = new RpoTracker();

    /** The recovery points of the checkpoint, taken into {@link #rpo} once the policy is read. */
    private final Map<String, EbsLineageEnumeratorState.RecoveryPoint> restoredPoints;

    /** The retention passes under way at the checkpoint, run again once the policy is read. */
    private final List<EbsLineageEnumeratorState.RetentionPass> restoredPasses;

    private final Counter plannedByPolicy = new SimpleCounter();
    private final Counter unmatched = new SimpleCounter();
    private final Counter unplannable = new SimpleCounter();

    /**
     * @param state what to start from: the checkpointed state, or the requests of a bounded job
     * @param intake where requests keep coming from, or {@code null} for a bounded job
     */
    public EbsLineageSourceEnumerator(
            SplitEnumeratorContext<LineageSplit> context,
            EbsProxyFactory proxyFactory,
            EbsLineageEnumeratorState state,
            EnumeratorSettings settings,
            IntakeCursor intake,
            Clock clock) {
        this.context = context;
        this.proxyFactory = proxyFactory;
        this.settings = settings;
        this.clock = clock;
        this.intake = intake;
        this.queue = new RequestQueue(settings.order());
        this.book = LineageBook.of(state.lineageCopies());
        this.watcher =
                new TargetWatcher(
                        settings.watch().interval().toMillis(),
                        settings.sealInterval().toMillis(),
                        settings.watch().grace().toMillis(),
                        settings.newSnapshotGrace().toMillis(),
                        settings.maxPending());
        this.windows = new StartWindows(watcher, MAX_PLANS_IN_FLIGHT, MAX_STARTS_IN_FLIGHT);
        this.unassigned = new ArrayDeque<>(state.unassignedSplits());
        this.restoredPoints = state.recoveryPoints();
        this.restoredPasses = state.retentionPasses();
        this.policy = settings.policy() == null ? null : new PolicyPlanning(settings.policy());
        this.deletionsInFlight = new LinkedHashSet<>(state.deletionsInFlight());
        this.pruner =
                policy == null
                        ? null
                        : new RetentionPruner(
                                this::targetProxy,
                                context::runInCoordinatorThread,
                                (region, snapshotId) ->
                                        deletionsInFlight.contains(
                                                CopyDeletionSplit.idOf(region, snapshotId)),
                                this::decided);
        long now = clock.absoluteTimeMillis();
        for (PendingRequest p : state.pendingRequests()) {
            if (policy != null && PolicyPlanning.needsPlan(p.request())) {
                toPlan.add(p);
            } else if (p.generation() > 0) {
                queue.addFirst(entry(p));
            } else {
                queue.add(entry(p));
            }
        }
        for (WatchedTarget w : state.watchedTargets()) {
            watcher.restore(
                    new PendingRequest(w.request(), w.acceptedMillis(), w.generation()),
                    w.region(),
                    w.targetSnapshotId(),
                    w.openSplits(),
                    w.readingFinishedMillis(),
                    w.sourceStartMillis(),
                    now);
        }
        for (Watch w : watcher.watches()) {
            if (w.readingFinishedMillis() == 0
                    || now - w.readingFinishedMillis() <= settings.watch().grace().toMillis()) {
                if (unsettled.merge(requestKey(w.request()), 1, Integer::sum) == 1) {
                    queue.hold(chain(w.request().request()));
                }
            }
        }
    }

    @Override
    public void start() {
        planner =
                new RequestPlanner(
                        new RequestResolver(
                                this::proxy,
                                proxyFactory,
                                settings.splitsPerRequest(context.currentParallelism()),
                                settings.minSplitBlocks(),
                                settings.timeoutMinutes()),
                        this::describer,
                        proxyFactory);
        registerMetrics();
        if (intake != null) {
            context.callAsync(
                    () -> intake.poll(Duration.ofMillis(INTAKE_POLL_MILLIS)),
                    this::onTaken,
                    0,
                    INTAKE_POLL_MILLIS);
        }
        context.callAsync(() -> null, (ignored, error) -> tick(), TICK_MILLIS, TICK_MILLIS);
        if (policy != null) {
            // An invalid or unreadable policy fails the start: better than copying nothing.
            policy.load();
            resumeFromCheckpoint();
            long every = settings.policyReloadInterval().toMillis();
            context.callAsync(policy::reload, this::onPolicyChecked, every, every);
            toPlan.forEach(this::planFromPolicy);
            toPlan.clear();
        }
        dispatch();
    }

    // ------------------------------------------------------------------ policy

    /**
     * Under a DR policy, once it is read: the RPO gauges carry on from the checkpoint's recovery
     * points, and the retention passes cut short by the failure run again (the copies whose
     * deletion was decided before the checkpoint are not decided again: their splits are in this
     * state or in a reader's).
     */
    private void resumeFromCheckpoint() {
        rpo.restore(
                restoredPoints,
                rule -> {
                    var known = policy.current().rule(rule);
                    return known == null ? null : known.rpo();
                });
        for (EbsLineageEnumeratorState.RetentionPass pass : restoredPasses) {
            var retention = RetentionPruner.retention(policy.current(), pass.rule(), pass.region());
            if (retention != null) {
                pruner.prune(
                        pass,
                        retention,
                        target ->
                                protectedCopies(
                                        pass.sourceRegion() + "\n" + pass.lineage(), target),
                        Instant.ofEpochMilli(clock.absoluteTimeMillis()));
            }
        }
    }

    /** What a periodic read of the policy file found, on the coordinator thread. */
    private void onPolicyChecked(
            io.ebsreplicator.connector.ebs.policy.PolicyFile.Reload reload, Throwable error) {
        if (closed) {
            return;
        }
        if (error != null) {
            LOG.error("The DR policy could not be checked for changes", error);
            return;
        }
        policy.apply(reload);
    }

    /** Describes a request's source and plans it from the policy (it names no targets). */
    private void planFromPolicy(PendingRequest p) {
        CompletableFuture<PolicyPlanning.Outcome> planned;
        try {
            planned = policy.plan(p, sourceDescriber(p.request().sourceRegion()));
        } catch (RuntimeException ex) {
            planned = CompletableFuture.failedFuture(ex);
        }
        planned.whenComplete(
                (o, error) ->
                        context.runInCoordinatorThread(
                                () ->
                                        onPolicyPlanned(
                                                error == null
                                                        ? o
                                                        : new PolicyPlanning.Outcome.Unplannable(
                                                                p, Failure.of(error)))));
    }

    /** Requests planned by the policy, unmatched and unplannable so far (the metrics' counts). */
    @VisibleForTesting
    long[] policyCounts() {
        return new long[] {
            plannedByPolicy.getCount(), unmatched.getCount(), unplannable.getCount()
        };
    }

    private void onPolicyPlanned(PolicyPlanning.Outcome o) {
        if (closed || !policy.planning(o.request())) {
            return;
        }
        policy.finished(o);
        ReplicationRequest r = o.request().request();
        if (o instanceof PolicyPlanning.Outcome.Planned planned) {
            plannedByPolicy.inc();
            LOG.info(
                    "Request {} planned by policy rule '{}': to {}",
                    r.requestId(),
                    planned.rule(),
                    String.join(", ", regions(planned.request())));
            queue.add(entry(planned.request()));
            dispatch();
        } else if (o instanceof PolicyPlanning.Outcome.Unmatched u) {
            unmatched.inc();
            LOG.info(
                    "Request {} skipped: no policy rule selects {} in {} (volume {}, lineage {})",
                    r.requestId(),
                    r.sourceSnapshotId(),
                    r.sourceRegion(),
                    u.source().volumeId(),
                    r.lineage());
        } else if (o instanceof PolicyPlanning.Outcome.Unplannable u) {
            unplannable.inc();
            LOG.warn(
                    "Request {} cannot be planned from the policy: {}", r.requestId(), u.failure());
            // No rule chose target regions: its one result is keyed by the source region.
            unassigned.add(failed(o.request(), List.of(r.sourceRegion()), u.failure()));
            assignWaiting();
        } else if (o instanceof PolicyPlanning.Outcome.Retry retry) {
            LOG.warn(
                    "Request {} could not be planned from the policy yet, trying again: {}",
                    r.requestId(),
                    retry.cause().toString());
        }
    }

    // ------------------------------------------------------------------ intake

    /** Handles what the intake delivered, on the coordinator thread. */
    private void onTaken(List<IntakeRecord> records, Throwable error) {
        if (closed) {
            return;
        }
        if (error != null) {
            intake.failed(error);
            return;
        }
        long now = clock.absoluteTimeMillis();
        for (IntakeRecord r : intake.take(records, now)) {
            if (r.skipped() != null) {
                LOG.info("Message {}@{} skipped: {}", r.stream(), r.offset(), r.skipped());
                continue;
            }
            if (r.deadLetter() != null) {
                LOG.warn("Message {} is not a usable request: dead letter", r.deadLetterId());
                unassigned.add(new DeadLetterSplit(r.deadLetterId(), r.deadLetter()));
                continue;
            }
            PendingRequest p = new PendingRequest(r.request(), now, 0);
            if (r.failure() != null) {
                LOG.warn("Request {} is not served: {}", r.request().requestId(), r.failure());
                unassigned.add(failed(p, regions(p), r.failure()));
            } else {
                LOG.info(
                        "Request {} accepted from {}@{}",
                        r.request().requestId(),
                        r.stream(),
                        r.offset());
                if (policy != null && PolicyPlanning.needsPlan(p.request())) {
                    planFromPolicy(p);
                } else {
                    queue.add(entry(p));
                }
            }
        }
        if (!records.isEmpty()) {
            dispatch();
            assignWaiting();
        }
    }

    // ------------------------------------------------------------------ starting requests

    /** Starts every request that may start now, in the queue's order. */
    private void dispatch() {
        if (closed || planner == null) {
            return;
        }
        long now = clock.absoluteTimeMillis();
        for (Entry late : queue.expire(now)) {
            failQueued(
                    late,
                    Failure.of(
                            FailureReason.DEADLINE_EXCEEDED,
                            "The deadline "
                                    + Instant.ofEpochMilli(late.deadlineMillis())
                                    + " passed before the request could start ("
                                    + queue.size()
                                    + " requests still queued)"));
        }
        for (Entry e = queue.next(now, this::mayStart);
                e != null;
                e = queue.next(now, this::mayStart)) {
            startPlan(e, now);
        }
        assignWaiting();
    }

    /** Whether the request may start planning now; see {@link StartWindows}. */
    private boolean mayStart(Entry e) {
        return windows.mayPlan(e.request().request(), clock.absoluteTimeMillis());
    }

    /** Plans a request within its windows ({@link StartWindows}). */
    private void startPlan(Entry e, long now) {
        PendingRequest p = e.request();
        windows.planning(e.id(), p.request());
        resolving.put(e.id(), e);
        LineagePlan plan = p.request().fromLatest() ? book.plan(p.request()) : null;
        CompletableFuture<Planned> planned;
        try {
            planned =
                    planner.plan(
                            p,
                            plan,
                            () -> {
                                CompletableFuture<Void> gate = new CompletableFuture<>();
                                context.runInCoordinatorThread(() -> atStartGate(e, gate));
                                return gate;
                            });
        } catch (RuntimeException ex) {
            planned = CompletableFuture.failedFuture(ex);
        }
        planned.whenComplete(
                (result, error) ->
                        context.runInCoordinatorThread(() -> onPlanned(e, result, error)));
    }

    /** A plan's source is readable: it waits for its targets' start windows. */
    private void atStartGate(Entry e, CompletableFuture<Void> gate) {
        if (closed || !resolving.containsKey(e.id())) {
            gate.cancel(false);
            return;
        }
        windows.atGate(e.id(), e.request().request(), gate);
        dispatch(); // its source has room for the next plan
    }

    /** The plan of a request ended: its splits go out, or it waits, or it failed. */
    private void onPlanned(Entry e, Planned planned, Throwable error) {
        if (closed || resolving.remove(e.id()) == null) {
            return;
        }
        PendingRequest p = e.request();
        windows.ended(e.id(), p.request());
        long now = clock.absoluteTimeMillis();
        if (error == null) {
            queue.started(e);
            quotaSince.remove(e.id());
            accept(e, planned, now);
        } else {
            Throwable cause = EbsErrorClassifier.unwrap(error);
            Failure failure = Failure.of(cause);
            if (failure.reason() == FailureReason.QUOTA_EXCEEDED && waitForQuota(e, now)) {
                long delay = queue.retry(e, now);
                regionsFull(p, cause, now + delay);
                LOG.warn(
                        "Request {} waits for room in its target regions ({}); next try in {} ms",
                        p.request().requestId(),
                        failure.message(),
                        delay);
            } else if (cause instanceof EbsProxyException x
                    && x.kind() != EbsProxyException.Kind.FATAL) {
                long delay = queue.retry(e, now);
                LOG.warn(
                        "Request {} could not be resolved yet, retrying in {} ms: {}",
                        p.request().requestId(),
                        delay,
                        cause.getMessage());
            } else {
                queue.release(e.chain());
                failQueued(e, failure);
            }
        }
        dispatch();
    }

    /** Puts the splits out and watches the targets they write. */
    private void accept(Entry e, Planned planned, long now) {
        PendingRequest p = e.request();
        int watched = 0;
        Map<String, List<String>> openByRegion = new LinkedHashMap<>();
        Map<String, String> targetByRegion = new LinkedHashMap<>();
        for (LineageSplit s : planned.splits()) {
            unassigned.add(s);
            if (s instanceof BlockRangeSplit range) {
                for (String region : range.targets().regions()) {
                    targetByRegion.put(region, range.targets().snapshotId(region));
                    openByRegion.computeIfAbsent(region, r -> new ArrayList<>()).add(s.splitId());
                }
            }
        }
        for (Map.Entry<String, String> t : targetByRegion.entrySet()) {
            watcher.watch(
                    p,
                    t.getKey(),
                    t.getValue(),
                    openByRegion.get(t.getKey()),
                    planned.sourceStartMillis(),
                    now);
            watched++;
        }
        if (watched > 0) {
            unsettled.put(requestKey(p), watched);
        } else {
            queue.release(e.chain());
        }
        LOG.info("Request {} resolved into {} splits", e.id(), planned.splits().size());
    }

    /**
     * A request that cannot succeed ends in one failure result per target region. Its lineage is
     * not held by it (a taken request's hold is released by the caller).
     */
    private void failQueued(Entry e, Failure failure) {
        queue.started(e);
        quotaSince.remove(e.id());
        LOG.warn("Request {} failed: {}", e.id(), failure);
        List<String> regions = regions(e.request());
        // A request without targets (one a policy was to plan) still gets its one result: keyed
        // by the source region, as an unplannable one is.
        unassigned.add(
                failed(
                        e.request(),
                        regions.isEmpty() ? List.of(e.request().request().sourceRegion()) : regions,
                        failure));
    }

    /**
     * Whether a request that met the pending-snapshot quota may wait longer: the account's other
     * writers hold pending snapshots, which complete in time; past {@code quotaWait} it fails.
     */
    private boolean waitForQuota(Entry e, long now) {
        long since = quotaSince.computeIfAbsent(e.id(), k -> now);
        return now - since < settings.quotaWait().toMillis();
    }

    /**
     * No start in the region that answered ServiceQuotaExceeded (the quota is per account and
     * region; every target region of the request when the answer does not say which) until {@code
     * untilMillis} (the request's backoff), or until one of this job's targets there completes and
     * frees a pending snapshot.
     */
    private void regionsFull(PendingRequest p, Throwable quotaAnswer, long untilMillis) {
        String full = quotaAnswer instanceof EbsProxyException x ? x.region() : null;
        for (String region : regions(p)) {
            if (full == null || full.equals(region)) {
                windows.full(region, untilMillis);
            }
        }
    }

    // ------------------------------------------------------------------ watching targets

    /** The periodic tick: deadlines and backoffs, copies past their grace, describe rounds. */
    private void tick() {
        if (closed) {
            return;
        }
        long now = clock.absoluteTimeMillis();
        if (unassigned.isEmpty()
                && !context.registeredReaders().isEmpty()
                && waitingReaders.containsAll(context.registeredReaders().keySet())) {
            // Readers ask for work only when they hold none, so none is reading: the finished
            // reports of splits read before a restore were lost with the checkpoint.
            nothingBeingRead(now);
        }
        handle(watcher.settle(now), now);
        if (policy != null) {
            policy.takeRetries().forEach(this::planFromPolicy);
        }
        for (Map.Entry<String, List<String>> due : watcher.due(now).entrySet()) {
            String region = due.getKey();
            List<String> ids = due.getValue();
            CompletableFuture<Map<String, SnapshotDescription>> call;
            try {
                call = describeTargets(region, ids);
            } catch (RuntimeException ex) {
                call = CompletableFuture.failedFuture(ex);
            }
            call.whenComplete(
                    (found, error) ->
                            context.runInCoordinatorThread(
                                    () -> onDescribed(region, ids, found, error)));
        }
        if (intake == null) {
            assignWaiting(); // bounded: the end may have come
        }
        dispatch();
    }

    private void onDescribed(
            String region,
            List<String> ids,
            Map<String, SnapshotDescription> found,
            Throwable error) {
        if (closed) {
            return;
        }
        long now = clock.absoluteTimeMillis();
        if (error != null) {
            // Unknown this round (throttled, or the region does not answer): asked again later.
            LOG.debug(
                    "Could not describe {} targets in {}: {}",
                    ids.size(),
                    region,
                    error.toString());
            watcher.describeFailed(region, now);
            return;
        }
        handle(watcher.described(region, ids, found, now), now);
        dispatch();
    }

    private void handle(List<Outcome> outcomes, long now) {
        for (Outcome o : outcomes) {
            Watch w = o.watch();
            if (o instanceof Outcome.Completed) {
                settle(w);
                windows.freed(w.region());
                record(w);
            } else if (o instanceof Outcome.Cancelled c) {
                replace(w, c.stateMessage());
                settle(w);
            } else if (o instanceof Outcome.Abandoned a) {
                settle(w);
                LOG.warn(
                        "Target {} of request {} in {} is no longer watched: {}",
                        w.target(),
                        w.request().request().requestId(),
                        w.region(),
                        a.stateMessage());
            } else if (o instanceof Outcome.Settled) {
                settle(w);
            }
        }
    }

    /** A watch no longer holds its request's lineage; the last one releases it. */
    private void settle(Watch w) {
        if (!w.release()) {
            return;
        }
        String key = requestKey(w.request());
        Integer left = unsettled.get(key);
        if (left == null) {
            return;
        }
        if (left <= 1) {
            unsettled.remove(key);
            queue.release(chain(w.request().request()));
        } else {
            unsettled.put(key, left - 1);
        }
    }

    /** Remembers a completed copy of a lineage's snapshot. */
    private void record(Watch w) {
        ReplicationRequest r = w.request().request();
        if (r.lineage() == null) {
            return;
        }
        book.record(
                r.sourceRegion(),
                r.lineage(),
                w.region(),
                r.sourceSnapshotId(),
                w.target(),
                w.sourceStartMillis());
        LOG.info(
                "Lineage {} of {}: {} is now copied to {} as {}",
                r.lineage(),
                r.sourceRegion(),
                r.sourceSnapshotId(),
                w.region(),
                w.target());
        if (pruner != null) {
            prune(r, w.region());
        }
    }

    // ------------------------------------------------------------------ retention

    /**
     * A newer copy of {@code r}'s lineage completed in {@code region}: it is the lineage's recovery
     * point there now, and the retention of the rule that made it applies.
     */
    private void prune(ReplicationRequest r, String region) {
        String rule = null;
        for (ReplicationTarget t : r.targets()) {
            if (t.region().equals(region)) {
                rule = t.tags().get(io.ebsreplicator.connector.ebs.policy.PolicyRule.RULE_TAG);
            }
        }
        io.ebsreplicator.connector.ebs.policy.PolicyRule policyRule =
                rule == null ? null : policy.current().rule(rule);
        if (policyRule != null) {
            rpo.completed(
                    r.sourceRegion(),
                    r.lineage(),
                    region,
                    policyRule.name(),
                    policyRule.rpo(),
                    clock.absoluteTimeMillis());
        }
        io.ebsreplicator.connector.ebs.policy.Retention retention =
                RetentionPruner.retention(policy.current(), rule, region);
        if (retention == null) {
            return;
        }
        pruner.prune(
                new EbsLineageEnumeratorState.RetentionPass(
                        r.sourceRegion(), r.lineage(), region, rule),
                retention,
                target -> protectedCopies(chain(r), target),
                Instant.ofEpochMilli(clock.absoluteTimeMillis()));
    }

    /**
     * The copies in {@code region} that must stay whatever a retention says: the parent of every
     * copy in flight there, and, while a request of the same lineage is being planned, every copy
     * of the lineage that the plan may have chosen as its parent.
     */
    private Set<String> protectedCopies(String lineage, String region) {
        Set<String> keep = new java.util.HashSet<>();
        for (Watch w : watcher.watches()) {
            for (ReplicationTarget t : w.request().request().targets()) {
                if (t.region().equals(region) && t.parentSnapshotId() != null) {
                    keep.add(t.parentSnapshotId());
                }
            }
        }
        for (Entry e : resolving.values()) {
            if (lineage.equals(e.chain())) {
                LineagePlan plan = book.plan(e.request().request());
                for (var copy : plan.copiesByRegion().getOrDefault(region, List.of())) {
                    keep.add(copy.targetSnapshotId());
                }
                for (ReplicationTarget t : e.request().request().targets()) {
                    if (t.parentSnapshotId() != null) {
                        keep.add(t.parentSnapshotId());
                    }
                }
            }
        }
        return keep;
    }

    /**
     * A pass let copies go: each becomes a deletion split, checkpointed before a reader deletes the
     * copy. A copy to be deleted is no longer a base for the lineage's next copy.
     */
    private void decided(
            EbsLineageEnumeratorState.RetentionPass pass, List<SnapshotDescription> doomed) {
        if (closed) {
            return;
        }
        long now = clock.absoluteTimeMillis();
        boolean dryRun = settings.retentionDryRun();
        for (SnapshotDescription d : doomed) {
            CopyDeletionSplit split =
                    new CopyDeletionSplit(
                            pass.region(),
                            proxyFactory.targetRoleArn(pass.region()),
                            pass.sourceRegion(),
                            pass.lineage(),
                            pass.rule(),
                            d.snapshotId(),
                            d.startTime() == null ? 0 : d.startTime().toEpochMilli(),
                            now,
                            dryRun);
            if (!deletionsInFlight.add(split.splitId())) {
                continue;
            }
            if (!dryRun) {
                book.forget(
                        LineageBook.key(pass.sourceRegion(), pass.lineage(), pass.region()),
                        d.snapshotId());
            }
            LOG.info(
                    "Retention of lineage {} in {} (rule '{}') lets {} (started {}) go{}",
                    pass.lineage(),
                    pass.region(),
                    pass.rule(),
                    d.snapshotId(),
                    d.startTime(),
                    dryRun ? " (dry run)" : "");
            if (intake == null) {
                unassigned.add(split); // a bounded job reports deletions in its log only
            } else {
                newDeletions.add(split);
            }
        }
        assignWaiting();
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        var done = sealedDeletions.headMap(checkpointId, true);
        if (done.isEmpty()) {
            return;
        }
        done.values().forEach(unassigned::addAll);
        done.clear();
        assignWaiting();
    }

    /** The worst recovery point age and the lineages over objective (the RPO gauges). */
    @VisibleForTesting
    long[] rpoGauges() {
        long now = clock.absoluteTimeMillis();
        return new long[] {rpo.worstAgeMillis(now), rpo.overObjective(now)};
    }

    /** The copy deletions decided and not yet reported finished. */
    @VisibleForTesting
    Set<String> deletionsInFlight() {
        return Set.copyOf(deletionsInFlight);
    }

    /** Resolves the request again for the cancelled target's region, one generation further. */
    private void replace(Watch w, String stateMessage) {
        PendingRequest old = w.request();
        int next = old.generation() + 1;
        String why =
                "Target "
                        + w.target()
                        + " of request "
                        + old.request().requestId()
                        + " in "
                        + w.region()
                        + " went to error ("
                        + stateMessage
                        + ")";
        List<ReplicationTarget> targets = new ArrayList<>();
        for (ReplicationTarget t : old.request().targets()) {
            if (t.region().equals(w.region())) {
                targets.add(t);
            }
        }
        ReplicationRequest only = old.request().with(old.request().baseSnapshotId(), targets);
        PendingRequest replacement = new PendingRequest(only, old.acceptedMillis(), next);
        if (next > settings.watch().maxGenerations()) {
            LOG.warn("{}; it was replaced {} times already, giving up", why, old.generation());
            unassigned.add(
                    failed(
                            replacement,
                            List.of(w.region()),
                            Failure.of(
                                    FailureReason.TARGET_CANCELLED,
                                    why + "; replaced " + old.generation() + " times already")));
            return;
        }
        LOG.warn("{}; copying again into a new target (generation {})", why, next);
        queue.addFirst(entry(replacement));
    }

    @Override
    public void handleSourceEvent(int subtaskId, SourceEvent event) {
        if (event instanceof SplitsFinishedEvent finished) {
            watcher.splitsFinished(finished.splitIds(), clock.absoluteTimeMillis());
            finished.splitIds().forEach(deletionsInFlight::remove);
            assignWaiting();
        } else {
            LOG.warn("Ignoring an unknown source event from subtask {}: {}", subtaskId, event);
        }
    }

    // ------------------------------------------------------------------ readers

    @Override
    public void handleSplitRequest(int subtaskId, String requesterHostname) {
        waitingReaders.add(subtaskId);
        assignWaiting();
    }

    private void assignWaiting() {
        Iterator<Integer> it = waitingReaders.iterator();
        while (it.hasNext()) {
            int reader = it.next();
            if (!context.registeredReaders().containsKey(reader)) {
                it.remove();
                continue;
            }
            if (!unassigned.isEmpty()) {
                context.assignSplit(unassigned.pollFirst(), reader);
                it.remove();
            } else if (intake == null
                    && queue.isEmpty()
                    && resolving.isEmpty()
                    && (policy == null || policy.inPlanning().isEmpty())
                    && (pruner == null || pruner.running().isEmpty())
                    && !stillReading()) {
                // While a target's splits are read, a replacement may still be needed.
                context.signalNoMoreSplits(reader);
                it.remove();
            }
        }
    }

    /** Whether some watched target still has splits that no reader finished. */
    private boolean stillReading() {
        if (watcher.reading() && waitingReaders.containsAll(context.registeredReaders().keySet())) {
            // Readers ask for work only when they hold none, so none is reading: the finished
            // reports of splits read before a restore were lost with the checkpoint.
            nothingBeingRead(clock.absoluteTimeMillis());
            return false;
        }
        return watcher.reading();
    }

    /**
     * No split is held by a reader or waits to be assigned: every split handed out is finished,
     * even those whose finished report came between this state's checkpoint and the readers'.
     */
    private void nothingBeingRead(long now) {
        watcher.nothingBeingRead(now);
        deletionsInFlight.clear();
        // Deletions held for their checkpoint are still to run.
        newDeletions.forEach(d -> deletionsInFlight.add(d.splitId()));
        sealedDeletions.values().forEach(l -> l.forEach(d -> deletionsInFlight.add(d.splitId())));
    }

    @Override
    public void addSplitsBack(List<LineageSplit> splits, int subtaskId) {
        // A reader failed before checkpointing these: they go first, from their checkpointed
        // progress.
        List<LineageSplit> back = new ArrayList<>(splits);
        for (int i = back.size() - 1; i >= 0; i--) {
            unassigned.addFirst(back.get(i));
        }
        assignWaiting();
    }

    @Override
    public void addReader(int subtaskId) {
        // Readers ask for work themselves.
    }

    // ------------------------------------------------------------------ state

    @Override
    public EbsLineageEnumeratorState snapshotState(long checkpointId) {
        List<PendingRequest> pending = new ArrayList<>(resolving.size() + queue.size());
        // Requests being planned are planned again after a restore: StartSnapshot is idempotent.
        resolving.values().forEach(e -> pending.add(e.request()));
        pending.addAll(queue.snapshot());
        if (policy != null) {
            // Planned again after a restore: the source is described again, the policy re-read.
            pending.addAll(policy.inPlanning());
        }
        pending.addAll(toPlan);
        List<WatchedTarget> watched = new ArrayList<>();
        for (Watch w : watcher.watches()) {
            watched.add(
                    new WatchedTarget(
                            w.request().request(),
                            w.request().acceptedMillis(),
                            w.request().generation(),
                            w.region(),
                            w.target(),
                            new ArrayList<>(w.openSplits()),
                            w.readingFinishedMillis(),
                            w.sourceStartMillis()));
        }
        if (!newDeletions.isEmpty()) {
            sealedDeletions.put(checkpointId, new ArrayList<>(newDeletions));
            newDeletions.clear();
        }
        List<LineageSplit> waiting = new ArrayList<>(unassigned);
        // Not assigned yet: after a restore they go out at once (this checkpoint holds them).
        sealedDeletions.values().forEach(waiting::addAll);
        return new EbsLineageEnumeratorState(
                pending,
                waiting,
                watched,
                intake == null ? Map.of() : intake.positions(),
                intake == null ? new AcceptedRequestIds() : intake.accepted(),
                book.snapshot(),
                rpo.snapshot(),
                pruner == null ? List.of() : pruner.running(),
                List.copyOf(deletionsInFlight));
    }

    @Override
    public void close() {
        closed = true;
        if (intake != null) {
            intake.close(); // wakes a poll in progress; that thread then closes it
        }
        synchronized (this) {
            proxies.values().forEach(EbsProxy::close);
            proxies.clear();
            describers.clear();
        }
    }

    // ------------------------------------------------------------------ helpers

    /** Proxies are built on first use, on whichever thread needs one, and closed with this. */
    /** The proxy of {@code region} as {@code roleArn} ({@code null}: the job's own). */
    private synchronized EbsProxy proxy(String region, String roleArn) {
        return proxies.computeIfAbsent(
                EbsProxyFactory.key(region, roleArn),
                k -> proxyFactory.create(region, roleArn, proxyMetrics(region)));
    }

    /** The proxy that reads sources in {@code region}. */
    private EbsProxy sourceProxy(String region) {
        return proxy(region, proxyFactory.sourceRoleArn());
    }

    /** The proxy that writes (and prunes) targets in {@code region} as configured for it. */
    private EbsProxy targetProxy(String region) {
        return proxy(region, proxyFactory.targetRoleArn(region));
    }

    private synchronized DescribeBatcher describer(String region, String roleArn) {
        return describers.computeIfAbsent(
                EbsProxyFactory.key(region, roleArn),
                k -> new DescribeBatcher(proxy(region, roleArn)));
    }

    /** The batcher that describes sources in {@code region}. */
    private DescribeBatcher sourceDescriber(String region) {
        return describer(region, proxyFactory.sourceRoleArn());
    }

    /**
     * Describes watched targets of {@code region}: one call per role that writes some of them (one
     * call for all, unless requests name roles), answers merged.
     */
    private CompletableFuture<Map<String, SnapshotDescription>> describeTargets(
            String region, List<String> ids) {
        Set<String> asked = new HashSet<>(ids);
        Map<String, List<String>> byRole = new LinkedHashMap<>();
        for (Watch w : watcher.watches()) {
            if (w.region().equals(region) && asked.remove(w.target())) {
                String role =
                        RequestResolver.targetRole(w.request().request(), region, proxyFactory);
                byRole.computeIfAbsent(role == null ? "" : role, k -> new ArrayList<>())
                        .add(w.target());
            }
        }
        if (!asked.isEmpty()) {
            byRole.computeIfAbsent(
                            Objects.requireNonNullElse(proxyFactory.targetRoleArn(region), ""),
                            k -> new ArrayList<>())
                    .addAll(asked);
        }
        List<CompletableFuture<Map<String, SnapshotDescription>>> calls = new ArrayList<>();
        byRole.forEach(
                (role, some) ->
                        calls.add(
                                proxy(region, role.isEmpty() ? null : role)
                                        .describeSnapshotsAsync(some)));
        if (calls.size() == 1) {
            return calls.get(0);
        }
        return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
                .thenApply(
                        v -> {
                            Map<String, SnapshotDescription> all = new HashMap<>();
                            calls.forEach(c -> all.putAll(c.join()));
                            return all;
                        });
    }

    /** Metrics of the enumerator's calls (StartSnapshot, DescribeSnapshots) in one region. */
    private EbsProxyListener proxyMetrics(String region) {
        MetricGroup group = context.metricGroup();
        return group == null
                ? EbsProxyListener.NO_OP
                : new EbsProxyMetrics(group.addGroup(EbsMetricConstants.GROUP), region);
    }

    private void registerMetrics() {
        MetricGroup group = context.metricGroup();
        if (group == null) {
            return;
        }
        MetricGroup ebs = group.addGroup(EbsMetricConstants.GROUP);
        ebs.gauge(EbsMetricConstants.REQUESTS_QUEUED, queue::size);
        ebs.gauge(EbsMetricConstants.REQUESTS_STARTING, resolving::size);
        ebs.gauge(EbsMetricConstants.TARGETS_WATCHED, () -> watcher.watches().size());
        if (policy != null) {
            ebs.counter(EbsMetricConstants.REQUESTS_PLANNED_BY_POLICY, plannedByPolicy);
            ebs.counter(EbsMetricConstants.REQUESTS_UNMATCHED, unmatched);
            ebs.counter(EbsMetricConstants.REQUESTS_UNPLANNABLE, unplannable);
            ebs.gauge(
                    EbsMetricConstants.RPO_WORST_MS,
                    () -> rpo.worstAgeMillis(clock.absoluteTimeMillis()));
            ebs.gauge(
                    EbsMetricConstants.LINEAGES_OVER_RPO,
                    () -> rpo.overObjective(clock.absoluteTimeMillis()));
        }
        if (intake != null) {
            ebs.gauge(EbsMetricConstants.REQUEST_IDS_REMEMBERED, () -> intake.accepted().size());
        }
    }

    private Entry entry(PendingRequest p) {
        ReplicationRequest r = p.request();
        return new Entry(p, chain(r), r.deadlineMillis(), r.priority());
    }

    /** The lineage chain of a request: its source region and lineage, or none. */
    private static String chain(ReplicationRequest r) {
        return r.lineage() == null ? null : r.sourceRegion() + "\n" + r.lineage();
    }

    /** A request and generation: the watches that hold its lineage are counted under it. */
    private static String requestKey(PendingRequest p) {
        return p.request().requestId() + "@g" + p.generation() + String.join(",", regions(p));
    }

    private static List<String> regions(PendingRequest p) {
        List<String> out = new ArrayList<>();
        for (ReplicationTarget t : p.request().targets()) {
            out.add(t.region());
        }
        return out;
    }

    private static FailedRequestSplit failed(
            PendingRequest p, Collection<String> regions, Failure failure) {
        return FailedRequestSplit.of(
                p.request(),
                List.copyOf(regions),
                failure,
                p.acceptedMillis(),
                p.generation(),
                CopyInfo.undecided(p.request()));
    }
}
