package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.policy.PolicyRule;
import io.ebsreplicator.connector.ebs.policy.ReplicationPolicy;
import io.ebsreplicator.job.serve.RequestMapping;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ResultStatus;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * What {@code status} prints: per lineage and target region, the newest completed copy (from the
 * results topic), its age and whether it meets the recovery point objective of the policy rule that
 * made it. A copy's age is counted from its result's {@code completedAt}: the source snapshot is
 * older by the copy's duration. Pure; runs in the client.
 */
final class RpoStatus {

    /** Whether a lineage meets its objective in a region. */
    enum Verdict {
        MEETS,
        OVER,
        /** The rule that made the copy has no RPO (or is no longer in the policy). */
        NO_OBJECTIVE
    }

    /** One line of the report. */
    record Row(
            String sourceRegion,
            String lineage,
            String region,
            String newestCopy,
            Instant completedAt,
            Duration age,
            Duration objective,
            Verdict verdict) {}

    /** The bound on the lineage and region pairs one report holds. */
    static final int MAX_ROWS = 1_000_000;

    private final Map<String, ReplicationResult> newest = new TreeMap<>();

    /** Takes one result; only completed copies of a lineage made under a policy rule count. */
    void add(ReplicationResult r) {
        Map<String, String> a = r.getAttributes();
        if (r.getStatus() != ResultStatus.COMPLETED
                || r.getCompletedAt() == null
                || a == null
                || a.get(RequestMapping.LINEAGE_ATTRIBUTE) == null
                || a.get(ReplicationRequest.RULE_ATTRIBUTE) == null) {
            return;
        }
        String key =
                r.getSourceRegion()
                        + "\n"
                        + a.get(RequestMapping.LINEAGE_ATTRIBUTE)
                        + "\n"
                        + r.getTargetRegion();
        ReplicationResult before = newest.get(key);
        if (before == null && newest.size() >= MAX_ROWS) {
            return;
        }
        if (before == null || r.getCompletedAt().isAfter(before.getCompletedAt())) {
            newest.put(key, r);
        }
    }

    /** The rows, by source region, lineage and target region. */
    List<Row> rows(ReplicationPolicy policy, Instant now) {
        List<Row> out = new ArrayList<>();
        for (ReplicationResult r : newest.values()) {
            Map<String, String> a = r.getAttributes();
            PolicyRule rule = policy.rule(a.get(ReplicationRequest.RULE_ATTRIBUTE));
            Duration objective = rule == null ? null : rule.rpo();
            Duration age = Duration.between(r.getCompletedAt(), now);
            Verdict verdict =
                    objective == null
                            ? Verdict.NO_OBJECTIVE
                            : age.compareTo(objective) <= 0 ? Verdict.MEETS : Verdict.OVER;
            out.add(
                    new Row(
                            r.getSourceRegion(),
                            a.get(RequestMapping.LINEAGE_ATTRIBUTE),
                            r.getTargetRegion(),
                            r.getTargetSnapshotId(),
                            r.getCompletedAt(),
                            age,
                            objective,
                            verdict));
        }
        return out;
    }

    /** The rows as a table, one line each after a header. */
    static String table(List<Row> rows) {
        StringBuilder b = new StringBuilder();
        b.append(
                String.format(
                        "%-12s %-24s %-14s %-24s %-10s %-8s %s%n",
                        "source", "lineage", "region", "newest copy", "age", "rpo", "status"));
        for (Row r : rows) {
            b.append(
                    String.format(
                            "%-12s %-24s %-14s %-24s %-10s %-8s %s%n",
                            r.sourceRegion(),
                            r.lineage(),
                            r.region(),
                            r.newestCopy(),
                            human(r.age()),
                            r.objective() == null ? "-" : human(r.objective()),
                            r.verdict()));
        }
        return b.toString();
    }

    /** 45s, 12m, 3h05m, 2d04h. */
    static String human(Duration d) {
        long s = Math.max(0, d.getSeconds());
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return (s / 60) + "m";
        }
        if (s < 86_400) {
            return String.format("%dh%02dm", s / 3600, (s % 3600) / 60);
        }
        return String.format("%dd%02dh", s / 86_400, (s % 86_400) / 3600);
    }
}
