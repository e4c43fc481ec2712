package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.metrics.EbsMetricConstants;
import io.ebsreplicator.connector.ebs.metrics.EbsProxyMetrics;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyListener;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.LineageCopy;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.WatchedTarget;
import io.ebsreplicator.connector.ebs.source.event.SplitsFinishedEvent;
import io.ebsreplicator.connector.ebs.source.intake.IntakeRecord;
import io.ebsreplicator.connector.ebs.source.intake.RequestIntake;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.DeadLetterSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.api.connector.source.SourceEvent;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs on the JobManager: resolves requests into block-range splits one at a time off the
 * coordinator thread ({@code callAsync}), hands splits to readers as they ask for work, and takes
 * splits back from failed readers. A request that fails fatally becomes a failure split, so it ends
 * in a failure result instead of failing the job; one that fails transiently is retried with a
 * growing delay.
 *
 * <p>It also watches every target snapshot it started while that target's splits are being read
 * (readers report finished splits with {@link SplitsFinishedEvent}), asking DescribeSnapshots every
 * {@code ebs.target.watch-interval}. A target that EBS cancelled ({@code error}: its StartSnapshot
 * Timeout passed during an outage, or while the job was down) is replaced: the request is resolved
 * again for that region with the next target generation, so a new ClientToken starts a new target
 * and its ranges are read and copied again. Completion drops the cancelled target and follows the
 * new one.
 *
 * <p>When every request is resolved, every split handed out and read, readers are told there is no
 * more work (bounded mode).
 */
