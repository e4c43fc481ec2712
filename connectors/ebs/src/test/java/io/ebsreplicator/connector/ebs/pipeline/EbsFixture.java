package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.auth.AccessKey;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ChecksumAggregationMethod;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;

import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Builds source snapshots in ebs-local with the real SDK and reads snapshots back, so tests can
 * prove targets byte-identical to their sources. One per test class and region.
 */
public final class EbsFixture implements AutoCloseable {

    public static final int BLOCK = 512 * 1024;

    private final EbsLocalServer server;
    private final String region;
    private final EbsClient ebs;

    public EbsFixture(EbsLocalServer server, String region) {
        this(server, region, server.accessKey());
    }

    /** A fixture acting as the account of {@code key}. */
    public EbsFixture(EbsLocalServer server, String region, AccessKey key) {
        this.server = server;
        this.region = region;
        this.ebs =
                EbsClient.builder()
                        .endpointOverride(server.endpoint())
                        .region(Region.of(region))
                        .credentialsProvider(
                                StaticCredentialsProvider.create(
                                        AwsBasicCredentials.create(
                                                key.accessKeyId(), key.secretAccessKey())))
                        .httpClient(ApacheHttpClient.builder().maxConnections(16).build())
                        .build();
    }

    /** A block whose content is determined by {@code seed}; seed 0 is all zeros. */
    public static byte[] block(long seed) {
        byte[] b = new byte[BLOCK];
        if (seed != 0) {
            new Random(seed).nextBytes(b);
        }
        return b;
    }

    /** Writes {@code blocks} into a new snapshot (child of {@code parent}) and completes it. */
    public String snapshot(long volumeGib, String parent, Map<Integer, byte[]> blocks)
            throws InterruptedException {
        String id =
                ebs.startSnapshot(r -> r.volumeSize(volumeGib).parentSnapshotId(parent).timeout(60))
                        .snapshotId();
        MessageDigest linear = sha();
        for (Map.Entry<Integer, byte[]> e : new TreeMap<>(blocks).entrySet()) {
            byte[] digest = sha().digest(e.getValue());
            linear.update(digest);
            ebs.putSnapshotBlock(
                    r ->
                            r.snapshotId(id)
                                    .blockIndex(e.getKey())
                                    .dataLength(BLOCK)
                                    .checksum(Base64.getEncoder().encodeToString(digest))
                                    .checksumAlgorithm(ChecksumAlgorithm.SHA256),
                    RequestBody.fromBytes(e.getValue()));
        }
        String aggregate = Base64.getEncoder().encodeToString(linear.digest());
        ebs.completeSnapshot(
                r ->
                        r.snapshotId(id)
                                .changedBlocksCount(blocks.size())
                                .checksum(aggregate)
                                .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                .checksumAggregationMethod(ChecksumAggregationMethod.LINEAR));
        awaitCompleted(id);
        return id;
    }

    /** Starts a snapshot and leaves it pending: it counts against the pending-snapshot quota. */
    public String pending(long volumeGib) {
        return ebs.startSnapshot(r -> r.volumeSize(volumeGib).timeout(60)).snapshotId();
    }

    public void awaitCompleted(String id) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (server.service().snapshot(region, id).status()
                != io.ebsreplicator.local.service.SnapshotStatus.COMPLETED) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(id + " did not complete");
            }
            Thread.sleep(20);
        }
    }

    /**
     * Every block of a completed snapshot, read through the API and checked against its checksum.
     */
    public SortedMap<Integer, byte[]> read(String id) {
        SortedMap<Integer, byte[]> out = new TreeMap<>();
        String next = null;
        do {
            String t = next;
            var page = ebs.listSnapshotBlocks(r -> r.snapshotId(id).nextToken(t));
            for (var b : page.blocks()) {
                var resp =
                        ebs.getSnapshotBlock(
                                r ->
                                        r.snapshotId(id)
                                                .blockIndex(b.blockIndex())
                                                .blockToken(b.blockToken()),
                                ResponseTransformer.toBytes());
                byte[] data = resp.asByteArray();
                String sum = Base64.getEncoder().encodeToString(sha().digest(data));
                if (!sum.equals(resp.response().checksum())) {
                    throw new AssertionError(
                            "Block " + b.blockIndex() + " of " + id + " fails its checksum");
                }
                out.put(b.blockIndex(), data);
            }
            next = page.nextToken();
        } while (next != null);
        return out;
    }

    /** Digests of every block (index -> base64 SHA-256), from ebs-local's own records. */
    public SortedMap<Integer, String> digests(String id) {
        SortedMap<Integer, String> out = new TreeMap<>();
        server.service().blocksOf(region, id).forEach((k, v) -> out.put(k, v.base64()));
        return out;
    }

    /** The snapshots of this region, for "exactly one target per request" checks. */
    public List<String> snapshotIds() {
        List<String> out = new ArrayList<>();
        server.service().snapshots(region).forEach(s -> out.add(s.id()));
        return out;
    }

    private static MessageDigest sha() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        ebs.close();
    }
}
