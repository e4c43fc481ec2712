package io.ebsreplicator.benchmarks.fleet;

import io.ebsreplicator.benchmarks.BenchCluster;
import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.job.serve.ServePipeline;
import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.service.Quotas;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.CopyMode;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ReplicationTarget;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.JsonNode;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The fleet benchmark: {@code serve} on an embedded cluster against a real Kafka broker and
 * ebs-local with EBS's default quotas, fed a whole fleet's requests at once. Three scenarios:
 *
 * <ul>
 *   <li>{@code fleet}: L lineages x G generations of small snapshots published at once (mode AUTO,
 *       keyed by lineage). Reports results per second, publish-to-result latency percentiles, the
 *       control-plane floor (N requests need N/10 s of StartSnapshot and of CompleteSnapshot at 10
 *       per second each) against the time measured, checkpoint size and duration, and heap.
 *   <li>{@code deadline}: a backlog of B full copies of which the last U to arrive have a deadline
 *       they can only meet if started first; run once per start order.
 *   <li>{@code put-quota}: C concurrent copies with ebs-local's quotas scaled down so that
 *       PutSnapshotBlock's quota, not the CPU, is the limit: the put rate kept, and the share of
 *       throttled answers.
 * </ul>
 *
 * <p>ebs-local runs in this process (its counters are the ground truth of what EBS answered); the
 * broker is a separate process started by {@code run-fleet.sh}. Runs as a plain {@code main}.
 */
public final class FleetBenchmark {

    static final String SOURCE = "us-east-1";
    static final String TARGET = "us-west-2";

    private FleetBenchmark() {}

    public static void main(String[] args) throws Exception {
        Args a = Args.parse(args);
        Path data = Files.createTempDirectory(a.dataRoot, "ebs-fleet-");
        try {
            FleetReport report =
                    switch (a.scenario) {
                        case "fleet" -> fleet(a, data);
                        case "deadline" -> deadline(a, data);
                        case "put-quota" -> putQuota(a, data);
                        default ->
                                throw new IllegalArgumentException(
                                        "Unknown scenario " + a.scenario);
                    };
            report.write(a.out);
            System.out.println(report.markdown());
        } finally {
            deleteQuietly(data);
        }
        System.exit(0); // Kafka and Flink leave non-daemon threads behind
    }

    // ------------------------------------------------------------------ scenarios

    private static FleetReport fleet(Args a, Path data) throws Exception {
        List<List<String>> lineages;
        try (EbsLocalServer seed = server(data, Quotas.unlimited(), Duration.ZERO);
                EbsProxy ebs = proxies(seed, 1).create(SOURCE)) {
            lineages = new FleetSnapshots().lineages(ebs, a.lineages, a.generations, 2, 1);
        }
        List<Published> requests = new ArrayList<>();
        for (int l = 0; l < lineages.size(); l++) {
            for (int g = 0; g < lineages.get(l).size(); g++) {
                String id = "fleet-" + l + "-" + g + "-" + UUID.randomUUID();
                requests.add(
                        new Published(
                                id,
                                "vol-" + l,
                                g,
                                request(id, lineages.get(l).get(g), "vol-" + l, null, 0)));
            }
        }
        try (EbsLocalServer ebs = server(data, Quotas.defaults(), null)) {
            Run run = run(a, ebs, requests, Map.of(), p -> null, null);
            return FleetReport.fleet(a, run, ebs.stats());
        }
    }

