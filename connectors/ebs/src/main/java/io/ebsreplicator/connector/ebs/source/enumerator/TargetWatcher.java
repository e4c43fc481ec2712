package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The target snapshots the enumerator started, watched with DescribeSnapshots until they leave
 * {@code pending}, and what each answer decides. Also the count of pending targets per region: EBS
 * allows 100 pending snapshots per account and region, and a fleet's backlog must wait in the
 * request queue rather than collect ServiceQuotaExceeded answers, so a region has room for another
 * start only while its pending targets and the plans that reserved room are below the limit.
 *
 * <p>A target is described in batches per region (one call for up to 200 ids, one call per region
 * at a time, so a region that does not answer delays only itself): every {@code watchInterval}
 * while its blocks are still being read (to notice a cancellation by EBS early), every {@code
 * sealInterval} once they are all read (it is about to complete, and its completion frees a slot
 * and lets the next copy of its lineage start).
 *
 * <p>What an answer decides: {@code completed} ends the watch ({@link Outcome.Completed}); {@code
 * error} while the copy is still running means EBS cancelled it ({@link Outcome.Cancelled}: the
 * enumerator replaces it); {@code error} after the copy's grace only ends the watch. A target past
 * the grace after its blocks were read no longer holds its lineage ({@link Outcome.Settled}): its
 * blocks are all with the copier and completion, and a target still pending then belongs to a
 * request that failed there; it stays watched (and counted) until EBS lets it go.
 *
 * <p>Used on the enumerator's coordinator thread only; time is passed in by the caller.
 */
public final class TargetWatcher {

    /** One target being watched. Mutable; coordinator thread only. */
    public static final class Watch {
        final PendingRequest request;
        final String region;
        final String target;
        final Set<String> openSplits = new LinkedHashSet<>();
        long readingFinishedMillis;
        long sourceStartMillis;
        boolean settled;
        long nextDescribeMillis;
        long missingSinceMillis;
        boolean released;

        Watch(PendingRequest request, String region, String target) {
            this.request = request;
            this.region = region;
            this.target = target;
        }

        public PendingRequest request() {
            return request;
        }

        public String region() {
            return region;
        }

        public String target() {
            return target;
        }

        /** When the source snapshot started, for the lineage's order (0 if unknown). */
        public long sourceStartMillis() {
            return sourceStartMillis;
        }

        /** Whether the copy's outcome no longer holds its lineage (see {@link Outcome.Settled}). */
        public boolean settled() {
            return settled;
        }

        /**
         * Marks that this watch no longer holds its request's lineage; {@code false} if it was
         * marked before (its outcome is counted once).
         */
        public boolean release() {
            if (released) {
                return false;
            }
            released = true;
            return true;
        }

        /** Ids of this target's splits no reader has finished yet. */
        public Set<String> openSplits() {
            return openSplits;
        }

        public long readingFinishedMillis() {
            return readingFinishedMillis;
        }

        String key() {
            return key(request.request().requestId(), region);
        }

        static String key(String requestId, String region) {
            return requestId + "\n" + region;
        }
    }

    /** What a DescribeSnapshots answer (or the passing of time) decided about a watched target. */
    public sealed interface Outcome {
        Watch watch();

        /** The target completed: the watch ends. */
        record Completed(Watch watch) implements Outcome {}

        /** EBS cancelled the target while its copy ran: it must be replaced. */
        record Cancelled(Watch watch, String stateMessage) implements Outcome {}

        /** The target went to {@code error} after its copy's grace: the watch ends. */
        record Abandoned(Watch watch, String stateMessage) implements Outcome {}

        /**
         * The copy is past its grace: it no longer holds its lineage, and is no longer replaced.
         * Reported once per watch, before any other outcome of it.
         */
        record Settled(Watch watch) implements Outcome {}
    }

    /** The pending targets and starts in flight of one region. */
    private static final class Region {
        int starting;
        int pending;
        boolean describing;
    }

    private final long watchIntervalMillis;
    private final long sealIntervalMillis;
    private final long graceMillis;
    private final long missingGraceMillis;
    private final int maxPending;

