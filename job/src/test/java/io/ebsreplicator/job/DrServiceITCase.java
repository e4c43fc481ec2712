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
import io.ebsreplicator.schemas.AppliedCopyMode;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.CopyDeletion;
import io.ebsreplicator.schemas.ReplicationResult;
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
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code serve} as a DR service on a MiniCluster, a real KRaft broker and ebs-local: EventBridge
 * createSnapshot events (the AWS documentation's sample with this test's ids) for tagged volumes, a
 * database volume and an unmatched one (10 volumes x 6 snapshots); a policy with a tag rule to two
 * regions keeping 3 copies and a volume rule to one. Every matching snapshot is copied
 * (incrementally after each volume's first), unmatched events get no copy, each region keeps
 * exactly the newest 3 copies of each tagged volume, and the newest copy is byte-identical to its
 * source. The job is killed as soon as retention deleted a first copy and restored from its last
 * checkpoint: still one result per copy, and each region keeps exactly what the retention says (no
 * copy that should stay was deleted), and the lifecycle topic holds exactly one committed {@code
 * CopyDeletion} per copy that disappeared from ebs-local. An event of a snapshot that does not
 * exist ends in one {@code SNAPSHOT_NOT_FOUND} failure. {@code status} shows every lineage meeting
 * its objective, then, after one volume's events stop while the others go on, that volume alone
 * over its objective.
 */
class DrServiceITCase {

    static final String SOURCE = "us-east-1";
    static final String WEST = "us-west-2";
    static final String EU = "eu-west-1";

    /** 8 tagged volumes, a database volume and an unmatched one: 10 volumes x 6 snapshots. */
    static final int GOLD_VOLUMES = 8;

    static final int SNAPSHOTS_PER_VOLUME = 6;

    /** Far above the checkpoint interval; short enough that the test need not wait long. */
    static final Duration TRANSACTION_TIMEOUT = Duration.ofSeconds(30);

    /** A snapshot that does not exist in the source region. */
    static final String MISSING = "snap-00000000000dead01";

    @RegisterExtension static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(b -> b.regions(SOURCE, WEST, EU).sealDelay(Duration.ofMillis(100)))
                    .build();

    @TempDir Path dir;

    @Test
    void eventsArePlannedCopiedIncrementallyAndPrunedToTheRetention() throws Exception {
        Path policy = dir.resolve("policy.json");
        Files.writeString(
                policy,
                """
                {"version": 1, "rules": [
                  {"name": "gold", "select": {"tags": {"tier": "gold"}},
                   "targets": [{"region": "us-west-2", "retention": {"keepLast": 3}},
                               {"region": "eu-west-1", "retention": {"keepLast": 3}}],
                   "copyTags": ["tier"], "rpo": "1h"},
                  {"name": "db", "select": {"volumeIds": ["vol-0000000000000000d"]},
                   "targets": [{"region": "us-west-2", "retention": {"maxAge": "1d"}}]}
                ]}
                """);
        String requests = KAFKA.newTopic("requests", 2);
        String results = KAFKA.newTopic("results");
        String deadLetters = KAFKA.newTopic("dead-letters");
        String lifecycle = KAFKA.newTopic("lifecycle");
        Path checkpoints = dir.resolve("checkpoints");
        JobClient job = serve(policy, requests, results, deadLetters, lifecycle, checkpoints, null);
        try {
            Map<String, List<String>> gold = new LinkedHashMap<>();
            List<String> db = new ArrayList<>();
            List<String> unmatched = new ArrayList<>();
            try (EbsProxy source = TestSnapshots.proxy(EBS.server(), SOURCE)) {
                for (int v = 1; v <= GOLD_VOLUMES; v++) {
                    String volume = String.format("vol-%017x", v);
                    List<String> lineage = new ArrayList<>();
                    String parent = null;
                    for (int s = 0; s < SNAPSHOTS_PER_VOLUME; s++) {
                        parent =
                                TestSnapshots.write(
                                        source,
                                        parent,
                                        1,
                                        s == 0 ? new int[] {0, 1, 2, 3} : new int[] {s, 10 + s},
                                        v * 100L + s,
                                        Map.of("tier", "gold"));
                        lineage.add(parent);
                    }
                    gold.put(volume, lineage);
                }
                String parent = null;
                for (int s = 0; s < SNAPSHOTS_PER_VOLUME; s++) {
                    parent =
                            TestSnapshots.write(
                                    source, parent, 1, new int[] {s}, 900L + s, Map.of());
                    db.add(parent);
                }
                parent = null;
                for (int s = 0; s < SNAPSHOTS_PER_VOLUME; s++) {
                    parent =
                            TestSnapshots.write(
                                    source,
                                    parent,
                                    1,
                                    new int[] {s},
                                    700L + s,
                                    Map.of("tier", "bronze"));
                    unmatched.add(parent);
                }
            }
            // The events, each volume's in order on its own key (so on one partition).
            for (int s = 0; s < SNAPSHOTS_PER_VOLUME; s++) {
                for (Map.Entry<String, List<String>> e : gold.entrySet()) {
                    publish(requests, e.getKey(), e.getValue().get(s));
                }
            }
            for (String snap : db) {
                publish(requests, "vol-0000000000000000d", snap);
            }
            for (String snap : unmatched) {
                publish(requests, "vol-000000000000000e0", snap);
            }
            // An event of a snapshot that does not exist fails with its reason.
            publish(requests, "vol-00000000000000001", MISSING);
            // A failed event is skipped.
            KAFKA.produce(
                    requests,
                    null,
                    new String(
                                    SnapshotEventsSamples.bytes("copy-snapshot-failed"),
                                    StandardCharsets.UTF_8)
                            .getBytes(StandardCharsets.UTF_8));

            // Killed (no savepoint) as soon as retention deleted a copy, while the passes of the
            // other lineages are under way, and restored from its last checkpoint.
            awaitFirstDeletion(checkpoints);
            job.cancel().get();
            job =
                    serve(
                            policy,
                            requests,
                            results,
                            deadLetters,
                            lifecycle,
                            checkpoints,
                            newestCheckpoint(checkpoints).toString());

            int expected = GOLD_VOLUMES * SNAPSHOTS_PER_VOLUME * 2 + db.size() + 1;
            List<ReplicationResult> all = awaitResults(results, expected);

            assertThat(all)
                    .filteredOn(r -> r.getSourceSnapshotId().equals(MISSING))
                    .as("no rule can be chosen: one failure, keyed by the source region")
                    .singleElement()
                    .satisfies(
                            r -> {
                                assertThat(r.getStatus()).isEqualTo(ResultStatus.FAILED);
                                assertThat(r.getTargetRegion()).isEqualTo(SOURCE);
                                assertThat(r.getError().getReason())
                                        .isEqualTo("SNAPSHOT_NOT_FOUND");
                            });
            List<ReplicationResult> got =
                    all.stream().filter(r -> !r.getSourceSnapshotId().equals(MISSING)).toList();
            assertThat(got).allMatch(r -> r.getStatus() == ResultStatus.COMPLETED, "all completed");
            for (Map.Entry<String, List<String>> e : gold.entrySet()) {
                for (int s = 0; s < SNAPSHOTS_PER_VOLUME; s++) {
                    String snap = e.getValue().get(s);
                    List<ReplicationResult> of =
                            got.stream().filter(r -> r.getSourceSnapshotId().equals(snap)).toList();
                    assertThat(of)
                            .extracting(ReplicationResult::getTargetRegion)
                            .containsExactlyInAnyOrder(WEST, EU);
                    assertThat(of)
                            .allSatisfy(
                                    r ->
                                            assertThat(r.getCopyMode())
                                                    .isEqualTo(
                                                            snap.equals(e.getValue().get(0))
                                                                    ? AppliedCopyMode.FULL
                                                                    : AppliedCopyMode.INCREMENTAL));
                    assertThat(of)
                            .allSatisfy(
                                    r ->
                                            assertThat(r.getAttributes())
                                                    .containsEntry("policyRule", "gold"));
                }
            }
            assertThat(got)
                    .filteredOn(r -> db.contains(r.getSourceSnapshotId()))
                    .extracting(ReplicationResult::getTargetRegion)
                    .hasSize(SNAPSHOTS_PER_VOLUME)
                    .containsOnly(WEST);
            assertThat(got)
                    .as("unmatched events are skipped")
                    .noneMatch(r -> unmatched.contains(r.getSourceSnapshotId()));

            // Retention: each region keeps exactly the newest 3 copies of each gold volume.
            for (Map.Entry<String, List<String>> e : gold.entrySet()) {
                List<String> lineage = e.getValue();
                for (String region : List.of(WEST, EU)) {
                    List<String> kept = awaitCopies(region, e.getKey(), 3);
                    List<String> newest3 =
                            got.stream()
                                    .filter(r -> r.getTargetRegion().equals(region))
                                    .filter(
                                            r ->
                                                    lineage.subList(
                                                                    SNAPSHOTS_PER_VOLUME - 3,
                                                                    SNAPSHOTS_PER_VOLUME)
                                                            .contains(r.getSourceSnapshotId()))
                                    .map(ReplicationResult::getTargetSnapshotId)
                                    .toList();
                    assertThat(kept)
                            .as("%s in %s keeps the newest three copies", e.getKey(), region)
                            .containsExactlyInAnyOrderElementsOf(newest3);
                    String newestSource = lineage.get(SNAPSHOTS_PER_VOLUME - 1);
                    String newestCopy =
                            got.stream()
                                    .filter(r -> r.getTargetRegion().equals(region))
                                    .filter(r -> r.getSourceSnapshotId().equals(newestSource))
                                    .findFirst()
                                    .orElseThrow()
                                    .getTargetSnapshotId();
                    assertThat(EBS.service().blocksOf(region, newestCopy))
                            .as("the newest copy reads exactly as its source")
                            .isEqualTo(EBS.service().blocksOf(SOURCE, newestSource));
                }
            }
            assertThat(copiesOf(WEST, "vol-0000000000000000d"))
                    .as("young copies stay under the age rule")
                    .hasSize(SNAPSHOTS_PER_VOLUME);

            // One committed deletion record per copy deleted, across the kill and the restore.
            int deletedPerRegion = SNAPSHOTS_PER_VOLUME - 3;
            List<CopyDeletion> deletions =
                    awaitDeletions(lifecycle, GOLD_VOLUMES * 2 * deletedPerRegion);
            assertDeletionsMatchEbs(deletions, got);

            // status, judged when the last copy completed: every lineage meets its objective.
            Instant last =
                    got.stream()
                            .map(ReplicationResult::getCompletedAt)
                            .max(Instant::compareTo)
                            .get();
            Status meeting = status(policy, results, last);
            assertThat(meeting.code()).as(meeting.text()).isZero();
            assertThat(meeting.lines("MEETS")).hasSize(GOLD_VOLUMES * 2);
            assertThat(meeting.lines("OVER")).isEmpty();

            // The first volume's events stop; the others take one more snapshot each.
            String stopped = gold.keySet().iterator().next();
            Instant stoppedNewest =
                    got.stream()
                            .filter(r -> gold.get(stopped).contains(r.getSourceSnapshotId()))
                            .map(ReplicationResult::getCompletedAt)
                            .max(Instant::compareTo)
                            .get();
            try (EbsProxy source = TestSnapshots.proxy(EBS.server(), SOURCE)) {
                for (Map.Entry<String, List<String>> e : gold.entrySet()) {
                    if (!e.getKey().equals(stopped)) {
                        String next =
                                TestSnapshots.write(
                                        source,
                                        e.getValue().get(SNAPSHOTS_PER_VOLUME - 1),
                                        1,
                                        new int[] {7, 17},
                                        e.getKey().hashCode(),
                                        Map.of("tier", "gold"));
                        publish(requests, e.getKey(), next);
                    }
                }
            }
            awaitResults(results, expected + (GOLD_VOLUMES - 1) * 2);
            // Judged just past the stopped lineage's objective (the rule's 1 h): it alone is over.
            Status over =
                    status(policy, results, stoppedNewest.plus(Duration.ofHours(1)).plusMillis(1));
            assertThat(over.code()).as(over.text()).isEqualTo(1);
            assertThat(over.lines("OVER"))
                    .hasSize(2)
                    .allSatisfy(line -> assertThat(line).contains(stopped));
            assertThat(over.lines("MEETS")).hasSize((GOLD_VOLUMES - 1) * 2);
        } finally {
            job.cancel().get();
        }
    }

    /** What {@code status} printed, and its exit code. */
    record Status(int code, String text) {
        List<String> lines(String verdict) {
            return text.lines().filter(l -> l.endsWith(" " + verdict)).toList();
        }
    }

    private static Status status(Path policy, String results, Instant at) throws Exception {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        int code =
                StatusCommand.run(
                        new String[] {
                            "--bootstrap-servers", KAFKA.bootstrapServers(),
                            "--policy", policy.toString(),
                            "--topic", results,
                            "--at", at.toString()
                        },
                        new java.io.PrintStream(out, true, StandardCharsets.UTF_8),
                        new java.io.PrintStream(err, true, StandardCharsets.UTF_8));
        return new Status(
                code, out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8));
    }

    /**
     * Waits until retention deleted a copy of a gold lineage in {@link #WEST} and the job has
     * completed a checkpoint.
     */
    private static void awaitFirstDeletion(Path checkpoints) throws Exception {
        java.util.Set<String> seen = new java.util.HashSet<>();
        long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
        while (true) {
            for (Snapshot s : EBS.service().snapshots(WEST)) {
                if (s.tags().stream().anyMatch(t -> t.key().equals(PolicyRule.LINEAGE_TAG))) {
                    seen.add(s.id());
                }
            }
            if (seen.stream().anyMatch(id -> EBS.service().deleted(WEST, id))
                    && newestCheckpoint(checkpoints) != null) {
                return;
            }
            assertThat(System.nanoTime()).as("a first deletion").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    /** The newest completed checkpoint (with its metadata), or {@code null}. */
    private static Path newestCheckpoint(Path root) throws Exception {
        if (!Files.exists(root)) {
            return null;
        }
        try (java.util.stream.Stream<Path> files = Files.walk(root)) {
            return files.filter(p -> p.getFileName().toString().equals("_metadata"))
                    .map(Path::getParent)
                    .max(java.util.Comparator.comparingLong(DrServiceITCase::modified))
                    .orElse(null);
        }
    }

    private static long modified(Path p) {
        try {
            return Files.getLastModifiedTime(p.resolve("_metadata")).toMillis();
        } catch (java.io.IOException e) {
            return 0;
        }
    }

    private static JobClient serve(
            Path policy,
            String requests,
            String results,
            String deadLetters,
            String lifecycle,
            Path checkpoints,
            String restoreFrom)
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
        options.set(EbsReplicationOptions.ENDPOINTS, Map.of(SOURCE, url, WEST, url, EU, url));
        options.set(EbsReplicationOptions.ACCESS_KEY_ID, EBS.accessKey().accessKeyId());
        options.set(EbsReplicationOptions.SECRET_ACCESS_KEY, EBS.accessKey().secretAccessKey());
        options.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        options.set(EbsReplicationOptions.TARGET_WATCH_INTERVAL, Duration.ofMillis(300));
        options.set(EbsReplicationOptions.POLICY_FILE, policy.toString());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2, conf);
        env.enableCheckpointing(500);
        ServePipeline.build(
                env,
                new ServeSettings(
                        KAFKA.bootstrapServers(),
                        requests,
                        results,
                        deadLetters,
                        lifecycle,
                        null,
                        // A transaction the killed job left open is aborted by the broker within
                        // the test, so read_committed readers see past it.
                        TRANSACTION_TIMEOUT,
                        java.util.Map.of()),
                options,
                BlockTransform.IDENTITY,
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options).withShare(2)));
        return env.executeAsync("dr-service-itcase");
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

    private static List<ReplicationResult> awaitResults(String topic, int expected)
            throws Exception {
        AvroCodec<ReplicationResult> codec = AvroCodec.forResults();
        long deadline = System.nanoTime() + Duration.ofMinutes(4).toNanos();
        while (true) {
            List<ReplicationResult> got =
                    CommittedRecords.readAll(KAFKA.consumerProps(null, true), topic, codec::decode);
            if (got.size() >= expected) {
                Thread.sleep(2_000);
                got =
                        CommittedRecords.readAll(
                                KAFKA.consumerProps(null, true), topic, codec::decode);
                assertThat(got).as("one result per snapshot and region").hasSize(expected);
                return got;
            }
            assertThat(System.nanoTime())
                    .as("%d of %d results so far", got.size(), expected)
                    .isLessThan(deadline);
            Thread.sleep(300);
        }
    }

    /**
     * The committed copy deletions on {@code topic}, once there are {@code expected} (and still
     * {@code expected} a moment later: no late duplicate).
     */
    static List<CopyDeletion> awaitDeletions(String topic, int expected) throws Exception {
        AvroCodec<CopyDeletion> codec = AvroCodec.forCopyDeletions();
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (true) {
            List<CopyDeletion> got =
                    CommittedRecords.readAll(KAFKA.consumerProps(null, true), topic, codec::decode);
            if (got.size() >= expected) {
                Thread.sleep(2_000);
                got =
                        CommittedRecords.readAll(
                                KAFKA.consumerProps(null, true), topic, codec::decode);
                assertThat(got).as("one record per copy deleted").hasSize(expected);
                return got;
            }
            if (System.nanoTime() > deadline) {
                List<CopyDeletion> uncommitted =
                        CommittedRecords.readAll(
                                KAFKA.consumerProps(null, false), topic, codec::decode);
                assertThat(got)
                        .as(
                                "%d of %d deletion records so far (%d read uncommitted: %s)",
                                got.size(), expected, uncommitted.size(), uncommitted)
                        .hasSize(expected);
            }
            Thread.sleep(300);
        }
    }

    /**
     * The deletion records say exactly what disappeared from ebs-local: one record per deleted copy
     * (DELETED, or ALREADY_GONE when an attempt before a restore deleted it), none for a copy that
     * exists, none twice.
     */
    static void assertDeletionsMatchEbs(
            List<CopyDeletion> deletions, List<ReplicationResult> results) {
        assertThat(deletions)
                .extracting(CopyDeletion::getDeletionId)
                .as("no deletion reported twice")
                .doesNotHaveDuplicates();
        assertThat(deletions)
                .allSatisfy(
                        d -> {
                            assertThat(d.getOutcome()).isIn("DELETED", "ALREADY_GONE");
                            assertThat(d.getError()).isNull();
                            assertThat(d.getRule()).isEqualTo("gold");
                            assertThat(d.getDeletionId())
                                    .isEqualTo(
                                            "retention/" + d.getRegion() + "/" + d.getSnapshotId());
                            assertThat(d.getDoneAt()).isAfterOrEqualTo(d.getDecidedAt());
                        });
        List<String> gone = new ArrayList<>();
        for (ReplicationResult r : results) {
            if (r.getTargetSnapshotId() != null
                    && EBS.service().deleted(r.getTargetRegion(), r.getTargetSnapshotId())) {
                gone.add(r.getTargetRegion() + "/" + r.getTargetSnapshotId());
            }
        }
        assertThat(deletions)
                .extracting(d -> d.getRegion() + "/" + d.getSnapshotId())
                .as("exactly the copies that disappeared from ebs-local")
                .containsExactlyInAnyOrderElementsOf(gone);
    }

    /** The completed copies of {@code lineage} in {@code region}, once there are {@code n}. */
    private static List<String> awaitCopies(String region, String lineage, int n)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        List<String> copies = copiesOf(region, lineage);
        while (copies.size() != n && System.nanoTime() < deadline) {
            Thread.sleep(200);
            copies = copiesOf(region, lineage);
        }
        return copies;
    }

    private static List<String> copiesOf(String region, String lineage) {
        List<String> out = new ArrayList<>();
        for (Snapshot s : EBS.service().snapshots(region)) {
            if (s.tags().contains(new Tag(PolicyRule.LINEAGE_TAG, lineage))) {
                out.add(s.id());
            }
        }
        return out;
    }
}
