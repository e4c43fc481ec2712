package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.FetchedBlock;
import io.ebsreplicator.connector.ebs.proxy.ListedBlock;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.job.kafka.KafkaBrokerExtension;
import io.ebsreplicator.job.serve.ServePipeline;
import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.CopyMode;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ReplicationTarget;
import io.ebsreplicator.schemas.ResultStatus;
import io.ebsreplicator.schemas.SchemaDecodeException;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One target region that stops answering delays only its own requests: {@code serve} on a
 * MiniCluster and a real broker, each target region served by its own ebs-local process. The
 * process of one region is frozen (SIGSTOP, its connections left open) while requests for both
 * regions arrive: the other region's requests complete about as fast as when nothing is frozen, the
 * intake keeps taking requests, and after SIGCONT the frozen region's requests complete too, each
 * with one byte-identical target.
 */
class RegionIsolationITCase {

    static final String SOURCE = "us-east-1";
    static final String HEALTHY = "us-west-2";
    static final String FROZEN = "eu-west-1";

    /** Requests per region in each phase: enough for a 95th percentile of a few samples. */
    static final int PER_REGION = 20;

    @RegisterExtension static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

    @TempDir static Path dir;

    static EbsLocalProcess sourceAndHealthy;
    static EbsLocalProcess frozen;
    static String requests;
    static String results;
    static JobClient job;
    static ResultClock clock;

