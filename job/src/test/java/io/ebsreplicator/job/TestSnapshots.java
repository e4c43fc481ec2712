package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.local.EbsLocalServer;

import java.security.MessageDigest;
import java.util.Base64;
import java.util.Map;
import java.util.Random;

/** Creates completed snapshots in ebs-local through the real SDK (via the proxy), for tests. */
final class TestSnapshots {

    private TestSnapshots() {}

    private static EbsProxy proxy(EbsLocalServer server, String region) {
        EbsProxyConfig config =
                EbsProxyConfig.builder()
                        .endpoint(region, server.endpoint().toString())
                        .credentials(
                                server.accessKey().accessKeyId(),
                                server.accessKey().secretAccessKey())
                        .build();
        return new SdkEbsProxyFactory(config).create(region);
    }

    /**
     * A completed child of {@code parent} (same volume size) in which the blocks at {@code indexes}
     * are written again with random data from {@code seed}.
     */
    static String child(
            EbsLocalServer server, String region, String parent, int[] indexes, long seed)
            throws Exception {
        try (EbsProxy ebs = proxy(server, region)) {
            long gib = ebs.describeSnapshot(parent).volumeSizeGib();
            String id =
                    ebs.startSnapshot(
                                    new StartSnapshotSpec(
                                            gib, parent, null, null, Map.of(), null, null, 60))
                            .snapshotId();
            MessageDigest linear = MessageDigest.getInstance("SHA-256");
            Random random = new Random(seed);
            int[] sorted = indexes.clone();
            java.util.Arrays.sort(sorted);
            for (int index : sorted) {
                byte[] data = new byte[512 * 1024];
                random.nextBytes(data);
                byte[] digest = MessageDigest.getInstance("SHA-256").digest(data);
                linear.update(digest);
                ebs.putBlock(id, index, data, Base64.getEncoder().encodeToString(digest)).join();
            }
            ebs.completeSnapshot(
                    id, sorted.length, Base64.getEncoder().encodeToString(linear.digest()));
            while (!ebs.describeSnapshot(id).completed()) {
                Thread.sleep(20);
            }
            return id;
        }
    }

    /** A completed snapshot with {@code blocks} random blocks at indexes 0, 3, 6, ... */
    static String create(EbsLocalServer server, String region, long volumeGib, int blocks)
            throws Exception {
        try (EbsProxy ebs = proxy(server, region)) {
            String id =
                    ebs.startSnapshot(
                                    new StartSnapshotSpec(
                                            volumeGib, null, null, null, Map.of(), null, null, 60))
                            .snapshotId();
            MessageDigest linear = MessageDigest.getInstance("SHA-256");
            Random random = new Random(blocks * 31L + volumeGib);
            for (int i = 0; i < blocks; i++) {
                byte[] data = new byte[512 * 1024];
                random.nextBytes(data);
                byte[] digest = MessageDigest.getInstance("SHA-256").digest(data);
                linear.update(digest);
                ebs.putBlock(id, i * 3, data, Base64.getEncoder().encodeToString(digest)).join();
            }
            ebs.completeSnapshot(id, blocks, Base64.getEncoder().encodeToString(linear.digest()));
            while (!ebs.describeSnapshot(id).completed()) {
                Thread.sleep(20);
            }
            return id;
        }
    }
}
