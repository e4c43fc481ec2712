package io.ebsreplicator.connector.ebs.model;

import java.io.Serializable;
import java.util.Map;
import java.util.Objects;

/**
 * One destination of a replication: a region and, for an incremental copy, the snapshot there that
 * is the copy of the base. Stored in enumerator state; see {@code ReplicationRequestSerializer}.
 *
 * @param region the target region
 * @param parentSnapshotId the target's copy of the base snapshot, or {@code null} for a full copy
 * @param kmsKeyArn encrypt the target with this key (full copies; a child inherits its parent's)
 * @param tags tags for the target snapshot
 * @param description description for the target snapshot, or {@code null}
 * @param roleArn the IAM role the request names to write the target, or {@code null} for the role
 *     configured for the region (or the job's own credentials)
 */
public record ReplicationTarget(
        String region,
        String parentSnapshotId,
        String kmsKeyArn,
        Map<String, String> tags,
        String description,
        String roleArn)
        implements Serializable {

    public ReplicationTarget(
            String region,
            String parentSnapshotId,
            String kmsKeyArn,
            Map<String, String> tags,
            String description) {
        this(region, parentSnapshotId, kmsKeyArn, tags, description, null);
    }

    public ReplicationTarget {
        Objects.requireNonNull(region, "region");
        // Insertion order kept: tags are written to state in a stable order.
        tags =
                tags == null
                        ? Map.of()
                        : java.util.Collections.unmodifiableMap(
                                new java.util.LinkedHashMap<>(tags));
    }

    /** The same target written onto {@code parent}, the copy of the base in its region. */
    public ReplicationTarget withParent(String parent) {
        return new ReplicationTarget(region, parent, kmsKeyArn, tags, description, roleArn);
    }

    /** The same target written as {@code role}. */
    public ReplicationTarget withRole(String role) {
        return new ReplicationTarget(region, parentSnapshotId, kmsKeyArn, tags, description, role);
    }

    public static ReplicationTarget of(String region) {
        return new ReplicationTarget(region, null, null, Map.of(), null);
    }
}
