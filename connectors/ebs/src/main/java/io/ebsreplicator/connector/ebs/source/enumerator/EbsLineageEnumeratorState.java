package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;

import java.util.List;

/**
 * What the enumerator checkpoints: requests not yet resolved into splits (including the one being
 * resolved, which is resolved again after a restore: its StartSnapshot calls are idempotent), and
 * splits not yet assigned to a reader. Serialized by {@link EbsLineageEnumeratorStateSerializer}.
 */
public record EbsLineageEnumeratorState(
        List<PendingRequest> pendingRequests, List<BlockRangeSplit> unassignedSplits) {

    public EbsLineageEnumeratorState {
        pendingRequests = List.copyOf(pendingRequests);
        unassignedSplits = List.copyOf(unassignedSplits);
    }

    /** A request with the time it was accepted (durations and lag are measured from it). */
    public record PendingRequest(ReplicationRequest request, long acceptedMillis) {}
}
