package io.ebsreplicator.job.cluster;

import io.ebsreplicator.job.TestSnapshots;
import io.ebsreplicator.job.kafka.CommittedRecords;
import io.ebsreplicator.job.kafka.KafkaBroker;
import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.fault.FaultProfile;
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

import com.fasterxml.jackson.databind.JsonNode;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The chaos soak: {@code serve} on a highly available cluster while its storage endpoint misbehaves
 * and its processes are killed, followed by checks of everything it produced. Runs in the test JVM
 * ({@link SoakClusterE2E}; {@code benchmarks/soak.sh} for long runs) and drives real processes on
 * loopback:
 *
 * <ul>
 *   <li>ebs-local in this JVM (so that the checks read what EBS stored), persistent, with a fault
 *       profile: latency with jitter, throttling, 5xx, connection resets, corrupted reads, empty
 *       pages;
 *   <li>a ZooKeeper server, a Kafka broker, and a Flink cluster of two JobManagers (leader and
 *       standby) and three TaskManagers, each its own JVM, started by the deploy/local scripts;
 *   <li>a producer that keeps publishing snapshots of growing lineages, some requests twice, some
 *       messages malformed;
 *   <li>a chaos loop on a schedule: SIGKILL of a random TaskManager (a replacement starts), of the
 *       leading JobManager (it comes back as a standby), a restart of the broker and of ebs-local.
 * </ul>
 *
 * <p>Before the chaos, while a first request is copied with throttling injected, it scrapes every
 * process's Prometheus endpoint: the TaskManagers must export the connector's metrics, and every
 * query of the Grafana dashboard in {@code deploy/grafana} must name a metric that was scraped.
 * Each JobManager failover is timed: a standby must lead, the same job (nobody resubmits anything)
 * must write again, and the time from the kill to its first block is measured.
 *
 * <p>At the end it checks that every request got exactly one result, every malformed message one
 * dead letter, every completed target equals its source and was completed once, every target
 * snapshot belongs to one result, lineage copies are incremental, no target is left pending or in
 * error but those of failed results, the blocks written twice stay within a bound per disruption,
 * and every failover resumed the one job within {@link #FIRST_BLOCK_AFTER_FAILOVER}; it writes the
 * timeline, the throughput over time (also as a PNG chart) and the checks to its output directory.
 */
final class ChaosSoak {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";

    static final int PARALLELISM = 3;
    static final int MAX_IN_FLIGHT = 8;

    /**
     * Job-wide PutSnapshotBlock budget: far above what the producer asks for on average, low enough
     * that a restore's re-copy has a bound (see {@link #recopyBoundPerDisruption}).
     */
    static final int PUTS_PER_SECOND = 40;

    /** How long a killed process goes unnoticed: heartbeat and ZooKeeper session timeouts. */
    static final Duration FAILURE_NOTICED = Duration.ofSeconds(6);

    /** A lineage's first snapshot: blocks spread over a 1 GiB volume. */
    static final int FIRST_BLOCKS = 8;

    /** Blocks each later snapshot of a lineage changes. */
    static final int CHANGED_BLOCKS = 3;

    /**
     * The request copied while the metrics are scraped: long enough at {@link #PUTS_PER_SECOND},
     * slowed further by the throttling injected meanwhile, for a few rounds of scrapes.
     */
    static final int METRICS_BLOCKS = 240;

    /** Throttled PutSnapshotBlock attempts while the metrics are scraped. */
    static final double METRICS_THROTTLE_RATE = 0.3;

    /** A pause in the writes at least this long is a failover, not the budget's pacing. */
    static final Duration FAILOVER_STALL = Duration.ofSeconds(1);

    /** The longest a JobManager failover may take from the kill to the next block written. */
    static final Duration FIRST_BLOCK_AFTER_FAILOVER = Duration.ofSeconds(90);

    /** What the soak does; {@link #shortRun} for CI, {@link #minutes} for a real soak. */
    record Config(
            Path repo,
            Path jobJar,
            Path work,
            Duration produceFor,
            int lineages,
            Duration produceEvery,
            int duplicateEvery,
            int malformedEvery,
            Duration checkpointInterval,
            Duration firstTaskManagerKill,
            Duration taskManagerKillEvery,
            Duration firstJobManagerKill,
            Duration jobManagerKillEvery,
            Duration kafkaRestartAt,
            Duration ebsLocalRestartAt,
            Duration drainTimeout,
            boolean replacementFirst,
            long seed) {

        /**
         * As short as it can be and still do one TaskManager kill and one JobManager failover,
         * faults on, while a dozen lineages grow for 45 s (about three minutes in all with start-up
         * and drain); the replacement TaskManager starts before the kill, and the broker and
         * ebs-local are not restarted.
         */
        static Config shortRun(Path repo, Path jobJar, Path work) {
            return new Config(
                    repo,
                    jobJar,
                    work,
                    Duration.ofSeconds(45),
                    12,
                    Duration.ofSeconds(1),
                    7,
                    5,
                    Duration.ofSeconds(2),
                    Duration.ofSeconds(10),
                    null,
                    // Or as soon as the job recovered from the TaskManager kill, if later.
                    Duration.ofSeconds(25),
                    null,
                    null,
                    null,
                    Duration.ofMinutes(3),
                    true,
                    7);
        }

        /**
         * The soak: 50 lineages for {@code minutes}, a TaskManager killed about every 2
         * minutes, the leader about every 7, the broker restarted once at a third of the run and
         * ebs-local once at two thirds.
         */
        static Config minutes(Path repo, Path jobJar, Path work, int minutes) {
            Duration run = Duration.ofMinutes(minutes);
            return new Config(
                    repo,
                    jobJar,
                    work,
                    run,
                    50,
                    Duration.ofSeconds(2),
                    10,
                    20,
                    Duration.ofSeconds(5),
                    Duration.ofMinutes(1),
                    Duration.ofMinutes(2),
                    Duration.ofMinutes(3),
                    Duration.ofMinutes(7),
                    run.dividedBy(3),
                    run.multipliedBy(2).dividedBy(3),
                    Duration.ofMinutes(5),
                    false,
                    7);
        }
    }

    /** One disruption: what, when (seconds since the soak started) and how long to recover. */
    record Event(String what, double atSeconds, double recoveredAfterSeconds, String detail) {}

    /** One named end-of-run check. */
    record Check(String name, boolean passed, String detail) {}

    /**
     * One JobManager failover: the leader killed, the standby that took over (null when none did)
     * and when, seconds after the kill; when the writes stopped and the first block after the
     * pause, seconds after the kill (-1 when no block came).
     */
    record Failover(
            String killed,
            String leader,
            double ledAfter,
            double writesStoppedAfter,
            double firstBlockAfter,
            double pauseSeconds) {}

    /** What the soak found. */
    record Report(
            List<Check> checks,
            List<Event> events,
            List<double[]> throughput,
            Map<String, Long> counts,
            Path directory) {

        List<Check> failed() {
            return checks.stream().filter(c -> !c.passed()).toList();
        }
    }

    private final Config config;
    private final Random random;

    /** When the soak proper started: everything is up and the serve job has checkpointed. */
    private long t0;

    private final List<Event> events = new CopyOnWriteArrayList<>();

    /** Set when the chaos loop has done (and waited out) its last disruption. */
    private volatile boolean chaosDone;

    /** The source of the request copied while the metrics are scraped, written at start-up. */
    private String metricsSource;

    private final List<Failover> failovers = new CopyOnWriteArrayList<>();
    private final List<Check> metricChecks = new ArrayList<>();
    private final List<double[]> putSamples = new CopyOnWriteArrayList<>();
    private final Map<String, Long> putsBeforeEbsRestart = new ConcurrentHashMap<>();

    /** Replaced when ebs-local restarts; read by the sampler thread. */
    private volatile EbsLocalServer ebs;

    private EbsLocalConfig ebsConfig;
    private LocalZooKeeper zookeeper;
    private KafkaBroker kafka;
    private LocalFlinkCluster flink;
    private KafkaProducer<byte[], byte[]> producer;
    private String job;

    /** Published by the producer: request id to its lineage, generation and source snapshot. */
    private final Map<String, Published> published = new ConcurrentHashMap<>();

    private final List<String> lineageOrder = new ArrayList<>();
    private int malformed;
    private int duplicates;

    record Published(String lineage, int generation, String source, String requestId) {}

    ChaosSoak(Config config) {
        this.config = config;
        this.random = new Random(config.seed());
    }

    static final String REQUESTS = "ebs-replication-requests";
    static final String RESULTS = "ebs-replication-results";
    static final String DEAD_LETTERS = "ebs-replication-dead-letters";

    /** Runs the soak and its checks; everything it started is stopped on return. */
    Report run() throws Exception {
        Files.createDirectories(config.work());
        ScheduledExecutorService sampler =
                Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "soak-put-sampler"));
        try {
            startEverything();
            metricsDuringACopy();
            t0 = System.nanoTime();
            sampler.scheduleAtFixedRate(this::samplePuts, 0, 500, TimeUnit.MILLISECONDS);
            CompletableFuture<Void> chaos =
                    CompletableFuture.runAsync(
                            this::chaosLoop, r -> new Thread(r, "soak-chaos").start());
            chaos.whenComplete((ok, e) -> chaosDone = true);
            produce();
            log(
                    "produced %d requests (%d duplicates, %d malformed); draining",
                    published.size(), duplicates, malformed);
            chaos.get(config.drainTimeout().toMillis(), TimeUnit.MILLISECONDS);
            List<ReplicationResult> results = drain();
            sampler.shutdownNow();
            Report report = check(results);
            SoakReportWriter.write(report, config.work());
            return report;
        } finally {
            sampler.shutdownNow();
            stopEverything();
        }
    }

    // ------------------------------------------------------------------ set-up

    private void startEverything() throws Exception {
        ebsConfig =
                EbsLocalConfig.builder()
                        .port(DeployScripts.freePort())
                        .regions(SOURCE, DR)
                        .dataDir(config.work().resolve("ebs-local"))
                        .sealDelay(Duration.ofMillis(200))
                        .faults(faults())
                        .build();
        ebs = EbsLocalServer.start(ebsConfig);
        zookeeper = new LocalZooKeeper(config.repo(), config.work().resolve("zookeeper"));
        log("%s", zookeeper.start().trim());
        flink =
                new LocalFlinkCluster(
                                config.repo(), config.work().resolve("flink"), config.jobJar(), 3)
                        .withZooKeeperHa(zookeeper.quorum(), 2);
        CompletableFuture<String> flinkStarted =
                CompletableFuture.supplyAsync(
                        flink::start, r -> new Thread(r, "soak-flink-start").start());
        kafka = KafkaBroker.builder().build();
        kafka.start();
        kafka.createTopic(REQUESTS, 4);
        kafka.createTopic(RESULTS, 1);
        kafka.createTopic(DEAD_LETTERS, 1);
        producer = new KafkaProducer<>(producerProps());
        // While the cluster starts: the source of the request copied while the metrics are
        // scraped, written with the faults off.
        ebs.setFaults(FaultProfile.none());
        try {
            int[] indexes = new int[METRICS_BLOCKS];
            for (int i = 0; i < indexes.length; i++) {
                indexes[i] = i * 8;
            }
            metricsSource = TestSnapshots.write(ebs, SOURCE, null, 1, indexes, config.seed());
        } finally {
            ebs.setFaults(faults());
        }
        log("%s", flinkStarted.get(5, TimeUnit.MINUTES).trim());
        var client = flink.submit(List.of("-p", "" + PARALLELISM, "-d"), serve());
        job = client.awaitJobId(Duration.ofMinutes(2));
        if (client.awaitExit(Duration.ofMinutes(2)) != 0) {
            throw new IllegalStateException("serve was not submitted:\n" + client.output());
        }
        awaitCheckpointAfter(0, Duration.ofMinutes(2));
        log("serve job %s running; soak starts", job);
    }

    /**
     * Flink's Prometheus reporter on every process of the cluster, before the chaos: one request is
     * published and, while it is copied with PutSnapshotBlock throttled (ebs-local throttles for
     * one reason at a time: each in turn between scrapes), every process is scraped until the copy
     * has visibly started and a throttle of each reason was counted. The TaskManagers must export
     * the connector's metrics, and every query of the Grafana dashboard must name a metric that was
     * scraped. The request's result is checked with all the others at the end.
     */
    private void metricsDuringACopy() throws Exception {
        long started = System.nanoTime();
        PrometheusSamples scraped = new PrometheusSamples();
        String stoppedBy = null;
        int rounds = 0;
        Snapshot target = null;
        Set<String> before =
                ebs.service().snapshots(DR).stream().map(Snapshot::id).collect(Collectors.toSet());
        try {
            String source = metricsSource;
            String id = "metrics-gen-0";
            send("metrics", AvroCodec.forRequests().encode(request(id, source, "metrics")));
            published.put(id, new Published("metrics", 0, source, id));
            long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
            while (true) {
                for (String reason : ConnectorMetrics.THROTTLE_REASONS) {
                    ebs.setFaults(
                            FaultProfile.builder()
                                    .seed(config.seed() + rounds)
                                    .throttleRate(METRICS_THROTTLE_RATE)
                                    .throttleReason(reason)
                                    .operations(Operation.PUT_SNAPSHOT_BLOCK)
                                    .build());
                    Thread.sleep(200);
                }
                rounds++;
                scraped = ConnectorMetrics.scrapeAll(flink);
                PrometheusSamples now = scraped;
                if (now.sum(ConnectorMetrics.COPIED) > 0
                        && ConnectorMetrics.THROTTLE_REASONS.stream()
                                .allMatch(r -> now.sum(ConnectorMetrics.throttled(r)) > 0)) {
                    break;
                }
                if (target == null) {
                    target = newTarget(before);
                }
                if (target != null && target.putRequestsAccepted() >= METRICS_BLOCKS) {
                    stoppedBy = "the copy ended first";
                    break;
                }
                if (System.nanoTime() > deadline) {
                    stoppedBy = "no copy with every throttle reason in 3 minutes";
                    break;
                }
            }
        } finally {
            ebs.setFaults(faults());
        }
        // blocksCopied and bytesWritten are two counters, counted one after the other: compare
        // them once this copy is done and two scrapes in a row agree.
        PrometheusSamples settled = null;
        long until = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (stoppedBy == null
                && (target == null || target.putRequestsAccepted() < METRICS_BLOCKS)
                && System.nanoTime() < until) {
            if (target == null) {
                target = newTarget(before);
            }
            Thread.sleep(200);
        }
        double lastCopied = -1;
        while (stoppedBy == null && settled == null && System.nanoTime() < until) {
            PrometheusSamples now = ConnectorMetrics.scrapeAll(flink);
            double c = now.sum(ConnectorMetrics.COPIED);
            if (c > 0 && c == lastCopied) {
                settled = now;
            } else {
                lastCopied = c;
                Thread.sleep(500);
            }
        }
        Set<String> names = scraped.names();
        Set<String> ebsNames = ConnectorMetrics.ebsNames(scraped);
        log(
                "scraped %d processes in %d rounds, %.1f s: %s",
                flink.prometheusPorts().size(),
                rounds,
                (System.nanoTime() - started) / 1e9,
                ebsNames);
        List<String> missing = new ArrayList<>(ConnectorMetrics.CONNECTOR_METRICS);
        missing.removeAll(names);
        double copied = settled == null ? -1 : settled.sum(ConnectorMetrics.COPIED);
        double bytes = settled == null ? -1 : settled.sum(ConnectorMetrics.BYTES);
        var accountThrottles = scraped.of(ConnectorMetrics.throttled("ACCOUNT_THROTTLED"));
        // The reporter writes label values with '_' for characters Prometheus names do not
        // allow: us-west-2 is region="us_west_2".
        String region = DR.replace('-', '_');
        boolean labelled =
                !accountThrottles.isEmpty()
                        && accountThrottles.stream()
                                .allMatch(x -> region.equals(x.labels().get("region")));
        metricChecks.add(
                new Check(
                        "the connector's metrics are exported for Prometheus during a copy",
                        stoppedBy == null
                                && missing.isEmpty()
                                && settled != null
                                && bytes >= copied * 512 * 1024
                                && labelled,
                        String.format(
                                "%s; once the copy was done blocks copied %.0f, bytes written %.0f;"
                                        + " not exported %s;"
                                        + " throttles labelled region=%s: %s; ebs metrics %s",
                                stoppedBy == null ? "every throttle reason counted" : stoppedBy,
                                copied,
                                bytes,
                                missing,
                                region,
                                labelled,
                                ebsNames)));
        ConnectorMetrics.Dashboard dashboard = ConnectorMetrics.dashboard(config.repo());
        log("dashboard queries name %s", dashboard.metrics());
        List<String> notExported = new ArrayList<>(dashboard.metrics());
        notExported.removeAll(names);
        List<String> noPanel = new ArrayList<>(ConnectorMetrics.CONNECTOR_METRICS);
        noPanel.removeAll(dashboard.metrics());
        metricChecks.add(
                new Check(
                        "every query of the Grafana dashboard names an exported metric, and each"
                                + " connector metric has a panel",
                        dashboard.queriesWithoutMetric().isEmpty()
                                && !dashboard.metrics().isEmpty()
                                && notExported.isEmpty()
                                && noPanel.isEmpty(),
                        String.format(
                                "%d metrics queried; queries naming none %s; not exported %s;"
                                        + " without a panel %s",
                                dashboard.metrics().size(),
                                dashboard.queriesWithoutMetric(),
                                notExported,
                                noPanel)));
    }

    /**
     * The fault profile: a cross-region link (latency with jitter) and an unhappy service, every
     * fault at a rate the job's retries absorb.
     */
    private FaultProfile faults() {
        return FaultProfile.builder()
                .seed(config.seed())
                .latency(5, 3)
                .throttleRate(0.02)
                .serverErrorRate(0.01)
                .resetRate(0.005)
                .corruptReadRate(0.01)
                .emptyPageRate(0.2)
                .build();
    }

    private List<String> serve() {
        String endpoint = ebs.endpoint().toString();
        return List.of(
                "serve",
                "--bootstrap-servers",
                kafka.bootstrapServers(),
                "--requests-topic",
                REQUESTS,
                "--results-topic",
                RESULTS,
                "--dead-letter-topic",
                DEAD_LETTERS,
                "--group-id",
                "soak",
                "--checkpoint-interval",
                config.checkpointInterval().toSeconds() + "s",
                "--transaction-timeout",
                "10min",
                "--max-in-flight",
                "" + MAX_IN_FLIGHT,
                "--endpoint",
                SOURCE + "=" + endpoint,
                "--endpoint",
                DR + "=" + endpoint,
                "-D",
                "ebs.credentials.access-key-id=" + ebs.accessKey().accessKeyId(),
                "-D",
                "ebs.credentials.secret-access-key=" + ebs.accessKey().secretAccessKey(),
                "-D",
                "ebs.rate.put-per-second=" + PUTS_PER_SECOND,
                "-D",
                "ebs.completion.poll-interval=200ms",
                "-D",
                "ebs.target.watch-interval=1s");
    }

    private void stopEverything() {
        List<AutoCloseable> all = new ArrayList<>();
        if (producer != null) {
            all.add(() -> producer.close(Duration.ZERO));
        }
        all.add(flink);
        all.add(kafka);
        all.add(zookeeper);
        all.add(ebs);
        for (AutoCloseable c : all) {
            if (c == null) {
                continue;
            }
            try {
                c.close();
            } catch (Exception e) {
                System.err.println("soak: stopping " + c + " failed: " + e);
            }
        }
    }

    // ------------------------------------------------------------------ producer

    /**
     * Publishes a new snapshot of the next lineage every {@code produceEvery} until {@code
     * produceFor} has passed and the chaos loop is done (a slow machine delays its disruptions):
     * the first of a lineage full, the next ones children with a few changed blocks; some requests
     * twice, some messages not Avro at all.
     */
    private void produce() throws Exception {
        Map<String, String> tips = new LinkedHashMap<>();
        for (int i = 0; i < config.lineages(); i++) {
            String lineage = "vol-" + i;
            lineageOrder.add(lineage);
            tips.put(lineage, null);
        }
        Map<String, Integer> generations = new HashMap<>();
        long end = t0 + config.produceFor().toNanos();
        int next = 0;
        // On until every disruption is done and recovered, if that takes longer: a disruption
        // must come, and the job must recover from it, while requests come in.
        long cap = end + config.drainTimeout().toNanos();
        while (System.nanoTime() < end || (!chaosDone && System.nanoTime() < cap)) {
            long started = System.nanoTime();
            String lineage = lineageOrder.get(next++ % lineageOrder.size());
            int generation = generations.merge(lineage, 1, Integer::sum) - 1;
            String source = createSource(tips.get(lineage), generation);
            tips.put(lineage, source);
            String id = lineage + "-gen-" + generation;
            byte[] message = AvroCodec.forRequests().encode(request(id, source, lineage));
            send(lineage, message);
            published.put(id, new Published(lineage, generation, source, id));
            // Every so many requests, the same one again, and a message that is not Avro.
            if (next % config.duplicateEvery() == 1) {
                send(lineage, message);
                duplicates++;
            }
            if (next % config.malformedEvery() == 1) {
                send(lineage, ("not avro " + id).getBytes(StandardCharsets.UTF_8));
                malformed++;
            }
            long wait = config.produceEvery().toNanos() - (System.nanoTime() - started);
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
        }
    }

    /** A completed source snapshot; retried, since ebs-local's faults hit the producer too. */
    private String createSource(String parent, int generation) throws Exception {
        int[] indexes = new int[parent == null ? FIRST_BLOCKS : CHANGED_BLOCKS];
        for (int i = 0; i < indexes.length; i++) {
            int index;
            do {
                index = random.nextInt(Snapshot.BLOCKS_PER_GIB);
            } while (contains(indexes, i, index));
            indexes[i] = index;
        }
        long seed = random.nextLong();
        Exception last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            try {
                return TestSnapshots.write(ebs, SOURCE, parent, 1, indexes, seed);
            } catch (Exception e) {
                last = e;
                Thread.sleep(500);
            }
        }
        throw new IllegalStateException("No source snapshot of generation " + generation, last);
    }

    private static boolean contains(int[] values, int upTo, int value) {
        for (int i = 0; i < upTo; i++) {
            if (values[i] == value) {
                return true;
            }
        }
        return false;
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
        r.setAttributes(Map.of("lineage", lineage));
        return r;
    }

    /**
     * One record, keyed by lineage so that a lineage stays in order on one partition; retried while
     * the broker restarts.
     */
    private void send(String lineage, byte[] value) throws Exception {
        ProducerRecord<byte[], byte[]> record =
                new ProducerRecord<>(REQUESTS, lineage.getBytes(StandardCharsets.UTF_8), value);
        producer.send(record).get(2, TimeUnit.MINUTES);
    }

    // ------------------------------------------------------------------ chaos

    /** The disruptions, in time order, each followed by a wait for the job to recover. */
    private void chaosLoop() {
        List<Map.Entry<Duration, String>> plan = new ArrayList<>();
        every(
                plan,
                config.firstTaskManagerKill(),
                config.taskManagerKillEvery(),
                "kill-taskmanager");
        every(plan, config.firstJobManagerKill(), config.jobManagerKillEvery(), "kill-jobmanager");
        if (config.kafkaRestartAt() != null) {
            plan.add(Map.entry(config.kafkaRestartAt(), "restart-kafka"));
        }
        if (config.ebsLocalRestartAt() != null) {
            plan.add(Map.entry(config.ebsLocalRestartAt(), "restart-ebs-local"));
        }
        plan.sort(Map.Entry.comparingByKey());
        for (Map.Entry<Duration, String> step : plan) {
            try {
                // A step delayed by a slow recovery before it still happens, only later.
                long wait = step.getKey().toNanos() - (System.nanoTime() - t0);
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                disrupt(step.getValue());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (Exception e) {
                events.add(new Event(step.getValue(), seconds(), -1, "failed: " + e));
            }
        }
    }

    private void every(
            List<Map.Entry<Duration, String>> plan, Duration first, Duration every, String what) {
        if (first == null) {
            return;
        }
        for (Duration at = first;
                at.compareTo(config.produceFor()) < 0;
                at = every == null ? config.produceFor() : at.plus(every)) {
            plan.add(Map.entry(at, what));
        }
    }

    private void disrupt(String what) throws Exception {
        long at = System.nanoTime();
        long atMillis = System.currentTimeMillis();
        String detail;
        // A JobManager failover: who was killed, who leads next and when, and the writes around.
        String killed = null;
        String next = null;
        double ledAfter = -1;
        PutTimeline timeline = null;
        switch (what) {
            case "kill-taskmanager" -> {
                // Every TaskManager that runs: an hour of kills adds dozens of replacements.
                List<String> running = flink.runningTaskManagers();
                if (running.isEmpty()) {
                    throw new IllegalStateException("no TaskManager runs");
                }
                String victim = running.get(random.nextInt(running.size()));
                if (config.replacementFirst()) {
                    // The replacement registers first, so the restart need not wait for a JVM
                    // to start: what a short run can afford.
                    String started = firstLine(flink.addTaskManager());
                    at = System.nanoTime();
                    atMillis = System.currentTimeMillis();
                    flink.kill(victim);
                    detail = victim + " (replacement first: " + started + ")";
                } else {
                    flink.kill(victim);
                    detail = victim + "; " + firstLine(flink.addTaskManager());
                }
            }
            case "kill-jobmanager" -> {
                killed = flink.leader().orElseThrow(() -> new IllegalStateException("no leader"));
                timeline = new PutTimeline(this::targetPuts);
                at = System.nanoTime();
                atMillis = System.currentTimeMillis();
                flink.kill(killed);
                next = awaitLeaderOtherThan(killed, Duration.ofMinutes(3));
                ledAfter = (System.nanoTime() - at) / 1e9;
                detail =
                        String.format(
                                "leader %s; %s leads %.1f s after the kill",
                                killed, next, ledAfter);
            }
            case "restart-kafka" -> {
                kafka.restart();
                detail = "broker back in " + kafka.lastStartupDuration().toMillis() + " ms";
            }
            case "restart-ebs-local" -> {
                List<Snapshot> targets = ebs.service().snapshots(DR);
                ebs.close();
                // Counted once it is closed: a put accepted while it closed is on disk too.
                for (Snapshot s : targets) {
                    putsBeforeEbsRestart.merge(s.id(), s.putRequestsAccepted(), Long::sum);
                }
                ebs = EbsLocalServer.start(ebsConfig);
                detail = "same port and data directory";
            }
            default -> throw new IllegalArgumentException(what);
        }
        log("%s at %.0f s: %s", what, (at - t0) / 1e9, detail);
        double recovered;
        long recoveredAt;
        try {
            awaitCheckpointAfter(atMillis, Duration.ofMinutes(3));
            recoveredAt = System.nanoTime();
            recovered = (recoveredAt - at) / 1e9;
            // The recovered job may write its first block after its first checkpoint: wait for
            // it, as long as a failover may take.
            while (timeline != null
                    && !timeline.wroteAfter(recoveredAt)
                    && System.nanoTime() - at < FIRST_BLOCK_AFTER_FAILOVER.toNanos()) {
                Thread.sleep(100);
            }
        } finally {
            if (timeline != null) {
                timeline.stop();
            }
        }
        if (timeline != null) {
            // The pause that the failover made: it begins before the job recovered.
            PutTimeline.Stall stall = timeline.longestStallBetween(at, recoveredAt);
            boolean wrote = timeline.wroteAfter(at) && stall.to() > at;
            Failover f =
                    new Failover(
                            killed,
                            next,
                            ledAfter,
                            (stall.from() - at) / 1e9,
                            wrote ? (stall.to() - at) / 1e9 : -1,
                            stall.nanos() / 1e9);
            failovers.add(f);
            detail +=
                    String.format(
                            "; writes stopped %.1f s after the kill, first block of the recovered"
                                    + " job %.1f s after it",
                            f.writesStoppedAfter(), f.firstBlockAfter());
        }
        if (what.equals("kill-jobmanager")) {
            // The killed leader comes back as the standby for the next failover.
            detail +=
                    "; "
                            + firstLine(flink.startJobManagers())
                            + "; now led by "
                            + flink.leader().orElse("?");
        }
        events.add(new Event(what, (at - t0) / 1e9, recovered, detail));
        log("%s recovered in %.1f s (first checkpoint completed after it)", what, recovered);
    }

    /** A snapshot in the target region that is not one of {@code before}; null when none. */
    private Snapshot newTarget(Set<String> before) {
        return ebs.service().snapshots(DR).stream()
                .filter(s -> !before.contains(s.id()))
                .findFirst()
                .orElse(null);
    }

    /** The leading JobManager, once one leads that is not {@code killed}. */
    private String awaitLeaderOtherThan(String killed, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            var leader = flink.leader();
            if (leader.isPresent() && !leader.get().equals(killed)) {
                return leader.get();
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("No JobManager but " + killed + " leads after " + timeout);
    }

    /** PutSnapshotBlock calls accepted in the target region, over every snapshot. */
    private long targetPuts() {
        long total = 0;
        for (Snapshot s : ebs.service().snapshots(DR)) {
            total += s.putRequestsAccepted();
        }
        return total;
    }

    /** Waits until the job completed a checkpoint triggered after {@code millis} (epoch). */
    private void awaitCheckpointAfter(long millis, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            JsonNode c = flink.rest("/jobs/" + job + "/checkpoints");
            if (c != null
                    && c.path("latest").path("completed").path("trigger_timestamp").asLong(0)
                            > millis) {
                return;
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException(
                "No checkpoint of " + job + " completed within " + timeout + " after " + millis);
    }

    // ------------------------------------------------------------------ the end

    /**
     * Waits until every published request has a result (or the drain timeout passes), then reads
     * again a few checkpoints later so that a late duplicate shows too.
     */
    private List<ReplicationResult> drain() throws Exception {
        long deadline = System.nanoTime() + config.drainTimeout().toNanos();
        List<ReplicationResult> results = readAll(RESULTS, AvroCodec.forResults()::decode);
        while (!results.stream()
                        .map(ReplicationResult::getRequestId)
                        .collect(Collectors.toSet())
                        .containsAll(published.keySet())
                && System.nanoTime() < deadline) {
            Thread.sleep(1000);
            results = readAll(RESULTS, AvroCodec.forResults()::decode);
        }
        Thread.sleep(3 * config.checkpointInterval().toMillis());
        results = readAll(RESULTS, AvroCodec.forResults()::decode);
        log(
                "drained: %d results for %d requests at %.0f s",
                results.size(), published.size(), seconds());
        return results;
    }

    private Report check(List<ReplicationResult> results) throws Exception {
        List<Check> checks = new ArrayList<>();
        Map<String, List<ReplicationResult>> byId = new TreeMap<>();
        results.forEach(r -> byId.computeIfAbsent(r.getRequestId(), k -> new ArrayList<>()).add(r));

        Set<String> missing = new java.util.TreeSet<>(published.keySet());
        missing.removeAll(byId.keySet());
        Set<String> doubled = new java.util.TreeSet<>();
        byId.forEach(
                (id, rs) -> {
                    if (rs.size() != 1) {
                        doubled.add(id + " x" + rs.size());
                    }
                });
        Set<String> unknown = new java.util.TreeSet<>(byId.keySet());
        unknown.removeAll(published.keySet());
        checks.add(
                new Check(
                        "one result per request and target",
                        duplicates > 0
                                && missing.isEmpty()
                                && doubled.isEmpty()
                                && unknown.isEmpty(),
                        String.format(
                                "%d requests (%d published twice), %d results; missing %s,"
                                        + " more than one %s, unknown %s",
                                published.size(),
                                duplicates,
                                results.size(),
                                cap(missing),
                                cap(doubled),
                                cap(unknown))));

        List<DeadLetter> letters = readAll(DEAD_LETTERS, AvroCodec.forDeadLetters()::decode);
        long malformedLetters =
                letters.stream().filter(d -> d.getReason().toString().equals("MALFORMED")).count();
        checks.add(
                new Check(
                        "one dead letter per malformed message",
                        malformed > 0
                                && malformedLetters == malformed
                                && letters.size() == malformed,
                        String.format(
                                "%d malformed published, %d dead letters (%d MALFORMED)",
                                malformed, letters.size(), malformedLetters)));

        List<String> different = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        Set<String> failedTargets = new HashSet<>();
        int completed = 0;
        for (List<ReplicationResult> rs : byId.values()) {
            ReplicationResult r = rs.get(0);
            Published p = published.get(r.getRequestId().toString());
            if (r.getStatus() == ResultStatus.COMPLETED) {
                completed++;
                String target = r.getTargetSnapshotId().toString();
                if (p == null
                        || ebs.service().snapshot(DR, target).status() != SnapshotStatus.COMPLETED
                        || !ebs.service()
                                .blocksOf(DR, target)
                                .equals(ebs.service().blocksOf(SOURCE, p.source()))) {
                    different.add(r.getRequestId() + " -> " + target);
                }
            } else {
                failed.add(r.getRequestId() + ": " + r.getStatus() + " " + r.getError());
                if (r.getTargetSnapshotId() != null) {
                    failedTargets.add(r.getTargetSnapshotId().toString());
                }
            }
        }
        checks.add(
                new Check(
                        "every COMPLETED target equals its source (all blocks, by digest)",
                        different.isEmpty() && completed > 0,
                        String.format(
                                "%d completed compared, different: %s",
                                completed, cap(different))));

        List<String> notIncremental = new ArrayList<>();
        int incremental = 0;
        for (List<ReplicationResult> rs : byId.values()) {
            ReplicationResult r = rs.get(0);
            Published p = published.get(r.getRequestId().toString());
            if (p == null || p.generation() == 0 || r.getStatus() != ResultStatus.COMPLETED) {
                continue;
            }
            List<ReplicationResult> base =
                    byId.getOrDefault(p.lineage() + "-gen-" + (p.generation() - 1), List.of());
            if (base.isEmpty() || base.get(0).getStatus() != ResultStatus.COMPLETED) {
                continue;
            }
            if (r.getCopyMode() == AppliedCopyMode.INCREMENTAL) {
                incremental++;
            } else {
                notIncremental.add(r.getRequestId() + ": " + r.getCopyMode());
            }
        }
        checks.add(
                new Check(
                        "lineage copies are INCREMENTAL where a base existed",
                        notIncremental.isEmpty(),
                        String.format(
                                "%d incremental, not: %s", incremental, cap(notIncremental))));

        List<String> orphans = new ArrayList<>();
        for (Snapshot s : ebs.service().snapshots(DR)) {
            if (s.status() != SnapshotStatus.COMPLETED && !failedTargets.contains(s.id())) {
                orphans.add(s.id() + " " + s.status() + " " + s.stateMessage());
            }
        }
        checks.add(
                new Check(
                        "no target left pending or in error but those of FAILED results",
                        orphans.isEmpty(),
                        String.format("orphans %s; FAILED results %s", cap(orphans), cap(failed))));

        long written = 0;
        long distinct = 0;
        for (Snapshot s : ebs.service().snapshots(DR)) {
            written += s.putRequestsAccepted() + putsBeforeEbsRestart.getOrDefault(s.id(), 0L);
            distinct += s.ownBlockCount();
        }
        long recopied = written - distinct;
        long disruptions = events.size();
        long bound = disruptions * recopyBoundPerDisruption();
        checks.add(
                new Check(
                        "blocks written more than once within the bound per disruption",
                        recopied <= bound,
                        String.format(
                                "%d blocks written twice over %d disruptions; bound %d = %d x"
                                        + " (%d in flight + %d puts/s x (2 x %d s checkpoint"
                                        + " interval + %d s to notice + 5 s))",
                                recopied,
                                disruptions,
                                bound,
                                disruptions,
                                PARALLELISM * MAX_IN_FLIGHT,
                                PUTS_PER_SECOND,
                                config.checkpointInterval().toSeconds(),
                                FAILURE_NOTICED.toSeconds())));

        List<String> notRecovered =
                events.stream()
                        .filter(e -> e.recoveredAfterSeconds() < 0)
                        .map(Event::toString)
                        .toList();
        String state = flink.jobState(job);
        checks.add(
                new Check(
                        "the one serve job recovered from every disruption and still runs",
                        notRecovered.isEmpty() && "RUNNING".equals(state),
                        String.format(
                                "job %s %s; not recovered: %s", job, state, cap(notRecovered))));

        List<String> jobIds = new ArrayList<>();
        JsonNode jobs = flink.rest("/jobs");
        if (jobs != null) {
            jobs.path("jobs").forEach(j -> jobIds.add(j.path("id").asText()));
        }
        boolean jobManagerKillPlanned = config.firstJobManagerKill() != null;
        List<String> slowFailovers =
                failovers.stream()
                        .filter(
                                f ->
                                        f.leader() == null
                                                || f.leader().equals(f.killed())
                                                || f.pauseSeconds()
                                                        < FAILOVER_STALL.toMillis() / 1e3
                                                || f.firstBlockAfter() < 0
                                                || f.firstBlockAfter()
                                                        >= FIRST_BLOCK_AFTER_FAILOVER.toSeconds())
                        .map(Failover::toString)
                        .toList();
        checks.add(
                new Check(
                        "every JobManager failover: a standby led and the same job, not resubmitted,"
                                + " wrote again within "
                                + FIRST_BLOCK_AFTER_FAILOVER.toSeconds()
                                + " s of the kill",
                        (!jobManagerKillPlanned || !failovers.isEmpty())
                                && slowFailovers.isEmpty()
                                && List.of(job).equals(jobIds),
                        String.format(
                                "%d failovers, kill to first block %s s; not as expected: %s;"
                                        + " jobs on the cluster %s",
                                failovers.size(),
                                failovers.stream()
                                        .map(f -> String.format("%.1f", f.firstBlockAfter()))
                                        .toList(),
                                cap(slowFailovers),
                                jobIds)));

        // CompleteSnapshot is counted in memory by ebs-local: a restart forgets the count.
        boolean ebsRestarted = events.stream().anyMatch(e -> e.what().equals("restart-ebs-local"));
        Map<String, Integer> namedBy = new HashMap<>();
        for (List<ReplicationResult> rs : byId.values()) {
            for (ReplicationResult r : rs) {
                if (r.getTargetSnapshotId() != null) {
                    namedBy.merge(r.getTargetSnapshotId().toString(), 1, Integer::sum);
                }
            }
        }
        List<String> completedTwice = new ArrayList<>();
        List<String> unnamed = new ArrayList<>();
        for (Snapshot s : ebs.service().snapshots(DR)) {
            int completions = s.completionsAccepted();
            if (completions > 1
                    || (!ebsRestarted
                            && s.status() == SnapshotStatus.COMPLETED
                            && completions != 1)) {
                completedTwice.add(s.id() + " x" + completions);
            }
            if (!namedBy.containsKey(s.id())) {
                unnamed.add(s.id() + " " + s.status());
            }
        }
        List<String> sharedTargets =
                namedBy.entrySet().stream()
                        .filter(e -> e.getValue() > 1)
                        .map(e -> e.getKey() + " x" + e.getValue())
                        .toList();
        checks.add(
                new Check(
                        "one target snapshot per result, CompleteSnapshot accepted once for each",
                        completedTwice.isEmpty() && unnamed.isEmpty() && sharedTargets.isEmpty(),
                        String.format(
                                "%d target snapshots; CompleteSnapshot accepted other than once %s"
                                        + "%s; named by no result %s; named by more than one %s",
                                ebs.service().snapshots(DR).size(),
                                cap(completedTwice),
                                ebsRestarted ? " (at most once: ebs-local restarted)" : "",
                                cap(unnamed),
                                cap(sharedTargets))));
        checks.addAll(metricChecks);

        Map<String, Long> counts = new LinkedHashMap<>();
        counts.put("requests", (long) published.size());
        counts.put("duplicates published", (long) duplicates);
        counts.put("malformed published", (long) malformed);
        counts.put("results", (long) results.size());
        counts.put("completed", (long) completed);
        counts.put("failed", (long) failed.size());
        counts.put("incremental", (long) incremental);
        counts.put("blocks written", written);
        counts.put("blocks written twice", recopied);
        counts.put("re-copy bound", bound);
        counts.put("seconds", (long) seconds());
        return new Report(checks, List.copyOf(events), throughput(), counts, config.work());
    }

    /**
     * What one disruption may make the job write again: the copiers' in-flight windows, plus what
     * the budget lets it write from the last completed checkpoint (up to two intervals before the
     * failure, since one may be in progress) until the failure is noticed and the tasks stop.
     */
    long recopyBoundPerDisruption() {
        return PARALLELISM * MAX_IN_FLIGHT
                + PUTS_PER_SECOND
                        * (2 * config.checkpointInterval().toSeconds()
                                + FAILURE_NOTICED.toSeconds()
                                + 5);
    }

    /** Blocks written per second, in 10 s buckets: {seconds, blocks/s}. */
    private List<double[]> throughput() {
        List<double[]> out = new ArrayList<>();
        double bucket = 10;
        double nextEdge = bucket;
        double lastCount = 0;
        double lastTime = 0;
        for (double[] s : putSamples) {
            if (s[0] >= nextEdge) {
                out.add(new double[] {nextEdge, (s[1] - lastCount) / (s[0] - lastTime)});
                lastCount = s[1];
                lastTime = s[0];
                nextEdge = s[0] + bucket;
            }
        }
        return out;
    }

    private void samplePuts() {
        try {
            long total = 0;
            for (Snapshot s : ebs.service().snapshots(DR)) {
                total += s.putRequestsAccepted() + putsBeforeEbsRestart.getOrDefault(s.id(), 0L);
            }
            putSamples.add(new double[] {seconds(), total});
        } catch (RuntimeException e) {
            // ebs-local restarting: no sample this time.
        }
    }

    private <T> List<T> readAll(String topic, CommittedRecords.Decoder<T> decoder)
            throws Exception {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        return CommittedRecords.readAll(props, topic, decoder);
    }

    private Map<String, Object> producerProps() {
        return Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                kafka.bootstrapServers(),
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG,
                ByteArraySerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG,
                ByteArraySerializer.class,
                ProducerConfig.ACKS_CONFIG,
                "all",
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
                120_000);
    }

    private double seconds() {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.lastIndexOf('\n');
        return nl < 0 ? t : t.substring(nl + 1);
    }

    /** At most ten entries of a long list, so that a failed check stays readable. */
    private static String cap(java.util.Collection<?> c) {
        List<?> l = new ArrayList<>(c);
        return l.size() <= 10
                ? l.toString()
                : l.subList(0, 10) + " and " + (l.size() - 10) + " more";
    }

    static void log(String format, Object... args) {
        System.out.printf("[soak] " + format + "%n", args);
        System.out.flush();
    }
}
