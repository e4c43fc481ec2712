package io.ebsreplicator.job.cluster;

import io.ebsreplicator.job.TestSnapshots;
import io.ebsreplicator.job.kafka.CommittedRecords;
import io.ebsreplicator.job.kafka.KafkaBroker;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.SnapshotStatus;
import io.ebsreplicator.schemas.AppliedCopyMode;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.CopyMode;
import io.ebsreplicator.schemas.DeadLetter;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ReplicationTarget;
import io.ebsreplicator.schemas.ResultStatus;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code serve} end to end on real processes, a scenario of {@link ReplicationClusterE2E} on its
 * cluster: a KRaft broker in its own JVM, the standalone Flink cluster of {@code
 * deploy/local/flink-cluster.sh} (one JobManager, two TaskManagers), the cluster job jar submitted
 * detached with {@code deploy/local/submit.sh -d ... serve}, and ebs-local in the test JVM so that
 * the test reads what EBS stored. Runs in the test JVM.
 *
 * <p>What only a real cluster shows: the job jar, loaded child-first on the TaskManagers, brings
 * the Kafka connector, the Kafka client and Avro itself, and they work next to the cluster's own
 * Flink. One full request, a lineage of two snapshots and a message that is not Avro go in; one
 * committed result per request and one dead letter come out; the job is then cancelled with the
 * command line, and once the cluster is stopped nothing of it is left running. Failover is the
 * business of the replication scenarios.
 */
final class ServeScenario {

    private ServeScenario() {}

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";

    /** Small volumes: the point is the classes on the cluster, not the copy. */
    static final int FULL_BLOCKS = 16;

    static final int LINEAGE_BLOCKS = 8;
    static final int[] CHANGED = {3, 100, 1000};

