package io.ebsreplicator.connector.ebs.source.split;

import java.util.Objects;

/**
 * A copy that a DR policy's retention decided to delete: the decision, checkpointed before the
 * deletion runs, so that a restore neither loses its report nor deletes a copy the retention keeps.
 * A reader runs EC2 DeleteSnapshot in the copy's region (as {@code roleArn}) and emits one {@link
 * io.ebsreplicator.connector.ebs.model.CopyDeletion}; a copy already gone counts as done. Created
 * by the enumerator on the JobManager.
 *
 * @param region the region of the copy
 * @param roleArn the IAM role that writes (and prunes) targets there; {@code null}: the job's own
 *     credentials
 * @param sourceRegion the region of the lineage's source snapshots
 * @param lineage the lineage the copy belongs to
 * @param rule the policy rule whose retention let the copy go
 * @param snapshotId the copy to delete
 * @param copyStartMillis when the copy was started
 * @param decidedMillis when the retention decided to delete it
 * @param dryRun report what would be deleted, delete nothing
 */
public record CopyDeletionSplit(
        String region,
        String roleArn,
        String sourceRegion,
        String lineage,
        String rule,
        String snapshotId,
        long copyStartMillis,
        long decidedMillis,
        boolean dryRun)
        implements LineageSplit {

    public CopyDeletionSplit {
        Objects.requireNonNull(region, "region");
        Objects.requireNonNull(sourceRegion, "sourceRegion");
        Objects.requireNonNull(lineage, "lineage");
        Objects.requireNonNull(rule, "rule");
        Objects.requireNonNull(snapshotId, "snapshotId");
    }

    /** The id of the deletion of {@code snapshotId} in {@code region}: one per copy. */
    public static String idOf(String region, String snapshotId) {
        return "retention/" + region + "/" + snapshotId;
    }

    @Override
    public String splitId() {
        return idOf(region, snapshotId);
    }
}
