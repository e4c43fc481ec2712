package io.ebsreplicator.connector.ebs.policy;

import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/**
 * How many copies of a lineage a target region keeps: the newest {@code keepLast}, and/or those
 * whose source snapshot is younger than {@code maxAge}. With both, a copy stays while either keeps
 * it. The newest copy always stays. Part of a loaded {@link ReplicationPolicy}, never in state.
 *
 * @param keepLast how many of the newest copies stay, or {@code null}
 * @param maxAge copies of sources younger than this stay, or {@code null}
 */
public record Retention(Integer keepLast, Duration maxAge) {

    public Retention {
        if (keepLast == null && maxAge == null) {
            throw new IllegalArgumentException("a retention needs keepLast or maxAge");
        }
    }

    /**
     * The copies of one lineage in one region that this retention no longer keeps, oldest first.
     * Only completed copies are candidates (a pending one cannot be deleted, one in error is left
     * as EBS left it). The newest completed copy always stays, and so does every copy in {@code
     * protect} (the parents of copies in flight). A copy's age is the time since it started.
     *
     * @param copies the lineage's copies in the region, in any order
     * @param protect copies that must stay whatever the retention says
     */
    public List<SnapshotDescription> toDelete(
            List<SnapshotDescription> copies, Instant now, Set<String> protect) {
        List<SnapshotDescription> completed = new ArrayList<>();
        for (SnapshotDescription c : copies) {
            if (c.completed()) {
                completed.add(c);
            }
        }
        // Newest first; a copy without a start time counts as the oldest; ties (which EC2's
        // start times make rare) by id, so that the same copies always give the same answer.
        completed.sort(
                Comparator.comparing(
                                (SnapshotDescription c) ->
                                        c.startTime() == null ? Instant.MIN : c.startTime())
                        .thenComparing(SnapshotDescription::snapshotId)
                        .reversed());
        List<SnapshotDescription> out = new ArrayList<>();
        for (int i = 1; i < completed.size(); i++) {
            SnapshotDescription c = completed.get(i);
            boolean byCount = keepLast != null && i < keepLast;
            boolean byAge =
                    maxAge != null
                            && c.startTime() != null
                            && Duration.between(c.startTime(), now).compareTo(maxAge) < 0;
            if (!byCount && !byAge && !protect.contains(c.snapshotId())) {
                out.add(c);
            }
        }
        java.util.Collections.reverse(out);
        return out;
    }

    /** As a log line shows it: {@code keep last 3, younger than PT336H}. */
    @Override
    public String toString() {
        java.util.List<String> parts = new java.util.ArrayList<>();
        if (keepLast != null) {
            parts.add("keep last " + keepLast);
        }
        if (maxAge != null) {
            parts.add("younger than " + maxAge);
        }
        return String.join(", ", parts);
    }
}
