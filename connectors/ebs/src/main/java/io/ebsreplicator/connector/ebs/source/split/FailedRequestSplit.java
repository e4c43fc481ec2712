package io.ebsreplicator.connector.ebs.source.split;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;

import java.util.List;
import java.util.Objects;

/**
 * A request that failed for some of its target regions before any of their blocks were listed:
 * invalid, its source unreadable, its targets not startable, or replaced too often. Its reader
 * emits the failure once, which ends in one failure result per region. Created by the enumerator on
 * the JobManager.
 *
 * @param requestId the request
 * @param sourceRegion the request's source region
 * @param sourceSnapshotId the request's source snapshot
 * @param targetRegions the regions the request failed for
 * @param failure why, with the reason decided where the failure was found
 * @param requestStartMillis when the request was accepted, for durations
 * @param generation the target generation that failed (see {@link BlockRangeSplit#generation()})
 * @param copyInfo how the request was to be copied, at least its attributes; {@code null} in splits
 *     of checkpoints older than copy info
 */
public record FailedRequestSplit(
        String requestId,
        String sourceRegion,
        String sourceSnapshotId,
        List<String> targetRegions,
        Failure failure,
        long requestStartMillis,
        int generation,
        CopyInfo copyInfo)
        implements LineageSplit {

    public FailedRequestSplit {
        Objects.requireNonNull(requestId, "requestId");
        Objects.requireNonNull(sourceRegion, "sourceRegion");
        Objects.requireNonNull(sourceSnapshotId, "sourceSnapshotId");
        targetRegions = List.copyOf(targetRegions);
        Objects.requireNonNull(failure, "failure");
    }

    /** The failure of {@code request} (of target {@code generation}) for {@code regions}. */
    public static FailedRequestSplit of(
            ReplicationRequest request,
            List<String> regions,
            Failure failure,
            long acceptedMillis,
            int generation,
            CopyInfo copyInfo) {
        return new FailedRequestSplit(
                request.requestId(),
                request.sourceRegion(),
                request.sourceSnapshotId(),
                regions,
                failure,
                acceptedMillis,
                generation,
                copyInfo);
    }

    @Override
    public String splitId() {
        // Shares index 0 with the request's first range, hence the mark.
        return requestId
                + "#0"
                + LineageSplit.generationSuffix(generation, targetRegions)
                + "!failed";
    }

    /** The same failure, with how its request was to be copied. */
    public FailedRequestSplit withCopyInfo(CopyInfo info) {
        return new FailedRequestSplit(
                requestId,
                sourceRegion,
                sourceSnapshotId,
                targetRegions,
                failure,
                requestStartMillis,
                generation,
                info);
    }
}
