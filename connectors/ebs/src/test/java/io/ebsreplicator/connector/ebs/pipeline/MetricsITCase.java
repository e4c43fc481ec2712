package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.metrics.EbsMetricConstants;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Metric;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The connector's metrics as Flink reports them: a small snapshot replicated to two regions on a
 * MiniCluster (against ebs-local over HTTP) whose metric reporter keeps every metric in memory, so
 * the test reads the same names and values the web UI and REST API would show. Runs in the test
 * JVM.
 */
class MetricsITCase {

    private static final String SOURCE = ReplicationScenario.SOURCE;
    private static final String DR = ReplicationScenario.DR;
    private static final String DR2 = ReplicationScenario.DR2;
    private static final int BLOCKS = 12;

    /** Keeps metrics after the job ends, when the test reads them. */
    private static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

    @RegisterExtension static final EbsLocalExtension EBS = ReplicationScenario.ebsLocal(b -> {});

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setConfiguration(REPORTER.addToConfiguration(new Configuration()))
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .build());

    @Test
    void aReplicationIsCountedInFlinkMetrics() throws Exception {
        Map<Integer, byte[]> blocks = new TreeMap<>();
        for (int i = 0; i < BLOCKS; i++) {
            blocks.put(i * 13, EbsFixture.block(700 + i));
        }
        String snapshot;
        try (EbsFixture source = new EbsFixture(EBS.server(), SOURCE)) {
            snapshot = source.snapshot(1, null, blocks);
        }
        Configuration options = ReplicationScenario.options(EBS, List.of(SOURCE, DR, DR2));
        options.set(EbsReplicationOptions.VERIFY, true);

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        List<ReplicationResult> results = new ArrayList<>();
        JobID job;
        try (CloseableIterator<ReplicationResult> it =
                EbsReplicationPipeline.build(
                                env,
                                List.of(
                                        new ReplicationRequest(
                                                "metrics-1",
                                                SOURCE,
                                                snapshot,
                                                null,
                                                List.of(
                                                        ReplicationTarget.of(DR),
                                                        ReplicationTarget.of(DR2)),
                                                null,
                                                false,
                                                Map.of(),
                                                ReplicationRequest.NO_DEADLINE,
                                                0)),
                                options,
                                BlockTransform.IDENTITY)
                        .collectAsync()) {
            JobClient client = env.executeAsync("metrics-test");
            job = client.getJobID();
            it.forEachRemaining(results::add);
            client.getJobExecutionResult().get(60, TimeUnit.SECONDS);
        }
        assertThat(results)
                .hasSize(2)
                .allSatisfy(r -> assertThat(r.status()).as(r.toJson()).isEqualTo("COMPLETED"));

        List<Map.Entry<String, Metric>> metrics = metricsOf(job);
        long bytes = (long) EbsFixture.BLOCK;
        assertThat(sum(metrics, EbsMetricConstants.BLOCKS_LISTED)).isEqualTo(BLOCKS);
        assertThat(sum(metrics, EbsMetricConstants.LIST_PAGES)).isPositive();
        assertThat(sum(metrics, EbsMetricConstants.SPLITS_FINISHED)).isPositive();
        assertThat(sum(metrics, EbsMetricConstants.BLOCKS_READ)).isEqualTo(BLOCKS);
        assertThat(sum(metrics, EbsMetricConstants.BYTES_READ)).isEqualTo(BLOCKS * bytes);
        // Fan-out: every block is written to both regions.
        assertThat(sum(metrics, EbsMetricConstants.BLOCKS_COPIED)).isEqualTo(2 * BLOCKS);
        assertThat(sum(metrics, EbsMetricConstants.BYTES_WRITTEN)).isEqualTo(2 * BLOCKS * bytes);
        assertThat(sum(metrics, EbsMetricConstants.BLOCKS_VERIFIED)).isEqualTo(2 * BLOCKS);
        assertThat(sum(metrics, EbsMetricConstants.TARGETS_COMPLETED)).isEqualTo(2);
        assertThat(sum(metrics, EbsMetricConstants.TARGETS_FAILED)).isZero();
        assertThat(sum(metrics, EbsMetricConstants.TARGETS_REPLACED)).isZero();
        assertThat(sum(metrics, EbsMetricConstants.CHECKSUM_MISMATCHES)).isZero();

        // Proxy calls, by region and operation, from the readers, the copier and completion.
        assertThat(sum(metrics, api(SOURCE, "ListSnapshotBlocks"))).isPositive();
        assertThat(sum(metrics, api(SOURCE, "GetSnapshotBlock"))).isEqualTo(BLOCKS);
        for (String target : List.of(DR, DR2)) {
            assertThat(sum(metrics, api(target, "PutSnapshotBlock"))).isEqualTo(BLOCKS);
            assertThat(sum(metrics, api(target, "CompleteSnapshot"))).isEqualTo(1);
            assertThat(sum(metrics, api(target, "DescribeSnapshots"))).isPositive();
        }
        assertThat(sum(metrics, "ebs.region." + SOURCE + ".api.PutSnapshotBlock.retries")).isZero();
    }

    /**
     * Every metric of {@code job} with its full identifier. Identifiers may repeat (Flink's own
     * task I/O counters do, with different implementations), so this is a list, not a map.
     */
    private static List<Map.Entry<String, Metric>> metricsOf(JobID job) {
        List<Map.Entry<String, Metric>> out = new ArrayList<>();
        REPORTER.getMetricsByGroup()
                .forEach(
                        (group, metrics) -> {
                            if (job.toString().equals(group.getAllVariables().get("<job_id>"))) {
                                metrics.forEach(
                                        (name, metric) ->
                                                out.add(
                                                        Map.entry(
                                                                group.getMetricIdentifier(name),
                                                                metric)));
                            }
                        });
        return out;
    }

    private static String api(String region, String operation) {
        return "ebs.region." + region + ".api." + operation + ".requests";
    }

    /**
     * The sum over every subtask of the counters whose identifier ends with {@code .<suffix>};
     * fails when there is none, so a renamed metric cannot pass as a zero.
     */
    private static long sum(List<Map.Entry<String, Metric>> metrics, String suffix) {
        String end = suffix.startsWith("ebs.") ? "." + suffix : ".ebs." + suffix;
        long total = 0;
        int found = 0;
        for (Map.Entry<String, Metric> e : metrics) {
            if (e.getKey().endsWith(end) && e.getValue() instanceof Counter c) {
                total += c.getCount();
                found++;
            }
        }
        assertThat(found).as("counters named *%s in %s", end, metrics).isPositive();
        return total;
    }
}
