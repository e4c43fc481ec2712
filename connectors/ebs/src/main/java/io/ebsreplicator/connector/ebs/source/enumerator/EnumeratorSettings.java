package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.policy.PolicyFile;

import org.apache.flink.configuration.Configuration;

import java.io.Serializable;
import java.time.Duration;

/**
 * How the enumerator works, from the job's options: how requests are cut into splits, the targets'
 * StartSnapshot Timeout, how targets are watched, how many may be pending per region, the start
 * order, and how long a request waits for room in a full region. Immutable and serializable: it
 * travels with the source from the client to the JobManager.
 *
 * @param splitsPerRequest the most splits one request is cut into; 0 for four per reader
 * @param minSplitBlocks the smallest block range worth a split
 * @param targetTimeout StartSnapshot Timeout of the targets (EBS: 10 minutes to 3 days)
 * @param watch how often targets are described while read, the grace, the generations allowed
 * @param sealInterval how often targets whose blocks are all read are described
 * @param maxPending the most targets pending at once per region
 * @param order the order in which ready requests start
 * @param newSnapshotGrace how long a new snapshot may be missing from DescribeSnapshots
 * @param quotaWait how long a request waits for room when StartSnapshot meets the account's
 *     pending-snapshot quota before it fails with QUOTA_EXCEEDED
 * @param policy the DR policy file that plans requests without targets, or {@code null}
 * @param policyReloadInterval how often the policy file is read again
 * @param retentionDryRun only log the copies the policy's retention would delete
 */
public record EnumeratorSettings(
        int splitsPerRequest,
        int minSplitBlocks,
        Duration targetTimeout,
        TargetWatchSettings watch,
        Duration sealInterval,
        int maxPending,
        RequestQueue.Order order,
        Duration newSnapshotGrace,
        Duration quotaWait,
        PolicyFile policy,
        Duration policyReloadInterval,
        boolean retentionDryRun)
        implements Serializable {

    public EnumeratorSettings {
        if (maxPending < 1) {
            throw new IllegalArgumentException("max pending targets must be >= 1: " + maxPending);
        }
        if (policyReloadInterval.isNegative() || policyReloadInterval.isZero()) {
            throw new IllegalArgumentException(
                    "policy reload interval must be positive: " + policyReloadInterval);
        }
        if (sealInterval.isNegative() || sealInterval.isZero()) {
            throw new IllegalArgumentException("seal interval must be positive: " + sealInterval);
        }
    }

    /** The settings of the job's options ({@link EbsReplicationOptions}). */
    public static EnumeratorSettings of(Configuration options) {
        return new EnumeratorSettings(
                options.get(EbsReplicationOptions.SPLITS_PER_REQUEST),
                options.get(EbsReplicationOptions.MIN_SPLIT_BLOCKS),
                options.get(EbsReplicationOptions.TARGET_TIMEOUT),
                new TargetWatchSettings(
                        options.get(EbsReplicationOptions.TARGET_WATCH_INTERVAL),
                        options.get(EbsReplicationOptions.TARGET_WATCH_GRACE),
                        options.get(EbsReplicationOptions.TARGET_MAX_GENERATIONS)),
                options.get(EbsReplicationOptions.TARGET_SEAL_INTERVAL),
                options.get(EbsReplicationOptions.TARGET_MAX_PENDING),
                options.get(EbsReplicationOptions.SCHEDULING_ORDER),
                options.get(EbsReplicationOptions.NEW_SNAPSHOT_GRACE),
                options.get(EbsReplicationOptions.TARGET_QUOTA_WAIT),
                options.getOptional(EbsReplicationOptions.POLICY_FILE)
                        .map(PolicyFile::new)
                        .orElse(null),
                options.get(EbsReplicationOptions.POLICY_RELOAD_INTERVAL),
                options.get(EbsReplicationOptions.RETENTION_DRY_RUN));
    }

    /** The defaults of every option. */
    public static EnumeratorSettings defaults() {
        return of(new Configuration());
    }

    /** Splits per request with {@code parallelism} readers. */
    int splitsPerRequest(int parallelism) {
        return splitsPerRequest > 0 ? splitsPerRequest : 4 * Math.max(1, parallelism);
    }

    /** The StartSnapshot Timeout in minutes, within what EBS accepts. */
    int timeoutMinutes() {
        return (int) Math.max(10, Math.min(4320, targetTimeout.toMinutes()));
    }

    public EnumeratorSettings withWatch(TargetWatchSettings w) {
        return new EnumeratorSettings(
                splitsPerRequest,
                minSplitBlocks,
                targetTimeout,
                w,
                sealInterval,
                maxPending,
                order,
                newSnapshotGrace,
                quotaWait,
                policy,
                policyReloadInterval,
                retentionDryRun);
    }
}
