package io.ebsreplicator.benchmarks;

import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.service.Quotas;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.SdkHttpConfigurationOption;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.utils.AttributeMap;

import java.io.ByteArrayInputStream;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * PutSnapshotBlock and GetSnapshotBlock throughput of ebs-local for 512 KiB blocks, over HTTP and
 * HTTPS, with the load generator (the AWS SDK for Java v2, sync Apache client, N threads) in the
 * same JVM on the same cores. Every block is distinct (so the content-addressed store writes each
 * one), checksums are computed before the timed phase, and every block read is verified against its
 * SHA-256 on the client as a replicator would. Prints a Markdown table and writes JSON.
 *
 * <p>Arguments: {@code [--blocks N] [--threads T] [--out FILE] [--modes http,https]}.
 */
public final class EbsLocalThroughput {

    private static final int BLOCK = 512 * 1024;
    private static final double MIB = 1024 * 1024;

    private EbsLocalThroughput() {}

    record Result(String mode, String op, int blocks, double seconds, double cpuSeconds) {
        double mibPerSecond() {
            return blocks * (BLOCK / MIB) / seconds;
        }

        double cpuSecondsPerGib() {
            return cpuSeconds / (blocks * (double) BLOCK / (1024 * MIB));
        }
    }

    public static void main(String[] args) throws Exception {
        int blocks = 4096;
        int threads = 16;
        Path out = Path.of("benchmarks/results/ebs-local-throughput.json");
        List<String> modes = List.of("http", "https");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--blocks" -> blocks = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--modes" -> modes = List.of(args[++i].split(","));
                default -> throw new IllegalArgumentException("Unknown argument " + args[i]);
            }
        }
        byte[] base = new byte[BLOCK];
        new Random(42).nextBytes(base);
        String[] checksums = new String[blocks];
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        for (int i = 0; i < blocks; i++) {
            checksums[i] = Base64.getEncoder().encodeToString(md.digest(content(base, i)));
        }
        List<Result> results = new ArrayList<>();
        for (String mode : modes) {
            results.addAll(run(mode.equals("https"), blocks, threads, base, checksums));
        }
        StringBuilder table = new StringBuilder();
        table.append(
                String.format(
                        Locale.ROOT,
                        "| transport | operation | blocks | MiB/s | blocks/s | CPU-s per GiB (server + client) |%n"
                                + "| --- | --- | ---: | ---: | ---: | ---: |%n"));
        StringBuilder json =
                new StringBuilder(
                        "{\n  \"blocks\": "
                                + blocks
                                + ", \"threads\": "
                                + threads
                                + ", \"cores\": "
                                + Runtime.getRuntime().availableProcessors()
                                + ",\n  \"results\": [\n");
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            table.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %s | %d | %.0f | %.0f | %.2f |%n",
                            r.mode,
                            r.op,
                            r.blocks,
                            r.mibPerSecond(),
                            r.blocks / r.seconds,
                            r.cpuSecondsPerGib()));
            json.append(
                    String.format(
                            Locale.ROOT,
                            "    {\"transport\": \"%s\", \"operation\": \"%s\", \"mibPerSecond\": %.1f,"
                                    + " \"blocksPerSecond\": %.1f, \"cpuSecondsPerGiB\": %.3f}%s%n",
                            r.mode,
                            r.op,
                            r.mibPerSecond(),
                            r.blocks / r.seconds,
                            r.cpuSecondsPerGib(),
                            i + 1 < results.size() ? "," : ""));
        }
        json.append("  ]\n}\n");
        System.out.println();
        System.out.print(table);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, json.toString());
        System.out.println("\nwritten " + out);
    }

    private static byte[] content(byte[] base, int index) {
        byte[] b = base.clone();
        ByteBuffer.wrap(b).putLong(0, index).putLong(BLOCK - 8, ~index);
        return b;
    }

    private static List<Result> run(
            boolean tls, int blocks, int threads, byte[] base, String[] checksums)
            throws Exception {
        Path dir = Files.createTempDirectory("ebs-local-bench");
        try (EbsLocalServer server =
                        EbsLocalServer.start(
                                EbsLocalConfig.builder()
                                        .dataDir(dir)
                                        .tls(tls)
                                        .quotas(Quotas.unlimited())
                                        .sealDelay(Duration.ZERO)
                                        .build());
                EbsClient ebs =
                        EbsClient.builder()
                                .endpointOverride(server.endpoint())
                                .region(Region.US_EAST_1)
                                .credentialsProvider(
                                        StaticCredentialsProvider.create(
                                                AwsBasicCredentials.create(
                                                        server.accessKey().accessKeyId(),
                                                        server.accessKey().secretAccessKey())))
                                .httpClient(
                                        ApacheHttpClient.builder()
                                                .maxConnections(threads)
                                                .buildWithDefaults(
                                                        AttributeMap.builder()
                                                                .put(
                                                                        SdkHttpConfigurationOption
                                                                                .TRUST_ALL_CERTIFICATES,
                                                                        tls)
                                                                .build()))
                                .overrideConfiguration(
                                        ClientOverrideConfiguration.builder()
                                                .retryStrategy(AwsRetryStrategy.doNotRetry())
                                                .build())
                                .build()) {
            String mode = tls ? "https" : "http";
            long volumeGib = Math.max(1, (blocks + 2047) / 2048);
            // Warm-up: JIT, connections, TLS sessions.
            String warm = ebs.startSnapshot(r -> r.volumeSize(volumeGib)).snapshotId();
            int warmBlocks = Math.min(blocks, 512);
            parallel(threads, warmBlocks, i -> put(ebs, warm, i, base, checksums[i]));

            String snap = ebs.startSnapshot(r -> r.volumeSize(volumeGib)).snapshotId();
            long cpu0 = cpuNanos();
            long t0 = System.nanoTime();
            parallel(threads, blocks, i -> put(ebs, snap, i, base, checksums[i]));
            double putSeconds = (System.nanoTime() - t0) / 1e9;
            double putCpu = (cpuNanos() - cpu0) / 1e9;

            ebs.completeSnapshot(r -> r.snapshotId(snap).changedBlocksCount(blocks));
            List<String> tokens = new ArrayList<>();
            String next = null;
            do {
                String t = next;
                var page = ebs.listSnapshotBlocks(r -> r.snapshotId(snap).nextToken(t));
                page.blocks().forEach(b -> tokens.add(b.blockToken()));
                next = page.nextToken();
            } while (next != null);
            if (tokens.size() != blocks) {
                throw new IllegalStateException(
                        "Listed " + tokens.size() + " of " + blocks + " blocks");
            }
            parallel(threads, warmBlocks, i -> get(ebs, snap, i, tokens.get(i), checksums[i]));
            cpu0 = cpuNanos();
            t0 = System.nanoTime();
            parallel(threads, blocks, i -> get(ebs, snap, i, tokens.get(i), checksums[i]));
            double getSeconds = (System.nanoTime() - t0) / 1e9;
            double getCpu = (cpuNanos() - cpu0) / 1e9;
            Result put = new Result(mode, "PutSnapshotBlock", blocks, putSeconds, putCpu);
            Result get = new Result(mode, "GetSnapshotBlock", blocks, getSeconds, getCpu);
            System.out.printf(
                    Locale.ROOT,
                    "%s: put %.0f MiB/s, get %.0f MiB/s%n",
                    mode,
                    put.mibPerSecond(),
                    get.mibPerSecond());
            return List.of(put, get);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private interface BlockTask {
        void run(int index) throws Exception;
    }

    private static void parallel(int threads, int blocks, BlockTask task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        AtomicInteger next = new AtomicInteger();
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            futures.add(
                    pool.submit(
                            () -> {
                                for (int i = next.getAndIncrement();
                                        i < blocks;
                                        i = next.getAndIncrement()) {
                                    task.run(i);
                                }
                                return null;
                            }));
        }
        try {
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static final ThreadLocal<byte[]> BUFFER =
            ThreadLocal.withInitial(() -> new byte[BLOCK]);

    private static void put(EbsClient ebs, String snap, int index, byte[] base, String checksum) {
        byte[] buf = BUFFER.get();
        System.arraycopy(base, 0, buf, 0, BLOCK);
        ByteBuffer.wrap(buf).putLong(0, index).putLong(BLOCK - 8, ~index);
        ebs.putSnapshotBlock(
                r ->
                        r.snapshotId(snap)
                                .blockIndex(index)
                                .dataLength(BLOCK)
                                .checksum(checksum)
                                .checksumAlgorithm(ChecksumAlgorithm.SHA256),
                RequestBody.fromContentProvider(
                        () -> new ByteArrayInputStream(buf), BLOCK, "application/octet-stream"));
    }

    private static final ThreadLocal<MessageDigest> SHA =
            ThreadLocal.withInitial(
                    () -> {
                        try {
                            return MessageDigest.getInstance("SHA-256");
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });

    private static void get(EbsClient ebs, String snap, int index, String token, String checksum) {
        byte[] data =
                ebs.getSnapshotBlock(
                                r -> r.snapshotId(snap).blockIndex(index).blockToken(token),
                                ResponseTransformer.toBytes())
                        .asByteArrayUnsafe();
        String actual = Base64.getEncoder().encodeToString(SHA.get().digest(data));
        if (!actual.equals(checksum)) {
            throw new IllegalStateException("Block " + index + " read back with a wrong checksum");
        }
    }

    private static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }
}
