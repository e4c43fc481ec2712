package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.job.kafka.CommittedRecords;
import io.ebsreplicator.job.kafka.KafkaBrokerExtension;
import io.ebsreplicator.job.serve.ServePipeline;
import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.schemas.AppliedCopyMode;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.CopyMode;
import io.ebsreplicator.schemas.DeadLetter;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ReplicationTarget;
import io.ebsreplicator.schemas.ResultStatus;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code serve} on a MiniCluster against a real KRaft broker and ebs-local: requests published to
 * the requests topic end in exactly one committed result per request and target region, bad
 * messages in dead letters or failure results with their reasons, without stopping the requests
 * after them; a request published three times is replicated once.
 */
class ServeITCase {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";

    @RegisterExtension static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(b -> b.regions(SOURCE, DR).sealDelay(Duration.ofMillis(100)))
                    .build();

    static String requests;
    static String results;
    static String deadLetters;
    static JobClient job;

    @BeforeAll
    static void serve() throws Exception {
        requests = KAFKA.newTopic("requests", 2);
        results = KAFKA.newTopic("results");
        deadLetters = KAFKA.newTopic("dead-letters");
        Configuration options = new Configuration();
        String url = EBS.endpoint().toString();
        options.set(EbsReplicationOptions.ENDPOINTS, Map.of(SOURCE, url, DR, url));
        options.set(EbsReplicationOptions.ACCESS_KEY_ID, EBS.accessKey().accessKeyId());
        options.set(EbsReplicationOptions.SECRET_ACCESS_KEY, EBS.accessKey().secretAccessKey());
        options.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        // Requests of one lineage wait for the previous target: learn of it quickly.
        options.set(EbsReplicationOptions.TARGET_WATCH_INTERVAL, Duration.ofMillis(300));
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
        job = env.executeAsync("serve-itcase");
    }

    @AfterAll
    static void stop() throws Exception {
        if (job != null) {
            job.cancel().get();
        }
    }

    @Test
    void oneRequestEndsInOneCompletedByteIdenticalTargetAndOneResult() throws Exception {
        String source = TestSnapshots.create(EBS.server(), SOURCE, 1, 24);
        Set<String> before = snapshotIds(DR);

        ReplicationRequest request = request("serve-one", source, null, DR);
        request.setAttributes(Map.of("ticket", "T-1", "trace", "abc"));
        publish(request);

        ReplicationResult r = awaitResults(Set.of("serve-one"), 1).get(0);
        assertThat(r.getStatus()).as(r.toString()).isEqualTo(ResultStatus.COMPLETED);
        assertThat(r.getAttributes())
                .as("echoed unchanged")
                .isEqualTo(Map.of("ticket", "T-1", "trace", "abc"));
        assertThat(r.getTargetRegion()).isEqualTo(DR);
        assertThat(r.getBlocksWritten()).isEqualTo(24);
        assertThat(r.getChecksum())
                .as("the LINEAR checksum EBS accepted")
                .isEqualTo(linear(source));
        assertIdentical(source, r.getTargetSnapshotId());
        Snapshot target = EBS.service().snapshot(DR, r.getTargetSnapshotId());
        assertThat(target.completionsAccepted()).isEqualTo(1);
        assertThat(newIds(DR, before)).containsExactly(r.getTargetSnapshotId());
    }

    @Test
    void aRequestPublishedThreeTimesIsReplicatedOnce() throws Exception {
        String source = TestSnapshots.create(EBS.server(), SOURCE, 1, 9);
        Set<String> before = snapshotIds(DR);
        byte[] message = AvroCodec.forRequests().encode(request("serve-dup", source, null, DR));

        for (int i = 0; i < 3; i++) {
            KAFKA.produce(requests, "serve-dup".getBytes(StandardCharsets.UTF_8), message);
        }

        List<ReplicationResult> got = awaitResults(Set.of("serve-dup"), 1);
        assertThat(got).hasSize(1);
        assertThat(got.get(0).getStatus()).isEqualTo(ResultStatus.COMPLETED);
        assertThat(newIds(DR, before)).containsExactly(got.get(0).getTargetSnapshotId());
        assertIdentical(source, got.get(0).getTargetSnapshotId());
    }

