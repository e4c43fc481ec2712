package io.ebsreplicator.local.service;

import java.util.List;

/**
 * The members of a StartSnapshot request as they arrived. {@code encryptedPresent} records whether
 * the member was sent at all, because EBS rejects {@code Encrypted} together with {@code
 * ParentSnapshotId} whatever its value.
 */
public record StartSnapshotParams(
        Long volumeSize,
        String parentSnapshotId,
        List<Tag> tags,
        String description,
        String clientToken,
        boolean encryptedPresent,
        boolean encrypted,
        String kmsKeyArn,
        Integer timeout) {}