    private final Map<String, Watch> watches = new LinkedHashMap<>();
    private final Map<String, Region> regions = new HashMap<>();

    /**
     * @param watchIntervalMillis how often a target is described while its blocks are read
     * @param sealIntervalMillis how often once they are all read
     * @param graceMillis how long after its blocks were read a copy may still be replaced
     * @param missingGraceMillis how long a target may be absent from DescribeSnapshots (EBS makes
     *     new snapshots visible with a delay) before its watch ends
     * @param maxPending the most targets pending at once in one region
     */
    public TargetWatcher(
            long watchIntervalMillis,
            long sealIntervalMillis,
            long graceMillis,
            long missingGraceMillis,
            int maxPending) {
        this.watchIntervalMillis = watchIntervalMillis;
        this.sealIntervalMillis = sealIntervalMillis;
        this.graceMillis = graceMillis;
        this.missingGraceMillis = missingGraceMillis;
        this.maxPending = maxPending;
    }

    // ------------------------------------------------------------------ room per region

    /** Whether {@code region} has room for one more target now. */
    public boolean hasRoom(String region) {
        Region r = regions.get(region);
        return r == null || r.pending + r.starting < maxPending;
    }

    /**
     * Reserves room for one target in {@code region} while a request is planned (so the limit holds
     * however many plans are in flight); {@link #watch} then counts the target itself.
     */
    public void reserve(String region) {
        region(region).starting++;
    }

    /** The plan that reserved room in {@code region} ended (its target is watched, or none). */
    public void unreserve(String region) {
        Region r = region(region);
        r.starting = Math.max(0, r.starting - 1);
    }

    /** Targets pending in {@code region}: started by this job and not yet seen to leave pending. */
    public int pending(String region) {
        Region r = regions.get(region);
        return r == null ? 0 : r.pending;
    }

    // ------------------------------------------------------------------ watching

    /**
     * Watches a target just started (or found again after a restore) with the ids of its splits
     * that are still to be read. A watch of the same request and region is replaced.
     */
    public Watch watch(
            PendingRequest request,
            String region,
            String target,
            Collection<String> openSplits,
            long sourceStartMillis,
            long nowMillis) {
        Watch w = new Watch(request, region, target);
        w.openSplits.addAll(openSplits);
        w.sourceStartMillis = sourceStartMillis;
        w.nextDescribeMillis =
                nowMillis + (openSplits.isEmpty() ? sealIntervalMillis : watchIntervalMillis);
        if (openSplits.isEmpty()) {
            w.readingFinishedMillis = nowMillis;
        }
        Watch old = watches.put(w.key(), w);
        if (old == null) {
            region(region).pending++;
        }
        return w;
    }

    /** Restores a watch from state, as it was. */
    public Watch restore(
            PendingRequest request,
            String region,
            String target,
            Collection<String> openSplits,
            long readingFinishedMillis,
            long sourceStartMillis,
            long nowMillis) {
        Watch w = watch(request, region, target, openSplits, sourceStartMillis, nowMillis);
        w.readingFinishedMillis = readingFinishedMillis;
        w.nextDescribeMillis = nowMillis; // learn where it is now
        return w;
    }

    /** The watch of a request's target in a region, or {@code null}. */
    public Watch get(String requestId, String region) {
        return watches.get(Watch.key(requestId, region));
    }

    /** Every watch, in the order they started. */
    public Collection<Watch> watches() {
        return watches.values();
    }

    public boolean isEmpty() {
        return watches.isEmpty();
    }

    /** Readers finished these splits; a target whose splits are all read starts sealing. */
    public void splitsFinished(Collection<String> splitIds, long nowMillis) {
        for (Watch w : watches.values()) {
            if (w.openSplits.removeAll(splitIds)
                    && w.openSplits.isEmpty()
                    && w.readingFinishedMillis == 0) {
                w.readingFinishedMillis = nowMillis;
                w.nextDescribeMillis =
                        Math.min(w.nextDescribeMillis, nowMillis + sealIntervalMillis);
            }
        }
    }

