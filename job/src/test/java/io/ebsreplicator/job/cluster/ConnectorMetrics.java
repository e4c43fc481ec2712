package io.ebsreplicator.job.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The connector's metrics as Flink's Prometheus reporter exports them from the processes of a
 * {@link LocalFlinkCluster}, and the metrics the Grafana dashboard in {@code deploy/grafana}
 * queries. Runs in the test JVM.
 */
final class ConnectorMetrics {

    static final String TASK = "flink_taskmanager_job_task_operator_ebs_";
    static final String COPIED = TASK + "blocksCopied";
    static final String BYTES = TASK + "bytesWritten";
    static final List<String> THROTTLE_REASONS =
            List.of("ACCOUNT_THROTTLED", "RESOURCE_LEVEL_THROTTLE", "DEPENDENCY_REQUEST_THROTTLED");

    static final String DASHBOARD = "deploy/grafana/ebs-replicator-dashboard.json";

    /**
     * What an operator watches: blocks and bytes copied, throttles by reason, blocks in flight,
     * targets completed and failed, and the oldest request's lag.
     */
    static final List<String> CONNECTOR_METRICS =
            List.of(
                    COPIED,
                    BYTES,
                    throttled("ACCOUNT_THROTTLED"),
                    throttled("RESOURCE_LEVEL_THROTTLE"),
                    throttled("DEPENDENCY_REQUEST_THROTTLED"),
                    TASK + "region_api_PutSnapshotBlock_throttles",
                    TASK + "activeTargets",
                    TASK + "blocksInFlight",
                    TASK + "targetsCompleted",
                    TASK + "targetsFailed",
                    TASK + "oldestRequestLagMs");

    private static final Pattern METRIC = Pattern.compile("\\bflink_[A-Za-z0-9_]+");

    private ConnectorMetrics() {}

    /** Attempts throttled for one reason: {@code ebs.region.<region>.api.errors.<reason>}. */
    static String throttled(String reason) {
        return TASK + "region_api_errors_" + reason;
    }

    /** One scrape of every running process of the cluster, together. */
    static PrometheusSamples scrapeAll(LocalFlinkCluster flink) {
        PrometheusSamples all = new PrometheusSamples();
        for (int port : flink.prometheusPorts().values()) {
            String text = flink.scrape(port);
            if (text != null) {
                all.add(text);
            }
        }
        return all;
    }

    /** The connector's metric names in a scrape. */
    static Set<String> ebsNames(PrometheusSamples scraped) {
        return scraped.names().stream()
                .filter(n -> n.contains("_ebs_"))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /**
     * The queries ({@code expr}) of every panel of the Grafana dashboard: the metric names they
     * use, and the queries that name none.
     */
    record Dashboard(Set<String> metrics, List<String> queriesWithoutMetric) {}

    static Dashboard dashboard(Path repo) throws IOException {
        JsonNode dashboard = new ObjectMapper().readTree(repo.resolve(DASHBOARD).toFile());
        Set<String> names = new TreeSet<>();
        List<String> without = new ArrayList<>();
        for (JsonNode expr : dashboard.findValues("expr")) {
            Matcher m = METRIC.matcher(expr.asText());
            boolean any = false;
            while (m.find()) {
                names.add(m.group());
                any = true;
            }
            if (!any) {
                without.add(expr.asText());
            }
        }
        return new Dashboard(names, without);
    }
}
