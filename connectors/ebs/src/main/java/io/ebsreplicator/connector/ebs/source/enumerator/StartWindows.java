package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * How many plans may be in flight where, so that a region that stops answering holds only its own:
 * a plan counts against its source region (at most {@code maxPlansPerSource}) until its source is
 * proven readable, then waits at a start gate until every one of its target regions has fewer than
 * {@code maxStartsPerTarget} StartSnapshot calls in flight, and counts against them until it ends.
 * Throughout, it holds a pending slot in each target region ({@link TargetWatcher#reserve}), so the
 * limit of pending targets holds however plans interleave. A region that answered
 * ServiceQuotaExceeded takes no new plan until a given time, or until one of the job's targets
 * there completes.
 *
 * <p>Used on the enumerator's coordinator thread only; time is passed in by the caller.
 */
final class StartWindows {

    private final TargetWatcher watcher;
    private final int maxPlansPerSource;
    private final int maxStartsPerTarget;

    private final Map<String, Integer> plansBySource = new HashMap<>();
    private final Map<String, Integer> startsByTarget = new HashMap<>();

    /** Plans whose source is readable, waiting for their targets' windows, in arrival order. */
    private final Map<String, Gate> atGate = new LinkedHashMap<>();

    /** Plans whose StartSnapshot calls were let go, with their target regions. */
    private final Map<String, List<String>> sent = new HashMap<>();

    /** Until when a region is known full (ServiceQuotaExceeded at StartSnapshot), epoch ms. */
    private final Map<String, Long> fullUntil = new HashMap<>();

    private record Gate(List<String> regions, CompletableFuture<Void> open) {}

    StartWindows(TargetWatcher watcher, int maxPlansPerSource, int maxStartsPerTarget) {
        this.watcher = watcher;
        this.maxPlansPerSource = maxPlansPerSource;
        this.maxStartsPerTarget = maxStartsPerTarget;
    }

    /**
     * Whether {@code r} may start planning now: its source region's window has room, and each
     * target region has room for one more pending target and is not known full.
     */
    boolean mayPlan(ReplicationRequest r, long nowMillis) {
        if (plansBySource.getOrDefault(r.sourceRegion(), 0) >= maxPlansPerSource) {
            return false;
        }
        for (ReplicationTarget t : r.targets()) {
            if (!watcher.hasRoom(t.region())
                    || fullUntil.getOrDefault(t.region(), 0L) > nowMillis) {
                return false;
            }
        }
        return true;
    }

    /** The plan {@code id} of {@code r} starts: its source window and target slots are taken. */
    void planning(String id, ReplicationRequest r) {
        for (ReplicationTarget t : r.targets()) {
            watcher.reserve(t.region());
        }
        plansBySource.merge(r.sourceRegion(), 1, Integer::sum);
    }

    /**
     * The plan's source is readable: it leaves its source's window and waits at the gate, which
     * {@code open} completes when its targets' windows let it send StartSnapshot.
     */
    void atGate(String id, ReplicationRequest r, CompletableFuture<Void> open) {
        plansBySource.merge(r.sourceRegion(), -1, Integer::sum);
        List<String> regions = new ArrayList<>();
        r.targets().forEach(t -> regions.add(t.region()));
        atGate.put(id, new Gate(regions, open));
        openGates();
    }

    /** The plan ended, however: everything it held is given back, and gates may open. */
    void ended(String id, ReplicationRequest r) {
        for (ReplicationTarget t : r.targets()) {
            watcher.unreserve(t.region());
        }
        List<String> sentTo = sent.remove(id);
        Gate gate = atGate.remove(id);
        if (sentTo != null) {
            sentTo.forEach(region -> startsByTarget.merge(region, -1, Integer::sum));
        } else if (gate == null) {
            plansBySource.merge(r.sourceRegion(), -1, Integer::sum);
        }
        openGates();
    }

    /** No new plan for {@code region} before {@code untilMillis}: it answered it is full. */
    void full(String region, long untilMillis) {
        fullUntil.put(region, untilMillis);
    }

    /** One of the job's targets in {@code region} completed: a pending snapshot is free there. */
    void freed(String region) {
        fullUntil.remove(region);
    }

    /** Lets waiting plans go, in arrival order, each once all its target regions have room. */
    private void openGates() {
        List<CompletableFuture<Void>> opened = new ArrayList<>();
        Iterator<Map.Entry<String, Gate>> it = atGate.entrySet().iterator();
        while (it.hasNext()) {
            Map.Entry<String, Gate> waiting = it.next();
            List<String> regions = waiting.getValue().regions();
            if (regions.stream()
                    .allMatch(r -> startsByTarget.getOrDefault(r, 0) < maxStartsPerTarget)) {
                regions.forEach(r -> startsByTarget.merge(r, 1, Integer::sum));
                sent.put(waiting.getKey(), regions);
                it.remove();
                opened.add(waiting.getValue().open());
            }
        }
        // Opened after the bookkeeping: a plan continues on this thread as its gate opens.
        opened.forEach(gate -> gate.complete(null));
    }
}