    private static FleetReport deadline(Args a, Path data) throws Exception {
        List<String> sources;
        try (EbsLocalServer seed = server(data, Quotas.unlimited(), Duration.ZERO);
                EbsProxy ebs = proxies(seed, 1).create(SOURCE)) {
            List<List<String>> l = new FleetSnapshots().lineages(ebs, a.backlog, 1, 2, 1);
            sources = l.stream().map(c -> c.get(0)).toList();
        }
        Map<String, FleetReport.Order> orders = new LinkedHashMap<>();
        for (String order : List.of("deadline", "arrival")) {
            List<Published> requests = new ArrayList<>();
            for (int i = 0; i < sources.size(); i++) {
                boolean urgent = i >= sources.size() - a.urgent;
                String id =
                        order + "-" + (urgent ? "urgent-" : "bulk-") + i + "-" + UUID.randomUUID();
                requests.add(
                        new Published(id, null, 0, request(id, sources.get(i), null, null, 0)));
            }
            try (EbsLocalServer ebs = server(data, Quotas.defaults(), null)) {
                Run run =
                        run(
                                a,
                                ebs,
                                requests,
                                Map.of(EbsReplicationOptions.SCHEDULING_ORDER.key(), order),
                                p ->
                                        p.id.contains("urgent")
                                                ? Instant.now().plus(a.deadlineAfter)
                                                : null,
                                null);
                orders.put(order, FleetReport.Order.of(run));
            }
        }
        return FleetReport.deadline(a, orders);
    }

    private static FleetReport putQuota(Args a, Path data) throws Exception {
        List<String> sources = new ArrayList<>();
        try (EbsLocalServer seed = server(data, Quotas.unlimited(), Duration.ZERO);
                EbsProxy ebs = proxies(seed, 1).create(SOURCE)) {
            FleetSnapshots s = new FleetSnapshots();
            int[] indexes = new int[a.blocks];
            java.util.Arrays.setAll(indexes, i -> i);
            for (int c = 0; c < a.copies; c++) {
                sources.add(s.write(ebs, null, indexes, c).join());
            }
            FleetSnapshots.awaitCompleted(ebs, sources);
        }
        List<Published> requests = new ArrayList<>();
        for (int c = 0; c < sources.size(); c++) {
            String id = "quota-" + c + "-" + UUID.randomUUID();
            requests.add(new Published(id, null, 0, request(id, sources.get(c), null, null, 0)));
        }
        Quotas scaled = Quotas.defaults().scaled(a.quotaScale);
        Map<String, String> options = new LinkedHashMap<>();
        // The job is told the account's quotas, as a user with raised or lowered quotas does.
        options.put(EbsReplicationOptions.PUT_RATE.key(), String.valueOf(scaled.putPerAccount()));
        options.put(EbsReplicationOptions.GET_RATE.key(), String.valueOf(scaled.getPerAccount()));
        options.put(
                EbsReplicationOptions.LIST_RATE.key(),
                String.valueOf(scaled.listSnapshotBlocksPerAccount()));
        options.put(
                EbsReplicationOptions.CONTROL_RATE.key(), String.valueOf(scaled.startPerAccount()));
        options.put(EbsReplicationOptions.MAX_IN_FLIGHT.key(), "64");
        try (EbsLocalServer ebs = server(data, scaled, null)) {
            PutSampler sampler = new PutSampler(ebs);
            Run run = run(a, ebs, requests, options, p -> null, sampler);
            return FleetReport.putQuota(a, run, sampler, scaled.putPerAccount());
        }
    }

    // ------------------------------------------------------------------ one run of serve

    /** A request as published, with what the report needs to know about it. */
    record Published(String id, String lineage, int generation, ReplicationRequest avro) {}

    /** What a run measured. */
    record Run(
            List<Published> requests,
            Map<String, Long> publishedAtMillis,
            Map<String, ReplicationResult> results,
            Map<String, Long> receivedAtMillis,
            long firstPublishMillis,
            long lastResultMillis,
            List<long[]> checkpoints,
            long maxHeapBytes,
            long heapAfterGcBytes,
            Map<String, Long> deadlines) {}

