package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.policy.PolicyRule;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.job.kafka.CommittedRecords;
import io.ebsreplicator.job.kafka.KafkaBrokerExtension;
import io.ebsreplicator.job.serve.ServePipeline;
import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.Tag;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.CopyDeletion;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ResultStatus;

import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A TaskManager killed while retention deletes copies: {@code serve} with a DR policy that keeps
 * the last copy of each lineage, on a MiniCluster of two TaskManagers, a real KRaft broker and
 * ebs-local. Once ebs-local has seen the first deletion, one TaskManager is terminated (a new one
 * takes its place); the job fails over to its last checkpoint. Afterwards every copy the retention
 * drops is deleted, every newest copy stays, the lifecycle topic holds exactly one committed record
 * per deleted copy (read_committed) and the results topic one result per copy.
 */
class RetentionFailoverITCase {

    static final String SOURCE = "us-east-1";
    static final String WEST = "us-west-2";

    static final int VOLUMES = 4;
    static final int SNAPSHOTS_PER_VOLUME = 3;

    /** Two TaskManagers of two slots, all four used, so each holds a part of the job. */
    static final int PARALLELISM = 4;

    @RegisterExtension static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(b -> b.regions(SOURCE, WEST).sealDelay(Duration.ofMillis(100)))
                    .build();

    @TempDir Path dir;

