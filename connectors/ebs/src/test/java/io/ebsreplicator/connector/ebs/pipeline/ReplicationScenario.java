package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.SnapshotStatus;

import org.apache.flink.configuration.Configuration;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ChecksumAggregationMethod;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;

import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Shared steps of the failover, savepoint, token and timeout ITCases: a large source snapshot
 * written through the SDK without holding its blocks in memory, the job options for ebs-local, and
 * the guarantees every scenario checks on the targets (one result and one new completed snapshot
 * per region, digests equal to the source's, CompleteSnapshot accepted once, re-copies counted).
 */
final class ReplicationScenario {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";
    static final String DR2 = "eu-west-1";

    /** ebs-local for the source and both DR regions, plus whatever a test adds. */
    static EbsLocalExtension ebsLocal(
            java.util.function.Consumer<io.ebsreplicator.local.EbsLocalConfig.Builder> more) {
        return EbsLocalExtension.builder()
                .configure(b -> b.regions(SOURCE, DR, DR2).sealDelay(Duration.ofMillis(200)))
                .configure(more)
                .build();
    }

    /** One TaskManager with four slots: enough for parallelism 4. */
    static org.apache.flink.test.junit5.MiniClusterExtension miniCluster() {
        return new org.apache.flink.test.junit5.MiniClusterExtension(
                new org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration.Builder()
                        .setNumberTaskManagers(1)
                        .setNumberSlotsPerTaskManager(4)
                        .build());
    }

    private ReplicationScenario() {}

    /** Content of block {@code index} of a snapshot seeded with {@code seed}: unique per index. */
    static byte[] block(long seed, int index) {
        byte[] b = new byte[EbsFixture.BLOCK];
        new Random(seed * 1_000_003L + index).nextBytes(b);
        return b;
    }

    /**
     * Writes {@code blocks} distinct blocks spread evenly over a {@code gib} GiB volume and
     * completes the snapshot (LINEAR checksum checked by ebs-local). Four writers; only the blocks
     * being written are in memory.
     */
    static String largeSnapshot(
            EbsLocalServer server, String region, int gib, int blocks, long seed) throws Exception {
        int span = gib * 2048;
        List<Integer> indexes = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            indexes.add((int) ((long) i * span / blocks));
        }
        try (EbsClient ebs = client(server, region)) {
            String id = ebs.startSnapshot(r -> r.volumeSize((long) gib).timeout(60)).snapshotId();
            Map<Integer, byte[]> digests = new java.util.concurrent.ConcurrentSkipListMap<>();
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> writes = new ArrayList<>();
                for (int index : indexes) {
                    writes.add(
                            pool.submit(
                                    () -> {
                                        byte[] data = block(seed, index);
                                        byte[] digest = sha256(data);
                                        digests.put(index, digest);
                                        ebs.putSnapshotBlock(
                                                r ->
                                                        r.snapshotId(id)
                                                                .blockIndex(index)
                                                                .dataLength(EbsFixture.BLOCK)
                                                                .checksum(
                                                                        Base64.getEncoder()
                                                                                .encodeToString(
                                                                                        digest))
                                                                .checksumAlgorithm(
                                                                        ChecksumAlgorithm.SHA256),
                                                RequestBody.fromBytes(data));
                                        return null;
                                    }));
                }
                for (Future<?> w : writes) {
                    w.get();
                }
            } finally {
                pool.shutdownNow();
            }
            MessageDigest linear = MessageDigest.getInstance("SHA-256");
            digests.values().forEach(linear::update);
            String aggregate = Base64.getEncoder().encodeToString(linear.digest());
            ebs.completeSnapshot(
                    r ->
                            r.snapshotId(id)
                                    .changedBlocksCount(blocks)
                                    .checksum(aggregate)
                                    .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                    .checksumAggregationMethod(ChecksumAggregationMethod.LINEAR));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (server.service().snapshot(region, id).status() != SnapshotStatus.COMPLETED) {
                assertThat(System.nanoTime()).as("source %s completes", id).isLessThan(deadline);
                Thread.sleep(20);
            }
            return id;
        }
    }

    private static EbsClient client(EbsLocalServer server, String region) {
        return EbsClient.builder()
                .endpointOverride(server.endpoint())
                .region(Region.of(region))
                .credentialsProvider(
                        StaticCredentialsProvider.create(
                                AwsBasicCredentials.create(
                                        server.accessKey().accessKeyId(),
                                        server.accessKey().secretAccessKey())))
                .httpClient(ApacheHttpClient.builder().maxConnections(8).build())
                .build();
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Job options for ebs-local serving {@code regions}. */
    static Configuration options(EbsLocalExtension ebs, Collection<String> regions) {
        Configuration c = new Configuration();
        Map<String, String> endpoints = new HashMap<>();
        for (String r : regions) {
            endpoints.put(r, ebs.endpoint().toString());
        }
        c.set(EbsReplicationOptions.ENDPOINTS, endpoints);
        c.set(EbsReplicationOptions.ACCESS_KEY_ID, ebs.accessKey().accessKeyId());
        c.set(EbsReplicationOptions.SECRET_ACCESS_KEY, ebs.accessKey().secretAccessKey());
        c.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        c.set(EbsReplicationOptions.MIN_SPLIT_BLOCKS, 256);
        return c;
    }

    /** The snapshot ids of each region now, to find what a run created. */
    static Map<String, Set<String>> snapshotIds(EbsLocalExtension ebs, Collection<String> regions) {
        Map<String, Set<String>> out = new LinkedHashMap<>();
        for (String r : regions) {
            out.put(
                    r,
                    ebs.service().snapshots(r).stream()
                            .map(Snapshot::id)
                            .collect(Collectors.toCollection(TreeSet::new)));
        }
        return out;
    }

    /**
     * Checks the guarantees of one request copied to {@code regions}: exactly one result per
     * region, COMPLETED; exactly one snapshot created per region since {@code before}, completed,
     * the one the result names, none pending anywhere in the region; its blocks equal to the
     * source's (ebs-local's digests of what was stored); CompleteSnapshot accepted once. Returns
     * the re-copied blocks per region (PutSnapshotBlock accepted minus distinct blocks written).
     */
    static Map<String, Long> assertReplicated(
            EbsLocalExtension ebs,
            String sourceRegion,
            String sourceSnapshot,
            Collection<String> regions,
            Map<String, Set<String>> before,
            Collection<ReplicationResult> results) {
        assertThat(results).as("one result per target: %s", results).hasSize(regions.size());
        Map<String, ReplicationResult> byRegion = new HashMap<>();
        for (ReplicationResult r : results) {
            assertThat(r.status()).as(r.toJson()).isEqualTo(ReplicationResult.COMPLETED);
            assertThat(byRegion.put(r.targetRegion(), r))
                    .as("second result for %s", r.targetRegion())
                    .isNull();
        }
        assertThat(byRegion.keySet()).containsExactlyInAnyOrderElementsOf(regions);
        Map<Integer, String> expected = digests(ebs, sourceRegion, sourceSnapshot);
        Map<String, Long> recopied = new LinkedHashMap<>();
        for (String region : regions) {
            ReplicationResult r = byRegion.get(region);
            List<Snapshot> created =
                    ebs.service().snapshots(region).stream()
                            .filter(s -> !before.get(region).contains(s.id()))
                            .toList();
            assertThat(created.stream().map(Snapshot::id))
                    .as("exactly one target snapshot created in %s", region)
                    .containsExactly(r.targetSnapshotId());
            assertThat(ebs.service().snapshots(region))
                    .as("no pending snapshot left in %s", region)
                    .allSatisfy(
                            s ->
                                    assertThat(s.status())
                                            .as(s.id())
                                            .isNotEqualTo(SnapshotStatus.PENDING));
            Snapshot target = created.get(0);
            assertThat(target.status()).isEqualTo(SnapshotStatus.COMPLETED);
            assertThat(digests(ebs, region, target.id()))
                    .as("target %s in %s equals the source", target.id(), region)
                    .isEqualTo(expected);
            assertThat(r.blocksWritten()).isEqualTo(expected.size());
            assertThat(target.completionsAccepted())
                    .as("CompleteSnapshot accepted once")
                    .isEqualTo(1);
            recopied.put(region, target.putRequestsAccepted() - target.ownBlockCount());
        }
        return recopied;
    }

    static Map<Integer, String> digests(EbsLocalExtension ebs, String region, String id) {
        Map<Integer, String> out = new java.util.TreeMap<>();
        ebs.service().blocksOf(region, id).forEach((k, v) -> out.put(k, v.base64()));
        return out;
    }

    /** The pending target snapshot a running job created in {@code region}, or null. */
    static Snapshot newSnapshot(EbsLocalExtension ebs, String region, Set<String> before) {
        for (Snapshot s : ebs.service().snapshots(region)) {
            if (!before.contains(s.id())) {
                return s;
            }
        }
        return null;
    }
}
