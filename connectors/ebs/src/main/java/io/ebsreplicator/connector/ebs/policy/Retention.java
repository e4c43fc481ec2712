package io.ebsreplicator.connector.ebs.policy;

import java.time.Duration;

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