    private static Run run(
            Args a,
            EbsLocalServer ebs,
            List<Published> requests,
            Map<String, String> extraOptions,
            java.util.function.Function<Published, Instant> deadlineOf,
            PutSampler sampler)
            throws Exception {
        String suffix = Long.toHexString(System.nanoTime());
        ServeSettings settings =
                new ServeSettings(
                        a.bootstrapServers,
                        "fleet-requests-" + suffix,
                        "fleet-results-" + suffix,
                        "fleet-dead-letters-" + suffix,
                        null,
                        ServeSettings.DEFAULT_TRANSACTION_TIMEOUT,
                        Map.of());
        createTopics(a.bootstrapServers, settings);

        Configuration options = new Configuration();
        options.set(
                EbsReplicationOptions.ENDPOINTS,
                Map.of(SOURCE, ebs.endpoint().toString(), TARGET, ebs.endpoint().toString()));
        options.set(EbsReplicationOptions.ACCESS_KEY_ID, AccessKey.DEFAULT.accessKeyId());
        options.set(EbsReplicationOptions.SECRET_ACCESS_KEY, AccessKey.DEFAULT.secretAccessKey());
        extraOptions.forEach(options::setString);

        MiniCluster mini = BenchCluster.start(a.parallelism);
        ScheduledExecutorService sampling = Executors.newSingleThreadScheduledExecutor();
        List<long[]> checkpoints = new ArrayList<>();
        long[] maxHeap = {0};
        try {
            StreamExecutionEnvironment env = new TestStreamEnvironment(mini, a.parallelism);
            env.enableCheckpointing(a.checkpointInterval.toMillis());
            ServePipeline.build(
                    env,
                    settings,
                    options,
                    BlockTransform.IDENTITY,
                    new SdkEbsProxyFactory(
                            EbsProxyConfig.fromConfiguration(options).withShare(a.parallelism)));
            JobClient job = env.executeAsync("ebs-replicator fleet benchmark");
            URI rest = mini.getRestAddress().get();
            sampling.scheduleAtFixedRate(
                    () -> {
                        maxHeap[0] =
                                Math.max(
                                        maxHeap[0],
                                        ManagementFactory.getMemoryMXBean()
                                                .getHeapMemoryUsage()
                                                .getUsed());
                        if (sampler != null) {
                            sampler.sample();
                        }
                    },
                    0,
                    100,
                    TimeUnit.MILLISECONDS);
            awaitRunning(rest, job.getJobID().toString());

            Map<String, Long> publishedAt = new ConcurrentHashMap<>();
            Map<String, Long> deadlines = new LinkedHashMap<>();
            long first = System.currentTimeMillis();
            try (KafkaProducer<byte[], byte[]> producer = producer(a.bootstrapServers)) {
                AvroCodec<ReplicationRequest> codec = AvroCodec.forRequests();
                for (Published p : requests) {
                    Instant deadline = deadlineOf.apply(p);
                    if (deadline != null) {
                        p.avro().setDeadline(deadline);
                        deadlines.put(p.id(), deadline.toEpochMilli());
                    }
                    p.avro().setRequestedAt(Instant.now());
                    byte[] key =
                            (p.lineage() == null ? p.id() : p.lineage())
                                    .getBytes(StandardCharsets.UTF_8);
                    producer.send(
                            new ProducerRecord<>(
                                    settings.requestsTopic(), key, codec.encode(p.avro())));
                    publishedAt.put(p.id(), System.currentTimeMillis());
                }
                producer.flush();
            }
            System.err.printf(
                    "published %d requests in %d ms%n",
                    requests.size(), System.currentTimeMillis() - first);

            Map<String, ReplicationResult> results = new LinkedHashMap<>();
            Map<String, Long> receivedAt = new LinkedHashMap<>();
            long last = first;
            long give = Math.max(300_000, requests.size() * 1_000L);
            try (KafkaConsumer<byte[], byte[]> consumer =
                    consumer(a.bootstrapServers, settings.resultsTopic())) {
                AvroCodec<ReplicationResult> codec = AvroCodec.forResults();
                long lastReport = System.currentTimeMillis();
                while (results.size() < requests.size()
                        && System.currentTimeMillis() - first < give) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        ReplicationResult result = codec.decode(r.value());
                        long now = System.currentTimeMillis();
                        if (results.put(result.getRequestId(), result) != null) {
                            throw new IllegalStateException(
                                    "Two results for " + result.getRequestId());
                        }
                        receivedAt.put(result.getRequestId(), now);
                        last = now;
                    }
                    if (System.currentTimeMillis() - lastReport > 10_000) {
                        lastReport = System.currentTimeMillis();
                        System.err.printf(
                                "%d s: %d of %d results%n",
                                (lastReport - first) / 1000, results.size(), requests.size());
                    }
                }
            }
            checkpoints.addAll(checkpointStats(rest, job.getJobID().toString()));
            job.cancel().get(60, TimeUnit.SECONDS);
            System.gc();
            long afterGc = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
            return new Run(
                    requests,
                    publishedAt,
                    results,
                    receivedAt,
                    first,
                    last,
                    checkpoints,
                    maxHeap[0],
                    afterGc,
                    deadlines);
        } finally {
            sampling.shutdownNow();
            mini.close();
        }
    }

    // ------------------------------------------------------------------ helpers

    static ReplicationRequest request(
            String id, String source, String lineage, Instant deadline, int priority) {
        Map<String, String> attributes = new LinkedHashMap<>();
        if (lineage != null) {
            attributes.put("lineage", lineage);
        }
        return ReplicationRequest.newBuilder()
                .setRequestId(id)
                .setSourceRegion(SOURCE)
                .setSourceSnapshotId(source)
                .setMode(CopyMode.AUTO)
                .setTargets(List.of(ReplicationTarget.newBuilder().setRegion(TARGET).build()))
                .setDeadline(deadline)
                .setPriority(priority)
                .setAttributes(attributes)
                .build();
    }

    private static EbsLocalServer server(Path data, Quotas quotas, Duration sealDelay)
            throws Exception {
        EbsLocalConfig.Builder b =
                EbsLocalConfig.builder()
                        .port(0)
                        .dataDir(data.resolve("ebs"))
                        .regions(SOURCE, TARGET)
                        .quotas(quotas);
        if (sealDelay != null) {
            b.sealDelay(sealDelay);
        }
        return EbsLocalServer.start(b.build());
    }

    private static SdkEbsProxyFactory proxies(EbsLocalServer ebs, int share) {
        return new SdkEbsProxyFactory(
                EbsProxyConfig.builder()
                        .endpoint(SOURCE, ebs.endpoint().toString())
                        .endpoint(TARGET, ebs.endpoint().toString())
                        .credentials(
                                AccessKey.DEFAULT.accessKeyId(),
                                AccessKey.DEFAULT.secretAccessKey())
                        .getRate(1e6)
                        .putRate(1e6)
                        .listRate(1e6)
                        .controlRate(1e6)
                        .describeRate(1e6)
                        .share(share)
                        .build());
    }

    private static void createTopics(String bootstrap, ServeSettings s) throws Exception {
        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        try (Admin admin = Admin.create(p)) {
            admin.createTopics(
                            List.of(
                                    new NewTopic(s.requestsTopic(), 4, (short) 1),
                                    new NewTopic(s.resultsTopic(), 4, (short) 1),
                                    new NewTopic(s.deadLettersTopic(), 1, (short) 1)))
                    .all()
                    .get(60, TimeUnit.SECONDS);
        }
    }

    private static KafkaProducer<byte[], byte[]> producer(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        return new KafkaProducer<>(p);
    }

    private static KafkaConsumer<byte[], byte[]> consumer(String bootstrap, String topic) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(p);
        List<TopicPartition> parts = new ArrayList<>();
        c.partitionsFor(topic).forEach(i -> parts.add(new TopicPartition(topic, i.partition())));
        c.assign(parts);
        c.seekToBeginning(parts);
        return c;
    }

    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode get(URI rest, String path) throws Exception {
        HttpResponse<String> r =
                HTTP.send(
                        HttpRequest.newBuilder(rest.resolve(path)).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    private static void awaitRunning(URI rest, String jobId) throws Exception {
        long until = System.currentTimeMillis() + 120_000;
        while (System.currentTimeMillis() < until) {
            JsonNode job = get(rest, "/jobs/" + jobId);
            boolean allRunning = true;
            for (JsonNode v : job.path("vertices")) {
                allRunning &= "RUNNING".equals(v.path("status").asText());
            }
            if ("RUNNING".equals(job.path("state").asText()) && allRunning) {
                Thread.sleep(1_000); // the intake opens its consumer on the first poll
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("The serve job did not start");
    }

    /** Per completed checkpoint: {id, checkpointed size in bytes, end-to-end duration in ms}. */
    private static List<long[]> checkpointStats(URI rest, String jobId) throws Exception {
        List<long[]> out = new ArrayList<>();
        for (JsonNode c : get(rest, "/jobs/" + jobId + "/checkpoints").path("history")) {
            if ("COMPLETED".equals(c.path("status").asText())) {
                out.add(
                        new long[] {
                            c.path("id").asLong(),
                            c.path("state_size").asLong(),
                            c.path("end_to_end_duration").asLong()
                        });
            }
        }
        return out;
    }

    private static void deleteQuietly(Path dir) {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (Exception e) {
            System.err.println("Could not delete " + dir + ": " + e);
        }
    }

    /** Samples ebs-local's PutSnapshotBlock counters every 100 ms during a run. */
    static final class PutSampler {
        private final EbsLocalServer ebs;
        final List<long[]> samples = new ArrayList<>(); // {millis, puts, throttled puts}

        PutSampler(EbsLocalServer ebs) {
            this.ebs = ebs;
        }

        synchronized void sample() {
            samples.add(
                    new long[] {
                        System.currentTimeMillis(),
                        ebs.stats().requests(Operation.PUT_SNAPSHOT_BLOCK),
                        ebs.stats().errors("RequestThrottledException")
                    });
        }
    }

    /** The command line. */
    static final class Args {
        String scenario = "fleet";
        String bootstrapServers = "127.0.0.1:9092";
        int lineages = 100;
        int generations = 3;
        int parallelism = 2;
        Duration checkpointInterval = Duration.ofSeconds(5);
        int backlog = 200;
        int urgent = 20;
        Duration deadlineAfter = Duration.ofSeconds(10);
        int copies = 20;
        int blocks = 200;
        double quotaScale = 0.1;
        Path dataRoot = Path.of(Files.isDirectory(Path.of("/dev/shm")) ? "/dev/shm" : "/tmp");
        Path out;

        static Args parse(String[] args) {
            Args a = new Args();
            for (int i = 0; i < args.length; i++) {
                String v = i + 1 < args.length ? args[i + 1] : null;
                switch (args[i]) {
                    case "--scenario" -> a.scenario = v;
                    case "--bootstrap-servers" -> a.bootstrapServers = v;
                    case "--lineages" -> a.lineages = Integer.parseInt(v);
                    case "--generations" -> a.generations = Integer.parseInt(v);
                    case "--parallelism" -> a.parallelism = Integer.parseInt(v);
                    case "--checkpoint-interval" ->
                            a.checkpointInterval = org.apache.flink.util.TimeUtils.parseDuration(v);
                    case "--backlog" -> a.backlog = Integer.parseInt(v);
                    case "--urgent" -> a.urgent = Integer.parseInt(v);
                    case "--deadline-after" ->
                            a.deadlineAfter = org.apache.flink.util.TimeUtils.parseDuration(v);
                    case "--copies" -> a.copies = Integer.parseInt(v);
                    case "--blocks" -> a.blocks = Integer.parseInt(v);
                    case "--quota-scale" -> a.quotaScale = Double.parseDouble(v);
                    case "--data-root" -> a.dataRoot = Path.of(v);
                    case "--out" -> a.out = Path.of(v);
                    default -> throw new IllegalArgumentException("Unknown argument " + args[i]);
                }
                i++;
            }
            if (a.out == null) {
                a.out =
                        Path.of(
                                "benchmarks/results/fleet-"
                                        + (a.scenario.equals("fleet")
                                                ? "L" + a.lineages + "-G" + a.generations
                                                : a.scenario)
                                        + ".json");
            }
            return a;
        }
    }
}