    @Test
    void badMessagesGetDeadLettersOrFailureResultsAndTheRequestsAfterThemComplete()
            throws Exception {
        String source = TestSnapshots.create(EBS.server(), SOURCE, 1, 6);
        String unrelated = TestSnapshots.create(EBS.server(), SOURCE, 1, 3);
        byte[] garbage = "definitely not avro".getBytes(StandardCharsets.UTF_8);
        byte[] foreign = AvroCodec.forRequests().encode(request("x", source, null, DR));
        foreign[2] ^= 0x5A; // a fingerprint no version of the schema has
        ReplicationRequest noTargets = request("serve-no-targets", source, null, DR);
        noTargets.setTargets(List.of());
        ReplicationRequest noId = request("", source, null, DR);
        ReplicationRequest noSource = request("serve-no-source", "", null, DR);
        ReplicationRequest late = request("serve-late", source, null, DR);
        late.setDeadline(java.time.Instant.now().minusSeconds(60));
        Map<String, String> attributes = Map.of("ticket", "T-2", "trace", "def");
        late.setAttributes(attributes);
        noSource.setAttributes(attributes);
        ReplicationRequest missingSource =
                request("serve-missing", "snap-0000000000000dead", null, DR);
        missingSource.setAttributes(attributes);
        ReplicationRequest unrelatedBase = request("serve-unrelated", source, unrelated, DR);
        unrelatedBase.setAttributes(attributes);
        ReplicationRequest tooManyAttributes =
                request("serve-too-many-attributes", source, null, DR);
        Map<String, String> many = new HashMap<>();
        for (int i = 0; i < 33; i++) {
            many.put("k" + i, "v");
        }
        tooManyAttributes.setAttributes(many);

        KAFKA.produce(requests, null, garbage);
        KAFKA.produce(requests, null, foreign);
        publish(noTargets);
        publish(noId);
        publish(noSource);
        publish(late);
        publish(missingSource);
        publish(unrelatedBase);
        publish(tooManyAttributes);
        publish(request("serve-after", source, null, DR));

        List<DeadLetter> letters = awaitDeadLetters(4);
        assertThat(letters)
                .extracting(DeadLetter::getReason)
                .containsExactlyInAnyOrder(
                        "MALFORMED", "UNKNOWN_SCHEMA", "INVALID_REQUEST", "INVALID_REQUEST");
        for (DeadLetter d : letters) {
            assertThat(d.getTopic()).isEqualTo(requests);
            assertThat(d.getMessage()).isNotBlank();
        }
        DeadLetter malformed =
                letters.stream().filter(d -> d.getReason().equals("MALFORMED")).findFirst().get();
        assertThat(bytes(malformed.getValue())).isEqualTo(garbage);
        assertThat(letters)
                .filteredOn(d -> d.getReason().equals("INVALID_REQUEST"))
                .extracting(DeadLetter::getMessage)
                .anySatisfy(m -> assertThat(m).containsIgnoringCase("target"))
                .anySatisfy(m -> assertThat(m).containsIgnoringCase("requestId"));

        List<ReplicationResult> got =
                awaitResults(
                        Set.of(
                                "serve-no-source",
                                "serve-late",
                                "serve-missing",
                                "serve-unrelated",
                                "serve-too-many-attributes",
                                "serve-after"),
                        6);
        // Every result of a failed request echoes its attributes, wherever it failed.
        for (String id :
                List.of("serve-late", "serve-no-source", "serve-missing", "serve-unrelated")) {
            assertThat(only(got, id).getAttributes()).as(id).isEqualTo(attributes);
        }
        ReplicationResult tooMany = only(got, "serve-too-many-attributes");
        assertThat(tooMany.getError().getReason()).isEqualTo("INVALID_REQUEST");
        assertThat(tooMany.getError().getMessage()).contains("attributes");
        assertThat(tooMany.getAttributes()).as("too large to keep").isEmpty();
        assertThat(only(got, "serve-after").getAttributes()).isEmpty();
        assertThat(only(got, "serve-late").getError().getReason()).isEqualTo("DEADLINE_EXCEEDED");
        ReplicationResult noSourceResult = only(got, "serve-no-source");
        assertThat(noSourceResult.getStatus()).isEqualTo(ResultStatus.FAILED);
        assertThat(noSourceResult.getError().getReason()).isEqualTo("INVALID_REQUEST");
        assertThat(noSourceResult.getError().getMessage()).containsIgnoringCase("sourceSnapshotId");
        ReplicationResult missing = only(got, "serve-missing");
        assertThat(missing.getStatus()).isEqualTo(ResultStatus.FAILED);
        assertThat(missing.getError().getReason()).isEqualTo("SNAPSHOT_NOT_FOUND");
        assertThat(missing.getError().getMessage()).contains("snap-0000000000000dead");
        ReplicationResult unrelatedResult = only(got, "serve-unrelated");
        assertThat(unrelatedResult.getStatus()).isEqualTo(ResultStatus.FAILED);
        assertThat(unrelatedResult.getError().getReason()).isEqualTo("UNRELATED_BASE");
        ReplicationResult after = only(got, "serve-after");
        assertThat(after.getStatus()).as(after.toString()).isEqualTo(ResultStatus.COMPLETED);
        assertIdentical(source, after.getTargetSnapshotId());
    }