    @Test
    void aTaskManagerKilledDuringDeletionsDeletesNothingTwiceOrWronglyAndReportsEachOnce()
            throws Exception {
        Path policy = dir.resolve("policy.json");
        Files.writeString(
                policy,
                """
                {"version": 1, "rules": [
                  {"name": "last", "select": {"tags": {"tier": "gold"}},
                   "targets": [{"region": "us-west-2", "retention": {"keepLast": 1}}]}
                ]}
                """);
        String requests = KAFKA.newTopic("requests", 2);
        String results = KAFKA.newTopic("results");
        String deadLetters = KAFKA.newTopic("dead-letters");
        String lifecycle = KAFKA.newTopic("lifecycle");

        Configuration clusterConf = new Configuration();
        // The whole job restarts, the enumerator too, from the last checkpoint.
        clusterConf.setString("jobmanager.execution.failover-strategy", "full");
        clusterConf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        clusterConf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 20);
        clusterConf.set(
                RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        MiniCluster cluster =
                new MiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(clusterConf)
                                .setNumTaskManagers(2)
                                .setNumSlotsPerTaskManager(2)
                                .build());
        cluster.start();
        try {
            JobID job =
                    cluster.submitJob(jobGraph(policy, requests, results, deadLetters, lifecycle))
                            .get()
                            .getJobID();

            Map<String, List<String>> lineages = new LinkedHashMap<>();
            try (EbsProxy source = TestSnapshots.proxy(EBS.server(), SOURCE)) {
                for (int v = 1; v <= VOLUMES; v++) {
                    String volume = String.format("vol-%017x", 0x100 + v);
                    List<String> lineage = new ArrayList<>();
                    String parent = null;
                    for (int s = 0; s < SNAPSHOTS_PER_VOLUME; s++) {
                        parent =
                                TestSnapshots.write(
                                        source,
                                        parent,
                                        1,
                                        s == 0 ? new int[] {0, 1, 2} : new int[] {s, 10 + s},
                                        v * 1000L + s,
                                        Map.of("tier", "gold"));
                        lineage.add(parent);
                    }
                    lineages.put(volume, lineage);
                }
            }
            for (int s = 0; s < SNAPSHOTS_PER_VOLUME; s++) {
                for (Map.Entry<String, List<String>> e : lineages.entrySet()) {
                    publish(requests, e.getKey(), e.getValue().get(s));
                }
            }

            // Deletions have begun: one TaskManager goes, a fresh one takes its slots.
            awaitFirstDeletion();
            cluster.terminateTaskManager(0).get();
            cluster.startTaskManager();
            awaitRestart(cluster, job);

            int expectedResults = VOLUMES * SNAPSHOTS_PER_VOLUME;
            List<ReplicationResult> got = awaitRecords(results, expectedResults, false);
            assertThat(got).allMatch(r -> r.getStatus() == ResultStatus.COMPLETED, "completed");
            assertThat(got)
                    .extracting(r -> r.getRequestId() + "@" + r.getTargetRegion())
                    .as("no duplicate result")
                    .doesNotHaveDuplicates();

            int expectedDeletions = VOLUMES * (SNAPSHOTS_PER_VOLUME - 1);
            List<CopyDeletion> deletions = awaitRecords(lifecycle, expectedDeletions, true);
            assertThat(deletions)
                    .extracting(CopyDeletion::getDeletionId)
                    .as("no deletion reported twice")
                    .doesNotHaveDuplicates();
            assertThat(deletions)
                    .allSatisfy(
                            d -> {
                                assertThat(d.getOutcome()).isIn("DELETED", "ALREADY_GONE");
                                assertThat(d.getRule()).isEqualTo("last");
                                assertThat(d.getRegion()).isEqualTo(WEST);
                            });

            Set<String> gone = new HashSet<>();
            for (Map.Entry<String, List<String>> e : lineages.entrySet()) {
                List<String> lineage = e.getValue();
                String newestSource = lineage.get(SNAPSHOTS_PER_VOLUME - 1);
                String newestCopy = copyOf(got, newestSource);
                List<String> older = new ArrayList<>();
                for (String s : lineage.subList(0, SNAPSHOTS_PER_VOLUME - 1)) {
                    older.add(copyOf(got, s));
                }
                assertThat(copiesOf(e.getKey()))
                        .as("%s keeps exactly its newest copy", e.getKey())
                        .containsExactly(newestCopy);
                assertThat(older)
                        .as("every copy the retention drops is deleted")
                        .allMatch(id -> EBS.service().deleted(WEST, id));
                gone.addAll(older);
            }
            assertThat(deletions)
                    .extracting(CopyDeletion::getSnapshotId)
                    .as("one record per copy that disappeared from ebs-local, and no other")
                    .containsExactlyInAnyOrderElementsOf(gone);
        } finally {
            cluster.close();
        }
    }

    private static JobGraph jobGraph(
            Path policy, String requests, String results, String deadLetters, String lifecycle)
            throws Exception {
        Configuration options = new Configuration();
        String url = EBS.endpoint().toString();
        options.set(EbsReplicationOptions.ENDPOINTS, Map.of(SOURCE, url, WEST, url));
        options.set(EbsReplicationOptions.ACCESS_KEY_ID, EBS.accessKey().accessKeyId());
        options.set(EbsReplicationOptions.SECRET_ACCESS_KEY, EBS.accessKey().secretAccessKey());
        options.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        options.set(EbsReplicationOptions.TARGET_WATCH_INTERVAL, Duration.ofMillis(300));
        options.set(EbsReplicationOptions.POLICY_FILE, policy.toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(PARALLELISM);
        env.enableCheckpointing(300);
        ServePipeline.build(
                env,
                new ServeSettings(
                        KAFKA.bootstrapServers(),
                        requests,
                        results,
                        deadLetters,
                        lifecycle,
                        null,
                        Duration.ofMinutes(5),
                        Map.of()),
                options,
                BlockTransform.IDENTITY,
                new SdkEbsProxyFactory(
                        EbsProxyConfig.fromConfiguration(options).withShare(PARALLELISM)));
        return env.getStreamGraph().getJobGraph();
    }

    /** Waits until the job has failed over (restarted from its last checkpoint). */
    private static void awaitRestart(MiniCluster cluster, JobID job) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (cluster.getExecutionGraph(job).get().getStatusTimestamp(JobStatus.RESTARTING) == 0) {
            assertThat(System.nanoTime())
                    .as("the job fails over when its TaskManager goes")
                    .isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    /** Waits until ebs-local has deleted a first copy in {@link #WEST}. */
    private static void awaitFirstDeletion() throws Exception {
        Set<String> seen = new HashSet<>();
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (true) {
            for (Snapshot s : EBS.service().snapshots(WEST)) {
                if (s.tags().stream().anyMatch(t -> t.key().equals(PolicyRule.LINEAGE_TAG))) {
                    seen.add(s.id());
                }
            }
            if (seen.stream().anyMatch(id -> EBS.service().deleted(WEST, id))) {
                return;
            }
            assertThat(System.nanoTime()).as("a first deletion").isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /**
     * The committed records of {@code topic}, once there are {@code expected} and still {@code
     * expected} a moment later (no late duplicate).
     */
    private static <T> List<T> awaitRecords(String topic, int expected, boolean deletions)
            throws Exception {
        CommittedRecords.Decoder<T> decoder =
                deletions
                        ? bytes -> cast(AvroCodec.forCopyDeletions().decode(bytes))
                        : bytes -> cast(AvroCodec.forResults().decode(bytes));
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (true) {
            List<T> got = CommittedRecords.readAll(KAFKA.consumerProps(null, true), topic, decoder);
            if (got.size() >= expected) {
                Thread.sleep(1_500);
                got = CommittedRecords.readAll(KAFKA.consumerProps(null, true), topic, decoder);
                assertThat(got).as("records on %s", topic).hasSize(expected);
                return got;
            }
            assertThat(System.nanoTime())
                    .as("%d of %d records on %s so far", got.size(), expected, topic)
                    .isLessThan(deadline);
            Thread.sleep(300);
        }
    }

    @SuppressWarnings("unchecked")
    private static <T> T cast(Object o) {
        return (T) o;
    }

    private static String copyOf(List<ReplicationResult> results, String source) {
        return results.stream()
                .filter(r -> r.getSourceSnapshotId().equals(source))
                .findFirst()
                .orElseThrow()
                .getTargetSnapshotId();
    }

    private static List<String> copiesOf(String lineage) {
        List<String> out = new ArrayList<>();
        for (Snapshot s : EBS.service().snapshots(WEST)) {
            if (s.tags().contains(new Tag(PolicyRule.LINEAGE_TAG, lineage))) {
                out.add(s.id());
            }
        }
        return out;
    }

    /** An EventBridge createSnapshot event of {@code snapshot} of {@code volume}, keyed by it. */
    private static void publish(String topic, String volume, String snapshot) throws Exception {
        String event =
                new String(
                                SnapshotEventsSamples.bytes("create-snapshot-succeeded"),
                                StandardCharsets.UTF_8)
                        .replace("snap-01234567", snapshot)
                        .replace("vol-01234567", volume);
        KAFKA.produce(
                topic,
                volume.getBytes(StandardCharsets.UTF_8),
                event.getBytes(StandardCharsets.UTF_8));
    }
}
