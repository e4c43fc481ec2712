package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the enumerator checkpoints: requests not yet resolved into splits (including the one being
 * resolved, which is resolved again after a restore: its StartSnapshot calls are idempotent),
 * splits not yet assigned to a reader, the target snapshots it watches for a cancellation, and in a
 * long-running job the intake's position after the last message taken (stream to next offset) with
 * the request ids accepted recently (id to accepted time), so a replayed or duplicated id is
 * replicated once. Serialized by {@link EbsLineageEnumeratorStateSerializer}.
 */
public record EbsLineageEnumeratorState(
        List<PendingRequest> pendingRequests,
        List<LineageSplit> unassignedSplits,
        List<WatchedTarget> watchedTargets,
        Map<String, Long> intakePositions,
        Map<String, Long> acceptedRequests,
        Map<String, List<LineageCopy>> lineageCopies) {

    public EbsLineageEnumeratorState {
        Map<String, List<LineageCopy>> copies = new LinkedHashMap<>();
        lineageCopies.forEach((k, v) -> copies.put(k, List.copyOf(v)));
        lineageCopies = Collections.unmodifiableMap(copies);
        pendingRequests = List.copyOf(pendingRequests);
        unassignedSplits = List.copyOf(unassignedSplits);
        watchedTargets = List.copyOf(watchedTargets);
        intakePositions = Collections.unmodifiableMap(new LinkedHashMap<>(intakePositions));
        acceptedRequests = Collections.unmodifiableMap(new LinkedHashMap<>(acceptedRequests));
    }

    /** Nothing pending, assigned, watched or taken yet. */
    public static EbsLineageEnumeratorState empty() {
        return ofRequests(List.of());
    }

    /** Only requests to resolve: the state of a bounded job before it starts. */
    public static EbsLineageEnumeratorState ofRequests(List<PendingRequest> pendingRequests) {
        return new EbsLineageEnumeratorState(
                pendingRequests, List.of(), List.of(), Map.of(), Map.of(), Map.of());
    }

    /**
     * A completed copy of a lineage's snapshot in a target region, kept (the last few per lineage,
     * source region and target region, oldest first) so that the next request of the lineage can be
     * copied incrementally onto it.
     */
    public record LineageCopy(
            String sourceSnapshotId, String targetSnapshotId, long sourceStartMillis) {}

    /** The key of {@code lineageCopies}. */
    public static String lineageKey(String sourceRegion, String lineage, String targetRegion) {
        return sourceRegion + "\n" + lineage + "\n" + targetRegion;
    }

    /**
     * A request with the time it was accepted (durations and lag are measured from it) and the
     * generation of target snapshots to start for it: 0 at first; a replacement of targets that EBS
     * cancelled carries only their regions and the next generation.
     */
    public record PendingRequest(ReplicationRequest request, long acceptedMillis, int generation) {}

    /**
     * A target snapshot being written, watched with DescribeSnapshots so that a cancellation by its
     * Timeout is noticed while its splits are still read: {@code openSplits} are the ids of its
     * splits that no reader has finished yet; {@code readingFinishedMillis} is when the last one
     * finished (0 while some are open).
     */
    public record WatchedTarget(
            ReplicationRequest request,
            long acceptedMillis,
            int generation,
            String region,
            String targetSnapshotId,
            List<String> openSplits,
            long readingFinishedMillis) {

        public WatchedTarget {
            openSplits = List.copyOf(openSplits);
        }
    }
}