    @Test
    void hundredRequestsOverTenVolumesFormTheRightParentChainsAndIdenticalTargets()
            throws Exception {
        int volumes = 10;
        int generations = 10;
        String[][] sources = new String[volumes][generations];
        for (int v = 0; v < volumes; v++) {
            sources[v][0] = TestSnapshots.create(EBS.server(), SOURCE, 1, 4 + v % 3);
            for (int g = 1; g < generations; g++) {
                int[] changed = {g % 7, 100 + g, 1000 + v};
                sources[v][g] =
                        TestSnapshots.child(
                                EBS.server(), SOURCE, sources[v][g - 1], changed, v * 100L + g);
            }
        }
        Set<String> ids = new HashSet<>();
        // All at once, interleaved across volumes, each volume's snapshots in order.
        for (int g = 0; g < generations; g++) {
            for (int v = 0; v < volumes; v++) {
                ReplicationRequest r = request(id(v, g), sources[v][g], null, DR);
                r.setAttributes(Map.of("lineage", "vol-" + v, "ticket", id(v, g)));
                // Keyed by lineage, as producers should: one partition keeps its order.
                KAFKA.produce(
                        requests,
                        ("vol-" + v).getBytes(StandardCharsets.UTF_8),
                        AvroCodec.forRequests().encode(r));
                ids.add(id(v, g));
            }
        }

        List<ReplicationResult> got = awaitResults(ids, volumes * generations);
        for (int v = 0; v < volumes; v++) {
            String previousTarget = null;
            for (int g = 0; g < generations; g++) {
                ReplicationResult r = only(got, id(v, g));
                assertThat(r.getStatus()).as(r.toString()).isEqualTo(ResultStatus.COMPLETED);
                assertThat(r.getAttributes())
                        .isEqualTo(Map.of("lineage", "vol-" + v, "ticket", id(v, g)));
                assertIdentical(sources[v][g], r.getTargetSnapshotId());
                Snapshot target = EBS.service().snapshot(DR, r.getTargetSnapshotId());
                assertThat(target.completionsAccepted()).isEqualTo(1);
                if (g == 0) {
                    assertThat(r.getCopyMode()).isEqualTo(AppliedCopyMode.FULL);
                    assertThat(r.getFallbackReason()).contains("vol-" + v);
                    assertThat(target.parentId()).isNull();
                } else {
                    assertThat(r.getCopyMode())
                            .as(r.toString())
                            .isEqualTo(AppliedCopyMode.INCREMENTAL);
                    assertThat(r.getBaseSnapshotId()).isEqualTo(sources[v][g - 1]);
                    assertThat(r.getTargetParentSnapshotId()).isEqualTo(previousTarget);
                    assertThat(target.parentId()).as("parent chain").isEqualTo(previousTarget);
                    assertThat(r.getBlocksWritten()).as("only the changed blocks").isEqualTo(3);
                }
                previousTarget = r.getTargetSnapshotId();
            }
        }
    }

    @Test
    void anIncrementalCopyFromALaterSnapshotWritesZerosWhereTheSourceHasNoBlock() throws Exception {
        String root = TestSnapshots.create(EBS.server(), SOURCE, 1, 4);
        String older = TestSnapshots.child(EBS.server(), SOURCE, root, new int[] {1, 101}, 7);
        String newer = TestSnapshots.child(EBS.server(), SOURCE, older, new int[] {2, 102}, 8);
        publish(request("zero-newer", newer, null, DR));
        String newerCopy = awaitResults(Set.of("zero-newer"), 1).get(0).getTargetSnapshotId();

        // The base is newer than the source: blocks 2 and 102 exist only in the base.
        ReplicationRequest back = request("zero-older", older, newer, DR);
        back.getTargets().get(0).setParentSnapshotId(newerCopy);
        publish(back);

        ReplicationResult r = awaitResults(Set.of("zero-older"), 1).get(0);
        assertThat(r.getStatus()).as(r.toString()).isEqualTo(ResultStatus.COMPLETED);
        var target = EBS.service().blocksOf(DR, r.getTargetSnapshotId());
        String zero =
                java.util.Base64.getEncoder()
                        .encodeToString(
                                java.security.MessageDigest.getInstance("SHA-256")
                                        .digest(new byte[512 * 1024]));
        assertThat(target.get(2).base64())
                .as("zeros where the source has no block")
                .isEqualTo(zero);
        assertThat(target.get(102).base64()).isEqualTo(zero);
        target.remove(2);
        target.remove(102);
        assertThat(target)
                .as("the rest is the source")
                .isEqualTo(EBS.service().blocksOf(SOURCE, older));
    }

