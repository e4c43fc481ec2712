package io.ebsreplicator.benchmarks;

import io.ebsreplicator.connector.ebs.completion.LinearChecksum;
import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.fault.FaultProfile;

import jdk.jfr.Recording;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;

import java.lang.management.ManagementFactory;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

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

    static final String SOURCE = "us-east-1";
    static final String TARGET = "us-west-2";
    static final int BLOCK = 512 * 1024;
    static final double MIB = 1024 * 1024;

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
                    EndToEndCopiers.job(ebs, mini, options, warm, 0, 0, parallelism, maxInFlight);
                }
                if (systems.contains("tuned")) {
                    EndToEndCopiers.tuned(ebs, factory, warm, 0, tunedConcurrency);
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
                                            EndToEndCopiers.job(
                                                    ebs,
                                                    mini,
                                                    options,
                                                    source,
                                                    blocks,
                                                    latency,
                                                    parallelism,
                                                    maxInFlight);
                                    case "tuned" ->
                                            EndToEndCopiers.tuned(
                                                    ebs,
                                                    factory,
                                                    source,
                                                    latency,
                                                    tunedConcurrency);
                                    case "naive" ->
                                            EndToEndCopiers.naive(
                                                    ebs, source, latency, naiveBlocks);
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
        Files.writeString(out.resolve("latest.json"), EndToEndReport.json(results, gib));
        String md = EndToEndReport.markdown(results, gib);
        Files.writeString(out.resolve("latest.md"), md);
        EndToEndChart.chart(results, out.resolve("throughput.png"));
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

    static Configuration options(EbsLocalServer ebs, int maxInFlight) {
        Configuration c = new Configuration();
        c.set(
                EbsReplicationOptions.ENDPOINTS,
                Map.of(SOURCE, ebs.endpoint().toString(), TARGET, ebs.endpoint().toString()));
        c.set(EbsReplicationOptions.ACCESS_KEY_ID, ebs.accessKey().accessKeyId());
        c.set(EbsReplicationOptions.SECRET_ACCESS_KEY, ebs.accessKey().secretAccessKey());
        c.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        c.set(EbsReplicationOptions.MAX_IN_FLIGHT, maxInFlight);
        if (ebs.certificatePem() != null) {
            // ebs-local's self-signed certificate, trusted the way a private endpoint's would be.
            c.set(EbsReplicationOptions.CA_BUNDLE, ebs.certificatePem().toString());
        }
        return c;
    }

    /** Distinct 512 KiB blocks at every index of the first {@code blocks}. */
    static String writeSource(EbsProxy ebs, int blocks) throws Exception {
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
}
