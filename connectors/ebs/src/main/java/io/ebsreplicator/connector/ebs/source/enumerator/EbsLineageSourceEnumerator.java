package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;

import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
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
 * growing delay. When every request is resolved and every split handed out, readers are told there
 * is no more work (bounded mode).
 */
public final class EbsLineageSourceEnumerator
        implements SplitEnumerator<BlockRangeSplit, EbsLineageEnumeratorState> {

    private static final Logger LOG = LoggerFactory.getLogger(EbsLineageSourceEnumerator.class);

    /**
     * First delay before a transiently failed request is resolved again; doubles up to a minute.
     */
    private static final long FIRST_RETRY_MILLIS = 500;

    private static final long MAX_RETRY_MILLIS = 60_000;

    private final SplitEnumeratorContext<BlockRangeSplit> context;
    private final EbsProxyFactory proxyFactory;
    private final int splitsPerRequest;
    private final int minSplitBlocks;
    private final int timeoutMinutes;
    private final Deque<PendingRequest> pending;
    private final Deque<BlockRangeSplit> unassigned;
    private final Set<Integer> waitingReaders = new LinkedHashSet<>();
    private final Map<String, Integer> attempts = new HashMap<>();

    /** Requests that failed transiently are not resolved again before this time (epoch ms). */
    private final Map<String, Long> notBefore = new HashMap<>();

    private final Map<String, EbsProxy> proxies = new LinkedHashMap<>();

    private transient ScheduledExecutorService retryTimer;
    private transient RequestResolver resolver;
    private boolean resolving;

    public EbsLineageSourceEnumerator(
            SplitEnumeratorContext<BlockRangeSplit> context,
            EbsProxyFactory proxyFactory,
            EbsLineageEnumeratorState state,
            int splitsPerRequest,
            int minSplitBlocks,
            Duration targetTimeout) {
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
        resolveNext();
    }

    /**
     * Proxies are built here, on first use by the worker thread, and closed with the enumerator.
     */
    private synchronized EbsProxy proxy(String region) {
        return proxies.computeIfAbsent(region, proxyFactory::create);
    }

    private void resolveNext() {
        if (resolving) {
            return;
        }
        long now = System.currentTimeMillis();
        PendingRequest next = null;
        for (PendingRequest p : pending) {
            if (notBefore.getOrDefault(p.request().requestId(), 0L) <= now) {
                next = p;
                break;
            }
        }
        if (next == null) {
            return; // the retry timer calls again when the first one is due
        }
        resolving = true;
        PendingRequest request = next;
        context.callAsync(
                () -> resolver.resolve(request.request(), request.acceptedMillis()),
                (splits, error) -> onResolved(request, splits, error));
    }

    private void onResolved(PendingRequest request, List<BlockRangeSplit> splits, Throwable error) {
        resolving = false;
        String id = request.request().requestId();
        if (error == null) {
            pending.remove(request);
            attempts.remove(id);
            notBefore.remove(id);
            unassigned.addAll(splits);
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
            String reason = RequestResolver.describe(error);
            LOG.warn("Request {} failed: {}", id, reason);
            unassigned.add(failureSplit(request, reason));
        }
        assignWaiting();
        resolveNext();
    }

    private static BlockRangeSplit failureSplit(PendingRequest p, String reason) {
        ReplicationRequest r = p.request();
        Map<String, String> targets = new LinkedHashMap<>();
        for (ReplicationTarget t : r.targets()) {
            targets.put(t.region(), "");
        }
        return BlockRangeSplit.failed(
                r.requestId(),
                r.sourceRegion(),
                r.sourceSnapshotId(),
                TargetSnapshots.encode(targets),
                reason,
                p.acceptedMillis());
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
            } else if (pending.isEmpty() && !resolving) {
                context.signalNoMoreSplits(reader);
                it.remove();
            }
        }
    }

    @Override
    public void addSplitsBack(List<BlockRangeSplit> splits, int subtaskId) {
        // A reader failed before checkpointing these: they go first, from their checkpointed
        // progress.
        List<BlockRangeSplit> back = new ArrayList<>(splits);
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
        return new EbsLineageEnumeratorState(new ArrayList<>(pending), new ArrayList<>(unassigned));
    }

    @Override
    public void close() {
        if (retryTimer != null) {
            retryTimer.shutdownNow();
        }
        synchronized (this) {
            for (EbsProxy p : proxies.values()) {
                p.close();
            }
            proxies.clear();
        }
    }
}
