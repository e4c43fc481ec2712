package io.ebsreplicator.connector.ebs.proxy;

/**
 * What an EC2 DeleteSnapshot came to. A snapshot that is already gone counts as deleted for a
 * caller that prunes (its earlier attempt may have succeeded before a failover), but the two are
 * told apart so that a report can say which one it was. Used wherever a proxy runs.
 */
public enum SnapshotDeletion {
    /** EC2 accepted the deletion now. */
    DELETED,
    /**
     * EC2 answered {@code InvalidSnapshot.NotFound}: deleted before (by an earlier attempt, or by
     * someone else), or never visible to this account.
     */
    ALREADY_GONE
}
