package io.ebsreplicator.connector.ebs.proxy;

import java.util.Map;

/**
 * What StartSnapshot is called with.
 *
 * @param volumeSizeGib the volume size of the source, in GiB
 * @param parentSnapshotId the target's parent for an incremental copy, or {@code null}
 * @param clientToken the deterministic idempotency token (request, region, generation)
 * @param description snapshot description, or {@code null}
 * @param tags tags to put on the snapshot (may be empty)
 * @param encrypted {@code null} to leave it unset (required with a parent), else the flag
 * @param kmsKeyArn the KMS key for an encrypted target, or {@code null}
 * @param timeoutMinutes EBS cancels the snapshot after this long without progress (10..4320)
 */
public record StartSnapshotSpec(
        long volumeSizeGib,
        String parentSnapshotId,
        String clientToken,
        String description,
        Map<String, String> tags,
        Boolean encrypted,
        String kmsKeyArn,
        int timeoutMinutes) {

    public StartSnapshotSpec {
        tags = tags == null ? Map.of() : Map.copyOf(tags);
    }
}
