package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.job.kafka.CommittedRecords;
import io.ebsreplicator.job.kafka.KafkaBrokerExtension;
import io.ebsreplicator.job.serve.ServePipeline;
import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.CopyMode;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ReplicationTarget;
import io.ebsreplicator.schemas.ResultStatus;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code serve} killed twice mid-stream (cancelled without a savepoint) and restored each time from
 * its last retained checkpoint, against a real broker and ebs-local: every request still has
 * exactly one committed result and exactly one target snapshot, each identical to its source.
 */
class ServeRecoveryITCase {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";
    static final int REQUESTS = 12;

    @RegisterExtension static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(b -> b.regions(SOURCE, DR).sealDelay(Duration.ofMillis(100)))
                    .build();

    @Test
    void killedTwiceMidStreamAndRestoredFromTheLastRetainedCheckpoint(@TempDir Path checkpoints)
            throws Exception {
        String requests = KAFKA.newTopic("requests", 2);
        String results = KAFKA.newTopic("results");
        String deadLetters = KAFKA.newTopic("dead-letters");
        Map<String, String> sources = new HashMap<>();
        for (int i = 0; i < REQUESTS; i++) {
            sources.put("recover-" + i, TestSnapshots.create(EBS.server(), SOURCE, 1, 24));
        }
        // Slow writes, so that the kills land while requests are being copied.
        EBS.setFaults(
                FaultProfile.builder()
                        .latency(40, 0)
                        .operations(Operation.PUT_SNAPSHOT_BLOCK)
                        .build());
        for (Map.Entry<String, String> e : sources.entrySet()) {
            ReplicationRequest r =
                    ReplicationRequest.newBuilder()
                            .setRequestId(e.getKey())
                            .setSourceRegion(SOURCE)
                            .setSourceSnapshotId(e.getValue())
                            .setMode(CopyMode.FULL)
                            .setTargets(
                                    List.of(ReplicationTarget.newBuilder().setRegion(DR).build()))
                            .build();
            KAFKA.produce(
                    requests,
                    e.getKey().getBytes(StandardCharsets.UTF_8),
                    AvroCodec.forRequests().encode(r));
        }
        ServeSettings settings =
                new ServeSettings(
                        KAFKA.bootstrapServers(),
                        requests,
                        results,
                        deadLetters,
                        null,
                        Duration.ofMinutes(5),
                        Map.of());

        String restoreFrom = null;
        for (int run = 0; run < 2; run++) {
            JobClient job = start(settings, checkpoints, restoreFrom);
            long puts = putsAccepted();
            // Let it copy a while and take a checkpoint of its own, then kill it.
            String previous = restoreFrom;
            waitUntil(
                    () -> {
                        Path newest = newestCheckpoint(checkpoints);
                        return putsAccepted() - puts >= 60
                                && newest != null
                                && !newest.toString().equals(previous);
                    });
            job.cancel().get();
            restoreFrom = newestCheckpoint(checkpoints).toString();
            System.out.printf(
                    "[recovery] run %d killed after %d puts; %d results committed; restoring"
                            + " from %s%n",
                    run, putsAccepted(), readResults(results).size(), restoreFrom);
        }
        EBS.setFaults(FaultProfile.none());
        JobClient last = start(settings, checkpoints, restoreFrom);
        try {
            waitUntil(() -> readResults(results).size() >= REQUESTS);
            Thread.sleep(2_000); // a late duplicate would be committed by now
            List<ReplicationResult> got = readResults(results);

            assertThat(got).as("one result per request").hasSize(REQUESTS);
            assertThat(got).extracting(r -> r.getRequestId()).doesNotHaveDuplicates();
            for (ReplicationResult r : got) {
                assertThat(r.getStatus()).as(r.toString()).isEqualTo(ResultStatus.COMPLETED);
                assertThat(EBS.service().blocksOf(DR, r.getTargetSnapshotId()))
                        .isEqualTo(EBS.service().blocksOf(SOURCE, sources.get(r.getRequestId())));
                assertThat(targetsOf(r.getRequestId()))
                        .as("exactly one target snapshot for %s", r.getRequestId())
                        .containsExactly(r.getTargetSnapshotId());
                assertThat(
                                EBS.service()
                                        .snapshot(DR, r.getTargetSnapshotId())
                                        .completionsAccepted())
                        .isEqualTo(1);
            }
        } finally {
            last.cancel().get();
        }
    }

    private static JobClient start(ServeSettings settings, Path checkpoints, String restoreFrom)
            throws Exception {
        Configuration conf = new Configuration();
        conf.setString("execution.checkpointing.dir", checkpoints.toUri().toString());
        conf.setString(
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION");
        conf.setString("execution.checkpointing.num-retained", "3");
        if (restoreFrom != null) {
            conf.setString("execution.state-recovery.path", restoreFrom);
        }
        Configuration options = new Configuration();
        String url = EBS.endpoint().toString();
        options.set(EbsReplicationOptions.ENDPOINTS, Map.of(SOURCE, url, DR, url));
        options.set(EbsReplicationOptions.ACCESS_KEY_ID, EBS.accessKey().accessKeyId());
        options.set(EbsReplicationOptions.SECRET_ACCESS_KEY, EBS.accessKey().secretAccessKey());
        options.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        options.set(EbsReplicationOptions.MAX_IN_FLIGHT, 4);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, conf);
        env.enableCheckpointing(300);
        ServePipeline.build(
                env,
                settings,
                options,
                BlockTransform.IDENTITY,
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options).withShare(2)));
        return env.executeAsync("serve-recovery");
    }

    /** The newest completed checkpoint (with its metadata) of any run, or {@code null}. */
    private static Path newestCheckpoint(Path root) throws Exception {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.getFileName().toString().equals("_metadata"))
                    .map(Path::getParent)
                    .max(Comparator.comparingLong(ServeRecoveryITCase::modified))
                    .orElse(null);
        }
    }

    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p.resolve("_metadata")).toMillis();
        } catch (Exception e) {
            return 0;
        }
    }

    private static long putsAccepted() {
        long n = 0;
        for (Snapshot s : EBS.service().snapshots(DR)) {
            n += s.putRequestsAccepted();
        }
        return n;
    }

    private static List<String> targetsOf(String requestId) {
        List<String> out = new ArrayList<>();
        for (Snapshot s : EBS.service().snapshots(DR)) {
            if (s.tags().stream()
                    .anyMatch(
                            t ->
                                    t.key().equals("ebs-replicator:request")
                                            && t.value().equals(requestId))) {
                out.add(s.id());
            }
        }
        return out;
    }

    private static List<ReplicationResult> readResults(String topic) throws Exception {
        return CommittedRecords.readAll(
                KAFKA.consumerProps(null, true), topic, AvroCodec.forResults()::decode);
    }

    interface Check {
        boolean holds() throws Exception;
    }

    private static void waitUntil(Check check) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
        while (!check.holds()) {
            assertThat(System.nanoTime()).as("waiting").isLessThan(deadline);
            Thread.sleep(100);
        }
    }
}
