package io.ebsreplicator.connector.ebs.model;

import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A request to copy one source snapshot to one or more regions: in full, or incrementally as the
 * change set from {@code baseSnapshotId} written onto each target's copy of that base. With a
 * {@code lineage} (a name the producer gives a volume's snapshots, e.g. the volume id), the job
 * remembers the latest copy of that lineage in each region, and {@code fromLatest} asks for an
 * incremental copy from it (a full copy, with the reason, when there is none). {@code attributes}
 * are the producer's own metadata, not interpreted, echoed into every result of the request; where
 * requests enter (the request validator) they are bounded in size. {@code deadlineMillis} and
 * {@code priority} order the requests waiting to start (earliest deadline first, then higher
 * priority); a request still waiting at its deadline fails with {@code DEADLINE_EXCEEDED}. Stored
 * in enumerator state; see {@code EbsLineageEnumeratorStateSerializer}.
 */
public record ReplicationRequest(
        String requestId,
        String sourceRegion,
        String sourceSnapshotId,
        String baseSnapshotId,
        List<ReplicationTarget> targets,
        String lineage,
        boolean fromLatest,
        Map<String, String> attributes,
        long deadlineMillis,
        int priority)
        implements Serializable {

    /**
     * The attribute that names the source volume, for a DR policy's volume rules (snapshot events
     * set it; EBS reports no volume for snapshots written through its direct APIs).
     */
    public static final String VOLUME_ATTRIBUTE = "volumeId";

    /**
     * The attribute a request planned from a DR policy carries: the rule that planned it. Echoed
     * into its results, so that {@code status} knows each copy's recovery point objective.
     */
    public static final String RULE_ATTRIBUTE = "policyRule";

    /** The {@code deadlineMillis} of a request without a deadline. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;

    public ReplicationRequest {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(sourceRegion, "sourceRegion");
        Objects.requireNonNull(sourceSnapshotId, "sourceSnapshotId");
        targets = List.copyOf(targets);
        attributes =
                attributes == null || attributes.isEmpty()
                        ? Map.of()
                        : Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
        if (fromLatest && (lineage == null || baseSnapshotId != null)) {
            throw new IllegalArgumentException(
                    "copying from the latest replicated snapshot needs a lineage and no base");
        }
    }

    /** Whether the request must be finished by {@link #deadlineMillis()}. */
    public boolean hasDeadline() {
        return deadlineMillis != NO_DEADLINE;
    }

    public boolean incremental() {
        return baseSnapshotId != null;
    }

    /** The same request for other targets (and another base), keeping lineage and attributes. */
    public ReplicationRequest with(String baseSnapshotId, List<ReplicationTarget> targets) {
        return new ReplicationRequest(
                requestId,
                sourceRegion,
                sourceSnapshotId,
                baseSnapshotId,
                targets,
                lineage,
                fromLatest && baseSnapshotId == null,
                attributes,
                deadlineMillis,
                priority);
    }
}
