package io.ebsreplicator.connector.ebs.proxy;

import java.time.Instant;

/**
 * A proxy that can be told of a snapshot another process started (the enumerator starts targets on
 * the JobManager; the copier and completion write to them on the TaskManagers), so that "snapshot
 * does not exist" answers to its PutSnapshotBlock and CompleteSnapshot calls on that snapshot are
 * retried during the new-snapshot grace, while EBS makes the snapshot visible everywhere. A proxy
 * records the snapshots it starts itself; only the writers of snapshots started elsewhere need to
 * tell it.
 *
 * <p>Not part of {@link EbsProxy}: it feeds the retrying caller's classification, it is not an EBS
 * call. Proxies without a grace (those that make no remote calls) need not implement it.
 */
public interface NewSnapshotAware {

    /**
     * {@code snapshotId} was started at {@code startTime} (a time ahead of this machine's clock
     * counts from now, so the grace stays bounded).
     */
    void snapshotStarted(String snapshotId, Instant startTime);

    /** Tells {@code proxy} that {@code snapshotId} was started, if it keeps a grace at all. */
    static void tell(EbsProxy proxy, String snapshotId, Instant startTime) {
        if (proxy instanceof NewSnapshotAware aware) {
            aware.snapshotStarted(snapshotId, startTime);
        }
    }
}