    private static String id(int volume, int generation) {
        return "serve-vol-" + volume + "-gen-" + generation;
    }

    // ------------------------------------------------------------------ helpers

    static ReplicationRequest request(String id, String source, String base, String... targets) {
        List<ReplicationTarget> ts = new ArrayList<>();
        for (String t : targets) {
            ts.add(
                    ReplicationTarget.newBuilder()
                            .setRegion(t)
                            .setParentSnapshotId(base == null ? null : "snap-00000000000000aa1")
                            .build());
        }
        return ReplicationRequest.newBuilder()
                .setRequestId(id)
                .setSourceRegion(SOURCE)
                .setSourceSnapshotId(source)
                .setBaseSnapshotId(base)
                .setMode(CopyMode.AUTO)
                .setTargets(ts)
                .build();
    }

    static void publish(ReplicationRequest r) {
        KAFKA.produce(
                requests,
                r.getRequestId().getBytes(StandardCharsets.UTF_8),
                AvroCodec.forRequests().encode(r));
    }

    /**
     * Waits until every id has {@code expected} results in all, then reads once more after a few
     * checkpoints so that a duplicate committed late would be seen too.
     */
    static List<ReplicationResult> awaitResults(Set<String> ids, int expected) throws Exception {
        Predicate<ReplicationResult> mine = r -> ids.contains(r.getRequestId());
        long deadline = System.nanoTime() + Duration.ofSeconds(180).toNanos();
        List<ReplicationResult> got = readResults(mine);
        while (got.size() < expected) {
            assertThat(System.nanoTime())
                    .as("results for %s; so far %s", ids, got)
                    .isLessThan(deadline);
            Thread.sleep(200);
            got = readResults(mine);
        }
        Thread.sleep(2_000);
        got = readResults(mine);
        assertThat(got).as("exactly one result per request").hasSize(expected);
        return got;
    }

    static List<ReplicationResult> readResults(Predicate<ReplicationResult> filter)
            throws Exception {
        AvroCodec<ReplicationResult> codec = AvroCodec.forResults();
        List<ReplicationResult> out = new ArrayList<>();
        for (ReplicationResult result :
                CommittedRecords.readAll(KAFKA.consumerProps(null, true), results, codec::decode)) {
            if (filter.test(result)) {
                out.add(result);
            }
        }
        return out;
    }

    static List<DeadLetter> awaitDeadLetters(int expected) throws Exception {
        AvroCodec<DeadLetter> codec = AvroCodec.forDeadLetters();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (true) {
            List<DeadLetter> out =
                    CommittedRecords.readAll(
                            KAFKA.consumerProps(null, true), deadLetters, codec::decode);
            if (out.size() >= expected) {
                return out;
            }
            assertThat(System.nanoTime()).as("dead letters; so far %s", out).isLessThan(deadline);
            Thread.sleep(200);
        }
    }

    /** The LINEAR checksum of a source: SHA-256 over its blocks' SHA-256s in index order. */
    static String linear(String source) throws Exception {
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        for (var d : EBS.service().blocksOf(SOURCE, source).values()) {
            md.update(java.util.Base64.getDecoder().decode(d.base64()));
        }
        return java.util.Base64.getEncoder().encodeToString(md.digest());
    }

    static ReplicationResult only(List<ReplicationResult> results, String id) {
        List<ReplicationResult> matching =
                results.stream().filter(r -> r.getRequestId().equals(id)).toList();
        assertThat(matching).as("results of %s", id).hasSize(1);
        return matching.get(0);
    }

    static void assertIdentical(String source, String target) {
        assertThat(target).isNotNull();
        Snapshot t = EBS.service().snapshot(DR, target);
        assertThat(EBS.service().blocksOf(DR, target))
                .as(
                        "target %s (parent %s, tags %s) equals source %s",
                        target, t.parentId(), t.tags(), source)
                .isEqualTo(EBS.service().blocksOf(SOURCE, source));
    }

    static Set<String> snapshotIds(String region) {
        Set<String> ids = new HashSet<>();
        for (Snapshot s : EBS.service().snapshots(region)) {
            ids.add(s.id());
        }
        return ids;
    }

    static Set<String> newIds(String region, Set<String> before) {
        Set<String> now = snapshotIds(region);
        now.removeAll(before);
        return now;
    }

    static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.duplicate().get(out);
        return out;
    }
}
