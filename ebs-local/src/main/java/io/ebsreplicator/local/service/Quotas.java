package io.ebsreplicator.local.service;

/**
 * Request-rate and pending-snapshot quotas, per region. The defaults are the EBS direct API
 * defaults: 1,000 GetSnapshotBlock and 1,000 PutSnapshotBlock requests per second per account and
 * per snapshot, 50 ListSnapshotBlocks and 50 ListChangedBlocks per second per account, 10
 * StartSnapshot and 10 CompleteSnapshot per second per account, 100 pending snapshots per account.
 * Each rate allows a burst of one second's worth of requests.
 */
public record Quotas(
        boolean enabled,
        double getPerAccount,
        double getPerSnapshot,
        double putPerAccount,
        double putPerSnapshot,
        double listSnapshotBlocksPerAccount,
        double listChangedBlocksPerAccount,
        double startPerAccount,
        double completePerAccount,
        int pendingSnapshotsPerAccount) {

    public static Quotas defaults() {
        return new Quotas(true, 1000, 1000, 1000, 1000, 50, 50, 10, 10, 100);
    }

    /** No rate or pending limits: for throughput benchmarks of ebs-local itself. */
    public static Quotas unlimited() {
        return new Quotas(false, 0, 0, 0, 0, 0, 0, 0, 0, Integer.MAX_VALUE);
    }

    /** Every rate multiplied by {@code factor}; the pending-snapshot limit is unchanged. */
    public Quotas scaled(double factor) {
        return new Quotas(
                enabled,
                getPerAccount * factor,
                getPerSnapshot * factor,
                putPerAccount * factor,
                putPerSnapshot * factor,
                listSnapshotBlocksPerAccount * factor,
                listChangedBlocksPerAccount * factor,
                startPerAccount * factor,
                completePerAccount * factor,
                pendingSnapshotsPerAccount);
    }

    public Quotas withPendingSnapshotsPerAccount(int limit) {
        return new Quotas(
                enabled,
                getPerAccount,
                getPerSnapshot,
                putPerAccount,
                putPerSnapshot,
                listSnapshotBlocksPerAccount,
                listChangedBlocksPerAccount,
                startPerAccount,
                completePerAccount,
                limit);
    }
}
