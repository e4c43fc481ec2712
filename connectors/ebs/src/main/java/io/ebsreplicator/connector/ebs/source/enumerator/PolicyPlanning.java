package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.policy.PolicyFile;
import io.ebsreplicator.connector.ebs.policy.PolicyRule;
import io.ebsreplicator.connector.ebs.policy.SourceFacts;
import io.ebsreplicator.connector.ebs.proxy.DescribeBatcher;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Plans the requests that name no targets (snapshot events, or requests that leave the targets to
 * the policy) from the DR policy: describes the source (its volume, tags and description) and takes
 * the targets of the first rule that selects it. A request that names its targets never comes here:
 * it overrides the policy. Also keeps the policy current: {@link #reload} runs on Flink's worker
 * thread, {@link #apply} on the coordinator thread.
 *
 * <p>Runs on the JobManager, a part of the enumerator: its state and every decision on the
 * coordinator thread, the DescribeSnapshots of a source on the proxies' threads. Requests being
 * planned are in the enumerator's checkpoint (as pending requests without targets) and are planned
 * again after a restore; the policy itself is never in state (the file is read again).
 */
final class PolicyPlanning {

    private static final Logger LOG = LoggerFactory.getLogger(PolicyPlanning.class);

    /** What planning one request came to. */
    sealed interface Outcome {
        PendingRequest request();

        /** A rule selected the source: the request with that rule's targets. */
        record Planned(PendingRequest request, String rule) implements Outcome {}

        /** No rule selects the source: the request is skipped. */
        record Unmatched(PendingRequest request, SourceFacts source) implements Outcome {}

        /**
         * The source cannot be described (gone, refused, or its region kept failing past {@link
         * #MAX_PLAN_ATTEMPTS}): the request fails, with the reason of {@code failure}.
         */
        record Unplannable(PendingRequest request, Failure failure) implements Outcome {}

        /** EBS did not answer (throttled, unavailable): planned again on a later tick. */
        record Retry(PendingRequest request, Throwable cause) implements Outcome {}
    }

    /**
     * How many times a request's source is described before a transient failure fails it. Each
     * attempt is one DescribeSnapshots that the proxy already retried within {@code
     * ebs.control.total-timeout} (1 min by default), so a source region that fails for about five
     * minutes fails its requests ({@code EBS_UNAVAILABLE}) instead of holding them for ever.
     */
    static final int MAX_PLAN_ATTEMPTS = 5;

    /**
     * The bound on a request's attributes (as the intake checks it): the rule is not added past it.
     */
    static final int MAX_ATTRIBUTES = 32;

    private final PolicyFile file;
    private PolicyFile.Loaded loaded;

    /** Requests being planned or waiting to be planned again, by request id. */
    private final Map<String, PendingRequest> planning = new LinkedHashMap<>();

    /** Requests whose planning met a transient failure, planned again on the next tick. */
    private final List<PendingRequest> retries = new ArrayList<>();

    /**
     * Attempts made so far of the requests being planned, by request id (not checkpointed: a
     * restore counts again from the first).
     */
    private final Map<String, Integer> attempts = new HashMap<>();

    PolicyPlanning(PolicyFile file) {
        this.file = file;
    }

    /** Reads the policy; fails the enumerator's start on an invalid or unreadable file. */
    void load() {
        loaded = file.load();
        LOG.info(
                "DR policy {} loaded: {} rules ({})",
                file.path(),
                loaded.policy().rules().size(),
                String.join(", ", loaded.policy().rules().stream().map(PolicyRule::name).toList()));
    }

    /** The policy in use. */
    io.ebsreplicator.connector.ebs.policy.ReplicationPolicy current() {
        return loaded.policy();
    }

    /** A check of the file for changes; on Flink's worker thread (reads the file). */
    PolicyFile.Reload reload() {
        return file.reload(loaded);
    }

    /** Takes what {@link #reload} found; on the coordinator thread. */
    void apply(PolicyFile.Reload reload) {
        if (reload instanceof PolicyFile.Reload.Changed c) {
            loaded = c.loaded();
            LOG.info(
                    "DR policy {} reloaded: {}",
                    file.path(),
                    c.changes().isEmpty() ? "no rule changed" : String.join("; ", c.changes()));
        } else if (reload instanceof PolicyFile.Reload.Invalid i) {
            LOG.error(
                    "DR policy {} changed but cannot be used; the policy loaded before stays in"
                            + " use. {}",
                    file.path(),
                    i.problem().getMessage());
        }
    }

    /** Whether a request is planned from the policy: it names no targets. */
    static boolean needsPlan(ReplicationRequest r) {
        return r.targets().isEmpty();
    }

    /** The requests being planned, for a checkpoint. */
    Collection<PendingRequest> inPlanning() {
        return List.copyOf(planning.values());
    }

    /** Requests to plan again now (after a transient failure); each is planned once more. */
    List<PendingRequest> takeRetries() {
        List<PendingRequest> out = new ArrayList<>(retries);
        retries.clear();
        return out;
    }

    /**
     * Plans {@code p} (on the coordinator thread); the outcome completes on a proxy thread and is
     * handed to {@link #finished} on the coordinator thread.
     */
    CompletableFuture<Outcome> plan(PendingRequest p, DescribeBatcher source) {
        planning.put(p.request().requestId(), p);
        int attempt = attempts.merge(p.request().requestId(), 1, Integer::sum);
        ReplicationRequest r = p.request();
        return source.describe(r.sourceSnapshotId())
                .handle(
                        (d, error) -> {
                            if (error == null) {
                                return d == null
                                        ? new Outcome.Unplannable(
                                                p,
                                                Failure.of(
                                                        FailureReason.SNAPSHOT_NOT_FOUND,
                                                        "The source "
                                                                + r.sourceSnapshotId()
                                                                + " does not exist in "
                                                                + r.sourceRegion()
                                                                + ": no policy rule can be"
                                                                + " chosen for it"))
                                        : match(p, facts(r, d));
                            }
                            Throwable cause = EbsErrorClassifier.unwrap(error);
                            boolean fatal =
                                    !(cause instanceof EbsProxyException x)
                                            || x.kind() == EbsProxyException.Kind.FATAL;
                            if (fatal || attempt >= MAX_PLAN_ATTEMPTS) {
                                Failure f = Failure.of(cause);
                                return new Outcome.Unplannable(
                                        p,
                                        Failure.of(
                                                f.reason(),
                                                "The source "
                                                        + r.sourceSnapshotId()
                                                        + " in "
                                                        + r.sourceRegion()
                                                        + " could not be described"
                                                        + (fatal
                                                                ? ""
                                                                : " in " + attempt + " attempts")
                                                        + ": "
                                                        + f.message()));
                            }
                            return new Outcome.Retry(p, cause);
                        });
    }

    /** The policy's decision for a described source: a {@link Outcome.Planned} or unmatched. */
    private Outcome match(PendingRequest p, SourceFacts facts) {
        // The policy in use when the answer came: read once, it is replaced as a whole.
        PolicyRule rule = loaded.policy().match(facts);
        if (rule == null) {
            return new Outcome.Unmatched(p, facts);
        }
        ReplicationRequest r = p.request();
        Map<String, String> attributes = new LinkedHashMap<>(r.attributes());
        if (attributes.size() < MAX_ATTRIBUTES) {
            attributes.put(ReplicationRequest.RULE_ATTRIBUTE, rule.name());
        }
        ReplicationRequest planned =
                new ReplicationRequest(
                        r.requestId(),
                        r.sourceRegion(),
                        r.sourceSnapshotId(),
                        r.baseSnapshotId(),
                        rule.plan(facts),
                        r.lineage(),
                        r.fromLatest(),
                        attributes,
                        r.deadlineMillis(),
                        r.priority());
        return new Outcome.Planned(
                new PendingRequest(planned, p.acceptedMillis(), p.generation()), rule.name());
    }

    /** Ends the planning of a request; a retry is kept for the next tick. */
    void finished(Outcome o) {
        if (o instanceof Outcome.Retry retry) {
            retries.add(retry.request());
        } else {
            planning.remove(o.request().request().requestId());
            attempts.remove(o.request().request().requestId());
        }
    }

    /** Whether the request is (still) being planned here. */
    boolean planning(PendingRequest p) {
        return planning.containsKey(p.request().requestId());
    }

    static SourceFacts facts(ReplicationRequest r, SnapshotDescription d) {
        String volume = r.attributes().get(ReplicationRequest.VOLUME_ATTRIBUTE);
        return new SourceFacts(
                r.sourceRegion(),
                r.sourceSnapshotId(),
                volume != null ? volume : d.volumeId(),
                r.lineage(),
                d.tags(),
                d.description());
    }
}
