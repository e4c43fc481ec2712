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
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
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
 * HTTPS, with the load generator in the same JVM on the same cores. Every block is distinct (so the
 * content-addressed store writes each one) and its checksum is computed before the timed phase.
 *
 * <p>Two load generators: {@code raw}, lean SigV4-signed HTTP/1.1 connections that cost little CPU,
 * which measures ebs-local's own capacity; and {@code sdk}, the AWS SDK for Java v2 sync client,
 * which shows what an SDK client reaches when it shares the cores. The raw client verifies the
 * SHA-256 of every 16th block read; the SDK client verifies every block.
 *
 * <p>Each row is the median of {@code --trials} runs (default 3), each on a fresh server and data
 * directory, 2,048 blocks (1 GiB) each by default. The working set is kept that small on purpose:
 * on the virtual machines this is measured on, memory the guest has not touched for a while costs
 * several times more to fill (measured: writing fresh tmpfs pages went from 0.5 to 2.5 CPU-s per
 * GiB after the first 2 GiB), which would measure the hypervisor rather than ebs-local.
 *
 * <p>Arguments: {@code [--blocks N] [--trials N] [--threads T] [--modes http,https] [--clients
 * raw,sdk] [--store file|memory] [--data-root DIR] [--out FILE]}. The data directory goes under
 * {@code --data-root} (default: the JVM's temporary directory).
 */
public final class EbsLocalThroughput {

    private static final int BLOCK = 512 * 1024;
    private static final double MIB = 1024 * 1024;

    private EbsLocalThroughput() {}

    record Result(
            String transport,
            String client,
            String op,
            int blocks,
            double seconds,
            double cpuSeconds,
            double serverCpuSeconds) {
        double mibPerSecond() {
            return blocks * (BLOCK / MIB) / seconds;
        }

        double perGib(double cpu) {
            return cpu / (blocks * (double) BLOCK / (1024 * MIB));
        }
    }

    /** One load generator's view of the two calls. */
    private interface Load extends AutoCloseable {
        void put(String snapshot, int index) throws Exception;

        void get(String snapshot, int index, String token) throws Exception;

        @Override
        void close();
    }

    public static void main(String[] args) throws Exception {
        int blocks = 2048;
        int trials = 3;
        int threads = 16;
        boolean memory = false;
        Path dataRoot = Path.of(System.getProperty("java.io.tmpdir"));
        Path out = Path.of("benchmarks/results/ebs-local-throughput.json");
        List<String> modes = List.of("http", "https");
        List<String> clients = List.of("raw", "sdk");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--blocks" -> blocks = Integer.parseInt(args[++i]);
                case "--trials" -> trials = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--modes" -> modes = List.of(args[++i].split(","));
                case "--clients" -> clients = List.of(args[++i].split(","));
                case "--store" -> memory = args[++i].equals("memory");
                case "--data-root" -> dataRoot = Path.of(args[++i]);
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
            for (String client : clients) {
                List<Result> puts = new ArrayList<>();
                List<Result> gets = new ArrayList<>();
                for (int t = 0; t < trials; t++) {
                    List<Result> r =
                            run(
                                    mode.equals("https"),
                                    client,
                                    memory ? null : dataRoot,
                                    blocks,
                                    threads,
                                    base,
                                    checksums);
                    puts.add(r.get(0));
                    gets.add(r.get(1));
                }
                results.add(median(puts));
                results.add(median(gets));
            }
        }
        StringBuilder table = new StringBuilder();
        table.append(
                "| transport | load generator | operation | MiB/s | blocks/s | CPU-s/GiB total |"
                        + " CPU-s/GiB ebs-local |\n"
                        + "| --- | --- | --- | ---: | ---: | ---: | ---: |\n");
        StringBuilder json = new StringBuilder();
        json.append(
                String.format(
                        Locale.ROOT,
                        "{%n  \"blocks\": %d, \"trials\": %d, \"threads\": %d, \"cores\": %d, \"store\": \"%s\",%n"
                                + "  \"results\": [%n",
                        blocks,
                        trials,
                        threads,
                        Runtime.getRuntime().availableProcessors(),
                        memory ? "memory" : "files under " + dataRoot));
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            table.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %s | %s | %.0f | %.0f | %.2f | %.2f |%n",
                            r.transport,
                            r.client,
                            r.op,
                            r.mibPerSecond(),
                            r.blocks / r.seconds,
                            r.perGib(r.cpuSeconds),
                            r.perGib(r.serverCpuSeconds)));
            json.append(
                    String.format(
                            Locale.ROOT,
                            "    {\"transport\": \"%s\", \"client\": \"%s\", \"operation\": \"%s\","
                                    + " \"mibPerSecond\": %.1f, \"blocksPerSecond\": %.1f,"
                                    + " \"cpuSecondsPerGiB\": %.3f, \"serverCpuSecondsPerGiB\": %.3f}%s%n",
                            r.transport,
                            r.client,
                            r.op,
                            r.mibPerSecond(),
                            r.blocks / r.seconds,
                            r.perGib(r.cpuSeconds),
                            r.perGib(r.serverCpuSeconds),
                            i + 1 < results.size() ? "," : ""));
        }
        json.append("  ]\n}\n");
        System.out.println();
        System.out.print(table);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, json.toString());
        System.out.println("\nwritten " + out);
    }

    /** The trial with the median throughput: these machines are noisy. */
    private static Result median(List<Result> trials) {
        List<Result> sorted = new ArrayList<>(trials);
        sorted.sort(Comparator.comparingDouble(Result::mibPerSecond));
        return sorted.get(sorted.size() / 2);
    }

    private static byte[] content(byte[] base, int index) {
        byte[] b = base.clone();
        patch(b, index);
        return b;
    }

    private static void patch(byte[] b, int index) {
        ByteBuffer.wrap(b).putLong(0, index).putLong(BLOCK - 8, ~index);
    }

    private static List<Result> run(
            boolean tls,
            String client,
            Path dataRoot,
            int blocks,
            int threads,
            byte[] base,
            String[] checksums)
            throws Exception {
        Path dir =
                Files.createTempDirectory(
                        dataRoot == null ? Path.of(System.getProperty("java.io.tmpdir")) : dataRoot,
                        "ebs-local-bench");
        String transport = tls ? "https" : "http";
        try (EbsLocalServer server =
                        EbsLocalServer.start(
                                EbsLocalConfig.builder()
                                        .dataDir(dataRoot == null ? null : dir)
                                        .tls(tls)
                                        .quotas(Quotas.unlimited())
                                        .sealDelay(Duration.ZERO)
                                        .build());
                EbsClient control = sdkClient(server, tls, threads);
                Load load =
                        client.equals("raw")
                                ? new RawLoad(server, base, checksums)
                                : new SdkLoad(sdkClient(server, tls, threads), base, checksums)) {
            long volumeGib = Math.max(1, (blocks + 2047) / 2048);
            // Warm-up: JIT, connections, TLS sessions.
            String warm = control.startSnapshot(r -> r.volumeSize(volumeGib)).snapshotId();
            int warmBlocks = Math.min(blocks, 1024);
            parallel(threads, warmBlocks, i -> load.put(warm, i));

            String snap = control.startSnapshot(r -> r.volumeSize(volumeGib)).snapshotId();
            Measured put = measure(() -> parallel(threads, blocks, i -> load.put(snap, i)));

            control.completeSnapshot(r -> r.snapshotId(snap).changedBlocksCount(blocks));
            List<String> tokens = new ArrayList<>();
            String next = null;
            do {
                String t = next;
                var page = control.listSnapshotBlocks(r -> r.snapshotId(snap).nextToken(t));
                page.blocks().forEach(b -> tokens.add(b.blockToken()));
                next = page.nextToken();
            } while (next != null);
            if (tokens.size() != blocks) {
                throw new IllegalStateException(
                        "Listed " + tokens.size() + " of " + blocks + " blocks");
            }
            parallel(threads, warmBlocks, i -> load.get(snap, i, tokens.get(i)));
            Measured get =
                    measure(() -> parallel(threads, blocks, i -> load.get(snap, i, tokens.get(i))));
            System.out.printf(
                    Locale.ROOT,
                    "%s/%s: put %.0f MiB/s, get %.0f MiB/s%n",
                    transport,
                    client,
                    blocks * (BLOCK / MIB) / put.seconds,
                    blocks * (BLOCK / MIB) / get.seconds);
            return List.of(
                    new Result(
                            transport,
                            client,
                            "PutSnapshotBlock",
                            blocks,
                            put.seconds,
                            put.cpu,
                            put.serverCpu),
                    new Result(
                            transport,
                            client,
                            "GetSnapshotBlock",
                            blocks,
                            get.seconds,
                            get.cpu,
                            get.serverCpu));
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private record Measured(double seconds, double cpu, double serverCpu) {}

    private interface Work {
        void run() throws Exception;
    }

    private static Measured measure(Work work) throws Exception {
        long cpu0 = processCpuNanos();
        long server0 = serverThreadsCpuNanos();
        long t0 = System.nanoTime();
        work.run();
        double seconds = (System.nanoTime() - t0) / 1e9;
        return new Measured(
                seconds,
                (processCpuNanos() - cpu0) / 1e9,
                (serverThreadsCpuNanos() - server0) / 1e9);
    }

    private static EbsClient sdkClient(EbsLocalServer server, boolean tls, int threads) {
        return EbsClient.builder()
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
                .build();
    }

    private interface BlockTask {
        void run(int index) throws Exception;
    }

    private static void parallel(int threads, int blocks, BlockTask task) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads, r -> new Thread(r, "load"));
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

    private static final ThreadLocal<MessageDigest> SHA =
            ThreadLocal.withInitial(
                    () -> {
                        try {
                            return MessageDigest.getInstance("SHA-256");
                        } catch (Exception e) {
                            throw new IllegalStateException(e);
                        }
                    });

    private static void verify(byte[] data, int length, int index, String checksum) {
        SHA.get().update(data, 0, length);
        String actual = Base64.getEncoder().encodeToString(SHA.get().digest());
        if (!actual.equals(checksum)) {
            throw new IllegalStateException("Block " + index + " read back with a wrong checksum");
        }
    }

    /** The AWS SDK for Java v2, sync Apache client. */
    private static final class SdkLoad implements Load {
        private final EbsClient ebs;
        private final byte[] base;
        private final String[] checksums;

        SdkLoad(EbsClient ebs, byte[] base, String[] checksums) {
            this.ebs = ebs;
            this.base = base;
            this.checksums = checksums;
        }

        @Override
        public void put(String snap, int index) {
            byte[] buf = BUFFER.get();
            System.arraycopy(base, 0, buf, 0, BLOCK);
            patch(buf, index);
            ebs.putSnapshotBlock(
                    r ->
                            r.snapshotId(snap)
                                    .blockIndex(index)
                                    .dataLength(BLOCK)
                                    .checksum(checksums[index])
                                    .checksumAlgorithm(ChecksumAlgorithm.SHA256),
                    RequestBody.fromContentProvider(
                            () -> new ByteArrayInputStream(buf),
                            BLOCK,
                            "application/octet-stream"));
        }

        @Override
        public void get(String snap, int index, String token) {
            byte[] data =
                    ebs.getSnapshotBlock(
                                    r -> r.snapshotId(snap).blockIndex(index).blockToken(token),
                                    ResponseTransformer.toBytes())
                            .asByteArrayUnsafe();
            verify(data, data.length, index, checksums[index]);
        }

        @Override
        public void close() {
            ebs.close();
        }
    }

    /** Lean signed HTTP/1.1 connections, one per load thread. */
    private static final class RawLoad implements Load {
        private final byte[] base;
        private final String[] checksums;
        private final List<RawEbsConnection> all = Collections.synchronizedList(new ArrayList<>());
        private final ThreadLocal<RawEbsConnection> connection;

        RawLoad(EbsLocalServer server, byte[] base, String[] checksums) {
            this.base = base;
            this.checksums = checksums;
            this.connection =
                    ThreadLocal.withInitial(
                            () -> {
                                try {
                                    RawEbsConnection c =
                                            new RawEbsConnection(
                                                    server.endpoint(),
                                                    "us-east-1",
                                                    server.accessKey().accessKeyId(),
                                                    server.accessKey().secretAccessKey());
                                    all.add(c);
                                    return c;
                                } catch (IOException e) {
                                    throw new UncheckedIOException(e);
                                }
                            });
        }

        @Override
        public void put(String snap, int index) throws IOException {
            byte[] buf = BUFFER.get();
            System.arraycopy(base, 0, buf, 0, BLOCK);
            patch(buf, index);
            connection.get().put(snap, index, buf, checksums[index]);
        }

        @Override
        public void get(String snap, int index, String token) throws IOException {
            byte[] buf = BUFFER.get();
            int n = connection.get().get(snap, index, token, buf);
            if (n != BLOCK) {
                throw new IllegalStateException("Block " + index + " has " + n + " bytes");
            }
            if (index % 16 == 0) {
                verify(buf, n, index, checksums[index]);
            }
        }

        @Override
        public void close() {
            for (RawEbsConnection c : all) {
                try {
                    c.close();
                } catch (IOException e) {
                    // closing a benchmark connection; nothing to do
                }
            }
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** CPU of ebs-local's own threads (Netty I/O loops and request workers). */
    private static long serverThreadsCpuNanos() {
        java.lang.management.ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        long total = 0;
        for (java.lang.management.ThreadInfo ti : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (ti != null
                    && (ti.getThreadName().startsWith("nioEventLoopGroup")
                            || ti.getThreadName().startsWith("defaultEventExecutorGroup"))) {
                total += Math.max(0, mx.getThreadCpuTime(ti.getThreadId()));
            }
        }
        return total;
    }
}
