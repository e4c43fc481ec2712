package io.ebsreplicator.job.cluster;

import io.ebsreplicator.job.TestSnapshots;
import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.SnapshotStatus;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * JobManager high availability end to end on real processes: a ZooKeeper server ({@code
 * deploy/local/zookeeper.sh}), a standalone Flink cluster of two JobManagers (a leader and a
 * standby) and two TaskManagers started by {@code flink-cluster.sh} with {@code
 * FLINK_HA=zookeeper}, the cluster job jar submitted detached with {@code submit.sh}, and ebs-local
 * in this JVM so that the test reads what EBS stored. Runs after {@code package} (the failsafe
 * plugin).
 *
 * <p>The leading JobManager is killed with SIGKILL while the copy runs; nobody resubmits anything.
 * The standby must take over and finish the same job (same job id) from its last checkpoint, with
 * the guarantees of {@link ReplicationClusterE2E}: exactly one target snapshot, completed, equal to
 * the source, CompleteSnapshot accepted once, and few blocks written twice. The time from the kill
 * to the first block the recovered job writes is measured and printed.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class HighAvailabilityClusterE2E {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";

    /** 100 MiB, as in ReplicationClusterE2E: enough to act mid-copy on a 2-core machine. */
    static final int BLOCKS = 200;

    /** Job-wide PutSnapshotBlock budget: 200 blocks in about 20 s. */
    static final int PUTS_PER_SECOND = 10;

    static final int PARALLELISM = 2;
    static final int MAX_IN_FLIGHT = 8;
    static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(2);

    /**
     * How long a killed leader goes unnoticed: its ZooKeeper session timeout (flink-cluster.sh's
     * default) and the cluster's heartbeat timeout (LocalFlinkCluster's) are both 6 s.
     */
    static final Duration LEADER_LOSS_NOTICED = Duration.ofSeconds(6);

    /** A pause in the writes at least this long is the failover, not the budget's pacing. */
    static final Duration STALL = Duration.ofSeconds(1);

    static final Duration RUN_TIMEOUT = Duration.ofMinutes(3);

    static EbsLocalServer ebs;
    static LocalZooKeeper zookeeper;
    static LocalFlinkCluster flink;
    static String source;

    @BeforeAll
    static void startEverything() throws Exception {
        Path repo = Path.of(System.getProperty("ebs.e2e.repoRoot", "..")).toAbsolutePath();
        // Beside ReplicationClusterE2E's directory, which that test deletes when it starts.
        Path work =
                Path.of(System.getProperty("ebs.e2e.workDir", "target/cluster-e2e"))
                        .toAbsolutePath()
                        .resolveSibling("ha-cluster-e2e");
        Path jobJar =
                Path.of(System.getProperty("ebs.e2e.jobJar", "target/ebs-replicator-job.jar"))
                        .toAbsolutePath();
        assertThat(jobJar).as("the packaged cluster job jar").exists();
        deleteRecursively(work);
        Files.createDirectories(work);
        ebs =
                EbsLocalServer.start(
                        EbsLocalConfig.builder()
                                .port(0)
                                .regions(SOURCE, DR)
                                .dataDir(work.resolve("ebs-local"))
                                .sealDelay(Duration.ofMillis(200))
                                .build());
        long t0 = System.nanoTime();
        zookeeper = new LocalZooKeeper(repo, work.resolve("zookeeper"));
        log("%s", zookeeper.start().trim());
        flink =
                new LocalFlinkCluster(repo, work.resolve("flink"), jobJar, 2)
                        .withZooKeeperHa(zookeeper.quorum(), 2);
        log("%s", flink.start().trim());
        log("ZooKeeper and cluster up in %.1f s", (System.nanoTime() - t0) / 1e9);
        int[] indexes = new int[BLOCKS];
        for (int i = 0; i < BLOCKS; i++) {
            indexes[i] = i * 10;
        }
        source = TestSnapshots.write(ebs, SOURCE, null, 1, indexes, 42);
    }

    @AfterAll
    static void stopEverything() {
        try {
            if (flink != null) {
                flink.close();
            }
        } finally {
            try {
                if (zookeeper != null) {
                    zookeeper.close();
                }
            } finally {
                if (ebs != null) {
                    ebs.close();
                }
            }
        }
    }

    /**
     * Flink's Prometheus reporter on every process of the cluster: scraped while a copy runs (with
     * throttling injected), the TaskManagers export the connector's metrics, and every query of the
     * Grafana dashboard in {@code deploy/grafana} names a metric that was scraped. The copy is
     * cancelled once the metrics are found.
     */
    @Test
    @Order(1)
    @Timeout(180)
    void exportsTheConnectorMetricsForPrometheusDuringACopy() throws Exception {
        Set<String> before = targetIds();
        try {
            // Half the usual pace: the scrapes need the task metrics of a running copy.
            List<String> slower = new ArrayList<>(replicate("e2e-prometheus"));
            slower.addAll(List.of("-D", "ebs.rate.put-per-second=" + PUTS_PER_SECOND / 2));
            // The client of a bounded job stays until the job ends (it collects the results).
            var client = flink.submit(List.of("-p", "" + PARALLELISM), slower);
            String job = client.awaitJobId(RUN_TIMEOUT);
            Snapshot target = awaitTarget(before);

            // Task metrics exist while the tasks run: scrape until the copy has visibly started
            // and a throttle of each reason was counted (ebs-local throttles puts for one reason
            // at a time, changed between scrapes), well before the last block.
            long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
            PrometheusSamples scraped;
            for (int round = 0; ; round++) {
                ebs.setFaults(
                        FaultProfile.builder()
                                .seed(round + 1)
                                .throttleRate(0.2)
                                .throttleReason(THROTTLE_REASONS.get(round % 3))
                                .operations(Operation.PUT_SNAPSHOT_BLOCK)
                                .build());
                scraped = scrapeAll();
                PrometheusSamples now = scraped;
                if (now.sum(COPIED) > 0
                        && THROTTLE_REASONS.stream().allMatch(r -> now.sum(throttled(r)) > 0)) {
                    break;
                }
                assertThat(target.putRequestsAccepted())
                        .as(
                                "the copy is still running while the metrics are scraped; ebs"
                                        + " metrics so far: %s",
                                ebsNames(now))
                        .isLessThan(BLOCKS);
                assertThat(System.nanoTime())
                        .as("copier metrics in a scrape; ebs metrics so far: %s", ebsNames(scraped))
                        .isLessThan(deadline);
                Thread.sleep(500);
            }
            log("scraped %d processes: %s", flink.prometheusPorts().size(), ebsNames(scraped));
            for (String name : CONNECTOR_METRICS) {
                assertThat(scraped.names()).as("exported").contains(name);
            }
            assertThat(scraped.sum(BYTES))
                    .as("bytes written")
                    .isGreaterThanOrEqualTo(scraped.sum(COPIED) * 512 * 1024);
            assertThat(scraped.of(throttled("ACCOUNT_THROTTLED")))
                    .as("throttles carry the target region as a label")
                    .isNotEmpty()
                    // The reporter writes label values with '_' for characters Prometheus
                    // names do not allow: us-west-2 is region="us_west_2".
                    .allSatisfy(
                            s ->
                                    assertThat(s.labels())
                                            .containsEntry("region", DR.replace('-', '_')));

            Set<String> queried = dashboardMetrics();
            log("dashboard queries name %s", queried);
            assertThat(queried).as("metrics the dashboard queries").isNotEmpty();
            assertThat(scraped.names())
                    .as("every metric the dashboard queries is exported")
                    .containsAll(queried);
            assertThat(queried)
                    .as("the dashboard has a panel for each connector metric")
                    .containsAll(CONNECTOR_METRICS);

            // The copy itself is ReplicationClusterE2E's business: stop it here.
            log("%s", flink.cancel(job).trim());
            assertThat(awaitJobEnd(job)).isEqualTo("CANCELED");
        } finally {
            ebs.setFaults(FaultProfile.none());
        }
    }

    @Test
    @Order(2)
    @Timeout(300)
    void standbyTakesOverAndFinishesTheJobWithoutResubmission() throws Exception {
        String request = "e2e-ha-failover";
        Set<String> before = targetIds();
        // The client of a bounded job stays until the job ends (it collects the results); the
        // failover does without it: it is killed with the leader, as a crash would take it.
        var client = flink.submit(List.of("-p", "" + PARALLELISM), replicate(request));
        String job = client.awaitJobId(RUN_TIMEOUT);
        String first = awaitLeader(Optional.empty());
        Snapshot target = awaitTarget(before);
        awaitAtLeast(
                "a retained checkpoint", () -> flink.latestCheckpoint(job).isPresent() ? 1 : 0, 1);
        // Early enough that the orphaned tasks cannot finish before they notice the loss.
        awaitAtLeast("a quarter of the blocks written", target::putRequestsAccepted, BLOCKS / 4);
        assertThat(target.putRequestsAccepted())
                .as("the kill comes while the copy runs")
                .isLessThan(BLOCKS / 2);

        PutTimeline timeline = new PutTimeline(target::putRequestsAccepted);
        long killedAt = System.nanoTime();
        long putsAtKill = target.putRequestsAccepted();
        flink.kill(first);
        client.kill();
        log("killed the leader %s at %d of %d puts", first, putsAtKill, BLOCKS);
        String second = awaitLeader(Optional.of(first));
        log("%s leads %.1f s after the kill", second, (System.nanoTime() - killedAt) / 1e9);

        String state = awaitJobEnd(job);
        timeline.stop();
        assertThat(state).as("the job the standby recovered").isEqualTo("FINISHED");
        JsonNode jobs = flink.rest("/jobs");
        assertThat(jobs).as("GET /jobs").isNotNull();
        List<String> ids = new ArrayList<>();
        jobs.path("jobs").forEach(j -> ids.add(j.path("id").asText()));
        assertThat(ids).as("no job was submitted again").containsExactly(job);

        List<Snapshot> created =
                ebs.service().snapshots(DR).stream().filter(s -> !before.contains(s.id())).toList();
        assertThat(created).as("exactly one target snapshot").hasSize(1);
        assertThat(created.get(0).id()).isEqualTo(target.id());
        assertThat(target.status()).isEqualTo(SnapshotStatus.COMPLETED);
        assertThat(digests(DR, target.id()))
                .as("target equals source")
                .isEqualTo(digests(SOURCE, source));
        assertThat(target.completionsAccepted()).as("CompleteSnapshot accepted once").isEqualTo(1);

        long recopied = target.putRequestsAccepted() - target.ownBlockCount();
        // What a restore writes again: the copier's in-flight window, plus what was written after
        // the last completed checkpoint until the orphaned tasks noticed the leader was gone.
        long bound =
                PARALLELISM * MAX_IN_FLIGHT
                        + PUTS_PER_SECOND
                                * (2 * CHECKPOINT_INTERVAL.toSeconds()
                                        + LEADER_LOSS_NOTICED.toSeconds()
                                        + 5);
        PutTimeline.Stall stall = timeline.longestStallAfter(killedAt);
        log(
                "failover: writes stopped %.1f s after the kill, first block of the recovered job"
                        + " %.1f s after the kill; re-copied %d blocks (bound %d)",
                (stall.from() - killedAt) / 1e9, (stall.to() - killedAt) / 1e9, recopied, bound);
        assertThat(stall.to() - stall.from())
                .as("the writes paused while the job failed over (%s)", stall)
                .isGreaterThanOrEqualTo(STALL.toNanos());
        assertThat(stall.to() - killedAt)
                .as("kill to the first block written by the recovered job")
                .isLessThan(Duration.ofSeconds(90).toNanos());
        assertThat(recopied).isLessThanOrEqualTo(bound);
    }

    // ------------------------------------------------------------------ helpers

    static final String TASK = "flink_taskmanager_job_task_operator_ebs_";
    static final String COPIED = TASK + "blocksCopied";
    static final String BYTES = TASK + "bytesWritten";
    static final List<String> THROTTLE_REASONS =
            List.of("ACCOUNT_THROTTLED", "RESOURCE_LEVEL_THROTTLE", "DEPENDENCY_REQUEST_THROTTLED");

    /** Attempts throttled for one reason: {@code ebs.region.<region>.api.errors.<reason>}. */
    static String throttled(String reason) {
        return TASK + "region_api_errors_" + reason;
    }

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

    private static PrometheusSamples scrapeAll() {
        PrometheusSamples all = new PrometheusSamples();
        for (int port : flink.prometheusPorts().values()) {
            String text = flink.scrape(port);
            if (text != null) {
                all.add(text);
            }
        }
        return all;
    }

    private static Set<String> ebsNames(PrometheusSamples scraped) {
        return scraped.names().stream()
                .filter(n -> n.contains("_ebs_"))
                .collect(Collectors.toCollection(java.util.TreeSet::new));
    }

    /** The metric names in the queries ({@code expr}) of every panel of the Grafana dashboard. */
    private static Set<String> dashboardMetrics() throws Exception {
        Path repo = Path.of(System.getProperty("ebs.e2e.repoRoot", "..")).toAbsolutePath();
        JsonNode dashboard =
                new com.fasterxml.jackson.databind.ObjectMapper()
                        .readTree(repo.resolve(DASHBOARD).toFile());
        Set<String> names = new java.util.TreeSet<>();
        java.util.regex.Pattern metric = java.util.regex.Pattern.compile("\\bflink_[A-Za-z0-9_]+");
        for (JsonNode expr : dashboard.findValues("expr")) {
            java.util.regex.Matcher m = metric.matcher(expr.asText());
            boolean any = false;
            while (m.find()) {
                names.add(m.group());
                any = true;
            }
            assertThat(any).as("query names a metric: %s", expr.asText()).isTrue();
        }
        return names;
    }

    static final String DASHBOARD = "deploy/grafana/ebs-replicator-dashboard.json";

    /**
     * The count of accepted PutSnapshotBlock calls sampled every 20 ms on its own thread, to find
     * when the writes paused and resumed.
     */
    static final class PutTimeline {
        private final ScheduledExecutorService sampler =
                Executors.newSingleThreadScheduledExecutor(r -> new Thread(r, "put-timeline"));
        private final List<long[]> changes = new ArrayList<>();
        private long last = -1;

        record Stall(long from, long to) {}

        PutTimeline(LongSupplier puts) {
            sampler.scheduleAtFixedRate(
                    () -> {
                        long now = System.nanoTime();
                        long v = puts.getAsLong();
                        synchronized (changes) {
                            if (v != last) {
                                changes.add(new long[] {now, v});
                                last = v;
                            }
                        }
                    },
                    0,
                    20,
                    TimeUnit.MILLISECONDS);
        }

        void stop() throws InterruptedException {
            sampler.shutdownNow();
            sampler.awaitTermination(10, TimeUnit.SECONDS);
        }

        /** The longest time without a new write after {@code t}: from the last write before it. */
        Stall longestStallAfter(long t) {
            synchronized (changes) {
                Stall best = new Stall(t, t);
                for (int i = 1; i < changes.size(); i++) {
                    long from = changes.get(i - 1)[0];
                    long to = changes.get(i)[0];
                    if (to > t && to - from > best.to() - best.from()) {
                        best = new Stall(Math.max(from, t), to);
                    }
                }
                return best;
            }
        }
    }

    private static List<String> replicate(String requestId) {
        String endpoint = ebs.endpoint().toString();
        return List.of(
                "replicate",
                "--source-region",
                SOURCE,
                "--source-snapshot",
                source,
                "--target-region",
                DR,
                "--source-endpoint",
                endpoint,
                "--target-endpoint",
                endpoint,
                "--request-id",
                requestId,
                "--max-in-flight",
                "" + MAX_IN_FLIGHT,
                "--checkpoint-interval",
                CHECKPOINT_INTERVAL.toSeconds() + "s",
                "-D",
                "ebs.credentials.access-key-id=" + ebs.accessKey().accessKeyId(),
                "-D",
                "ebs.credentials.secret-access-key=" + ebs.accessKey().secretAccessKey(),
                "-D",
                "ebs.rate.put-per-second=" + PUTS_PER_SECOND,
                "-D",
                "ebs.completion.poll-interval=200ms");
    }

    /** The leading JobManager, once one leads that is not {@code not}. */
    private static String awaitLeader(Optional<String> not) throws InterruptedException {
        long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
        while (true) {
            Optional<String> leader = flink.leader();
            if (leader.isPresent() && !leader.equals(not)) {
                return leader.get();
            }
            assertThat(System.nanoTime())
                    .as("a leading JobManager other than %s; now %s", not, leader)
                    .isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    /** The job's final state, as the JobManagers' REST API reports it. */
    private static String awaitJobEnd(String job) throws InterruptedException {
        long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
        String state;
        // Null while no JobManager answers (the election).
        while ((state = flink.jobState(job)) == null
                || !Set.of("FINISHED", "FAILED", "CANCELED").contains(state)) {
            assertThat(System.nanoTime())
                    .as("job %s ends; now %s", job, state)
                    .isLessThan(deadline);
            Thread.sleep(250);
        }
        return state;
    }

    private static Set<String> targetIds() {
        return ebs.service().snapshots(DR).stream().map(Snapshot::id).collect(Collectors.toSet());
    }

    private static Snapshot awaitTarget(Set<String> before) throws InterruptedException {
        long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            for (Snapshot s : ebs.service().snapshots(DR)) {
                if (!before.contains(s.id())) {
                    return s;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("No target snapshot started in " + RUN_TIMEOUT);
    }

    private static void awaitAtLeast(String what, LongSupplier value, long min)
            throws InterruptedException {
        long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
        long v;
        while ((v = value.getAsLong()) < min) {
            assertThat(System.nanoTime()).as("%s: %d < %d", what, v, min).isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    private static Map<Integer, String> digests(String region, String id) {
        Map<Integer, String> out = new TreeMap<>();
        ebs.service().blocksOf(region, id).forEach((k, v) -> out.put(k, v.base64()));
        return out;
    }

    private static void deleteRecursively(Path p) throws Exception {
        if (Files.exists(p)) {
            try (var s = Files.walk(p)) {
                for (Path f : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }

    private static void log(String format, Object... args) {
        System.out.printf("[ha-cluster-e2e] " + format + "%n", args);
        System.out.flush();
    }
}