public final class EbsLineageSourceEnumerator
        implements SplitEnumerator<LineageSplit, EbsLineageEnumeratorState> {

    private static final Logger LOG = LoggerFactory.getLogger(EbsLineageSourceEnumerator.class);

    /**
     * First delay before a transiently failed request is resolved again; doubles up to a minute.
     */
    private static final long FIRST_RETRY_MILLIS = 500;

    private static final long MAX_RETRY_MILLIS = 60_000;

    /**
     * How often the intake is asked for requests; each ask waits up to the same time for one, so a
     * request is picked up within about this delay.
     */
    private static final long INTAKE_INTERVAL_MILLIS = 200;

    private final SplitEnumeratorContext<LineageSplit> context;
    private final EbsProxyFactory proxyFactory;
    private final int splitsPerRequest;
    private final int minSplitBlocks;
    private final int timeoutMinutes;
    private final Deque<PendingRequest> pending;
    private final Deque<LineageSplit> unassigned;
    private final Set<Integer> waitingReaders = new LinkedHashSet<>();
    private final Map<String, Integer> attempts = new HashMap<>();

    /** Requests that failed transiently are not resolved again before this time (epoch ms). */
    private final Map<String, Long> notBefore = new HashMap<>();

    private final Map<String, EbsProxy> proxies = new LinkedHashMap<>();

    /** Target snapshots being written, by request and region. */
    private final Map<String, Watch> watches = new LinkedHashMap<>();

    private final TargetWatchSettings watchSettings;

    /** Where requests come from in a long-running job; {@code null} in a bounded one. */
    private final RequestIntake.Factory intakeFactory;

    private final Duration dedupeRetention;

    /** The intake's position after the last message taken: stream to next offset. */
    private final Map<String, Long> positions = new LinkedHashMap<>();

    /** The latest completed copies of each lineage, by {@code lineageKey}. */
    private final Map<String, List<LineageCopy>> lineageCopies = new LinkedHashMap<>();

    /** Request ids accepted, oldest first, with the time they were accepted. */
    private final LinkedHashMap<String, Long> accepted = new LinkedHashMap<>();

    /** The intake itself lives on the worker thread: it is only used inside {@code callAsync}. */
    private transient volatile RequestIntake intake;

    private transient volatile boolean reopenIntake;
    private volatile boolean closed;
    private boolean taking;

    private transient ScheduledExecutorService retryTimer;
    private transient RequestResolver resolver;
    private boolean resolving;
    private boolean describing;

    public EbsLineageSourceEnumerator(
            SplitEnumeratorContext<LineageSplit> context,
            EbsProxyFactory proxyFactory,
            EbsLineageEnumeratorState state,
            int splitsPerRequest,
            int minSplitBlocks,
            Duration targetTimeout) {
        this(
                context,
                proxyFactory,
                state,
                splitsPerRequest,
                minSplitBlocks,
                targetTimeout,
                TargetWatchSettings.DEFAULT);
    }

    public EbsLineageSourceEnumerator(
            SplitEnumeratorContext<LineageSplit> context,
            EbsProxyFactory proxyFactory,
            EbsLineageEnumeratorState state,
            int splitsPerRequest,
            int minSplitBlocks,
            Duration targetTimeout,
            TargetWatchSettings watchSettings) {
        this(
                context,
                proxyFactory,
                state,
                splitsPerRequest,
                minSplitBlocks,
                targetTimeout,
                watchSettings,
                null,
                Duration.ofDays(7));
    }

    /**
     * @param intakeFactory where requests keep coming from (a long-running job), or {@code null}
     *     for the fixed requests in {@code state} (a bounded job)
     * @param dedupeRetention how long an accepted request id is remembered
     */
    public EbsLineageSourceEnumerator(
            SplitEnumeratorContext<LineageSplit> context,
            EbsProxyFactory proxyFactory,
            EbsLineageEnumeratorState state,
            int splitsPerRequest,
            int minSplitBlocks,
            Duration targetTimeout,
            TargetWatchSettings watchSettings,
            RequestIntake.Factory intakeFactory,
            Duration dedupeRetention) {
        this.intakeFactory = intakeFactory;
        this.dedupeRetention = dedupeRetention;
        this.positions.putAll(state.intakePositions());
        this.accepted.putAll(state.acceptedRequests());
        state.lineageCopies().forEach((k, v) -> lineageCopies.put(k, new ArrayList<>(v)));
        this.watchSettings = watchSettings;
        for (WatchedTarget w : state.watchedTargets()) {
            Watch watch =
                    new Watch(
                            w.request(),
                            w.acceptedMillis(),
                            w.generation(),
                            w.region(),
                            w.targetSnapshotId());
            watch.open.addAll(w.openSplits());
            watch.readingFinishedMillis = w.readingFinishedMillis();
            watches.put(watch.key(), watch);
        }
        this.context = context;
        this.proxyFactory = proxyFactory;
        this.splitsPerRequest =
                splitsPerRequest > 0
                        ? splitsPerRequest
                        : 4 * Math.max(1, context.currentParallelism());
        this.minSplitBlocks = minSplitBlocks;
        this.timeoutMinutes = (int) Math.max(10, Math.min(4320, targetTimeout.toMinutes()));
        this.pending = new ArrayDeque<>(state.pendingRequests());
        this.unassigned = new ArrayDeque<>(state.unassignedSplits());
    }

    @Override
    public void start() {
        retryTimer =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "ebs-enumerator-retry");
                            t.setDaemon(true);
                            return t;
                        });
        resolver =
                new RequestResolver(this::proxy, splitsPerRequest, minSplitBlocks, timeoutMinutes);
        if (intakeFactory != null) {
            retryTimer.scheduleWithFixedDelay(
                    () -> context.runInCoordinatorThread(this::takeRequests),
                    0,
                    INTAKE_INTERVAL_MILLIS,
                    TimeUnit.MILLISECONDS);
        }
        long every = watchSettings.interval().toMillis();
        retryTimer.scheduleWithFixedDelay(
                () -> context.runInCoordinatorThread(this::describeWatched),
                every,
                every,
                TimeUnit.MILLISECONDS);
        resolveNext();
    }

    /**
     * Proxies are built here, on first use by the worker thread, and closed with the enumerator.
     */
    private synchronized EbsProxy proxy(String region) {
        return proxies.computeIfAbsent(region, r -> proxyFactory.create(r, proxyMetrics(r)));
    }

    /** Metrics of the enumerator's calls (StartSnapshot, DescribeSnapshots) in one region. */
    private EbsProxyListener proxyMetrics(String region) {
        MetricGroup group = context.metricGroup();
        return group == null
                ? EbsProxyListener.NO_OP
                : new EbsProxyMetrics(group.addGroup(EbsMetricConstants.GROUP), region);
    }

    private void resolveNext() {
        if (resolving) {
            return;
        }
        long now = System.currentTimeMillis();
        PendingRequest next = null;
        // Requests of one lineage and target region go in order: a later one waits while an
        // earlier one is queued or its target is still being written.
        Set<String> earlier = new HashSet<>();
        for (PendingRequest p : pending) {
            List<String> keys = lineageKeys(p.request());
            boolean blocked = false;
            for (String k : keys) {
                blocked |= earlier.contains(k) || lineageBusy(k, now);
            }
            earlier.addAll(keys);
            if (!blocked && notBefore.getOrDefault(key(p), 0L) <= now) {
                next = p;
                break;
            }
        }
        if (next == null) {
            return; // the retry timer, a finished target or a new request calls again
        }
        resolving = true;
        PendingRequest request = next;
        LineagePlan plan = request.request().fromLatest() ? plan(request.request()) : null;
        context.callAsync(
                () -> resolve(request, plan),
                (splits, error) -> onResolved(request, splits, error));
    }

    // ------------------------------------------------------------------ lineages

    /** Copies of a lineage kept per source and target region: enough to find a common base. */
    private static final int LINEAGE_COPIES_KEPT = 8;

    /** The completed copies of a lineage in each target region, handed to the worker. */
    private record LineagePlan(List<String> regions, List<List<LineageCopy>> copies) {}

    private List<String> lineageKeys(ReplicationRequest r) {
        if (r.lineage() == null) {
            return List.of();
        }
        List<String> keys = new ArrayList<>();
        for (ReplicationTarget t : r.targets()) {
            keys.add(
                    EbsLineageEnumeratorState.lineageKey(
                            r.sourceRegion(), r.lineage(), t.region()));
        }
        return keys;
    }

    /** A target of the lineage is still being read or sealed (its outcome not yet known). */
    private boolean lineageBusy(String lineageKey, long now) {
        for (Watch w : watches.values()) {
            if (!trackingOnly(w, now) && lineageKeys(w.request).contains(lineageKey)) {
                return true;
            }
        }
        return false;
    }

    /** What the lineage's copies are now, per target region; coordinator thread. */
    private LineagePlan plan(ReplicationRequest r) {
        List<String> regions = new ArrayList<>();
        List<List<LineageCopy>> copies = new ArrayList<>();
        for (ReplicationTarget t : r.targets()) {
            regions.add(t.region());
            copies.add(
                    List.copyOf(
                            lineageCopies.getOrDefault(
                                    EbsLineageEnumeratorState.lineageKey(
                                            r.sourceRegion(), r.lineage(), t.region()),
                                    List.of())));
        }
        return new LineagePlan(regions, copies);
    }

    /** A base for an incremental copy and its copy in each target region. */
    private record Base(String snapshotId, Map<String, String> parents) {}

    /**
     * The newest snapshot of the lineage that started before the source and whose copy completed in
     * every target region; {@code null} if there is none. Requests can arrive out of order (from
     * different partitions), so a newer snapshot is never a base.
     */
    private static Base chooseBase(ReplicationRequest r, LineagePlan plan, Instant sourceStart) {
        if (plan.copies().isEmpty() || plan.copies().stream().anyMatch(List::isEmpty)) {
            return null;
        }
        List<LineageCopy> first = new ArrayList<>(plan.copies().get(0));
        first.sort(java.util.Comparator.comparingLong(LineageCopy::sourceStartMillis));
        for (int i = first.size() - 1; i >= 0; i--) {
            LineageCopy candidate = first.get(i);
            if (candidate.sourceSnapshotId().equals(r.sourceSnapshotId())) {
                continue;
            }
            if (sourceStart != null
                    && candidate.sourceStartMillis() > 0
                    && candidate.sourceStartMillis() >= sourceStart.toEpochMilli()) {
                continue; // a later snapshot of the lineage: not an ancestor
            }
            Map<String, String> parents = new LinkedHashMap<>();
            for (int t = 0; t < plan.regions().size(); t++) {
                for (LineageCopy c : plan.copies().get(t)) {
                    if (c.sourceSnapshotId().equals(candidate.sourceSnapshotId())) {
                        parents.put(plan.regions().get(t), c.targetSnapshotId());
                    }
                }
            }
            if (parents.size() == plan.regions().size()) {
                return new Base(candidate.sourceSnapshotId(), parents);
            }
        }
        return null;
    }

    /** Resolves a request on the worker thread, attaching how it is copied to its splits. */
    private List<LineageSplit> resolve(PendingRequest p, LineagePlan plan) {
        ReplicationRequest r = p.request();
        CopyInfo info = CopyInfo.of(r);
        if (plan != null) {
            SnapshotDescription source =
                    proxy(r.sourceRegion()).describeSnapshot(r.sourceSnapshotId());
            Base base = chooseBase(r, plan, source == null ? null : source.startTime());
            String fallback =
                    base == null
                            ? "no earlier snapshot of lineage '"
                                    + r.lineage()
                                    + "' has a completed copy in every target region"
                            : checkParents(base);
            if (fallback == null) {
                List<ReplicationTarget> targets = new ArrayList<>();
                for (ReplicationTarget t : r.targets()) {
                    targets.add(
                            new ReplicationTarget(
                                    t.region(),
                                    base.parents().get(t.region()),
                                    t.kmsKeyArn(),
                                    t.tags(),
                                    t.description()));
                }
                ReplicationRequest incremental = r.with(base.snapshotId(), targets);
                try {
                    return withInfo(
                            resolver.resolve(incremental, p.acceptedMillis(), p.generation()),
                            CopyInfo.of(incremental));
                } catch (EbsProxyException e) {
                    if (e.kind() != EbsProxyException.Kind.FATAL
                            || e.failureReason() != FailureReason.UNRELATED_BASE) {
                        throw e;
                    }
                    fallback =
                            "the last replicated snapshot "
                                    + base.snapshotId()
                                    + " is not in the lineage of "
                                    + r.sourceSnapshotId();
                }
            }
            LOG.info("Request {} is copied in full: {}", r.requestId(), fallback);
            info = info.withFallback(fallback);
        }
        return withInfo(resolver.resolve(r, p.acceptedMillis(), p.generation()), info);
    }

    /** Why the base's copies cannot be used as parents, or {@code null} when all completed. */
    private String checkParents(Base plan) {
        for (Map.Entry<String, String> e : plan.parents().entrySet()) {
            SnapshotDescription d;
            try {
                d = proxy(e.getKey()).describeSnapshot(e.getValue());
            } catch (EbsProxyException ex) {
                if (ex.kind() != EbsProxyException.Kind.FATAL) {
                    throw ex; // retried later as a whole
                }
                d = null;
            }
            if (d == null || !d.completed()) {
                return "the copy "
                        + e.getValue()
                        + " of "
                        + plan.snapshotId()
                        + " in "
                        + e.getKey()
                        + " is "
                        + (d == null ? "missing" : d.status());
            }
        }
        return null;
    }

    private static List<LineageSplit> withInfo(List<LineageSplit> splits, CopyInfo info) {
        List<LineageSplit> out = new ArrayList<>(splits.size());
        for (LineageSplit s : splits) {
            if (s instanceof BlockRangeSplit range) {
                out.add(range.withCopyInfo(info));
            } else if (s instanceof FailedRequestSplit failed) {
                out.add(failed.withCopyInfo(info));
            } else {
                out.add(s);
            }
        }
        return out;
    }

    /** Remembers a completed copy of a lineage's snapshot. */
    private void recordCopy(Watch w) {
        if (w.request.lineage() == null) {
            return;
        }
        String key =
                EbsLineageEnumeratorState.lineageKey(
                        w.request.sourceRegion(), w.request.lineage(), w.region);
        List<LineageCopy> copies = lineageCopies.computeIfAbsent(key, k -> new ArrayList<>());
        copies.removeIf(c -> c.sourceSnapshotId().equals(w.request.sourceSnapshotId()));
        copies.add(new LineageCopy(w.request.sourceSnapshotId(), w.target, w.sourceStartMillis));
        copies.sort(java.util.Comparator.comparingLong(LineageCopy::sourceStartMillis));
        while (copies.size() > LINEAGE_COPIES_KEPT) {
            copies.remove(0);
        }
        LOG.info(
                "Lineage {} of {}: {} is now copied to {} as {}",
                w.request.lineage(),
                w.request.sourceRegion(),
                w.request.sourceSnapshotId(),
                w.region,
                w.target);
    }

    /**
     * Past the grace after its last split was read, a target is only watched to learn whether it
     * completed (for its lineage): it is not replaced any more and no longer holds its lineage.
     */
    private boolean trackingOnly(Watch w, long now) {
        return w.readingFinishedMillis > 0
                && now - w.readingFinishedMillis > watchSettings.grace().toMillis();
    }

    private void onResolved(PendingRequest request, List<LineageSplit> splits, Throwable error) {
        resolving = false;
        String id = key(request);
        if (error == null) {
            pending.remove(request);
            attempts.remove(id);
            notBefore.remove(id);
            unassigned.addAll(splits);
            watch(request, splits);
            LOG.info("Request {} resolved into {} splits", id, splits.size());
        } else if (error instanceof EbsProxyException e
                && e.kind() != EbsProxyException.Kind.FATAL) {
            int attempt = attempts.merge(id, 1, Integer::sum);
            long delay =
                    Math.min(MAX_RETRY_MILLIS, FIRST_RETRY_MILLIS << Math.min(attempt - 1, 16));
            notBefore.put(id, System.currentTimeMillis() + delay);
            LOG.warn(
                    "Request {} could not be resolved yet (attempt {}), retrying in {} ms: {}",
                    id,
                    attempt,
                    delay,
                    e.getMessage());
            // Move it behind the others so that one slow request does not hold them up.
            pending.remove(request);
            pending.addLast(request);
            retryTimer.schedule(
                    () -> context.runInCoordinatorThread(this::resolveNext),
                    delay,
                    TimeUnit.MILLISECONDS);
            assignWaiting();
            resolveNext(); // others may be due now
            return;
        } else {
            pending.remove(request);
            attempts.remove(id);
            notBefore.remove(id);
            Failure failure = Failure.of(error);
            LOG.warn("Request {} failed ({}): {}", id, failure.reason(), failure.message());
            unassigned.add(failureSplit(request, failure));
        }
        assignWaiting();
        resolveNext();
    }

    private static FailedRequestSplit failureSplit(PendingRequest p, Failure failure) {
        ReplicationRequest r = p.request();
        List<String> regions = new ArrayList<>();
        for (ReplicationTarget t : r.targets()) {
            regions.add(t.region());
        }
        // Its results echo the attributes; the mode stays undecided.
        return FailedRequestSplit.of(
                r,
                regions,
                failure,
                p.acceptedMillis(),
                p.generation(),
                r.attributes().isEmpty() ? null : CopyInfo.undecided(r));
    }

    /** Pending requests, retry delays and attempts are kept per request and generation. */
    private static String key(PendingRequest p) {
        if (p.generation() == 0) {
            return p.request().requestId();
        }
        List<String> regions = new ArrayList<>();
        for (ReplicationTarget t : p.request().targets()) {
            regions.add(t.region());
        }
        return p.request().requestId() + "@g" + p.generation() + ":" + String.join(",", regions);
    }

    // ------------------------------------------------------------------ taking requests

    /** Asks the intake for what arrived, off the coordinator thread. */
    @VisibleForTesting
    void takeRequests() {
        if (taking) {
            return;
        }
        taking = true;
        Map<String, Long> from = new LinkedHashMap<>(positions);
        context.callAsync(
                () -> {
                    if (closed) {
                        return List.<IntakeRecord>of();
                    }
                    if (reopenIntake && intake != null) {
                        closeQuietly(intake);
                        intake = null;
                    }
                    if (intake == null) {
                        reopenIntake = false;
                        intake = intakeFactory.open();
                        intake.seek(from);
                    }
                    return intake.poll(Duration.ofMillis(INTAKE_INTERVAL_MILLIS));
                },
                this::onTaken);
    }

    private void onTaken(List<IntakeRecord> records, Throwable error) {
        taking = false;
        if (closed) {
            return;
        }
        if (error != null) {
            // Taken records are only counted once they are in state, so reading again from the
            // last position loses nothing and repeats nothing.
            LOG.warn("Taking requests failed; reopening the intake at its last position", error);
            reopenIntake = true;
            return;
        }
        long now = System.currentTimeMillis();
        for (IntakeRecord r : records) {
            positions.put(r.stream(), r.offset() + 1);
            if (r.deadLetter() != null) {
                LOG.warn("Message {} is not a usable request: dead letter", r.deadLetterId());
                unassigned.add(new DeadLetterSplit(r.deadLetterId(), r.deadLetter()));
                continue;
            }
            String id = r.request().requestId();
            if (accepted.containsKey(id)) {
                LOG.info(
                        "Request {} at {}@{} was accepted before; this copy is ignored",
                        id,
                        r.stream(),
                        r.offset());
                continue;
            }
            accepted.put(id, now);
            PendingRequest p = new PendingRequest(r.request(), now, 0);
            if (r.failure() != null) {
                LOG.warn(
                        "Request {} is not served ({}): {}",
                        id,
                        r.failure().reason(),
                        r.failure().message());
                unassigned.add(failureSplit(p, r.failure()));
            } else {
                LOG.info("Request {} accepted from {}@{}", id, r.stream(), r.offset());
                pending.add(p);
            }
        }
        long oldest = now - dedupeRetention.toMillis();
        Iterator<Map.Entry<String, Long>> it = accepted.entrySet().iterator();
        while (it.hasNext() && it.next().getValue() < oldest) {
            it.remove();
        }
        if (!records.isEmpty()) {
            assignWaiting();
            resolveNext();
        }
    }

    private static void closeQuietly(RequestIntake intake) {
        try {
            intake.close();
        } catch (RuntimeException e) {
            LOG.debug("Closing the intake failed", e);
        }
    }

    // ------------------------------------------------------------------ watching targets

    /** Starts watching the targets of freshly resolved splits until their splits are read. */
    private void watch(PendingRequest request, List<LineageSplit> splits) {
        for (LineageSplit split : splits) {
            if (!(split instanceof BlockRangeSplit s)) {
                continue;
            }
            for (Map.Entry<String, String> t : s.targets().snapshotByRegion().entrySet()) {
                if (t.getValue() == null) {
                    continue;
                }
                String key = Watch.key(s.requestId(), t.getKey());
                Watch w = watches.get(key);
                if (w == null || !w.target.equals(t.getValue())) {
                    w =
                            new Watch(
                                    request.request(),
                                    request.acceptedMillis(),
                                    request.generation(),
                                    t.getKey(),
                                    t.getValue());
                    watches.put(key, w);
                }
                w.open.add(s.splitId());
            }
        }
    }

    @Override
    public void handleSourceEvent(int subtaskId, SourceEvent event) {
        if (event instanceof SplitsFinishedEvent finished) {
            long now = System.currentTimeMillis();
            for (Watch w : watches.values()) {
                if (w.open.removeAll(finished.splitIds())
                        && w.open.isEmpty()
                        && w.readingFinishedMillis == 0) {
                    w.readingFinishedMillis = now;
                }
            }
            assignWaiting();
        } else {
            LOG.warn("Ignoring an unknown source event from subtask {}: {}", subtaskId, event);
        }
    }

    /**
     * Asks DescribeSnapshots for every watched target, off the coordinator thread. Runs on the
     * watch timer; tests call it directly.
     */
    @VisibleForTesting
    void describeWatched() {
        if (describing || watches.isEmpty()) {
            return;
        }
        describing = true;
        List<Watch> batch = new ArrayList<>(watches.values());
        context.callAsync(
                () -> {
                    List<SnapshotDescription> states = new ArrayList<>(batch.size());
                    for (Watch w : batch) {
                        states.add(describe(w));
                    }
                    return states;
                },
                (states, error) -> onWatchedDescribed(batch, states, error));
    }

    private SnapshotDescription describe(Watch w) {
        try {
            SnapshotDescription d = proxy(w.region).describeSnapshot(w.target);
            if (d != null && d.completed() && w.request.lineage() != null) {
                // The lineage orders its copies by when their sources started.
                SnapshotDescription source =
                        proxy(w.request.sourceRegion())
                                .describeSnapshot(w.request.sourceSnapshotId());
                if (source != null && source.startTime() != null) {
                    w.sourceStartMillis = source.startTime().toEpochMilli();
                }
            }
            return d;
        } catch (EbsProxyException e) {
            // Unknown this round (throttled, or the endpoint is down); asked again next round.
            LOG.debug("Could not describe target {} in {}: {}", w.target, w.region, e.toString());
            return null;
        }
    }

    private void onWatchedDescribed(
            List<Watch> batch, List<SnapshotDescription> states, Throwable error) {
        describing = false;
        if (error != null) {
            LOG.warn("Describing the watched targets failed", error);
            return;
        }
        for (int i = 0; i < batch.size(); i++) {
            Watch w = batch.get(i);
            SnapshotDescription d = states.get(i);
            if (d == null || watches.get(w.key()) != w) {
                continue; // unknown this round, or already replaced
            }
            long now = System.currentTimeMillis();
            if (d.completed()) {
                watches.remove(w.key());
                recordCopy(w);
            } else if (d.failed()) {
                watches.remove(w.key());
                if (trackingOnly(w, now)) {
                    LOG.warn(
                            "Target {} of request {} went to error after its copy ended: {}",
                            w.target,
                            w.request.requestId(),
                            d.stateMessage());
                } else {
                    replace(w, d);
                }
            }
        }
        long now = System.currentTimeMillis();
        long grace = watchSettings.grace().toMillis();
        long timeout = TimeUnit.MINUTES.toMillis(timeoutMinutes);
        // Past the grace its blocks are all with the copier and completion; a target still
        // pending then belongs to a request that failed there, and must not be started again.
        // A lineage's target is followed until its Timeout could have passed, to learn whether it
        // completed after all.
        watches.values()
                .removeIf(
                        w ->
                                w.readingFinishedMillis > 0
                                        && now - w.readingFinishedMillis
                                                > grace
                                                        + (w.request.lineage() == null
                                                                ? 0
                                                                : timeout));
        assignWaiting();
        resolveNext();
    }

    /** Resolves the request again for the cancelled target's region, one generation further. */
    private void replace(Watch w, SnapshotDescription d) {
        int next = w.generation + 1;
        String why =
                "Target "
                        + w.target
                        + " of request "
                        + w.request.requestId()
                        + " in "
                        + w.region
                        + " went to error ("
                        + d.stateMessage()
                        + ")";
        List<ReplicationTarget> targets = new ArrayList<>();
        for (ReplicationTarget t : w.request.targets()) {
            if (t.region().equals(w.region)) {
                targets.add(t);
            }
        }
        ReplicationRequest only = w.request.with(w.request.baseSnapshotId(), targets);
        PendingRequest replacement = new PendingRequest(only, w.acceptedMillis, next);
        if (next > watchSettings.maxGenerations()) {
            LOG.warn("{}; it was replaced {} times already, giving up", why, w.generation);
            unassigned.add(
                    failureSplit(
                            replacement,
                            Failure.of(
                                    FailureReason.TARGET_CANCELLED,
                                    why
                                            + "; replaced "
                                            + w.generation
                                            + " times already, giving up")));
            return;
        }
        LOG.warn("{}; copying again into a new target (generation {})", why, next);
        pending.addFirst(replacement);
    }

    /** Whether some watched target still has splits that no reader finished. */
    private boolean stillReading() {
        boolean open = false;
        for (Watch w : watches.values()) {
            open |= !w.open.isEmpty();
        }
        if (open && waitingReaders.containsAll(context.registeredReaders().keySet())) {
            // Readers ask for work only when they hold none, so none is reading: the finished
            // reports of splits read before a restore were lost with the checkpoint.
            long now = System.currentTimeMillis();
            for (Watch w : watches.values()) {
                if (!w.open.isEmpty()) {
                    w.open.clear();
                    w.readingFinishedMillis = now;
                }
            }
            return false;
        }
        return open;
    }

    /** A target snapshot being written, watched for a cancellation; coordinator thread only. */
    private static final class Watch {
        final ReplicationRequest request;
        final long acceptedMillis;
        final int generation;
        final String region;
        final String target;
        final Set<String> open = new LinkedHashSet<>();
        long readingFinishedMillis;

        /** When the source started, learned on the worker thread once the target completed. */
        volatile long sourceStartMillis;

        Watch(
                ReplicationRequest request,
                long acceptedMillis,
                int generation,
                String region,
                String target) {
            this.request = request;
            this.acceptedMillis = acceptedMillis;
            this.generation = generation;
            this.region = region;
            this.target = target;
        }

        String key() {
            return key(request.requestId(), region);
        }

        static String key(String requestId, String region) {
            return requestId + "\n" + region;
        }

        WatchedTarget toState() {
            return new WatchedTarget(
                    request,
                    acceptedMillis,
                    generation,
                    region,
                    target,
                    new ArrayList<>(open),
                    readingFinishedMillis);
        }
    }

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
            } else if (intakeFactory == null
                    && pending.isEmpty()
                    && !resolving
                    && !stillReading()) {
                // While a target's splits are read, a replacement may still be needed.
                context.signalNoMoreSplits(reader);
                it.remove();
            }
        }
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

    @Override
    public EbsLineageEnumeratorState snapshotState(long checkpointId) {
        List<WatchedTarget> watched = new ArrayList<>(watches.size());
        for (Watch w : watches.values()) {
            watched.add(w.toState());
        }
        return new EbsLineageEnumeratorState(
                new ArrayList<>(pending),
                new ArrayList<>(unassigned),
                watched,
                positions,
                accepted,
                lineageCopies);
    }

    @Override
    public void close() {
        if (retryTimer != null) {
            retryTimer.shutdownNow();
        }
        closed = true;
        RequestIntake open = intake;
        if (open != null) {
            closeQuietly(open); // wakes a poll in progress; that thread then closes it
        }
        synchronized (this) {
            for (EbsProxy p : proxies.values()) {
                p.close();
            }
            proxies.clear();
        }
    }
}
