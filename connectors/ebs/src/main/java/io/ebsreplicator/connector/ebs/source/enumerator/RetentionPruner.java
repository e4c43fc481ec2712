package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.policy.PolicyRule;
import io.ebsreplicator.connector.ebs.policy.PolicyTarget;
import io.ebsreplicator.connector.ebs.policy.ReplicationPolicy;
import io.ebsreplicator.connector.ebs.policy.Retention;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDeletion;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.RetentionPass;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Applies a policy's retention after a newer copy of a lineage completes in a region: finds the
 * lineage's copies there by their lineage tag (DescribeSnapshots), lets {@link Retention} decide
 * which go, and deletes them (or only logs them in a dry run). Never the newest copy, never a copy
 * that a copy in flight is written onto (the enumerator passes those in), never a pending one. Each
 * pass starts from what EC2 reports, and a deletion repeated after a failover answers "already
 * gone", so passes are idempotent: the passes under way are checkpointed ({@link #running}) and run
 * again after a restore, which finishes a pass cut short by a failure. A pass asked for while one
 * of the same lineage and region runs is run once more after it (the copy that asked may be newer
 * than what the running pass listed).
 *
 * <p>Runs on the JobManager, a part of the enumerator: decisions on the coordinator thread (handed
 * back through {@code onCoordinator}), the EC2 calls on the proxies' threads. At most one pass per
 * lineage and region at a time, and at most {@link #MAX_DELETIONS_PER_PASS} deletions in one.
 */
final class RetentionPruner {

    private static final Logger LOG = LoggerFactory.getLogger(RetentionPruner.class);

    /** A bound on one pass; a lineage with more to delete loses the rest in its next pass. */
    static final int MAX_DELETIONS_PER_PASS = 100;

    /** The most copies of one lineage a pass reads (far above any retention's keepLast). */
    static final int MAX_COPIES_READ = 10_000;

    /** What became of one copy the retention let go. */
    enum Deleted {
        DELETED,
        ALREADY_GONE,
        DRY_RUN,
        FAILED
    }

    /** One deletion, as reported: the copy, its lineage and region, and how it ended. */
    record Deletion(String region, String lineage, String snapshotId, Deleted outcome) {}

    private final Function<String, EbsProxy> proxies;
    private final Consumer<Runnable> onCoordinator;
    private final boolean dryRun;
    private final Consumer<Deletion> report;

    /** The passes under way, by region and lineage. */
    private final Map<String, RetentionPass> running = new LinkedHashMap<>();

    /** A pass to run once more when the one under way for the same key ends. */
    private final Map<String, Runnable> again = new HashMap<>();

    /**
     * @param proxies the proxy of a region
     * @param onCoordinator runs an action on the coordinator thread
     * @param dryRun only log what would be deleted
     * @param report told of every deletion, on the coordinator thread
     */
    RetentionPruner(
            Function<String, EbsProxy> proxies,
            Consumer<Runnable> onCoordinator,
            boolean dryRun,
            Consumer<Deletion> report) {
        this.proxies = proxies;
        this.onCoordinator = onCoordinator;
        this.dryRun = dryRun;
        this.report = report;
    }

    /** The retention of {@code rule}'s target in {@code region} under {@code policy}, or null. */
    static Retention retention(ReplicationPolicy policy, String rule, String region) {
        PolicyRule r = rule == null ? null : policy.rule(rule);
        PolicyTarget t = r == null ? null : r.target(region);
        return t == null ? null : t.retention();
    }

    /** The passes under way, for a checkpoint. */
    List<RetentionPass> running() {
        return List.copyOf(running.values());
    }

    /**
     * Starts a pass for {@code pass}'s lineage in its region (on the coordinator thread); {@code
     * protect} says, when the copies are known, which must stay (parents of copies in flight).
     */
    void prune(
            RetentionPass pass,
            Retention retention,
            Function<String, Set<String>> protect,
            Instant now) {
        String region = pass.region();
        String lineage = pass.lineage();
        String key = region + "\n" + lineage;
        if (running.containsKey(key)) {
            again.put(key, () -> prune(pass, retention, protect, now));
            return;
        }
        running.put(key, pass);
        proxies.apply(region)
                .describeSnapshotsByTagAsync(PolicyRule.LINEAGE_TAG, lineage, MAX_COPIES_READ)
                .whenComplete(
                        (copies, error) ->
                                onCoordinator.accept(
                                        () -> {
                                            if (error != null) {
                                                ended(key);
                                                LOG.warn(
                                                        "Retention of lineage {} in {}: the copies"
                                                                + " could not be listed; the lineage's"
                                                                + " next pass tries again: {}",
                                                        lineage,
                                                        region,
                                                        error.toString());
                                                return;
                                            }
                                            delete(
                                                    key,
                                                    region,
                                                    lineage,
                                                    retention.toDelete(
                                                            copies, now, protect.apply(region)));
                                        }));
    }

    /** A pass ended: the one asked for meanwhile, if any, runs now. */
    private void ended(String key) {
        running.remove(key);
        Runnable next = again.remove(key);
        if (next != null) {
            next.run();
        }
    }

    private void delete(
            String key, String region, String lineage, List<SnapshotDescription> doomed) {
        List<SnapshotDescription> now =
                doomed.subList(0, Math.min(doomed.size(), MAX_DELETIONS_PER_PASS));
        if (now.isEmpty()) {
            ended(key);
            return;
        }
        if (dryRun) {
            for (SnapshotDescription d : now) {
                LOG.info(
                        "Retention (dry run) of lineage {} in {} would delete {} (started {})",
                        lineage,
                        region,
                        d.snapshotId(),
                        d.startTime());
                report.accept(new Deletion(region, lineage, d.snapshotId(), Deleted.DRY_RUN));
            }
            ended(key);
            return;
        }
        List<CompletableFuture<Void>> calls = new ArrayList<>();
        EbsProxy proxy = proxies.apply(region);
        for (SnapshotDescription d : now) {
            calls.add(
                    proxy.deleteSnapshotAsync(d.snapshotId())
                            .handle(
                                    (outcome, error) -> {
                                        onCoordinator.accept(
                                                () -> deleted(region, lineage, d, outcome, error));
                                        return null;
                                    }));
        }
        CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new))
                .whenComplete((v, e) -> onCoordinator.accept(() -> ended(key)));
    }

    private void deleted(
            String region,
            String lineage,
            SnapshotDescription d,
            SnapshotDeletion outcome,
            Throwable error) {
        Deleted how =
                error != null
                        ? Deleted.FAILED
                        : outcome == SnapshotDeletion.DELETED
                                ? Deleted.DELETED
                                : Deleted.ALREADY_GONE;
        if (error != null) {
            LOG.warn(
                    "Retention of lineage {} in {}: deleting {} failed; the lineage's next pass"
                            + " tries again: {}",
                    lineage,
                    region,
                    d.snapshotId(),
                    error.toString());
        } else {
            LOG.info(
                    "Retention of lineage {} in {}: {} (started {}) {}",
                    lineage,
                    region,
                    d.snapshotId(),
                    d.startTime(),
                    how == Deleted.DELETED ? "deleted" : "was already gone");
        }
        report.accept(new Deletion(region, lineage, d.snapshotId(), how));
    }
}
