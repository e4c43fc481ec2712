package io.ebsreplicator.benchmarks;

import io.ebsreplicator.connector.ebs.completion.LinearChecksum;
import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.pipeline.EbsReplicationPipeline;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.service.Snapshot;

import jdk.jfr.Recording;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.apache.flink.util.CloseableIterator;
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

import javax.imageio.ImageIO;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The end-to-end harness: replicates one source snapshot from us-east-1 to us-west-2 over ebs-local
 * (HTTPS, EBS default quotas) with an injected round-trip latency, with three systems on the same
 * data in the same run: the job on an embedded MiniCluster, a naive sequential SDK copier, and a
 * tuned direct copier (the connector's async proxy with bounded concurrency, no Flink). Records
 * throughput, CPU per GiB (ebs-local's own threads excluded), peak heap, requests in flight and
 * time to the first written block; writes JSON, a Markdown table and a PNG chart.
 *
 * <p>Before the measured runs, a small warm-up copy runs through the job and the tuned copier, so
 * neither is measured with a cold JIT. The job and the tuned copier are then measured {@code
 * --trials} times per latency (the naive copier once), the order rotated each time, and the reports
 * take the trial with the median throughput; the CPU of the JIT compiler and GC threads is counted
 * apart ({@link JvmThreadCpu}).
 *
 * <p>Arguments: {@code [--gib G] [--latencies 0,20,100] [--systems job,tuned,naive] [--naive-blocks
 * N] [--tuned-concurrency N] [--parallelism N] [--max-in-flight N] [--trials N] [--out DIR]
 * [--jfr]}; with {@code --jfr} each measured run is recorded with JFR's "profile" settings into
 * {@code DIR/<system>-<latency>ms.jfr}.
 */
public final class EndToEndBenchmark {

    private static final String SOURCE = "us-east-1";
    private static final String TARGET = "us-west-2";
    private static final int BLOCK = 512 * 1024;
    private static final double MIB = 1024 * 1024;

    /**
     * Blocks of the warm-up copy (256 MiB): enough requests per round for C2 to take the hot paths.
     */
    private static final int WARM_UP_BLOCKS = 512;

    /** A warm-up round with less JIT compile time than this share of its wall time ends it. */
    private static final double JIT_SETTLED = 0.05;

    /**
     * Rounds at most: on two shared cores the JIT compiled about as long as each round ran in 4 of
     * them (every job's MiniCluster brings more code), so more rounds only add time.
     */
    private static final int MAX_WARM_UP_ROUNDS = 2;

    private EndToEndBenchmark() {}

    record Result(
            String system,
            int trial,
            long latencyMs,
            long blocks,
            double seconds,
            double cpuSecondsPerGib,
            double peakHeapMib,
            int inFlight,
            double firstBlockSeconds,
            double firstBlockCpuSeconds,
            double jitSeconds,
            double jitCpuSeconds,
            double gcCpuSeconds,
            long throttled,
            double busy) {
        double mibPerSecond() {
            return blocks * (BLOCK / MIB) / seconds;
        }

        double blocksPerSecond() {
            return blocks / seconds;
        }

        /** Throughput from the first written block to the end: the rate once copying runs. */
        double steadyMibPerSecond() {
            double s = firstBlockSeconds < 0 ? seconds : seconds - firstBlockSeconds;
            return blocks * (BLOCK / MIB) / Math.max(s, 1e-9);
        }

        /**
         * CPU per GiB from the first written block to the end: what copying costs once it runs,
         * without start-up (the job's MiniCluster, deployment and listing; the proxies' clients).
         */
        double steadyCpuSecondsPerGib() {
            double total = cpuSecondsPerGib * blocks * (BLOCK / (1024 * MIB));
            double after = firstBlockCpuSeconds < 0 ? total : total - firstBlockCpuSeconds;
            return after / (blocks * (BLOCK / (1024 * MIB)));
        }

        /**
         * CPU per GiB without the JIT compiler's and the garbage collector's threads: what the copy
         * itself costs, apart from compiling code that a long-running process compiles once.
         */
        double copyCpuSecondsPerGib() {
            double gibs = blocks * (BLOCK / (1024 * MIB));
            return (cpuSecondsPerGib * gibs - jitCpuSeconds - gcCpuSeconds) / gibs;
        }

        Result withTrial(int t) {
            return new Result(
                    system,
                    t,
                    latencyMs,
                    blocks,
                    seconds,
                    cpuSecondsPerGib,
                    peakHeapMib,
                    inFlight,
                    firstBlockSeconds,
                    firstBlockCpuSeconds,
                    jitSeconds,
                    jitCpuSeconds,
                    gcCpuSeconds,
                    throttled,
                    busy);
        }
    }

    public static void main(String[] args) throws Exception {
        double gib = 4;
        List<Long> latencies = List.of(0L, 20L, 100L);
        List<String> systems = List.of("job", "tuned", "naive");
        int naiveBlocks = 200;
        // 128 blocks in flight in all (the limit): 64 per copier subtask at parallelism 2.
        int tunedConcurrency = 128;
        int parallelism = 2;
        int maxInFlight = 64;
        int trials = 3;
        Path out = Path.of("benchmarks/results");
        boolean jfr = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--gib" -> gib = Double.parseDouble(args[++i]);
                case "--latencies" -> latencies = parseLongs(args[++i]);
                case "--systems" -> systems = List.of(args[++i].split(","));
                case "--naive-blocks" -> naiveBlocks = Integer.parseInt(args[++i]);
                case "--tuned-concurrency" -> tunedConcurrency = Integer.parseInt(args[++i]);
                case "--parallelism" -> parallelism = Integer.parseInt(args[++i]);
                case "--max-in-flight" -> maxInFlight = Integer.parseInt(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--jfr" -> jfr = true;
                case "--trials" -> trials = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("Unknown argument " + args[i]);
            }
        }
        int blocks = (int) Math.round(gib * 2048);
        List<Result> results = new ArrayList<>();
        MiniCluster mini = null;
        try (EbsLocalServer ebs =
                EbsLocalServer.start(
                        EbsLocalConfig.builder()
                                .regions(SOURCE, TARGET)
                                .tls(true)
                                .sealDelay(Duration.ofMillis(200))
                                .build())) {
            Configuration options = options(ebs, maxInFlight);
            mini = BenchCluster.start(parallelism);
            SdkEbsProxyFactory factory =
                    new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options));
            String source;
            try (EbsProxy src = factory.create(SOURCE)) {
                System.out.printf(
                        Locale.ROOT, "Writing the source: %d blocks (%.1f GiB)...%n", blocks, gib);
                source = writeSource(src, blocks);
            }
            // Warm-up: the JIT, Flink's classes and the SDK clients. One short copy each is not
            // enough on two busy cores: the JIT was still compiling for longer than the round ran
            // (about 40 s in a 29 s first round, 9 s in an 8 s second one), and the system measured
            // first pays for what is left. Warm up in rounds until the JIT has settled (little
            // compile time in a round) or for at most MAX_WARM_UP_ROUNDS, and rotate the order of
            // the systems below.
            System.out.println("Warm-up...");
            String warm;
            try (EbsProxy src = factory.create(SOURCE)) {
                warm = writeSource(src, Math.min(blocks, WARM_UP_BLOCKS));
            }
            // Enabling JFR's I/O events retransforms JDK classes, which throws away compiled code
            // of the paths that use them: do it before the warm-up, not in the first measured run.
            Recording jfrWarmUp = null;
            if (jfr) {
                jfrWarmUp = new Recording(jdk.jfr.Configuration.getConfiguration("profile"));
                jfrWarmUp.start();
            }
            var jit = ManagementFactory.getCompilationMXBean();
            for (int round = 1; round <= MAX_WARM_UP_ROUNDS; round++) {
                long t0 = System.nanoTime();
                long c0 = jit.getTotalCompilationTime();
                if (systems.contains("job")) {
                    job(ebs, mini, options, warm, 0, 0, parallelism, maxInFlight);
                }
                if (systems.contains("tuned")) {
                    tuned(ebs, factory, warm, 0, tunedConcurrency);
                }
                double compiling = (jit.getTotalCompilationTime() - c0) / 1e3;
                double wall = (System.nanoTime() - t0) / 1e9;
                System.out.printf(
                        Locale.ROOT,
                        "Warm-up round %d: %.1f s, JIT compiling %.1f s%n",
                        round,
                        wall,
                        compiling);
                if (compiling < JIT_SETTLED * wall) {
                    break;
                }
            }
            if (jfrWarmUp != null) {
                jfrWarmUp.stop();
                jfrWarmUp.close();
            }
            int run = 0;
            for (int trial = 1; trial <= trials; trial++) {
                for (long latency : latencies) {
                    ebs.setFaults(
                            FaultProfile.builder().latency(latency, latency / 10).seed(1).build());
                    // Rotated per latency, so that no system is always measured right after
                    // another.
                    List<String> order = new ArrayList<>(systems);
                    if (trial > 1) {
                        // One block at a time, its rate barely moves: one trial is enough.
                        order.remove("naive");
                    }
                    if (order.isEmpty()) {
                        continue;
                    }
                    java.util.Collections.rotate(order, -(run++ % order.size()));
                    for (String system : order) {
                        Recording recording = null;
                        if (jfr) {
                            recording =
                                    new Recording(
                                            jdk.jfr.Configuration.getConfiguration("profile"));
                            recording.start();
                        }
                        Result r =
                                switch (system) {
                                    case "job" ->
                                            job(
                                                    ebs,
                                                    mini,
                                                    options,
                                                    source,
                                                    blocks,
                                                    latency,
                                                    parallelism,
                                                    maxInFlight);
                                    case "tuned" ->
                                            tuned(ebs, factory, source, latency, tunedConcurrency);
                                    case "naive" -> naive(ebs, source, latency, naiveBlocks);
                                    default ->
                                            throw new IllegalArgumentException(
                                                    "Unknown system " + system);
                                };
                        r = r.withTrial(trial);
                        // Requests and errors so far, to tell retries and refusals apart per run.
                        System.out.println("  ebs-local so far: " + ebs.stats());
                        if (recording != null) {
                            // One recording per measured run, to compare where each spends its CPU.
                            Files.createDirectories(out);
                            recording.stop();
                            recording.dump(out.resolve(system + "-" + latency + "ms.jfr"));
                            recording.close();
                        }
                        System.out.printf(
                                Locale.ROOT,
                                "trial %d %-6s %4d ms: %7.1f MiB/s %7.0f blocks/s, %.2f CPU-s/GiB (%.2f"
                                        + " CPU-s before the first block, %.2f CPU-s/GiB after; JIT"
                                        + " %.1f CPU-s, GC %.1f CPU-s), peak heap %.0f MiB, first block"
                                        + " after %.2f s%n",
                                r.trial,
                                r.system,
                                r.latencyMs,
                                r.mibPerSecond(),
                                r.blocksPerSecond(),
                                r.cpuSecondsPerGib,
                                r.firstBlockCpuSeconds,
                                r.steadyCpuSecondsPerGib(),
                                r.jitCpuSeconds,
                                r.gcCpuSeconds,
                                r.peakHeapMib,
                                r.firstBlockSeconds);
                        results.add(r);
                    }
                }
            }
        } finally {
            if (mini != null) {
                mini.close();
            }
        }
        List<String> listed = systems;
        results.sort(
                java.util.Comparator.comparingLong(Result::latencyMs)
                        .thenComparingInt(r -> listed.indexOf(r.system()))
                        .thenComparingInt(Result::trial));
        Files.createDirectories(out);
        Files.writeString(out.resolve("latest.json"), json(results, gib));
        String md = markdown(results, gib);
        Files.writeString(out.resolve("latest.md"), md);
        chart(results, out.resolve("throughput.png"));
        System.out.println();
        System.out.print(md);
    }

    private static List<Long> parseLongs(String s) {
        List<Long> out = new ArrayList<>();
        for (String p : s.split(",")) {
            out.add(Long.parseLong(p.trim()));
        }
        return out;
    }

    private static Configuration options(EbsLocalServer ebs, int maxInFlight) {
        Configuration c = new Configuration();
        c.set(
                EbsReplicationOptions.ENDPOINTS,
                Map.of(SOURCE, ebs.endpoint().toString(), TARGET, ebs.endpoint().toString()));
        c.set(EbsReplicationOptions.ACCESS_KEY_ID, ebs.accessKey().accessKeyId());
        c.set(EbsReplicationOptions.SECRET_ACCESS_KEY, ebs.accessKey().secretAccessKey());
        c.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        c.set(EbsReplicationOptions.MAX_IN_FLIGHT, maxInFlight);
        // ebs-local's self-signed certificate, trusted the way a private endpoint's would be.
        c.set(EbsReplicationOptions.CA_BUNDLE, ebs.certificatePem().toString());
        return c;
    }

    /** Distinct 512 KiB blocks at every index of the first {@code blocks}. */
    private static String writeSource(EbsProxy ebs, int blocks) throws Exception {
        long volumeGib = Math.max(1, (blocks + 2047) / 2048);
        String id =
                ebs.startSnapshot(
                                new StartSnapshotSpec(
                                        volumeGib, null, null, "bench", Map.of(), null, null, 60))
                        .snapshotId();
        LinearChecksum linear = new LinearChecksum();
        Semaphore inFlight = new Semaphore(32);
        List<CompletableFuture<Void>> puts = new ArrayList<>();
        byte[] base = new byte[BLOCK];
        new Random(42).nextBytes(base);
        for (int i = 0; i < blocks; i++) {
            byte[] data = base.clone();
            ByteBuffer.wrap(data).putLong(0, i).putLong(BLOCK - 8, ~i);
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(data);
            linear.add(digest);
            inFlight.acquire();
            puts.add(
                    ebs.putBlock(id, i, data, Base64.getEncoder().encodeToString(digest))
                            .whenComplete((v, e) -> inFlight.release()));
        }
        CompletableFuture.allOf(puts.toArray(new CompletableFuture<?>[0])).join();
        ebs.completeSnapshot(id, linear.count(), linear.value());
        while (!ebs.describeSnapshot(id).completed()) {
            Thread.sleep(50);
        }
        return id;
    }

    // ------------------------------------------------------------------ the three systems

    private static Result job(
            EbsLocalServer ebs,
            MiniCluster mini,
            Configuration options,
            String source,
            long blocks,
            long latency,
            int parallelism,
            int maxInFlight)
            throws Exception {
        Measurement m = Measurement.start(ebs);
        // Submitted to a running cluster, as a user submits it: a MiniCluster per run would also
        // load Flink's RPC system in a fresh class loader each time and compile it again.
        StreamExecutionEnvironment env = new TestStreamEnvironment(mini, parallelism);
        env.enableCheckpointing(10_000);
        List<ReplicationResult> results = new ArrayList<>();
        try (CloseableIterator<ReplicationResult> it =
                EbsReplicationPipeline.build(
                                env,
                                List.of(
                                        new ReplicationRequest(
                                                "bench-" + latency + "-" + System.nanoTime(),
                                                SOURCE,
                                                source,
                                                null,
                                                List.of(ReplicationTarget.of(TARGET)),
                                                null,
                                                false,
                                                Map.of(),
                                                ReplicationRequest.NO_DEADLINE,
                                                0)),
                                options,
                                BlockTransform.IDENTITY)
                        .executeAndCollect("benchmark")) {
            it.forEachRemaining(results::add);
        }
        if (results.size() != 1 || !results.get(0).succeeded()) {
            throw new IllegalStateException("The job failed: " + results);
        }
        return m.finish("job", latency, results.get(0).blocksWritten(), parallelism * maxInFlight);
    }

    /** The connector's async proxy, bounded concurrency, no Flink: the practical limit here. */
    private static Result tuned(
            EbsLocalServer ebs,
            SdkEbsProxyFactory factory,
            String source,
            long latency,
            int concurrency)
            throws Exception {
        try (EbsProxy src = factory.create(SOURCE);
                EbsProxy dst = factory.create(TARGET)) {
            Map<Integer, String> tokens = list(src, source);
            Measurement m = Measurement.start(ebs);
            String target =
                    dst.startSnapshot(
                                    new StartSnapshotSpec(
                                            src.listSnapshotBlocks(source, 0, null, 100)
                                                    .volumeSizeGib(),
                                            null,
                                            null,
                                            "tuned",
                                            Map.of(),
                                            null,
                                            null,
                                            60))
                            .snapshotId();
            Map<Integer, byte[]> digests = new TreeMap<>();
            Semaphore permits = new Semaphore(concurrency);
            List<CompletableFuture<Void>> copies = new ArrayList<>();
            for (Map.Entry<Integer, String> b : tokens.entrySet()) {
                permits.acquire();
                int index = b.getKey();
                copies.add(
                        src.getBlock(source, index, b.getValue())
                                .thenCompose(
                                        f -> {
                                            byte[] d = f.data().sha256();
                                            if (!Base64.getEncoder()
                                                    .encodeToString(d)
                                                    .equals(f.checksumBase64())) {
                                                throw new IllegalStateException(
                                                        "checksum mismatch at " + index);
                                            }
                                            synchronized (digests) {
                                                digests.put(index, d);
                                            }
                                            return dst.putBlock(
                                                    target,
                                                    index,
                                                    f.data(),
                                                    Base64.getEncoder().encodeToString(d));
                                        })
                                .whenComplete((v, e) -> permits.release()));
            }
            CompletableFuture.allOf(copies.toArray(new CompletableFuture<?>[0])).join();
            LinearChecksum linear = new LinearChecksum();
            digests.values().forEach(linear::add);
            dst.completeSnapshot(target, linear.count(), linear.value());
            while (!dst.describeSnapshot(target).completed()) {
                Thread.sleep(20);
            }
            return m.finish("tuned", latency, tokens.size(), concurrency);
        }
    }

    /**
     * What a user writes in an afternoon: the sync SDK client, one block at a time, get then put.
     * It copies only the first {@code sample} blocks (at 100 ms a full copy would take an hour);
     * its rate is what it would sustain.
     */
    private static Result naive(EbsLocalServer ebs, String source, long latency, int sample)
            throws Exception {
        try (EbsClient client = naiveClient(ebs, SOURCE);
                EbsClient target = naiveClient(ebs, TARGET)) {
            Measurement m = Measurement.start(ebs);
            var page = client.listSnapshotBlocks(r -> r.snapshotId(source).maxResults(sample));
            String dst =
                    target.startSnapshot(r -> r.volumeSize(page.volumeSize()).timeout(60))
                            .snapshotId();
            int copied = 0;
            for (var b : page.blocks()) {
                if (copied >= sample) {
                    break;
                }
                byte[] data =
                        client.getSnapshotBlock(
                                        r ->
                                                r.snapshotId(source)
                                                        .blockIndex(b.blockIndex())
                                                        .blockToken(b.blockToken()),
                                        ResponseTransformer.toBytes())
                                .asByteArray();
                String sum = Base64.getEncoder().encodeToString(sha256(data));
                boolean done = false;
                while (!done) {
                    try {
                        target.putSnapshotBlock(
                                r ->
                                        r.snapshotId(dst)
                                                .blockIndex(b.blockIndex())
                                                .dataLength(BLOCK)
                                                .checksum(sum)
                                                .checksumAlgorithm(ChecksumAlgorithm.SHA256),
                                RequestBody.fromBytes(data));
                        done = true;
                    } catch (
                            software.amazon.awssdk.services.ebs.model.ResourceNotFoundException e) {
                        Thread.sleep(200); // a new snapshot is not visible at once
                    }
                }
                copied++;
            }
            return m.finish("naive", latency, copied, 1);
        }
    }

    /** The sync SDK client with its default retries, as a user would build it. */
    private static EbsClient naiveClient(EbsLocalServer ebs, String region) {
        return EbsClient.builder()
                .endpointOverride(ebs.endpoint())
                .region(Region.of(region))
                .credentialsProvider(
                        StaticCredentialsProvider.create(
                                AwsBasicCredentials.create(
                                        ebs.accessKey().accessKeyId(),
                                        ebs.accessKey().secretAccessKey())))
                .httpClient(
                        ApacheHttpClient.builder()
                                .buildWithDefaults(
                                        AttributeMap.builder()
                                                .put(
                                                        SdkHttpConfigurationOption
                                                                .TRUST_ALL_CERTIFICATES,
                                                        true)
                                                .build()))
                .overrideConfiguration(
                        ClientOverrideConfiguration.builder()
                                .retryStrategy(AwsRetryStrategy.defaultRetryStrategy())
                                .build())
                .build();
    }

    private static Map<Integer, String> list(EbsProxy proxy, String id) {
        Map<Integer, String> out = new TreeMap<>();
        int start = 0;
        String next = null;
        do {
            var page = proxy.listSnapshotBlocks(id, start, next, 10000);
            for (var b : page.blocks()) {
                out.put(b.blockIndex(), b.blockToken());
                start = b.blockIndex() + 1;
            }
            next = page.nextToken();
        } while (next != null);
        return out;
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    // ------------------------------------------------------------------ measurement

    /** Wall time, CPU without ebs-local's threads, peak heap and first-block time of one run. */
    private static final class Measurement {
        final long t0 = System.nanoTime();
        final long cpu0;
        final long jit0 = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
        final long jitCpu0;
        final long gcCpu0;
        final EbsLocalServer ebs;
        final long throttled0;
        final long processCpu0;
        final AtomicLong firstBlockNanos = new AtomicLong(-1);
        volatile long firstBlockCpuNanos = -1;
        final Thread watcher;

        private Measurement(EbsLocalServer ebs) {
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getType() == MemoryType.HEAP) {
                    p.resetPeakUsage();
                }
            }
            System.gc();
            cpu0 = clientCpuNanos();
            processCpu0 = processCpuNanos();
            jitCpu0 = JvmThreadCpu.jitNanos();
            gcCpu0 = JvmThreadCpu.gcNanos();
            this.ebs = ebs;
            throttled0 = throttled(ebs);
            List<String> before = new ArrayList<>();
            ebs.service().snapshots(TARGET).forEach(s -> before.add(s.id()));
            watcher =
                    new Thread(
                            () -> {
                                while (firstBlockNanos.get() < 0
                                        && !Thread.currentThread().isInterrupted()) {
                                    for (Snapshot s : ebs.service().snapshots(TARGET)) {
                                        if (!before.contains(s.id())
                                                && s.putRequestsAccepted() > 0) {
                                            if (firstBlockNanos.compareAndSet(
                                                    -1, System.nanoTime())) {
                                                firstBlockCpuNanos = clientCpuNanos();
                                            }
                                        }
                                    }
                                    try {
                                        Thread.sleep(5);
                                    } catch (InterruptedException e) {
                                        return;
                                    }
                                }
                            },
                            "first-block-watcher");
            watcher.setDaemon(true);
            watcher.start();
        }

        static Measurement start(EbsLocalServer ebs) {
            return new Measurement(ebs);
        }

        Result finish(String system, long latency, long blocks, int inFlight) {
            double seconds = (System.nanoTime() - t0) / 1e9;
            double cpu = (clientCpuNanos() - cpu0) / 1e9;
            watcher.interrupt();
            try {
                watcher.join(1000); // it may be reading the CPU at the first block
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            double peak = 0;
            for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
                if (p.getType() == MemoryType.HEAP) {
                    peak += p.getPeakUsage().getUsed();
                }
            }
            long first = firstBlockNanos.get();
            return new Result(
                    system,
                    0,
                    latency,
                    blocks,
                    seconds,
                    cpu / (blocks * (double) BLOCK / (1024 * MIB)),
                    peak / MIB,
                    inFlight,
                    first < 0 ? -1 : (first - t0) / 1e9,
                    first < 0 || firstBlockCpuNanos < 0 ? -1 : (firstBlockCpuNanos - cpu0) / 1e9,
                    (ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jit0)
                            / 1e3,
                    (JvmThreadCpu.jitNanos() - jitCpu0) / 1e9,
                    (JvmThreadCpu.gcNanos() - gcCpu0) / 1e9,
                    throttled(ebs) - throttled0,
                    (processCpuNanos() - processCpu0)
                            / 1e9
                            / (seconds * Runtime.getRuntime().availableProcessors()));
        }

        /** CPU of the whole process: the copier and ebs-local, which share the machine's cores. */
        private static long processCpuNanos() {
            return ((com.sun.management.OperatingSystemMXBean)
                            ManagementFactory.getOperatingSystemMXBean())
                    .getProcessCpuTime();
        }

        /** RequestThrottledException answers so far, whatever the operation. */
        private static long throttled(EbsLocalServer ebs) {
            return ebs.stats().errors("RequestThrottledException");
        }

        /** Process CPU minus ebs-local's threads (its I/O loops and request workers). */
        private static long clientCpuNanos() {
            long total = processCpuNanos();
            var mx = ManagementFactory.getThreadMXBean();
            for (var ti : mx.getThreadInfo(mx.getAllThreadIds())) {
                if (ti != null
                        && (ti.getThreadName().startsWith("nioEventLoopGroup")
                                || ti.getThreadName().startsWith("defaultEventExecutorGroup"))) {
                    total -= Math.max(0, mx.getThreadCpuTime(ti.getThreadId()));
                }
            }
            return total;
        }
    }

    // ------------------------------------------------------------------ reports

    private static String json(List<Result> results, double gib) {
        StringBuilder sb = new StringBuilder();
        sb.append(
                String.format(
                        Locale.ROOT,
                        "{%n  \"gib\": %.2f, \"cores\": %d, \"transport\": \"https\",%n  \"results\": [%n",
                        gib,
                        Runtime.getRuntime().availableProcessors()));
        for (int i = 0; i < results.size(); i++) {
            Result r = results.get(i);
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "    {\"system\": \"%s\", \"trial\": %d, \"latencyMs\": %d, \"blocks\": %d, \"mibPerSecond\": %.1f,"
                                    + " \"blocksPerSecond\": %.1f, \"cpuSecondsPerGiB\": %.3f, \"peakHeapMiB\": %.0f,"
                                    + " \"requestsInFlight\": %d, \"firstBlockSeconds\": %.3f,"
                                    + " \"cpuSecondsBeforeFirstBlock\": %.3f,"
                                    + " \"cpuSecondsPerGiBAfterFirstBlock\": %.3f,"
                                    + " \"jitCompileSeconds\": %.2f, \"jitCpuSeconds\": %.2f,"
                                    + " \"gcCpuSeconds\": %.2f, \"copyCpuSecondsPerGiB\": %.3f,"
                                    + " \"throttled\": %d, \"coresBusy\": %.3f}%s%n",
                            r.system,
                            r.trial,
                            r.latencyMs,
                            r.blocks,
                            r.mibPerSecond(),
                            r.blocksPerSecond(),
                            r.cpuSecondsPerGib,
                            r.peakHeapMib,
                            r.inFlight,
                            r.firstBlockSeconds,
                            r.firstBlockCpuSeconds,
                            r.steadyCpuSecondsPerGib(),
                            r.jitSeconds,
                            r.jitCpuSeconds,
                            r.gcCpuSeconds,
                            r.copyCpuSecondsPerGib(),
                            r.throttled,
                            r.busy,
                            i + 1 < results.size() ? "," : ""));
        }
        return sb.append("  ]\n}\n").toString();
    }

    private static String markdown(List<Result> results, double gib) {
        StringBuilder sb = new StringBuilder();
        int trials = results.stream().mapToInt(Result::trial).max().orElse(1);
        sb.append(
                String.format(
                        Locale.ROOT,
                        "Copy of %.1f GiB (%d blocks) us-east-1 -> us-west-2 over ebs-local HTTPS, EBS"
                                + " default quotas; %d trial(s) of the job and the tuned copier per"
                                + " latency, each row the trial with the median MiB/s.%n%n",
                        gib,
                        Math.round(gib * 2048),
                        trials));
        sb.append(
                "| system | RTT ms | MiB/s | blocks/s | MiB/s after the first block | CPU-s/GiB |"
                        + " CPU-s before the first block | CPU-s/GiB after the first block |"
                        + " JIT CPU-s | GC CPU-s | CPU-s/GiB without JIT and GC |"
                        + " peak heap MiB | in flight | throttled | first block s |"
                        + " cores busy (with ebs-local) |\n");
        sb.append(
                "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
                        + " ---: | ---: | ---: | ---: |\n");
        List<Long> latencies = results.stream().map(Result::latencyMs).distinct().toList();
        List<String> systems = results.stream().map(Result::system).distinct().toList();
        for (long latency : latencies) {
            for (String system : systems) {
                Result r = median(results, system, latency);
                if (r == null) {
                    continue;
                }
                sb.append(
                        String.format(
                                Locale.ROOT,
                                "| %s | %d | %.1f | %.0f | %.1f | %.2f | %.2f | %.2f | %.1f | %.1f |"
                                        + " %.2f | %.0f | %d | %d | %.2f | %.0f %% |%n",
                                r.system,
                                r.latencyMs,
                                r.mibPerSecond(),
                                r.blocksPerSecond(),
                                r.steadyMibPerSecond(),
                                r.cpuSecondsPerGib,
                                r.firstBlockCpuSeconds,
                                r.steadyCpuSecondsPerGib(),
                                r.jitCpuSeconds,
                                r.gcCpuSeconds,
                                r.copyCpuSecondsPerGib(),
                                r.peakHeapMib,
                                r.inFlight,
                                r.throttled,
                                r.firstBlockSeconds,
                                r.busy * 100));
            }
        }
        if (trials > 1) {
            sb.append("\nEvery trial, MiB/s (JIT CPU-s):\n\n| system | RTT ms |");
            for (int t = 1; t <= trials; t++) {
                sb.append(" trial ").append(t).append(" |");
            }
            sb.append("\n| --- | ---: |").append(" ---: |".repeat(trials)).append('\n');
            for (long latency : latencies) {
                for (String system : systems) {
                    List<Result> runs = trials(results, system, latency);
                    if (runs.isEmpty()) {
                        continue;
                    }
                    sb.append("| ").append(system).append(" | ").append(latency).append(" |");
                    for (int t = 1; t <= trials; t++) {
                        int trial = t;
                        Result r =
                                runs.stream()
                                        .filter(x -> x.trial == trial)
                                        .findFirst()
                                        .orElse(null);
                        sb.append(
                                r == null
                                        ? " |"
                                        : String.format(
                                                Locale.ROOT,
                                                " %.1f (%.1f) |",
                                                r.mibPerSecond(),
                                                r.jitCpuSeconds));
                    }
                    sb.append('\n');
                }
            }
        }
        sb.append("\nTargets (medians):\n\n");
        for (long latency : latencies) {
            Result job = median(results, "job", latency);
            Result tuned = median(results, "tuned", latency);
            Result naive = median(results, "naive", latency);
            if (job != null && tuned != null) {
                double ratio = job.mibPerSecond() / tuned.mibPerSecond();
                StringBuilder each = new StringBuilder();
                for (Result j : trials(results, "job", latency)) {
                    for (Result t : trials(results, "tuned", latency)) {
                        if (t.trial == j.trial) {
                            each.append(each.length() == 0 ? "" : ", ")
                                    .append(
                                            String.format(
                                                    Locale.ROOT,
                                                    "%.2f",
                                                    j.mibPerSecond() / t.mibPerSecond()));
                        }
                    }
                }
                sb.append(
                        String.format(
                                Locale.ROOT,
                                "- %d ms: job / tuned = %.2f (target >= 0.85): %s;"
                                        + " after the first block: %.2f; per trial: %s%n",
                                latency,
                                ratio,
                                ratio >= 0.85 ? "holds" : "MISSED",
                                job.steadyMibPerSecond() / tuned.steadyMibPerSecond(),
                                each));
            }
            if (job != null && naive != null && latency == 20) {
                double ratio = job.mibPerSecond() / naive.mibPerSecond();
                sb.append(
                        String.format(
                                Locale.ROOT,
                                "- 20 ms: job / naive = %.1f (target >= 10): %s%n",
                                ratio,
                                ratio >= 10 ? "holds" : "MISSED"));
            }
        }
        Result j0 = median(results, "job", 0);
        Result j100 = median(results, "job", 100);
        if (j0 != null && j100 != null) {
            double ratio = j100.mibPerSecond() / j0.mibPerSecond();
            long throttled =
                    trials(results, "job", 100).stream().mapToLong(Result::throttled).sum();
            Result t0 = median(results, "tuned", 0);
            Result t100 = median(results, "tuned", 100);
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "- latency hidden: job at 100 ms / job at 0 ms = %.2f (target >= 0.9, or"
                                    + " >= 950 blocks/s): %s, with %d requests in flight and %d"
                                    + " throttled answers in the job's 100 ms runs%s%n",
                            ratio,
                            ratio >= 0.9 || j100.blocksPerSecond() >= 950 ? "holds" : "MISSED",
                            j100.inFlight,
                            throttled,
                            t0 == null || t100 == null
                                    ? ""
                                    : String.format(
                                            Locale.ROOT,
                                            "; the tuned copier, %d in flight: %.2f",
                                            t100.inFlight,
                                            t100.mibPerSecond() / t0.mibPerSecond())));
        }
        return sb.toString();
    }

    private static List<Result> trials(List<Result> results, String system, long latency) {
        return results.stream()
                .filter(r -> r.system.equals(system) && r.latencyMs == latency)
                .toList();
    }

    /** The trial with the median throughput (the lower middle one of an even number). */
    private static Result median(List<Result> results, String system, long latency) {
        List<Result> runs =
                trials(results, system, latency).stream()
                        .sorted(java.util.Comparator.comparingDouble(Result::mibPerSecond))
                        .toList();
        return runs.isEmpty() ? null : runs.get((runs.size() - 1) / 2);
    }

    /** Throughput against latency, one line per system. */
    private static void chart(List<Result> results, Path png) throws Exception {
        int w = 800;
        int h = 480;
        int left = 70;
        int right = 150;
        int top = 40;
        int bottom = 60;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        List<Long> latencies = results.stream().map(Result::latencyMs).distinct().sorted().toList();
        double max = results.stream().mapToDouble(Result::mibPerSecond).max().orElse(1) * 1.1;
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString("ebs-replicator: throughput against round-trip latency", left, 24);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.drawLine(left, h - bottom, w - right, h - bottom);
        g.drawLine(left, top, left, h - bottom);
        for (int i = 0; i <= 5; i++) {
            double v = max * i / 5;
            int y = (int) (h - bottom - (h - top - bottom) * i / 5.0);
            g.setColor(new Color(230, 230, 230));
            g.drawLine(left + 1, y, w - right, y);
            g.setColor(Color.BLACK);
            g.drawString(String.format(Locale.ROOT, "%.0f", v), 20, y + 4);
        }
        g.drawString("MiB/s", 20, top - 8);
        for (int i = 0; i < latencies.size(); i++) {
            int x = x(i, latencies.size(), left, w - right);
            g.drawString(latencies.get(i) + " ms", x - 14, h - bottom + 20);
        }
        g.drawString("injected round-trip latency", left + (w - left - right) / 2 - 70, h - 15);
        Color[] colors = {new Color(0, 114, 178), new Color(213, 94, 0), new Color(0, 158, 115)};
        List<String> systems = results.stream().map(Result::system).distinct().toList();
        for (int s = 0; s < systems.size(); s++) {
            g.setColor(colors[s % colors.length]);
            g.setStroke(new BasicStroke(2.5f));
            int px = -1;
            int py = -1;
            for (int i = 0; i < latencies.size(); i++) {
                Result r = median(results, systems.get(s), latencies.get(i));
                if (r == null) {
                    continue;
                }
                int x = x(i, latencies.size(), left, w - right);
                int y = (int) (h - bottom - (h - top - bottom) * r.mibPerSecond() / max);
                g.fillOval(x - 4, y - 4, 8, 8);
                if (px >= 0) {
                    g.drawLine(px, py, x, y);
                }
                px = x;
                py = y;
            }
            g.drawLine(w - right + 15, top + 20 + 22 * s, w - right + 40, top + 20 + 22 * s);
            g.drawString(systems.get(s), w - right + 48, top + 24 + 22 * s);
        }
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }

    private static int x(int i, int n, int from, int to) {
        return n == 1 ? (from + to) / 2 : from + 30 + (to - from - 60) * i / (n - 1);
    }
}
