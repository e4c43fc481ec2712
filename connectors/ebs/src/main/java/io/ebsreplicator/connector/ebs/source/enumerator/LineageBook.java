package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.LineageCopy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The completed copies of each lineage, and which of them the next copy of the lineage is based on.
 * A lineage is a name the producer gives a volume's snapshots (e.g. the volume id); its copies are
 * kept per source region, lineage and target region, the last {@link #COPIES_KEPT} by the time
 * their sources started, oldest first.
 *
 * <p>The base of an incremental copy is the newest snapshot of the lineage that started before the
 * source and whose copy completed in every target region. Requests can arrive out of order (from
 * different partitions), so a newer snapshot is never a base.
 *
 * <p>Used on the enumerator's coordinator thread only; {@link #plan} hands an immutable view to
 * asynchronous work. Stored in enumerator state.
 */
public final class LineageBook {

    /**
     * Copies kept per lineage, source region and target region: enough to find a common base when a
     * few copies of the lineage are in flight or one region fell behind, and small enough that
     * 10,000 lineages fit in a few MiB of checkpoint.
     */
    public static final int COPIES_KEPT = 8;

    private final Map<String, List<LineageCopy>> copies = new LinkedHashMap<>();

    /** The key of a lineage's copies in one target region. */
    public static String key(String sourceRegion, String lineage, String targetRegion) {
        return sourceRegion + "\n" + lineage + "\n" + targetRegion;
    }

    /** The book of {@code state}'s copies (key to copies, oldest first). */
    public static LineageBook of(Map<String, List<LineageCopy>> state) {
        LineageBook book = new LineageBook();
        state.forEach((k, v) -> book.copies.put(k, new ArrayList<>(v)));
        return book;
    }

    /** Remembers a completed copy; a copy of the same source snapshot is replaced. */
    public void record(
            String sourceRegion,
            String lineage,
            String targetRegion,
            String sourceSnapshotId,
            String targetSnapshotId,
            long sourceStartMillis) {
        List<LineageCopy> list =
                copies.computeIfAbsent(
                        key(sourceRegion, lineage, targetRegion), k -> new ArrayList<>());
        list.removeIf(c -> c.sourceSnapshotId().equals(sourceSnapshotId));
        list.add(new LineageCopy(sourceSnapshotId, targetSnapshotId, sourceStartMillis));
        list.sort(Comparator.comparingLong(LineageCopy::sourceStartMillis));
        while (list.size() > COPIES_KEPT) {
            list.remove(0);
        }
    }

    /**
     * Forgets the copy {@code targetSnapshotId} of the lineage and region {@code key}: it is to be
     * deleted, so no later copy is based on it.
     */
    public void forget(String key, String targetSnapshotId) {
        List<LineageCopy> list = copies.get(key);
        if (list != null) {
            list.removeIf(c -> c.targetSnapshotId().equals(targetSnapshotId));
        }
    }

    /** The lineage's copies in each target region of {@code r}, as they are now. */
    public LineagePlan plan(ReplicationRequest r) {
        Map<String, List<LineageCopy>> byRegion = new LinkedHashMap<>();
        for (ReplicationTarget t : r.targets()) {
            byRegion.put(
                    t.region(),
                    List.copyOf(
                            copies.getOrDefault(
                                    key(r.sourceRegion(), r.lineage(), t.region()), List.of())));
        }
        return new LineagePlan(Collections.unmodifiableMap(byRegion));
    }

    /** Every lineage's copies, for state: key to copies, oldest first. */
    public Map<String, List<LineageCopy>> snapshot() {
        Map<String, List<LineageCopy>> out = new LinkedHashMap<>();
        copies.forEach((k, v) -> out.put(k, List.copyOf(v)));
        return out;
    }

    /** How many lineage/region pairs have copies. */
    public int size() {
        return copies.size();
    }

    /**
     * A lineage's completed copies per target region at one moment: immutable, for the asynchronous
     * resolution of a request.
     */
    public record LineagePlan(Map<String, List<LineageCopy>> copiesByRegion) {

        /**
         * The newest snapshot of the lineage that started before {@code sourceStart} (when known)
         * and has a completed copy in every target region; {@code null} if there is none.
         */
        public Base chooseBase(String sourceSnapshotId, Instant sourceStart) {
            if (copiesByRegion.isEmpty()
                    || copiesByRegion.values().stream().anyMatch(List::isEmpty)) {
                return null;
            }
            List<LineageCopy> first = new ArrayList<>(copiesByRegion.values().iterator().next());
            first.sort(Comparator.comparingLong(LineageCopy::sourceStartMillis));
            for (int i = first.size() - 1; i >= 0; i--) {
                LineageCopy candidate = first.get(i);
                if (candidate.sourceSnapshotId().equals(sourceSnapshotId)) {
                    continue;
                }
                if (sourceStart != null
                        && candidate.sourceStartMillis() > 0
                        && candidate.sourceStartMillis() >= sourceStart.toEpochMilli()) {
                    continue; // a later snapshot of the lineage: not an ancestor
                }
                Map<String, String> parents = new LinkedHashMap<>();
                copiesByRegion.forEach(
                        (region, list) -> {
                            for (LineageCopy c : list) {
                                if (c.sourceSnapshotId().equals(candidate.sourceSnapshotId())) {
                                    parents.put(region, c.targetSnapshotId());
                                }
                            }
                        });
                if (parents.size() == copiesByRegion.size()) {
                    return new Base(candidate.sourceSnapshotId(), parents);
                }
            }
            return null;
        }
    }

    /**
     * A base for an incremental copy: a source snapshot and its copy (the parent of the new target)
     * in each target region.
     */
    public record Base(String snapshotId, Map<String, String> parents) {

        public Base {
            parents = Collections.unmodifiableMap(new LinkedHashMap<>(parents));
        }
    }
}