    /**
     * The finished reports of splits read before a restore were lost with the checkpoint: when no
     * reader reads, every open split is done.
     */
    public void nothingBeingRead(long nowMillis) {
        for (Watch w : watches.values()) {
            if (!w.openSplits.isEmpty()) {
                w.openSplits.clear();
                w.readingFinishedMillis = nowMillis;
                w.nextDescribeMillis =
                        Math.min(w.nextDescribeMillis, nowMillis + sealIntervalMillis);
            }
        }
    }

    /** Whether some watched target still has splits to read. */
    public boolean reading() {
        for (Watch w : watches.values()) {
            if (!w.openSplits.isEmpty()) {
                return true;
            }
        }
        return false;
    }

    /**
     * The copies that passed their grace since the last call ({@link Outcome.Settled}), each
     * reported once.
     */
    public List<Outcome> settle(long nowMillis) {
        List<Outcome> out = new ArrayList<>();
        for (Watch w : watches.values()) {
            if (!w.settled
                    && w.readingFinishedMillis > 0
                    && nowMillis - w.readingFinishedMillis > graceMillis) {
                w.settled = true;
                out.add(new Outcome.Settled(w));
            }
        }
        return out;
    }

    /**
     * The targets to describe now, per region: those due, in regions with no DescribeSnapshots in
     * flight. Those regions are then describing until {@link #described} or {@link
     * #describeFailed}.
     */
    public Map<String, List<String>> due(long nowMillis) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Watch w : watches.values()) {
            if (w.nextDescribeMillis <= nowMillis && !region(w.region).describing) {
                out.computeIfAbsent(w.region, r -> new ArrayList<>()).add(w.target);
            }
        }
        for (String r : out.keySet()) {
            region(r).describing = true;
        }
        return out;
    }

    /** The DescribeSnapshots call of a region failed: its targets are asked again later. */
    public void describeFailed(String region, long nowMillis) {
        region(region).describing = false;
        for (Watch w : watches.values()) {
            if (w.region.equals(region) && w.nextDescribeMillis <= nowMillis) {
                w.nextDescribeMillis = nowMillis + sealIntervalMillis;
            }
        }
    }

    /**
     * What DescribeSnapshots answered for {@code asked} in {@code region}: the outcomes it decides.
     * A watch it ends no longer counts as pending in its region.
     */
    public List<Outcome> described(
            String region,
            Collection<String> asked,
            Map<String, SnapshotDescription> found,
            long nowMillis) {
        region(region).describing = false;
        Set<String> askedSet = new LinkedHashSet<>(asked);
        List<Outcome> out = new ArrayList<>();
        List<Watch> ended = new ArrayList<>();
        for (Watch w : watches.values()) {
            if (!w.region.equals(region) || !askedSet.contains(w.target)) {
                continue;
            }
            SnapshotDescription d = found.get(w.target);
            w.nextDescribeMillis =
                    nowMillis
                            + (w.readingFinishedMillis > 0 && !w.settled
                                    ? sealIntervalMillis
                                    : watchIntervalMillis);
            if (d == null) {
                if (w.missingSinceMillis == 0) {
                    w.missingSinceMillis = nowMillis;
                } else if (nowMillis - w.missingSinceMillis > missingGraceMillis) {
                    ended.add(w);
                    out.add(new Outcome.Abandoned(w, "the snapshot is not found"));
                }
                continue;
            }
            w.missingSinceMillis = 0;
            if (d.completed()) {
                ended.add(w);
                out.add(new Outcome.Completed(w));
            } else if (d.failed()) {
                ended.add(w);
                out.add(
                        w.settled
                                ? new Outcome.Abandoned(w, d.stateMessage())
                                : new Outcome.Cancelled(w, d.stateMessage()));
            }
        }
        for (Watch w : ended) {
            end(w);
        }
        return out;
    }

    /** Stops watching a target (it left pending, or it is given up): it frees its slot. */
    public void end(Watch w) {
        if (watches.remove(w.key(), w)) {
            Region r = region(w.region);
            r.pending = Math.max(0, r.pending - 1);
        }
    }

    private Region region(String name) {
        return regions.computeIfAbsent(name, k -> new Region());
    }
}
