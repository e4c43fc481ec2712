package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.local.EbsLocalServer;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.Random;

/** Creates completed snapshots in ebs-local through the real SDK (via the proxy), for tests. */
public final class TestSnapshots {

    private TestSnapshots() {}

    /** A completed snapshot with {@code blocks} random blocks at indexes 0, 3, 6, ... */
    public static String create(EbsLocalServer server, String region, long volumeGib, int blocks)
            throws Exception {
        int[] indexes = new int[blocks];
        Arrays.setAll(indexes, i -> i * 3);
        return write(server, region, null, volumeGib, indexes, blocks * 31L + volumeGib);
    }

    /**
     * A completed child of {@code parent} (same volume size) in which the blocks at {@code indexes}
     * are written again with random data from {@code seed}.
     */
    public static String child(
            EbsLocalServer server, String region, String parent, int[] indexes, long seed)
            throws Exception {
        long gib;
        try (EbsProxy ebs = proxy(server, region)) {
            gib = ebs.describeSnapshot(parent).volumeSizeGib();
        }
        return write(server, region, parent, gib, indexes, seed);
    }

    /**
     * A completed snapshot, a child of {@code parent} (or the first of a new volume when null), in
     * which the blocks at {@code indexes} are written with random data from {@code seed}.
     */
    public static String write(
            EbsLocalServer server,
            String region,
            String parent,
            long volumeGib,
            int[] indexes,
            long seed)
            throws Exception {
        try (EbsProxy ebs = proxy(server, region)) {
            return write(ebs, parent, volumeGib, indexes, seed);
        }
    }

    /**
     * A completed snapshot written through {@code ebs}: a child of {@code parent} (or the first of
     * a new volume when null) in which the blocks at {@code indexes} hold random data from {@code
     * seed}.
     */
    public static String write(
            EbsProxy ebs, String parent, long volumeGib, int[] indexes, long seed)
            throws Exception {
        return write(ebs, parent, volumeGib, indexes, seed, Map.of());
    }

    /** {@link #write(EbsProxy, String, long, int[], long)} of a snapshot with these tags. */
    public static String write(
            EbsProxy ebs,
            String parent,
            long volumeGib,
            int[] indexes,
            long seed,
            Map<String, String> tags)
            throws Exception {
        String id =
                ebs.startSnapshot(
                                new StartSnapshotSpec(
                                        volumeGib, parent, null, null, tags, null, null, 60))
                        .snapshotId();
        MessageDigest linear = MessageDigest.getInstance("SHA-256");
        Random random = new Random(seed);
        int[] sorted = indexes.clone();
        Arrays.sort(sorted);
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

    static EbsProxy proxy(EbsLocalServer server, String region) {
        EbsProxyConfig config =
                EbsProxyConfig.builder()
                        .endpoint(region, server.endpoint().toString())
                        .credentials(
                                server.accessKey().accessKeyId(),
                                server.accessKey().secretAccessKey())
                        .build();
        return new SdkEbsProxyFactory(config).create(region);
    }
}
