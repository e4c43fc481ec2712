package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.DescribeBatcher;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.enumerator.LineageBook.Base;
import io.ebsreplicator.connector.ebs.source.enumerator.LineageBook.LineagePlan;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * Plans a request into its splits without waiting on any thread: for a request that copies from the
 * latest replicated snapshot of its lineage, chooses the base (the newest snapshot of the lineage
 * that started before the source and whose copy completed in every target region, still there),
 * falls back to a full copy with the reason when there is none or EBS says the base is not an
 * ancestor; then has {@link RequestResolver} start the targets and cut the ranges. Attaches how the
 * request is copied ({@link CopyInfo}) to every split.
 *
 * <p>Runs on the proxies' threads, as the futures of its calls complete; the lineage plan it is
 * given is an immutable view taken on the coordinator thread. Holds no state of its own.
 */
final class RequestPlanner {

    private static final Logger LOG = LoggerFactory.getLogger(RequestPlanner.class);

    /** What a request was planned into. */
    record Planned(List<LineageSplit> splits, long sourceStartMillis) {}

    private final RequestResolver resolver;
    private final BiFunction<String, String, DescribeBatcher> describers;
    private final EbsProxyFactory roles;

    /**
     * @param resolver starts targets and cuts ranges
     * @param describers the DescribeSnapshots batcher of a region as a role ({@code null}: the
     *     job's own credentials)
     * @param roles which roles read the sources and write the targets
     */
    RequestPlanner(
            RequestResolver resolver,
            BiFunction<String, String, DescribeBatcher> describers,
            EbsProxyFactory roles) {
        this.roles = roles;
        this.resolver = resolver;
        this.describers = describers;
    }

    /**
     * Plans {@code p}; {@code lineage} is the view of its lineage's copies for a request that
     * copies from the latest replicated snapshot, else {@code null}. Completes exceptionally as
     * {@link RequestResolver#resolveAsync} does. {@code startGate} gives leave to start the targets
     * (see {@link RequestResolver#resolveAsync}): what follows waits on the target regions.
     */
    CompletableFuture<Planned> plan(
            PendingRequest p, LineagePlan lineage, Supplier<CompletableFuture<Void>> startGate) {
        ReplicationRequest r = p.request();
        if (lineage == null) {
            return resolver.resolveAsync(r, p.acceptedMillis(), p.generation(), startGate)
                    .thenApply(splits -> new Planned(withInfo(splits, CopyInfo.of(r)), 0));
        }
        return describers
                .apply(r.sourceRegion(), roles.sourceRoleArn())
                .describe(r.sourceSnapshotId())
                .thenCompose(
                        source -> {
                            Instant start = source == null ? null : source.startTime();
                            long startMillis = start == null ? 0 : start.toEpochMilli();
                            Base base = lineage.chooseBase(r.sourceSnapshotId(), start);
                            if (base == null) {
                                return full(
                                        p,
                                        startGate,
                                        "no earlier snapshot of lineage '"
                                                + r.lineage()
                                                + "' has a completed copy in every target region",
                                        startMillis);
                            }
                            return incremental(p, base, startMillis, startGate);
                        });
    }

    private CompletableFuture<Planned> incremental(
            PendingRequest p,
            Base base,
            long startMillis,
            Supplier<CompletableFuture<Void>> startGate) {
        ReplicationRequest r = p.request();
        return checkParents(base, r)
                .thenCompose(
                        problem -> {
                            if (problem != null) {
                                return full(p, startGate, problem, startMillis);
                            }
                            List<ReplicationTarget> targets = new ArrayList<>();
                            for (ReplicationTarget t : r.targets()) {
                                targets.add(t.withParent(base.parents().get(t.region())));
                            }
                            ReplicationRequest incremental = r.with(base.snapshotId(), targets);
                            return resolver.resolveAsync(
                                            incremental,
                                            p.acceptedMillis(),
                                            p.generation(),
                                            startGate)
                                    .thenApply(
                                            splits ->
                                                    new Planned(
                                                            withInfo(
                                                                    splits,
                                                                    CopyInfo.of(incremental)),
                                                            startMillis))
                                    .exceptionallyCompose(
                                            e -> {
                                                Failure f = Failure.of(e);
                                                if (f.reason() != FailureReason.UNRELATED_BASE) {
                                                    return CompletableFuture.failedFuture(e);
                                                }
                                                return full(
                                                        p,
                                                        startGate,
                                                        "the last replicated snapshot "
                                                                + base.snapshotId()
                                                                + " is not in the lineage of "
                                                                + r.sourceSnapshotId(),
                                                        startMillis);
                                            });
                        });
    }

    /** A full copy of {@code p}'s request, telling why it is not incremental. */
    private CompletableFuture<Planned> full(
            PendingRequest p,
            Supplier<CompletableFuture<Void>> startGate,
            String fallback,
            long startMillis) {
        ReplicationRequest r = p.request();
        LOG.info("Request {} is copied in full: {}", r.requestId(), fallback);
        CopyInfo info = CopyInfo.of(r).withFallback(fallback);
        return resolver.resolveAsync(r, p.acceptedMillis(), p.generation(), startGate)
                .thenApply(splits -> new Planned(withInfo(splits, info), startMillis));
    }

    /**
     * Why the base's copies cannot be parents (one is gone or not completed), or {@code null} when
     * all are completed. A transient failure to ask fails the whole plan, which is tried again.
     */
    private CompletableFuture<String> checkParents(Base base, ReplicationRequest r) {
        List<CompletableFuture<String>> problems = new ArrayList<>();
        for (Map.Entry<String, String> e : base.parents().entrySet()) {
            problems.add(
                    describers
                            .apply(e.getKey(), RequestResolver.targetRole(r, e.getKey(), roles))
                            .describe(e.getValue())
                            .handle(
                                    (d, error) -> {
                                        if (error != null && retryable(error)) {
                                            throw new CompletionException(error);
                                        }
                                        // A parent EBS refuses to describe is as good as gone.
                                        return parentProblem(
                                                base,
                                                e.getKey(),
                                                e.getValue(),
                                                error == null ? d : null);
                                    }));
        }
        return CompletableFuture.allOf(problems.toArray(CompletableFuture[]::new))
                .thenApply(
                        v -> {
                            for (CompletableFuture<String> f : problems) {
                                if (f.join() != null) {
                                    return f.join();
                                }
                            }
                            return null;
                        });
    }

    private static String parentProblem(
            Base base, String region, String parent, SnapshotDescription d) {
        if (d != null && d.completed()) {
            return null;
        }
        return "the copy "
                + parent
                + " of "
                + base.snapshotId()
                + " in "
                + region
                + " is "
                + (d == null ? "missing" : d.status());
    }

    private static List<LineageSplit> withInfo(List<LineageSplit> splits, CopyInfo info) {
        List<LineageSplit> out = new ArrayList<>(splits.size());
        for (LineageSplit s : splits) {
            if (s instanceof BlockRangeSplit range) {
                // The roles were decided when the targets were started.
                out.add(range.withCopyInfo(info.withRoles(range.targets().roleByRegion())));
            } else if (s instanceof FailedRequestSplit failed) {
                out.add(failed.withCopyInfo(info));
            } else {
                out.add(s);
            }
        }
        return out;
    }

    private static boolean retryable(Throwable error) {
        return EbsErrorClassifier.unwrap(error) instanceof EbsProxyException p
                && p.kind() != EbsProxyException.Kind.FATAL;
    }
}