    @BeforeAll
    static void serve() throws Exception {
        sourceAndHealthy =
                EbsLocalProcess.start(
                        dir.resolve("a"), List.of(SOURCE, HEALTHY), "--seal-delay", "100ms");
        frozen = EbsLocalProcess.start(dir.resolve("b"), List.of(FROZEN), "--seal-delay", "100ms");
        requests = KAFKA.newTopic("requests", 2);
        results = KAFKA.newTopic("results", 2);
        String deadLetters = KAFKA.newTopic("dead-letters");
        Configuration options = new Configuration();
        options.set(
                EbsReplicationOptions.ENDPOINTS,
                Map.of(
                        SOURCE, sourceAndHealthy.endpoint().toString(),
                        HEALTHY, sourceAndHealthy.endpoint().toString(),
                        FROZEN, frozen.endpoint().toString()));
        options.set(EbsReplicationOptions.ACCESS_KEY_ID, AccessKey.DEFAULT.accessKeyId());
        options.set(EbsReplicationOptions.SECRET_ACCESS_KEY, AccessKey.DEFAULT.secretAccessKey());
        options.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        options.set(EbsReplicationOptions.TARGET_SEAL_INTERVAL, Duration.ofMillis(200));
        // A frozen region's control-plane calls give up after a few seconds and are tried again.
        options.set(EbsReplicationOptions.CONTROL_ATTEMPT_TIMEOUT, Duration.ofSeconds(2));
        options.set(EbsReplicationOptions.CONTROL_TOTAL_TIMEOUT, Duration.ofSeconds(6));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2);
        env.enableCheckpointing(500);
        ServePipeline.build(
                env,
                new ServeSettings(
                        KAFKA.bootstrapServers(),
                        requests,
                        results,
                        deadLetters,
                        null,
                        Duration.ofMinutes(5),
                        Map.of()),
                options,
                BlockTransform.IDENTITY,
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options).withShare(2)));
        job = env.executeAsync("region-isolation-itcase");
        clock = new ResultClock(KAFKA, results);
    }

    @AfterAll
    static void stop() throws Exception {
        if (clock != null) {
            clock.close();
        }
        if (job != null) {
            job.cancel().get();
        }
        if (frozen != null) {
            frozen.close();
        }
        if (sourceAndHealthy != null) {
            sourceAndHealthy.close();
        }
    }

    @Test
    void aFrozenRegionDelaysOnlyItsOwnRequests() throws Exception {
        List<String> sources = new ArrayList<>();
        try (EbsProxy ebs = sourceAndHealthy.proxy(SOURCE)) {
            for (int i = 0; i < 4 * PER_REGION + 1; i++) {
                sources.add(TestSnapshots.write(ebs, null, 1, new int[] {0, 7}, 100 + i));
            }
        }

        // Nothing frozen: the latency of the healthy region's requests with both regions busy.
        Map<String, String> baseline = publish("base", sources.subList(0, 2 * PER_REGION));
        clock.await(baseline.keySet(), Duration.ofSeconds(120));
        long baseP95 = clock.p95(ids(baseline, HEALTHY));

        frozen.freeze();
        Map<String, String> during =
                publish("frozen", sources.subList(2 * PER_REGION, 4 * PER_REGION));
        clock.await(ids(during, HEALTHY), Duration.ofSeconds(120));
        long frozenP95 = clock.p95(ids(during, HEALTHY));
        // The intake goes on: a request taken well after the frozen region's calls timed out.
        Thread.sleep(8_000);
        Map<String, String> late = publish("late", List.of(sources.get(4 * PER_REGION)), HEALTHY);
        clock.await(late.keySet(), Duration.ofSeconds(60));
        assertThat(clock.results(ids(during, FROZEN)))
                .as("nothing of the frozen region completes while it is frozen")
                .isEmpty();
        System.out.printf(
                "healthy region p95: %d ms with nothing frozen, %d ms with %s frozen%n",
                baseP95, frozenP95, FROZEN);
        assertThat(frozenP95)
                .as("p95 of the healthy region with the other frozen, against %d ms", baseP95)
                .isLessThanOrEqualTo((long) (baseP95 * 1.2));

        frozen.thaw();
        clock.await(ids(during, FROZEN), Duration.ofSeconds(180));
        Thread.sleep(2_000); // a duplicate committed late would show now
        for (Map.Entry<String, String> r : during.entrySet()) {
            List<ReplicationResult> got = clock.resultsOf(r.getKey());
            assertThat(got).as("one result for %s", r.getKey()).hasSize(1);
            assertThat(got.get(0).getStatus())
                    .as(got.get(0).toString())
                    .isEqualTo(ResultStatus.COMPLETED);
        }
        for (String id : ids(during, FROZEN)) {
            ReplicationResult r = clock.resultsOf(id).get(0);
            assertIdentical(r.getSourceSnapshotId(), frozen, r.getTargetSnapshotId());
        }
    }

    /** Publishes one request per source, alternating the two regions unless one is given. */
    private static Map<String, String> publish(
            String prefix, List<String> sources, String... only) {
        Map<String, String> regionById = new HashMap<>();
        for (int i = 0; i < sources.size(); i++) {
            String region = only.length > 0 ? only[0] : (i % 2 == 0 ? HEALTHY : FROZEN);
            String id = prefix + "-" + region + "-" + i;
            ReplicationRequest r =
                    ReplicationRequest.newBuilder()
                            .setRequestId(id)
                            .setSourceRegion(SOURCE)
                            .setSourceSnapshotId(sources.get(i))
                            .setMode(CopyMode.FULL)
                            .setTargets(
                                    List.of(
                                            ReplicationTarget.newBuilder()
                                                    .setRegion(region)
                                                    .build()))
                            .build();
            clock.published(id);
            KAFKA.produce(
                    requests,
                    id.getBytes(StandardCharsets.UTF_8),
                    AvroCodec.forRequests().encode(r));
            regionById.put(id, region);
        }
        return regionById;
    }

    private static List<String> ids(Map<String, String> regionById, String region) {
        return regionById.entrySet().stream()
                .filter(e -> e.getValue().equals(region))
                .map(Map.Entry::getKey)
                .toList();
    }

    private static void assertIdentical(String source, EbsLocalProcess targetProcess, String target)
            throws Exception {
        try (EbsProxy src = sourceAndHealthy.proxy(SOURCE);
                EbsProxy dst = targetProcess.proxy(FROZEN)) {
            assertThat(digests(dst, target)).isEqualTo(digests(src, source));
        }
    }

    private static Map<Integer, String> digests(EbsProxy ebs, String snapshot) throws Exception {
        Map<Integer, String> out = new TreeMap<>();
        for (ListedBlock b : ebs.listSnapshotBlocks(snapshot, 0, null, 1000).blocks()) {
            FetchedBlock f = ebs.getBlock(snapshot, b.blockIndex(), b.blockToken()).get();
            out.put(
                    b.blockIndex(),
                    java.util.Base64.getEncoder().encodeToString(f.data().sha256()));
        }
        return out;
    }

    /** Reads committed results as they come and times each against its request's publishing. */
    static final class ResultClock implements AutoCloseable {
        private final Map<String, Long> publishedAt = new ConcurrentHashMap<>();
        private final Map<String, List<ReplicationResult>> results = new ConcurrentHashMap<>();
        private final Map<String, Long> latency = new ConcurrentHashMap<>();
        private final Thread reader;
        private volatile boolean closed;

        ResultClock(KafkaBrokerExtension kafka, String topic) {
            KafkaConsumer<byte[], byte[]> consumer =
                    new KafkaConsumer<>(kafka.consumerProps(null, true));
            List<TopicPartition> parts = new ArrayList<>();
            consumer.partitionsFor(topic)
                    .forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            AvroCodec<ReplicationResult> codec = AvroCodec.forResults();
            reader =
                    new Thread(
                            () -> {
                                try (consumer) {
                                    while (!closed) {
                                        record(consumer, codec);
                                    }
                                } catch (SchemaDecodeException e) {
                                    throw new IllegalStateException("A result that is not Avro", e);
                                }
                            },
                            "result-clock");
            reader.setDaemon(true);
            reader.start();
        }

        /** One poll: each result with the time since its request was published. */
        private void record(
                KafkaConsumer<byte[], byte[]> consumer, AvroCodec<ReplicationResult> codec)
                throws SchemaDecodeException {
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
                ReplicationResult result = codec.decode(r.value());
                String id = result.getRequestId();
                results.computeIfAbsent(id, k -> new CopyOnWriteArrayList<>()).add(result);
                Long at = publishedAt.get(id);
                if (at != null) {
                    latency.putIfAbsent(id, System.currentTimeMillis() - at);
                }
            }
        }

        void published(String id) {
            publishedAt.put(id, System.currentTimeMillis());
        }

        void await(java.util.Collection<String> ids, Duration timeout) throws InterruptedException {
            long until = System.nanoTime() + timeout.toNanos();
            while (!results.keySet().containsAll(ids)) {
                assertThat(System.nanoTime())
                        .as(
                                "results of %s; missing %s",
                                ids.size(),
                                ids.stream().filter(i -> !results.containsKey(i)).toList())
                        .isLessThan(until);
                Thread.sleep(100);
            }
        }

        List<ReplicationResult> results(java.util.Collection<String> ids) {
            List<ReplicationResult> out = new ArrayList<>();
            ids.forEach(i -> out.addAll(results.getOrDefault(i, List.of())));
            return out;
        }

        List<ReplicationResult> resultsOf(String id) {
            return results.getOrDefault(id, List.of());
        }

        long p95(java.util.Collection<String> ids) {
            List<Long> l = new ArrayList<>();
            ids.forEach(i -> l.add(latency.get(i)));
            l.sort(Long::compare);
            return l.get((int) Math.ceil(0.95 * l.size()) - 1);
        }

        @Override
        public void close() throws InterruptedException {
            closed = true;
            reader.join(5_000);
        }
    }
}
