package io.ebsreplicator.job.cluster;

import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.SnapshotStatus;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * End to end on real processes: a standalone Flink cluster (one JobManager, two TaskManagers, each
 * its own JVM, started by {@code deploy/local/flink-cluster.sh} from Maven-resolved jars), the
 * cluster job jar submitted with {@code deploy/local/submit.sh} (Flink's CliFrontend), and
 * ebs-local in this JVM so that the tests read what EBS stored. Runs after {@code package} (the
 * failsafe plugin), because it submits the packaged job jar.
 *
 * <p>The copy is paced by the job's own request budget ({@code ebs.rate.put-per-second}) so that it
 * takes about 20 s and a test can act in the middle: kill a TaskManager, kill the JobManager, stop
 * with a savepoint, kill a TaskManager and replace it only a minute later. Every scenario ends with
 * the same guarantees: one COMPLETED result, exactly one target snapshot, completed, its blocks
 * equal to the source's, CompleteSnapshot accepted once.
 *
 * <p>The same cluster first runs {@code serve} ({@link ServeScenario}, with a Kafka broker started
 * beside it) and cancels it; last, it is stopped and no process of it may be left. One cluster
 * serves every scenario: on 2 cores its start-up is much of a scenario's time.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ReplicationClusterE2E {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";

    /** 100 MiB: big enough to act mid-copy, small enough for a 2-core machine. */
    static final int BLOCKS = 200;

    /** Job-wide PutSnapshotBlock budget: 200 blocks in about 20 s. */
    static final int PUTS_PER_SECOND = 10;

    static final int PARALLELISM = 2;
    static final int MAX_IN_FLIGHT = 8;
    static final Duration CHECKPOINT_INTERVAL = Duration.ofSeconds(2);

    /**
     * The cluster's heartbeat timeout (LocalFlinkCluster sets it): how long a dead JM is unseen.
     */
    static final Duration HEARTBEAT_TIMEOUT = Duration.ofSeconds(6);

    static final Duration RUN_TIMEOUT = Duration.ofMinutes(2);

    static EbsLocalServer ebs;
    static LocalFlinkCluster flink;
    static CompletableFuture<String> flinkStarted;
    static String source;
    static Map<Integer, String> sourceDigests;

    @BeforeAll
    static void startEverything() throws Exception {
        Path repo = Path.of(System.getProperty("ebs.e2e.repoRoot", "..")).toAbsolutePath();
        Path work =
                Path.of(System.getProperty("ebs.e2e.workDir", "target/cluster-e2e"))
                        .toAbsolutePath();
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
        // The cluster, the broker and the source snapshots come up side by side: each is mostly
        // JVM start-up and waiting, and together they take much of this test's time.
        flink = new LocalFlinkCluster(repo, work.resolve("flink"), jobJar, 2);
        flinkStarted =
                CompletableFuture.supplyAsync(
                        flink::start, r -> new Thread(r, "flink-cluster-start").start());
        ServeScenario.start(ebs);
        source = sourceSnapshot(BLOCKS);
        sourceDigests = digests(SOURCE, source);
        log("%s", flinkStarted.get(3, TimeUnit.MINUTES).trim());
        log("cluster up in %.1f s", (System.nanoTime() - t0) / 1e9);
    }

    @AfterAll
    static void stopEverything() {
        try {
            if (flink != null) {
                // A start still running would race the stop: let it end first, however it ends.
                flinkStarted.handle((out, e) -> out).join();
                flink.close();
            }
        } finally {
            try {
                ServeScenario.stop();
            } finally {
                if (ebs != null) {
                    ebs.close();
                }
            }
        }
    }

    /**
     * {@code serve} first, while both TaskManagers are the ones the cluster started with: see
     * {@link ServeScenario}.
     */
    /**
     * Each scenario starts on a whole cluster: whatever of the JobManager and TaskManagers 1..N an
     * earlier scenario left down is started again (the script does nothing when all run), so one
     * scenario's casualties cannot starve the next of slots.
     */
    @BeforeEach
    void wholeCluster() {
        String started = flink.start().trim();
        if (!started.isEmpty()) {
            log("before the scenario: %s", started);
        }
    }

    @Test
    @Order(1)
    @Timeout(180)
    void servesRequestsLineagesAndDeadLettersFromTheClusterJobJar() throws Exception {
        ServeScenario.servesRequestsLineagesAndDeadLetters(flink);
    }

    /** The serve job cancelled with the command line, which frees the slots for what follows. */
    @Test
    @Order(2)
    @Timeout(120)
    void cancelsTheServeJobThroughTheCommandLine() throws Exception {
        ServeScenario.cancelsThroughTheCommandLine();
    }

    /** (a) and (e): a plain replication, with the connector's metrics read over REST meanwhile. */
    @Test
    @Order(3)
    @Timeout(180)
    void replicatesAndReportsMetrics() throws Exception {
        String request = "e2e-plain";
        Set<String> before = targetIds();
        long t0 = System.nanoTime();
        var client = flink.submit(List.of("-p", "" + PARALLELISM), replicate(request));
        String job = client.awaitJobId(RUN_TIMEOUT);

        String copier = awaitVertex(job, "EBS block copier");
        String sourceVertex = awaitVertex(job, "EBS lineage source");
        awaitAtLeast("blocksCopied > 0", () -> flink.metricSum(job, copier, "ebs.blocksCopied"), 1);
        long copied1 = flink.metricSum(job, copier, "ebs.blocksCopied");
        long bytes1 = flink.metricSum(job, copier, "ebs.bytesWritten");
        long listed = flink.metricSum(job, sourceVertex, "ebs.blocksListed");
        long subtask0 = flink.subtaskMetric(job, copier, 0, "ebs.blocksCopied");
        awaitAtLeast(
                "blocksCopied moves",
                () -> flink.metricSum(job, copier, "ebs.blocksCopied"),
                copied1 + 5);
        long copied2 = flink.metricSum(job, copier, "ebs.blocksCopied");
        long bytes2 = flink.metricSum(job, copier, "ebs.bytesWritten");
        log(
                "metrics mid-copy: blocksCopied %d -> %d, bytesWritten %d -> %d, blocksListed %d,"
                        + " subtask 0 blocksCopied %d",
                copied1, copied2, bytes1, bytes2, listed, subtask0);
        assertThat(copied2).isGreaterThan(copied1);
        assertThat(bytes2).isGreaterThan(bytes1).isGreaterThanOrEqualTo(copied2 * 512 * 1024);
        assertThat(listed).as("blocks listed by the source").isGreaterThan(0);
        assertThat(subtask0)
                .as("subtask 0 through the vertex metrics form")
                .isGreaterThanOrEqualTo(0);

        assertThat(client.awaitExit(RUN_TIMEOUT)).as(client.output()).isZero();
        long recopied = assertReplicated(request, before, client.results());
        log(
                "(a) plain: %d blocks in %.1f s, re-copied %d",
                BLOCKS, (System.nanoTime() - t0) / 1e9, recopied);
        assertThat(recopied).isZero();
    }

    /**
     * (b): SIGKILL of a TaskManager doing the copying at three quarters, then a replacement. Late
     * enough that a restart from nothing would re-copy more than the bound below allows.
     */
    @Test
    @Order(4)
    @Timeout(240)
    void recoversFromAKilledTaskManager() throws Exception {
        String request = "e2e-tm-kill";
        Set<String> before = targetIds();
        long t0 = System.nanoTime();
        var client = flink.submit(List.of("-p", "" + PARALLELISM), replicate(request));
        String job = client.awaitJobId(RUN_TIMEOUT);
        String copier = awaitVertex(job, "EBS block copier");
        Snapshot target = awaitTarget(before);
        awaitAtLeast(
                "three quarters of the blocks written",
                target::putRequestsAccepted,
                BLOCKS * 3 / 4);
        String victim = flink.taskManagerOf(job, copier, 0);
        long putsAtKill = target.putRequestsAccepted();
        flink.kill(victim);
        log("(b) killed %s at %d of %d puts", victim, putsAtKill, BLOCKS);
        log("%s", flink.addTaskManager().trim());
        // A spare as well: when a TaskManager is lost, Flink 2.2 may bring down a neighbour whose
        // task was reading from it ("FATAL - exception in exception handler" while releasing the
        // input's buffers), and the local cluster, unlike Kubernetes, restarts nothing.
        log("%s", flink.addTaskManager().trim());

        assertThat(client.awaitExit(RUN_TIMEOUT)).as(client.output()).isZero();
        long recopied = assertReplicated(request, before, client.results());
        // What a restore writes again: the copier's in-flight window, plus what was written after
        // the last completed checkpoint until the failure stopped every task.
        long bound =
                PARALLELISM * MAX_IN_FLIGHT
                        + PUTS_PER_SECOND * (2 * CHECKPOINT_INTERVAL.toSeconds() + 5);
        log(
                "(b) TaskManager killed: done in %.1f s, re-copied %d blocks (bound %d)",
                (System.nanoTime() - t0) / 1e9, recopied, bound);
        assertThat(bound).as("a bound a restart from nothing would break").isLessThan(putsAtKill);
        assertThat(recopied).isPositive().isLessThanOrEqualTo(bound);
    }

    /**
     * (c): SIGKILL of the JobManager; restart it and resubmit from the last retained checkpoint.
     */
    @Test
    @Order(5)
    @Timeout(240)
    void resumesFromARetainedCheckpointAfterTheJobManagerDied() throws Exception {
        String request = "e2e-jm-kill";
        Set<String> before = targetIds();
        long t0 = System.nanoTime();
        var client = flink.submit(List.of("-p", "" + PARALLELISM), replicate(request));
        String job = client.awaitJobId(RUN_TIMEOUT);
        Snapshot target = awaitTarget(before);
        // Early enough that the orphaned tasks cannot finish before they notice the loss.
        awaitAtLeast("a third of the blocks written", target::putRequestsAccepted, BLOCKS / 3);
        awaitCheckpoint(job);
        long putsAtKill = target.putRequestsAccepted();
        flink.kill("jobmanager");
        client.kill();
        log("(c) killed the JobManager at %d of %d puts", putsAtKill, BLOCKS);
        Path checkpoint = flink.latestCheckpoint(job).orElseThrow();
        log("%s", flink.start().trim());
        log("(c) resubmitting from %s", checkpoint);

        var resumed =
                flink.submit(
                        List.of("-p", "" + PARALLELISM, "-s", checkpoint.toUri().toString()),
                        replicate(request));
        assertThat(resumed.awaitExit(RUN_TIMEOUT)).as(resumed.output()).isZero();
        long recopied = assertReplicated(request, before, resumed.results());
        // The orphaned tasks copy on until their TaskManager misses the JobManager's heartbeat.
        long bound =
                PARALLELISM * MAX_IN_FLIGHT
                        + PUTS_PER_SECOND
                                * (2 * CHECKPOINT_INTERVAL.toSeconds()
                                        + HEARTBEAT_TIMEOUT.toSeconds()
                                        + 5);
        log(
                "(c) JobManager killed: done in %.1f s, re-copied %d blocks (bound %d)",
                (System.nanoTime() - t0) / 1e9, recopied, bound);
        assertThat(recopied).isLessThanOrEqualTo(bound);
    }

    /**
     * (d): stop-with-savepoint mid-copy, resubmit from it at another parallelism.
     *
     * <p>Savepoints are always aligned: the barrier queues behind every block descriptor already in
     * the network buffers. Paced by the put budget, the source lists all 200 in its first second
     * and the savepoint would complete only when the copy has. Here the source is paced instead
     * (pages of 100 blocks, one every 10 s) and the copy is fast, so half way the buffers are empty
     * and the savepoint is taken while the second page is still unlisted.
     */
    @Test
    @Order(6)
    @Timeout(240)
    void resumesFromASavepointAtAnotherParallelism() throws Exception {
        String request = "e2e-savepoint";
        Set<String> before = targetIds();
        long t0 = System.nanoTime();
        List<String> pacedSource = new ArrayList<>(replicate(request));
        pacedSource.addAll(
                List.of(
                        // Half the blocks come from the first page; the second is listed
                        // 12.5 s later, which leaves the stop (a CLI JVM that starts slowly on a
                        // loaded machine) time to arrive before the copy can finish.
                        "-D",
                        "ebs.rate.put-per-second=20",
                        "-D",
                        "ebs.source.list-page-size=100",
                        "-D",
                        "ebs.rate.list-per-second=0.08"));
        var client = flink.submit(List.of("-p", "" + PARALLELISM), pacedSource);
        String job = client.awaitJobId(RUN_TIMEOUT);
        Snapshot target = awaitTarget(before);
        awaitAtLeast("half the blocks written", target::putRequestsAccepted, BLOCKS / 2);
        String savepoint = flink.stopWithSavepoint(job);
        long putsAtStop = target.putRequestsAccepted();
        log("(d) stopped with savepoint %s at %d of %d puts", savepoint, putsAtStop, BLOCKS);
        client.awaitExit(RUN_TIMEOUT);
        assertThat(target.status())
                .as("no completion before the resume")
                .isEqualTo(SnapshotStatus.PENDING);
        assertThat(target.putRequestsAccepted()).isLessThan(BLOCKS);

        var resumed = flink.submit(List.of("-p", "1", "-s", savepoint), pacedSource);
        assertThat(resumed.awaitExit(RUN_TIMEOUT)).as(resumed.output()).isZero();
        long recopied = assertReplicated(request, before, resumed.results());
        log(
                "(d) savepoint, parallelism 2 -> 1: done in %.1f s, re-copied %d blocks",
                (System.nanoTime() - t0) / 1e9, recopied);
        // A savepoint is taken with nothing in flight after it: no block is written twice.
        assertThat(recopied).isLessThanOrEqualTo(PARALLELISM * MAX_IN_FLIGHT);
    }

    /**
     * How long the replacement TaskManager stays away in (e): far longer than the heartbeat timeout
     * and than the 20 x 2 s of fixed-delay restarts the job once had, so the job must wait it out.
     */
    static final Duration LATE_REPLACEMENT = Duration.ofSeconds(60);

    /**
     * (e): SIGKILL of a TaskManager doing the copying, and its replacement only {@link
     * #LATE_REPLACEMENT} later. The cluster has one slot per TaskManager and the job needs two, so
     * it cannot run meanwhile; it restarts under its exponential-delay strategy and finishes once
     * the replacement has registered.
     */
    @Test
    @Order(7)
    @Timeout(360)
    // Two and a half minutes, most of it the minute without a TaskManager: kept out of the
    // default build, whose time budget it would strain; -Debs.e2e.long=true runs it.
    @EnabledIfSystemProperty(named = "ebs.e2e.long", matches = "true")
    void waitsOutATaskManagerThatIsReplacedOnlyAMinuteLater() throws Exception {
        String request = "e2e-late-tm";
        // The earlier scenarios leave a spare TaskManager (a replacement, and the restart of the
        // JobManager starts the killed one again): stop the spares, so that losing one TaskManager
        // leaves the job a slot short.
        Set<String> registered = flink.registeredTaskManagers();
        for (String spare : new ArrayList<>(registered).subList(PARALLELISM, registered.size())) {
            flink.stop(spare);
            log("(e) stopped the spare %s", spare);
        }
        awaitAtLeast(
                "only " + PARALLELISM + " TaskManagers registered",
                () -> flink.registeredTaskManagers().size() == PARALLELISM ? 1L : 0L,
                1);
        Set<String> before = targetIds();
        long t0 = System.nanoTime();
        var client = flink.submit(List.of("-p", "" + PARALLELISM), replicate(request));
        String job = client.awaitJobId(RUN_TIMEOUT);
        String copier = awaitVertex(job, "EBS block copier");
        JsonNode config = flink.rest("/jobs/" + job + "/config");
        assertThat(config.path("execution-config").path("restart-strategy").asText())
                .as("the job's own default strategy, the cluster naming none")
                .startsWith("Restart with exponential delay");
        Snapshot target = awaitTarget(before);
        awaitAtLeast("a quarter of the blocks written", target::putRequestsAccepted, BLOCKS / 4);
        String victim = flink.taskManagerOf(job, copier, 0);
        flink.kill(victim);
        long killedAt = System.nanoTime();
        log("(e) killed %s at %d of %d puts", victim, target.putRequestsAccepted(), BLOCKS);

        long until = killedAt + LATE_REPLACEMENT.toNanos();
        while (System.nanoTime() < until) {
            String state = flink.jobState(job);
            assertThat(state).as("the job waits for a TaskManager").isNotIn("FAILED", "FINISHED");
            Thread.sleep(1000);
        }
        assertThat(target.status())
                .as("nothing completes without the second slot")
                .isEqualTo(SnapshotStatus.PENDING);
        log("%s", flink.addTaskManager().trim());
        long replacedAt = System.nanoTime();

        assertThat(client.awaitExit(RUN_TIMEOUT)).as(client.output()).isZero();
        long recopied = assertReplicated(request, before, client.results());
        log(
                "(e) TaskManager replaced after %.0f s: done %.1f s after the replacement, %.1f s"
                        + " in all, re-copied %d blocks",
                (replacedAt - killedAt) / 1e9,
                (System.nanoTime() - replacedAt) / 1e9,
                (System.nanoTime() - t0) / 1e9,
                recopied);
    }

    /** Last: the cluster and the broker stop, and none of their processes is left. */
    @Test
    @Order(10)
    @Timeout(180)
    void stopsAndLeavesNoProcess() throws Exception {
        ServeScenario.stopsAndLeavesNoProcess(flink);
    }

    private static List<String> replicate(String requestId) {
        String endpoint = ebs.endpoint().toString();
        List<String> args = new ArrayList<>();
        args.addAll(
                List.of(
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
                        "ebs.completion.poll-interval=200ms"));
        return args;
    }

    /**
     * One COMPLETED result naming the only snapshot created in the target region since {@code
     * before}; that snapshot completed, equal to the source block for block, CompleteSnapshot
     * accepted once. Returns the blocks written more than once.
     */
    private static long assertReplicated(
            String request, Set<String> before, List<JsonNode> results) {
        assertThat(results).as("one result").hasSize(1);
        JsonNode r = results.get(0);
        assertThat(r.path("requestId").asText()).isEqualTo(request);
        assertThat(r.path("status").asText()).as(r.toString()).isEqualTo("COMPLETED");
        assertThat(r.path("blocksWritten").asLong()).isEqualTo(BLOCKS);
        List<Snapshot> created =
                ebs.service().snapshots(DR).stream().filter(s -> !before.contains(s.id())).toList();
        assertThat(created.stream().map(Snapshot::id))
                .as("exactly one target snapshot")
                .containsExactly(r.path("targetSnapshotId").asText());
        Snapshot target = created.get(0);
        assertThat(target.status()).isEqualTo(SnapshotStatus.COMPLETED);
        assertThat(digests(DR, target.id())).as("target equals source").isEqualTo(sourceDigests);
        assertThat(target.completionsAccepted()).as("CompleteSnapshot accepted once").isEqualTo(1);
        return target.putRequestsAccepted() - target.ownBlockCount();
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
        throw new AssertionError("No target snapshot started");
    }

    private static String awaitVertex(String job, String name) throws InterruptedException {
        long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
        while (true) {
            try {
                return flink.vertexId(job, name);
            } catch (IllegalStateException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    private static void awaitCheckpoint(String job) throws InterruptedException {
        long deadline = System.nanoTime() + RUN_TIMEOUT.toNanos();
        while (flink.latestCheckpoint(job).isEmpty()) {
            assertThat(System.nanoTime()).as("a checkpoint of %s", job).isLessThan(deadline);
            Thread.sleep(100);
        }
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

    /** A completed source snapshot of {@code blocks} random blocks spread over 1 GiB. */
    private static String sourceSnapshot(int blocks) throws Exception {
        EbsProxyConfig config =
                EbsProxyConfig.builder()
                        .endpoint(SOURCE, ebs.endpoint().toString())
                        .credentials(
                                ebs.accessKey().accessKeyId(), ebs.accessKey().secretAccessKey())
                        .build();
        try (EbsProxy proxy = new SdkEbsProxyFactory(config).create(SOURCE)) {
            String id =
                    proxy.startSnapshot(
                                    new StartSnapshotSpec(
                                            1, null, null, null, Map.of(), null, null, 60))
                            .snapshotId();
            MessageDigest linear = MessageDigest.getInstance("SHA-256");
            Random random = new Random(42);
            List<CompletableFuture<Void>> writes = new ArrayList<>();
            for (int i = 0; i < blocks; i++) {
                byte[] data = new byte[512 * 1024];
                random.nextBytes(data);
                byte[] digest = MessageDigest.getInstance("SHA-256").digest(data);
                linear.update(digest);
                writes.add(
                        proxy.putBlock(
                                id, i * 10, data, Base64.getEncoder().encodeToString(digest)));
                if (writes.size() == 8) {
                    CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
                    writes.clear();
                }
            }
            CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).join();
            proxy.completeSnapshot(id, blocks, Base64.getEncoder().encodeToString(linear.digest()));
            while (!proxy.describeSnapshot(id).completed()) {
                Thread.sleep(20);
            }
            return id;
        }
    }

    private static void deleteRecursively(Path p) throws Exception {
        if (Files.exists(p)) {
            try (var s = Files.walk(p)) {
                for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }

    private static void log(String format, Object... args) {
        System.out.printf("[cluster-e2e] " + format + "%n", args);
        System.out.flush();
    }
}
