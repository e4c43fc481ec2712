package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.policy.PolicyRule;
import io.ebsreplicator.connector.ebs.policy.PolicyTarget;
import io.ebsreplicator.connector.ebs.policy.ReplicationPolicy;
import io.ebsreplicator.connector.ebs.policy.Retention;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
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
import java.util.function.BiConsumer;
import java.util.function.BiPredicate;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Applies a policy's retention after a newer copy of a lineage completes in a region: finds the
 * lineage's copies there by their lineage tag (DescribeSnapshots), lets {@link Retention} decide
 * which go, and hands those decisions to the enumerator, which checkpoints each as a deletion split
 * before a reader deletes the copy (or, in a dry run, only reports it). Never the newest copy,
 * never a copy that a copy in flight is written onto (the enumerator passes those in), never a
 * pending one, and never a copy already decided and not yet reported (its deletion is on its way).
 * Each pass starts from what EC2 reports: the passes under way are checkpointed ({@link #running})
 * and run again after a restore, which finishes a pass cut short by a failure. A pass asked for
 * while one of the same lineage and region runs is run once more after it (the copy that asked may
 * be newer than what the running pass listed).
 *
 * <p>Runs on the JobManager, a part of the enumerator: decisions on the coordinator thread (handed
 * back through {@code onCoordinator}), the listing on the proxies' threads. At most one pass per
 * lineage and region at a time, and at most {@link #MAX_DELETIONS_PER_PASS} decisions in one.
 */
final class RetentionPruner {

    private static final Logger LOG = LoggerFactory.getLogger(RetentionPruner.class);

    /** A bound on one pass; a lineage with more to delete loses the rest in its next pass. */
    static final int MAX_DELETIONS_PER_PASS = 100;

    /** The most copies of one lineage a pass reads (far above any retention's keepLast). */
    static final int MAX_COPIES_READ = 10_000;

    private final Function<String, EbsProxy> proxies;
    private final Consumer<Runnable> onCoordinator;
    private final BiPredicate<String, String> alreadyDecided;
    private final BiConsumer<RetentionPass, List<SnapshotDescription>> decided;

    /** The passes under way, by region and lineage. */
    private final Map<String, RetentionPass> running = new LinkedHashMap<>();

    /** A pass to run once more when the one under way for the same key ends. */
    private final Map<String, Runnable> again = new HashMap<>();

    /**
     * @param proxies the proxy of a region
     * @param onCoordinator runs an action on the coordinator thread
     * @param alreadyDecided whether the deletion of a copy (region, snapshot id) is decided and not
     *     yet reported
     * @param decided told, on the coordinator thread, of the copies a pass lets go (oldest first,
     *     none already decided)
     */
    RetentionPruner(
            Function<String, EbsProxy> proxies,
            Consumer<Runnable> onCoordinator,
            BiPredicate<String, String> alreadyDecided,
            BiConsumer<RetentionPass, List<SnapshotDescription>> decided) {
        this.proxies = proxies;
        this.onCoordinator = onCoordinator;
        this.alreadyDecided = alreadyDecided;
        this.decided = decided;
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
                                            decide(
                                                    key,
                                                    pass,
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

    private void decide(String key, RetentionPass pass, List<SnapshotDescription> doomed) {
        List<SnapshotDescription> now = new ArrayList<>();
        for (SnapshotDescription d : doomed) {
            if (now.size() < MAX_DELETIONS_PER_PASS
                    && !alreadyDecided.test(pass.region(), d.snapshotId())) {
                now.add(d);
            }
        }
        if (!now.isEmpty()) {
            decided.accept(pass, now);
        }
        ended(key);
    }
}
