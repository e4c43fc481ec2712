package io.ebsreplicator.connector.ebs.policy;

import java.util.Map;

/**
 * What a policy rule can select a source snapshot by: its region and id, the volume it was taken
 * from ({@code null} when unknown: snapshots written through the EBS direct APIs have none), the
 * lineage the request names, and the snapshot's tags and description as EC2 DescribeSnapshots
 * reports them. Built on the JobManager when a request without targets is planned.
 */
public record SourceFacts(
        String sourceRegion,
        String snapshotId,
        String volumeId,
        String lineage,
        Map<String, String> tags,
        String description) {

    /** The volume id EC2 reports for a snapshot that was not taken from a volume. */
    public static final String NO_VOLUME = "vol-ffffffff";

    public SourceFacts {
        tags = tags == null ? Map.of() : Map.copyOf(tags);
        if (NO_VOLUME.equals(volumeId)) {
            volumeId = null;
        }
    }
}
