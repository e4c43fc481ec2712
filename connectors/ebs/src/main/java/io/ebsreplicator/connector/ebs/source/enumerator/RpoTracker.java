package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.RecoveryPoint;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;

/**
 * The recovery point of every lineage and target region this job copies under a policy: when its
 * newest copy completed, and the objective of the rule that made it. Feeds the enumerator's RPO
 * gauges (the worst age, the number of lineages over their objective). Its points are in the
 * enumerator's checkpoint ({@link RecoveryPoint}: the completion time and the rule) and rebuilt
 * from it on restore, each with the objective its rule has in the policy then; the results topic,
 * which {@code status} reads, keeps the full history. Runs on the coordinator thread; gauges read
 * it from the metric reporter's thread, so its methods are synchronized.
 */
final class RpoTracker {

    /** Bound on the pairs tracked; the least recently copied are forgotten first past it. */
    static final int MAX_TRACKED = 100_000;

    private record Point(long completedMillis, String rule, Duration objective) {}

    private final Map<String, Point> points =
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Point> eldest) {
                    return size() > MAX_TRACKED;
                }
            };

    /**
     * A copy of {@code lineage} completed in {@code region} now, made by {@code rule} whose
     * objective is {@code objective} ({@code null}: none).
     */
    synchronized void completed(
            String sourceRegion,
            String lineage,
            String region,
            String rule,
            Duration objective,
            long nowMillis) {
        String key = LineageBook.key(sourceRegion, lineage, region);
        points.remove(key); // re-inserted last: the map is in order of the last copy
        points.put(key, new Point(nowMillis, rule, objective));
    }

    /** The points, for a checkpoint, least recently copied first. */
    synchronized Map<String, RecoveryPoint> snapshot() {
        Map<String, RecoveryPoint> out = new LinkedHashMap<>();
        points.forEach((k, p) -> out.put(k, new RecoveryPoint(p.completedMillis, p.rule)));
        return out;
    }

    /**
     * Takes the points of a checkpoint, each with the objective that {@code objectiveOf} gives its
     * rule now ({@code null}: the rule has none, or is no longer in the policy).
     */
    synchronized void restore(
            Map<String, RecoveryPoint> restored, Function<String, Duration> objectiveOf) {
        restored.forEach(
                (k, p) ->
                        points.put(
                                k,
                                new Point(
                                        p.completedMillis(),
                                        p.rule(),
                                        objectiveOf.apply(p.rule()))));
    }

    /** The age of the oldest newest copy (the worst recovery point), 0 when none is tracked. */
    synchronized long worstAgeMillis(long nowMillis) {
        long worst = 0;
        for (Point p : points.values()) {
            worst = Math.max(worst, nowMillis - p.completedMillis);
        }
        return worst;
    }

    /** How many lineage and region pairs have a newest copy older than their objective. */
    synchronized int overObjective(long nowMillis) {
        int n = 0;
        for (Point p : points.values()) {
            if (p.objective != null && nowMillis - p.completedMillis > p.objective.toMillis()) {
                n++;
            }
        }
        return n;
    }

    synchronized int size() {
        return points.size();
    }
}
