package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the enumerator checkpoints: requests not yet resolved into splits (including those being
 * resolved, which are resolved again after a restore: their StartSnapshot calls are idempotent),
 * splits not yet assigned to a reader, the target snapshots it watches until EBS lets them go, the
 * completed copies of each lineage, in a long-running job the intake's position after the last
 * message taken (stream to next offset) with the request ids accepted recently, so a replayed or
 * duplicated id is replicated once, and under a DR policy each lineage's recovery point per target
 * region (so the RPO gauges are right after a restore) and the retention passes under way (run
 * again after a restore, so a pass cut short by a failure is finished) with the copy deletions
 * decided and not yet reported finished (their splits are unassigned here or held by readers, so a
 * pass does not decide them again). Serialized by {@link EbsLineageEnumeratorStateSerializer}.
 *
 * <p>{@code acceptedIds} is the enumerator's own memory, not a copy: the state is serialized on the
 * coordinator thread right after it is taken, before anything changes it, and copying a million ids
 * at every checkpoint would cost more than writing them.
 */
public record EbsLineageEnumeratorState(
        List<PendingRequest> pendingRequests,
        List<LineageSplit> unassignedSplits,
        List<WatchedTarget> watchedTargets,
        Map<String, Long> intakePositions,
        AcceptedRequestIds acceptedIds,
        Map<String, List<LineageCopy>> lineageCopies,
        Map<String, RecoveryPoint> recoveryPoints,
        List<RetentionPass> retentionPasses,
        List<String> deletionsInFlight) {

    /** A state without copy deletions in flight. */
    public EbsLineageEnumeratorState(
            List<PendingRequest> pendingRequests,
            List<LineageSplit> unassignedSplits,
            List<WatchedTarget> watchedTargets,
            Map<String, Long> intakePositions,
            AcceptedRequestIds acceptedIds,
            Map<String, List<LineageCopy>> lineageCopies,
            Map<String, RecoveryPoint> recoveryPoints,
            List<RetentionPass> retentionPasses) {
        this(
                pendingRequests,
                unassignedSplits,
                watchedTargets,
                intakePositions,
                acceptedIds,
                lineageCopies,
                recoveryPoints,
                retentionPasses,
                List.of());
    }

    /** A state without recovery points and retention passes (no DR policy, or no copy yet). */
    public EbsLineageEnumeratorState(
            List<PendingRequest> pendingRequests,
            List<LineageSplit> unassignedSplits,
            List<WatchedTarget> watchedTargets,
            Map<String, Long> intakePositions,
            AcceptedRequestIds acceptedIds,
            Map<String, List<LineageCopy>> lineageCopies) {
        this(
                pendingRequests,
                unassignedSplits,
                watchedTargets,
                intakePositions,
                acceptedIds,
                lineageCopies,
                Map.of(),
                List.of());
    }

    public EbsLineageEnumeratorState {
        retentionPasses = List.copyOf(retentionPasses);
        deletionsInFlight = List.copyOf(deletionsInFlight);
        recoveryPoints = Collections.unmodifiableMap(new LinkedHashMap<>(recoveryPoints));
        Map<String, List<LineageCopy>> copies = new LinkedHashMap<>();
        lineageCopies.forEach((k, v) -> copies.put(k, List.copyOf(v)));
        lineageCopies = Collections.unmodifiableMap(copies);
        pendingRequests = List.copyOf(pendingRequests);
        unassignedSplits = List.copyOf(unassignedSplits);
        watchedTargets = List.copyOf(watchedTargets);
        intakePositions = Collections.unmodifiableMap(new LinkedHashMap<>(intakePositions));
        Objects.requireNonNull(acceptedIds, "acceptedIds");
    }

    /** Nothing pending, assigned, watched or taken yet. */
    public static EbsLineageEnumeratorState empty() {
        return ofRequests(List.of());
    }

    /** Only requests to resolve: the state of a bounded job before it starts. */
    public static EbsLineageEnumeratorState ofRequests(List<PendingRequest> pendingRequests) {
        return new EbsLineageEnumeratorState(
                pendingRequests,
                List.of(),
                List.of(),
                Map.of(),
                new AcceptedRequestIds(),
                Map.of());
    }

    /**
     * A completed copy of a lineage's snapshot in a target region, kept (the last few per lineage,
     * source region and target region, oldest first) so that the next request of the lineage can be
     * copied incrementally onto it.
     */
    public record LineageCopy(
            String sourceSnapshotId, String targetSnapshotId, long sourceStartMillis) {}

    /**
     * The newest copy of a lineage in a target region made under a DR policy, keyed like the
     * lineage copies ({@link LineageBook#key}): when it completed, and the rule that made it (whose
     * {@code rpo} is its objective, looked up in the policy in use after a restore).
     */
    public record RecoveryPoint(long completedMillis, String rule) {
        public RecoveryPoint {
            Objects.requireNonNull(rule, "rule");
        }
    }

    /**
     * A retention pass of a lineage in a target region, under the rule that made its newest copy.
     * Checkpointed while it runs; after a restore it runs again (a deletion repeated answers
     * "already gone", so running it twice deletes nothing twice).
     */
    public record RetentionPass(String sourceRegion, String lineage, String region, String rule) {
        public RetentionPass {
            Objects.requireNonNull(sourceRegion, "sourceRegion");
            Objects.requireNonNull(lineage, "lineage");
            Objects.requireNonNull(region, "region");
            Objects.requireNonNull(rule, "rule");
        }
    }

    /**
     * A request with the time it was accepted (durations and lag are measured from it) and the
     * generation of target snapshots to start for it: 0 at first; a replacement of targets that EBS
     * cancelled carries only their regions and the next generation.
     */
    public record PendingRequest(ReplicationRequest request, long acceptedMillis, int generation) {}

    /**
     * A target snapshot started and not yet let go by EBS, watched with DescribeSnapshots (see
     * {@link TargetWatcher}): {@code openSplits} are the ids of its splits that no reader has
     * finished yet; {@code readingFinishedMillis} is when the last one finished (0 while some are
     * open); {@code sourceStartMillis} orders the copy in its lineage (0 when unknown).
     */
    public record WatchedTarget(
            ReplicationRequest request,
            long acceptedMillis,
            int generation,
            String region,
            String targetSnapshotId,
            List<String> openSplits,
            long readingFinishedMillis,
            long sourceStartMillis) {

        public WatchedTarget {
            openSplits = List.copyOf(openSplits);
        }
    }
}
