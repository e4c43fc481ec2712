package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.SnapshotStatus;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * End-to-end replication on a MiniCluster against ebs-local over HTTP with the real SDK: full and
 * incremental copies, fan-out, empty change sets, a huge sparse volume, and requests that fail
 * while others succeed. Every target is compared byte by byte with its source.
 */
class EbsReplicationITCase {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";
    static final String DR2 = "eu-west-1";

    /** Another account: its snapshots are not the replicator's to read. */
    static final AccessKey OTHER_ACCOUNT =
            new AccessKey("AKIAOTHERACCOUNT0000", "another/secret/key", "444455556666");

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(
                            b ->
                                    b.regions(SOURCE, DR, DR2)
                                            .sealDelay(Duration.ofMillis(200))
                                            .addKey(AccessKey.DEFAULT)
                                            .addKey(OTHER_ACCOUNT))
                    .build();

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(2)
                            .build());

    static EbsFixture source;
    static EbsFixture dr;
    static EbsFixture dr2;

    @BeforeAll
    static void fixtures() {
        source = new EbsFixture(EBS.server(), SOURCE);
        dr = new EbsFixture(EBS.server(), DR);
        dr2 = new EbsFixture(EBS.server(), DR2);
    }

    @AfterAll
    static void close() {
        source.close();
        dr.close();
        dr2.close();
    }

    static Configuration options() {
        Configuration c = new Configuration();
        Map<String, String> endpoints = new HashMap<>();
        for (String r : List.of(SOURCE, DR, DR2)) {
            endpoints.put(r, EBS.endpoint().toString());
        }
        c.set(EbsReplicationOptions.ENDPOINTS, endpoints);
        c.set(EbsReplicationOptions.ACCESS_KEY_ID, EBS.accessKey().accessKeyId());
        c.set(EbsReplicationOptions.SECRET_ACCESS_KEY, EBS.accessKey().secretAccessKey());
        c.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        c.set(EbsReplicationOptions.MIN_SPLIT_BLOCKS, 256);
        c.set(EbsReplicationOptions.VERIFY, true);
        return c;
    }

    static List<ReplicationResult> run(List<ReplicationRequest> requests) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        env.enableCheckpointing(500);
        List<ReplicationResult> out = new ArrayList<>();
        try (CloseableIterator<ReplicationResult> it =
                EbsReplicationPipeline.build(env, requests, options(), BlockTransform.IDENTITY)
                        .executeAndCollect("replication-test")) {
            it.forEachRemaining(out::add);
        }
        return out;
    }

    static Map<Integer, byte[]> blocks(int... seedsAtIndexes) {
        Map<Integer, byte[]> m = new TreeMap<>();
        for (int i = 0; i + 1 < seedsAtIndexes.length; i += 2) {
            m.put(seedsAtIndexes[i], EbsFixture.block(seedsAtIndexes[i + 1]));
        }
        return m;
    }

    static void assertIdentical(String sourceId, EbsFixture target, String targetId) {
        SortedMap<Integer, byte[]> expected = source.read(sourceId);
        SortedMap<Integer, byte[]> actual = target.read(targetId);
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        for (Integer k : expected.keySet()) {
            assertThat(actual.get(k)).as("block %d", k).isEqualTo(expected.get(k));
        }
    }

    @Test
    void fullCopyThenIncrementalOverThreeGenerationsFannedOutToTwoRegions() throws Exception {
        Map<Integer, byte[]> g1 = new TreeMap<>();
        for (int i = 0; i < 300; i++) {
            g1.put(i * 7, EbsFixture.block(1000 + i));
        }
        String s1 = source.snapshot(2, null, g1);
        List<ReplicationTarget> targets =
                List.of(ReplicationTarget.of(DR), ReplicationTarget.of(DR2));
        List<ReplicationResult> r1 =
                run(
                        List.of(
                                new ReplicationRequest(
                                        "full-1",
                                        SOURCE,
                                        s1,
                                        null,
                                        targets,
                                        null,
                                        false,
                                        Map.of(),
                                        ReplicationRequest.NO_DEADLINE,
                                        0)));
        assertThat(r1)
                .hasSize(2)
                .allSatisfy(r -> assertThat(r.status()).as(r.toJson()).isEqualTo("COMPLETED"));
        Map<String, String> copyOf1 = new HashMap<>();
        r1.forEach(r -> copyOf1.put(r.targetRegion(), r.targetSnapshotId()));
        assertIdentical(s1, dr, copyOf1.get(DR));
        assertIdentical(s1, dr2, copyOf1.get(DR2));
        assertThat(r1.get(0).blocksWritten()).isEqualTo(300);

        // Two more generations: overwrites, new blocks, and blocks overwritten with zeros.
        String base = s1;
        Map<String, String> parents = copyOf1;
        for (int gen = 2; gen <= 3; gen++) {
            Map<Integer, byte[]> change = new TreeMap<>();
            for (int i = 0; i < 30; i++) {
                change.put(i * 7 * gen, EbsFixture.block(gen * 5000 + i));
            }
            change.put(3 * gen, EbsFixture.block(0));
            change.put(7, EbsFixture.block(0));
            String next = source.snapshot(2, base, change);
            List<ReplicationTarget> t =
                    List.of(
                            new ReplicationTarget(DR, parents.get(DR), null, Map.of(), null),
                            new ReplicationTarget(DR2, parents.get(DR2), null, Map.of(), null));
            List<ReplicationResult> r =
                    run(
                            List.of(
                                    new ReplicationRequest(
                                            "inc-" + gen,
                                            SOURCE,
                                            next,
                                            base,
                                            t,
                                            null,
                                            false,
                                            Map.of(),
                                            ReplicationRequest.NO_DEADLINE,
                                            0)));
            assertThat(r)
                    .hasSize(2)
                    .allSatisfy(x -> assertThat(x.status()).as(x.toJson()).isEqualTo("COMPLETED"));
            Map<String, String> copies = new HashMap<>();
            r.forEach(x -> copies.put(x.targetRegion(), x.targetSnapshotId()));
            for (ReplicationResult x : r) {
                assertThat(x.blocksWritten())
                        .as("only the change set is written")
                        .isEqualTo(change.size());
                Snapshot target = EBS.service().snapshot(x.targetRegion(), x.targetSnapshotId());
                assertThat(target.parentId()).isEqualTo(parents.get(x.targetRegion()));
            }
            assertIdentical(next, dr, copies.get(DR));
            assertIdentical(next, dr2, copies.get(DR2));
            base = next;
            parents = copies;
        }
    }

    @Test
    void emptyChangeSetAndHugeSparseVolume() throws Exception {
        String a = source.snapshot(1, null, blocks(0, 1, 5, 2));
        String b = source.snapshot(1, a, Map.of()); // nothing changed
        // 16 TiB, a few thousand blocks spread over it: listing follows the written blocks.
        Map<Integer, byte[]> sparse = new TreeMap<>();
        byte[][] contents = new byte[17][];
        for (int c = 0; c < contents.length; c++) {
            contents[c] = EbsFixture.block(c + 1); // shared: 2,000 distinct arrays would be 1 GiB
        }
        int span = 16384 * 2048;
        for (int i = 0; i < 2000; i++) {
            sparse.put((int) ((long) i * (span - 1) / 1999), contents[i % 17]);
        }
        String huge = source.snapshot(16384, null, sparse);

        List<ReplicationResult> first =
                run(
                        List.of(
                                new ReplicationRequest(
                                        "base-a",
                                        SOURCE,
                                        a,
                                        null,
                                        List.of(ReplicationTarget.of(DR)),
                                        null,
                                        false,
                                        Map.of(),
                                        ReplicationRequest.NO_DEADLINE,
                                        0)));
        String aCopy = first.get(0).targetSnapshotId();
        List<ReplicationResult> results =
                run(
                        List.of(
                                new ReplicationRequest(
                                        "empty-b",
                                        SOURCE,
                                        b,
                                        a,
                                        List.of(
                                                new ReplicationTarget(
                                                        DR, aCopy, null, Map.of(), null)),
                                        null,
                                        false,
                                        Map.of(),
                                        ReplicationRequest.NO_DEADLINE,
                                        0),
                                new ReplicationRequest(
                                        "huge",
                                        SOURCE,
                                        huge,
                                        null,
                                        List.of(ReplicationTarget.of(DR)),
                                        null,
                                        false,
                                        Map.of(),
                                        ReplicationRequest.NO_DEADLINE,
                                        0)));
        assertThat(results)
                .hasSize(2)
                .allSatisfy(x -> assertThat(x.status()).as(x.toJson()).isEqualTo("COMPLETED"));
        Map<String, ReplicationResult> byId = new HashMap<>();
        results.forEach(x -> byId.put(x.requestId(), x));
        assertThat(byId.get("empty-b").blocksWritten()).isZero();
        assertIdentical(b, dr, byId.get("empty-b").targetSnapshotId());
        assertThat(dr.digests(byId.get("huge").targetSnapshotId())).isEqualTo(source.digests(huge));
        assertThat(byId.get("huge").blocksWritten()).isEqualTo(2000);
    }

    @Test
    void fatalRequestsFailWithTheirReasonWhileOthersSucceed() throws Exception {
        String good = source.snapshot(1, null, blocks(1, 11, 2, 12));
        String otherLineage = source.snapshot(1, null, blocks(3, 13));
        String foreign;
        try (EbsFixture other = new EbsFixture(EBS.server(), SOURCE, OTHER_ACCOUNT)) {
            foreign = other.snapshot(1, null, blocks(4, 14));
        }
        List<ReplicationResult> results =
                run(
                        List.of(
                                new ReplicationRequest(
                                        "missing",
                                        SOURCE,
                                        "snap-0123456789abcdef0",
                                        null,
                                        List.of(ReplicationTarget.of(DR)),
                                        null,
                                        false,
                                        Map.of(),
                                        ReplicationRequest.NO_DEADLINE,
                                        0),
                                new ReplicationRequest(
                                        "unrelated",
                                        SOURCE,
                                        good,
                                        otherLineage,
                                        List.of(
                                                new ReplicationTarget(
                                                        DR,
                                                        "snap-00000000000000001",
                                                        null,
                                                        Map.of(),
                                                        null)),
                                        null,
                                        false,
                                        Map.of(),
                                        ReplicationRequest.NO_DEADLINE,
                                        0),
                                new ReplicationRequest(
                                        "denied",
                                        SOURCE,
                                        foreign,
                                        null,
                                        List.of(ReplicationTarget.of(DR)),
                                        null,
                                        false,
                                        Map.of(),
                                        ReplicationRequest.NO_DEADLINE,
                                        0),
                                new ReplicationRequest(
                                        "good",
                                        SOURCE,
                                        good,
                                        null,
                                        List.of(ReplicationTarget.of(DR)),
                                        null,
                                        false,
                                        Map.of(),
                                        ReplicationRequest.NO_DEADLINE,
                                        0)));
        Map<String, ReplicationResult> byId = new HashMap<>();
        results.forEach(x -> byId.put(x.requestId(), x));
        assertThat(results).hasSize(4);
        assertThat(byId.get("denied").status()).isEqualTo("FAILED");
        assertThat(byId.get("denied").error().reason()).isEqualTo(FailureReason.ACCESS_DENIED);
        assertThat(byId.get("denied").error().message())
                .contains("AccessDenied")
                .contains("UNAUTHORIZED_ACCOUNT")
                .contains(foreign);
        assertThat(byId.get("missing").status()).isEqualTo("FAILED");
        assertThat(byId.get("missing").error().reason())
                .isEqualTo(FailureReason.SNAPSHOT_NOT_FOUND);
        assertThat(byId.get("missing").error().message())
                .contains("SNAPSHOT_NOT_FOUND")
                .contains("snap-0123456789abcdef0");
        assertThat(byId.get("unrelated").status()).isEqualTo("FAILED");
        assertThat(byId.get("unrelated").error().reason()).isEqualTo(FailureReason.UNRELATED_BASE);
        assertThat(byId.get("unrelated").error().message()).contains("UNRELATED_SNAPSHOTS");
        assertThat(byId.get("good").status()).isEqualTo("COMPLETED");
        assertIdentical(good, dr, byId.get("good").targetSnapshotId());
        // No target was started for the failed requests.
        for (String id : dr.snapshotIds()) {
            Snapshot s = EBS.service().snapshot(DR, id);
            assertThat(s.status())
                    .as("no orphaned pending target: " + id)
                    .isNotEqualTo(SnapshotStatus.PENDING);
        }
    }
}
