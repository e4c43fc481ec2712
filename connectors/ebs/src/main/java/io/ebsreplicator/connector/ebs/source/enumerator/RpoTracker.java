package io.ebsreplicator.connector.ebs.source.enumerator;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The recovery point of every lineage and target region this job copies under a policy: when its
 * newest copy completed, and the objective of the rule that made it. Feeds the enumerator's RPO
 * gauges (the worst age, the number of lineages over their objective). In memory only: after a
 * restore a lineage counts again from its next completed copy (the results topic, which {@code
 * status} reads, keeps the full history). Runs on the coordinator thread; gauges read it from the
 * metric reporter's thread, so its methods are synchronized.
 */
final class RpoTracker {

    /** Bound on the pairs tracked; the least recently copied are forgotten first past it. */
    static final int MAX_TRACKED = 100_000;

    private record Point(long completedMillis, Duration objective) {}

    private final Map<String, Point> points =
            new LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<String, Point> eldest) {
                    return size() > MAX_TRACKED;
                }
            };

    /** A copy of {@code lineage} completed in {@code region} now, under {@code objective}. */
    synchronized void completed(
            String sourceRegion,
            String lineage,
            String region,
            Duration objective,
            long nowMillis) {
        String key = sourceRegion + "\n" + lineage + "\n" + region;
        points.remove(key); // re-inserted last: the map is in order of the last copy
        points.put(key, new Point(nowMillis, objective));
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