    static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(2);
    static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);

    private static EbsLocalServer ebs;
    private static LocalFlinkCluster flink;
    private static KafkaBroker kafka;
    private static KafkaProducer<byte[], byte[]> producer;
    private static String full;
    private static String root;
    private static String child;
    private static String requests;
    private static String results;
    private static String deadLetters;
    private static String job;

    /**
     * Starts the broker and writes the source snapshots into {@code ebsLocal}; the cluster is the
     * caller's, started meanwhile.
     */
    static void start(EbsLocalServer ebsLocal) throws Exception {
        ebs = ebsLocal;
        long t0 = System.nanoTime();
        kafka = KafkaBroker.builder().build();
        kafka.start();
        log("Kafka broker up in %.1f s", (System.nanoTime() - t0) / 1e9);
        // Two partitions: a lineage keyed by its name stays on one, in order.
        requests = "ebs-replication-requests";
        results = "ebs-replication-results";
        deadLetters = "ebs-replication-dead-letters";
        kafka.createTopic(requests, 2);
        kafka.createTopic(results, 1);
        kafka.createTopic(deadLetters, 1);
        producer = new KafkaProducer<>(producerProps());
        full = snapshot(null, FULL_BLOCKS, 1);
        root = snapshot(null, LINEAGE_BLOCKS, 2);
        child = snapshot(root, CHANGED, 3);
        log("source snapshots ready in %.1f s", (System.nanoTime() - t0) / 1e9);
    }

    /** Stops the producer and the broker, if they are still up. */
    static void stop() {
        try {
            if (producer != null) {
                producer.close(Duration.ZERO);
            }
        } finally {
            if (kafka != null) {
                kafka.close();
            }
        }
    }

    /**
     * One full request, a lineage of two snapshots and a message that is not Avro into {@code
     * serve} on a cluster of two free TaskManagers ({@code taskmanager-1} and {@code -2}): one
     * committed result per request, one dead letter. The job keeps running.
     */
    static void servesRequestsLineagesAndDeadLetters(LocalFlinkCluster cluster) throws Exception {
        flink = cluster;
        Set<String> before = snapshotIds(DR);

        long t0 = System.nanoTime();
        var client = flink.submit(List.of("-p", "2", "-d"), serve());
        job = client.awaitJobId(RUN_TIMEOUT);
        assertThat(client.awaitExit(RUN_TIMEOUT))
                .as("detached client: %s", client.output())
                .isZero();
        log("submitted %s in %.1f s", job, (System.nanoTime() - t0) / 1e9);

        publish("e2e-full", request("e2e-full", full, null));
        publish("vol-1", request("e2e-gen-0", root, "vol-1"));
        publish("vol-1", request("e2e-gen-1", child, "vol-1"));
        byte[] garbage = "not an avro message".getBytes(StandardCharsets.UTF_8);
        produce(null, garbage);

        Map<String, ReplicationResult> got =
                awaitResults(Set.of("e2e-full", "e2e-gen-0", "e2e-gen-1"));
        log("three results in %.1f s after submission", (System.nanoTime() - t0) / 1e9);

        ReplicationResult f = got.get("e2e-full");
        assertThat(f.getStatus()).as(f.toString()).isEqualTo(ResultStatus.COMPLETED);
        assertThat(f.getTargetRegion()).isEqualTo(DR);
        assertThat(f.getBlocksWritten()).isEqualTo(FULL_BLOCKS);
        assertIdentical(full, f.getTargetSnapshotId());

        ReplicationResult g0 = got.get("e2e-gen-0");
        assertThat(g0.getStatus()).as(g0.toString()).isEqualTo(ResultStatus.COMPLETED);
        assertThat(g0.getCopyMode()).as(g0.toString()).isEqualTo(AppliedCopyMode.FULL);
        assertThat(g0.getBlocksWritten()).isEqualTo(LINEAGE_BLOCKS);
        assertIdentical(root, g0.getTargetSnapshotId());
        assertThat(ebs.service().snapshot(DR, g0.getTargetSnapshotId()).parentId()).isNull();

        ReplicationResult g1 = got.get("e2e-gen-1");
        assertThat(g1.getStatus()).as(g1.toString()).isEqualTo(ResultStatus.COMPLETED);
        assertThat(g1.getCopyMode()).as(g1.toString()).isEqualTo(AppliedCopyMode.INCREMENTAL);
        assertThat(g1.getBaseSnapshotId()).isEqualTo(root);
        assertThat(g1.getTargetParentSnapshotId()).isEqualTo(g0.getTargetSnapshotId());
        assertThat(g1.getBlocksWritten()).as("only the changed blocks").isEqualTo(CHANGED.length);
        assertThat(ebs.service().snapshot(DR, g1.getTargetSnapshotId()).parentId())
                .as("the target's parent is the first target")
                .isEqualTo(g0.getTargetSnapshotId());
        assertIdentical(child, g1.getTargetSnapshotId());

        assertThat(newIds(DR, before))
                .as("one target snapshot per request")
                .containsExactlyInAnyOrder(
                        f.getTargetSnapshotId(),
                        g0.getTargetSnapshotId(),
                        g1.getTargetSnapshotId());

        List<DeadLetter> letters = readAll(deadLetters, AvroCodec.forDeadLetters()::decode);
        assertThat(letters).as("dead letters").hasSize(1);
        DeadLetter d = letters.get(0);
        assertThat(d.getReason()).as(d.toString()).isEqualTo("MALFORMED");
        assertThat(d.getTopic()).isEqualTo(requests);
        assertThat(d.getMessage()).isNotBlank();
        assertThat(bytes(d.getValue())).isEqualTo(garbage);

        assertThat(flink.taskManagersOf(job))
                .as("the job's tasks run on both TaskManagers")
                .containsExactlyInAnyOrder("taskmanager-1", "taskmanager-2");
        assertThat(flink.jobState(job)).isEqualTo("RUNNING");
    }

    /** Cancels the job of {@link #servesRequestsLineagesAndDeadLetters} with the command line. */
    static void cancelsThroughTheCommandLine() throws Exception {
        assertThat(job).as("the serve job").isNotNull();
        log("%s", flink.cancel(job).trim());
        long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
        String state;
        while (!"CANCELED".equals(state = flink.jobState(job))) {
            assertThat(System.nanoTime()).as("job state %s", state).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    /**
     * Stops the cluster (the script's stop) and the broker: none of their processes, and no child
     * of the test JVM, is left.
     */
    static void stopsAndLeavesNoProcess(LocalFlinkCluster cluster) throws Exception {
        List<ProcessHandle> processes = cluster.processes();
        log("cluster processes: %s", processes.stream().map(ProcessHandle::pid).toList());
        assertThat(processes).as("JobManager and TaskManagers").hasSizeGreaterThanOrEqualTo(3);

        cluster.close();
        producer.close(Duration.ZERO);
        kafka.stop();

        for (ProcessHandle p : processes) {
            assertThat(p.isAlive()).as("pid %d after the cluster stopped", p.pid()).isFalse();
        }
        assertThat(cluster.processes()).as("processes naming the cluster's directory").isEmpty();
        assertThat(kafka.isRunning()).as("the Kafka broker").isFalse();
        assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive))
                .as("children of the test JVM")
                .isEmpty();
    }

    // ------------------------------------------------------------------ helpers

    private static List<String> serve() {
        String endpoint = ebs.endpoint().toString();
        return List.of(
                "serve",
                "--bootstrap-servers",
                kafka.bootstrapServers(),
                "--requests-topic",
                requests,
                "--results-topic",
                results,
                "--dead-letter-topic",
                deadLetters,
                "--group-id",
                "serve-cluster-e2e",
                "--checkpoint-interval",
                CHECKPOINT_INTERVAL.toSeconds() + "s",
                "--transaction-timeout",
                "5min",
                "--endpoint",
                SOURCE + "=" + endpoint,
                "--endpoint",
                DR + "=" + endpoint,
                "-D",
                "ebs.credentials.access-key-id=" + ebs.accessKey().accessKeyId(),
                "-D",
                "ebs.credentials.secret-access-key=" + ebs.accessKey().secretAccessKey(),
                "-D",
                "ebs.completion.poll-interval=200ms",
                // The lineage's second request waits for the first target: learn of it quickly.
                "-D",
                "ebs.target.watch-interval=1s");
    }

    private static ReplicationRequest request(String id, String source, String lineage) {
        ReplicationRequest r =
                ReplicationRequest.newBuilder()
                        .setRequestId(id)
                        .setSourceRegion(SOURCE)
                        .setSourceSnapshotId(source)
                        .setMode(CopyMode.AUTO)
                        .setTargets(List.of(ReplicationTarget.newBuilder().setRegion(DR).build()))
                        .build();
        if (lineage != null) {
            r.setAttributes(Map.of("lineage", lineage));
        }
        return r;
    }

    /** Keyed by lineage (or request id), as producers should: one partition keeps the order. */
    private static void publish(String key, ReplicationRequest r) throws Exception {
        produce(key.getBytes(StandardCharsets.UTF_8), AvroCodec.forRequests().encode(r));
    }

    /** One record to the requests topic, acknowledged by the broker. */
    private static void produce(byte[] key, byte[] value) throws Exception {
        producer.send(new ProducerRecord<>(requests, key, value)).get(30, TimeUnit.SECONDS);
    }

    private static Map<String, Object> producerProps() {
        return Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
                ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                ByteArraySerializer.class,
                ProducerConfig.ACKS_CONFIG,
                "all");
    }

    /** A reader of what the job committed: results and dead letters are written transactionally. */
    private static Map<String, Object> consumerProps() {
        return Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                "read_committed",
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
                false);
    }

    /**
     * Waits for a result of every id, then reads again after a few checkpoints so that a duplicate
     * committed late would be seen too: exactly one result per request, and none other.
     */
    private static Map<String, ReplicationResult> awaitResults(Set<String> ids) throws Exception {
        long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
        List<ReplicationResult> got = readAll(results, AvroCodec.forResults()::decode);
        while (got.size() < ids.size()) {
            assertThat(System.nanoTime())
                    .as("results for %s; so far %s", ids, got)
                    .isLessThan(deadline);
            Thread.sleep(250);
            got = readAll(results, AvroCodec.forResults()::decode);
        }
        Thread.sleep(3 * CHECKPOINT_INTERVAL.toMillis());
        got = readAll(results, AvroCodec.forResults()::decode);
        assertThat(got.stream().map(ReplicationResult::getRequestId))
                .as("exactly one result per request")
                .containsExactlyInAnyOrderElementsOf(ids);
        Map<String, ReplicationResult> byId = new HashMap<>();
        got.forEach(r -> byId.put(r.getRequestId(), r));
        return byId;
    }

    /** Every committed record of a one-partition topic, decoded. */
    private static <T> List<T> readAll(String topic, Decoder<T> decoder) throws Exception {
        java.util.Properties props = new java.util.Properties();
        props.putAll(consumerProps());
        return CommittedRecords.readAll(props, topic, decoder::decode);
    }

    @FunctionalInterface
    private interface Decoder<T> {
        T decode(byte[] message) throws Exception;
    }

    private static void assertIdentical(String source, String target) {
        assertThat(target).isNotNull();
        Snapshot t = ebs.service().snapshot(DR, target);
        assertThat(t.status()).isEqualTo(SnapshotStatus.COMPLETED);
        assertThat(t.completionsAccepted()).as("CompleteSnapshot accepted once").isEqualTo(1);
        assertThat(ebs.service().blocksOf(DR, target))
                .as("target %s (parent %s) equals source %s", target, t.parentId(), source)
                .isEqualTo(ebs.service().blocksOf(SOURCE, source));
    }

    private static Set<String> snapshotIds(String region) {
        Set<String> ids = new HashSet<>();
        ebs.service().snapshots(region).forEach(s -> ids.add(s.id()));
        return ids;
    }

    private static Set<String> newIds(String region, Set<String> before) {
        Set<String> now = snapshotIds(region);
        now.removeAll(before);
        return now;
    }

    /** A completed 1 GiB source snapshot with {@code blocks} random blocks at 0, 3, 6, ... */
    private static String snapshot(String parent, int blocks, long seed) throws Exception {
        int[] indexes = new int[blocks];
        Arrays.setAll(indexes, i -> i * 3);
        return snapshot(parent, indexes, seed);
    }

    /** A completed source snapshot (a child of {@code parent}, if any) with those blocks. */
    private static String snapshot(String parent, int[] indexes, long seed) throws Exception {
        return TestSnapshots.write(ebs, SOURCE, parent, 1, indexes, seed);
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }

    private static void log(String format, Object... args) {
        System.out.printf("[serve-cluster-e2e] " + format + "%n", args);
        System.out.flush();
    }
}
