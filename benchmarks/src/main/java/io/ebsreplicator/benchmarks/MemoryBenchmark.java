package io.ebsreplicator.benchmarks;

import io.ebsreplicator.connector.ebs.completion.LinearChecksum;
import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.pipeline.EbsReplicationPipeline;
import io.ebsreplicator.connector.ebs.pipeline.PipelineHook;
import io.ebsreplicator.connector.ebs.proxy.BlockListing;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.FetchedBlock;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;

import com.sun.management.GarbageCollectionNotificationInfo;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.apache.flink.util.CloseableIterator;

import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.ObjectName;
import javax.management.openmbean.CompositeData;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.lang.management.MemoryUsage;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The memory harness: is the job's heap independent of the source volume's size? Replicates a 64
 * TiB sparse snapshot (the EBS maximum) and a 1 GiB snapshot with the same number of written
 * blocks, each on the same long-lived embedded MiniCluster, and measures the job's live heap while
 * it runs: a sampler thread forces a full GC at a fixed rate and reads the heap used after it. The
 * job's heap is the peak of those samples minus the idle heap measured the same way just before the
 * job (MiniCluster up, no job). It is compared with the budget {@code in-flight x 1.1 MiB + 64 MiB}
 * and the two volumes with each other.
 *
 * <p>ebs-local runs as a separate process (its jar, data in memory), so this JVM holds only the
 * MiniCluster, the job and the harness. Every target is checked block by block against its source
 * (same indexes, same bytes) and must have been completed with the LINEAR checksum the harness
 * computed for the source; the harness fails otherwise.
 *
 * <p>Arguments: {@code [--blocks N] [--volumes 1,65536] [--in-flight 32,128] [--parallelism 2]
 * [--sample-ms 200] [--distinct 61] [--trials 3] [--ebs-local-jar PATH] [--out DIR] [--tls]}. Each
 * setting runs {@code trials} times, the volumes alternating, and is reported by its median job
 * heap: the peak of a few dozen samples varies by some MiB between runs.
 *
 * <p>ebs-local serves plain HTTP unless {@code --tls} is given; then HTTPS with its self-signed
 * certificate, trusted through {@code ebs.tls.ca-bundle}, as EBS itself is reached. The transport
 * matters to the heap: over HTTP the SDK signs every request's payload and, for an async request,
 * sends a copy of the whole body that it made to hash it (a put in flight holds its block twice);
 * over HTTPS puts are sent {@code UNSIGNED-PAYLOAD}, uncopied.
 */
public final class MemoryBenchmark {

    private static final String SOURCE = "us-east-1";
    private static final String TARGET = "us-west-2";
    private static final int BLOCK = 512 * 1024;
    private static final int BLOCKS_PER_GIB = 2048;
    private static final double MIB = 1024 * 1024;

    /** The documented local key pair of ebs-local; it serves on loopback only. */
    private static final String ACCESS_KEY = "AKIAEBSLOCAL00000000";

    private static final String SECRET_KEY = "ebs-local/secret/key/for/local/use/only0";

    /**
     * The budget: each block in flight may hold about 1.1 MiB, plus 64 MiB for the rest.
     */
    private static final double MIB_PER_BLOCK_IN_FLIGHT = 1.1;

    private static final double FIXED_BUDGET_MIB = 64;

    /** "Independent of volume size": the 64 TiB job heap within 10% (or 8 MiB) of the 1 GiB one. */
    private static final double RATIO_LIMIT = 1.10;

    private static final double ABSOLUTE_SLACK_MIB = 8;

    private MemoryBenchmark() {}

    record Run(
            long volumeGib,
            int writtenBlocks,
            int maxInFlight,
            int parallelism,
            double idleMib,
            double peakRetainedMib,
            double peakAfterAnyGcMib,
            int samples,
            double enumerationSeconds,
            double seconds,
            String histogram) {
        int inFlight() {
            return maxInFlight * parallelism;
        }

        double jobHeapMib() {
            return peakRetainedMib - idleMib;
        }

        double budgetMib() {
            return inFlight() * MIB_PER_BLOCK_IN_FLIGHT + FIXED_BUDGET_MIB;
        }

        boolean holds() {
            return jobHeapMib() <= budgetMib();
        }

        double blocksPerSecond() {
            return writtenBlocks / seconds;
        }
    }

    public static void main(String[] args) throws Exception {
        int blocks = 2000;
        List<Long> volumes = List.of(1L, 65536L);
        List<Integer> inFlights = List.of(32, 128);
        int parallelism = 2;
        long sampleMillis = 200;
        int distinct = 61;
        int trials = 3;
        Path jar = Path.of("ebs-local/target/ebs-local.jar");
        Path out = Path.of("benchmarks/results");
        boolean tls = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--blocks" -> blocks = Integer.parseInt(args[++i]);
                case "--volumes" ->
                        volumes =
                                Arrays.stream(args[++i].split(","))
                                        .map(s -> Long.parseLong(s.trim()))
                                        .toList();
                case "--in-flight" ->
                        inFlights =
                                Arrays.stream(args[++i].split(","))
                                        .map(s -> Integer.parseInt(s.trim()))
                                        .toList();
                case "--parallelism" -> parallelism = Integer.parseInt(args[++i]);
                case "--sample-ms" -> sampleMillis = Long.parseLong(args[++i]);
                case "--distinct" -> distinct = Integer.parseInt(args[++i]);
                case "--trials" -> trials = Integer.parseInt(args[++i]);
                case "--ebs-local-jar" -> jar = Path.of(args[++i]);
                case "--out" -> out = Path.of(args[++i]);
                case "--tls" -> tls = true;
                default -> throw new IllegalArgumentException("Unknown argument " + args[i]);
            }
        }
        for (long v : volumes) {
            if (v * BLOCKS_PER_GIB < blocks) {
                throw new IllegalArgumentException(
                        v + " GiB has room for " + v * BLOCKS_PER_GIB + " blocks, not " + blocks);
            }
        }

        List<Run> all = new ArrayList<>();
        double idleCold;
        try (EbsLocalProcess ebs = EbsLocalProcess.start(jar, tls)) {
            Configuration base = options(ebs.endpoint, ebs.caBundle);
            SdkEbsProxyFactory factory =
                    new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(base));
            byte[][] contents = contents(distinct);
            Map<Long, Source> sources = new TreeMap<>();
            Source warm;
            try (EbsProxy src = factory.create(SOURCE)) {
                for (long v : volumes) {
                    System.out.printf(
                            Locale.ROOT,
                            "Writing a %d GiB source with %d blocks over its whole index space...%n",
                            v,
                            blocks);
                    sources.put(v, writeSparse(src, v, blocks, contents));
                }
                warm = writeSparse(src, 1, Math.min(blocks, 256), contents);
            }
            contents = null; // the harness's copies of the block contents are not the job's heap

            MiniCluster mini = BenchCluster.start(parallelism);
            try {
                idleCold = retainedMib();
                System.out.printf(
                        Locale.ROOT,
                        "Idle heap, MiniCluster up, before any job: %.1f MiB%n",
                        idleCold);
                // Warm-up: Flink's and the SDK's classes, static caches and the JIT, so that what
                // a first job leaves behind for good is in every later idle measurement.
                System.out.println("Warm-up...");
                run(
                        mini,
                        factory,
                        base,
                        warm,
                        1,
                        inFlights.get(0),
                        parallelism,
                        sampleMillis,
                        "warm");
                for (int inFlight : inFlights) {
                    for (int t = 0; t < trials; t++) {
                        for (long v : volumes) {
                            Run r =
                                    run(
                                            mini,
                                            factory,
                                            base,
                                            sources.get(v),
                                            v,
                                            inFlight,
                                            parallelism,
                                            sampleMillis,
                                            "run");
                            all.add(r);
                            System.out.printf(
                                    Locale.ROOT,
                                    "trial %d: %6d GiB, %d blocks, in flight %d x %d: job heap %.1f MiB (peak %.1f -"
                                            + " idle %.1f, %d samples), budget %.1f MiB: %s; listed in %.2f s,"
                                            + " done in %.2f s (%.0f blocks/s)%n",
                                    t + 1,
                                    v,
                                    r.writtenBlocks,
                                    parallelism,
                                    inFlight,
                                    r.jobHeapMib(),
                                    r.peakRetainedMib,
                                    r.idleMib,
                                    r.samples,
                                    r.budgetMib(),
                                    r.holds() ? "holds" : "MISSED",
                                    r.enumerationSeconds,
                                    r.seconds,
                                    r.blocksPerSecond());
                        }
                    }
                }
            } finally {
                mini.close();
            }
        }
        List<Run> runs = medians(all, inFlights, volumes);
        String md = markdown(runs, trials, idleCold);
        Files.createDirectories(out);
        Files.writeString(
                out.resolve("memory-latest.json"),
                json(runs, all, idleCold, sampleMillis, tls ? "https" : "http"));
        System.out.println();
        System.out.println("ebs-local over " + (tls ? "HTTPS" : "HTTP") + ".");
        System.out.print(md);
        if (!allHold(runs)) {
            System.out.println("\nAt least one target was missed (see above).");
        }
    }

    private static Configuration options(URI endpoint, String caBundle) {
        Configuration c = new Configuration();
        c.set(
                EbsReplicationOptions.ENDPOINTS,
                Map.of(SOURCE, endpoint.toString(), TARGET, endpoint.toString()));
        c.set(EbsReplicationOptions.ACCESS_KEY_ID, ACCESS_KEY);
        c.set(EbsReplicationOptions.SECRET_ACCESS_KEY, SECRET_KEY);
        if (caBundle != null) {
            c.set(EbsReplicationOptions.CA_BUNDLE, caBundle);
        }
        return c;
    }

    // ------------------------------------------------------------------ sources

    /** A source snapshot and what the harness knows of it. */
    record Source(String id, int blocks, String linear) {}

    /**
     * A few distinct block contents, shared by all written blocks: ebs-local stores each distinct
     * block once, so a few thousand blocks cost it a few MiB, and this VM stays clear of the
     * expensive fresh memory past ~2 GiB.
     */
    private static byte[][] contents(int distinct) {
        byte[][] c = new byte[distinct][];
        Random random = new Random(42);
        for (int i = 0; i < distinct; i++) {
            c[i] = new byte[BLOCK];
            random.nextBytes(c[i]);
            ByteBuffer.wrap(c[i]).putInt(0, i);
        }
        return c;
    }

    /**
     * {@code blocks} blocks evenly spaced over the whole index space of a {@code volumeGib} volume,
     * the first and the last index included.
     */
    private static Source writeSparse(EbsProxy ebs, long volumeGib, int blocks, byte[][] contents)
            throws Exception {
        long span = volumeGib * BLOCKS_PER_GIB;
        String id =
                ebs.startSnapshot(
                                new StartSnapshotSpec(
                                        volumeGib,
                                        null,
                                        null,
                                        "memory benchmark " + volumeGib + " GiB",
                                        Map.of(),
                                        null,
                                        null,
                                        60))
                        .snapshotId();
        String[] sums = new String[contents.length];
        byte[][] digests = new byte[contents.length][];
        for (int c = 0; c < contents.length; c++) {
            digests[c] = MessageDigest.getInstance("SHA-256").digest(contents[c]);
            sums[c] = Base64.getEncoder().encodeToString(digests[c]);
        }
        LinearChecksum linear = new LinearChecksum();
        Semaphore inFlight = new Semaphore(16);
        List<CompletableFuture<Void>> puts = new ArrayList<>();
        for (int i = 0; i < blocks; i++) {
            int index = blocks == 1 ? 0 : (int) ((long) i * (span - 1) / (blocks - 1));
            int c = content(index, contents.length);
            linear.add(digests[c]);
            inFlight.acquire();
            puts.add(
                    ebs.putBlock(id, index, contents[c], sums[c])
                            .whenComplete((v, e) -> inFlight.release()));
        }
        CompletableFuture.allOf(puts.toArray(new CompletableFuture<?>[0])).join();
        String value = linear.value();
        ebs.completeSnapshot(id, linear.count(), value);
        while (!ebs.describeSnapshot(id).completed()) {
            Thread.sleep(50);
        }
        return new Source(id, blocks, value);
    }

    /** Which of the shared contents block {@code index} holds. */
    private static int content(int index, int distinct) {
        return Integer.remainderUnsigned(index * 0x9E3779B1, distinct);
    }

    // ------------------------------------------------------------------ one run

    private static Run run(
            MiniCluster mini,
            SdkEbsProxyFactory factory,
            Configuration base,
            Source source,
            long volumeGib,
            int maxInFlight,
            int parallelism,
            long sampleMillis,
            String label)
            throws Exception {
        Configuration options = new Configuration(base);
        options.set(EbsReplicationOptions.MAX_IN_FLIGHT, maxInFlight);
        double idle = retainedMib();
        Probe.reset(source.blocks / 2);
        Sampler sampler = new Sampler(sampleMillis);
        long t0 = System.nanoTime();
        List<ReplicationResult> results = new ArrayList<>();
        sampler.start();
        try {
            StreamExecutionEnvironment env = new TestStreamEnvironment(mini, parallelism);
            env.enableCheckpointing(10_000); // the command line's default interval
            // As EbsReplicationPipeline.build(env, ...) does it, plus the timing probe.
            SdkEbsProxyFactory jobFactory =
                    new SdkEbsProxyFactory(
                            EbsProxyConfig.fromConfiguration(options).withShare(parallelism));
            try (CloseableIterator<ReplicationResult> it =
                    EbsReplicationPipeline.build(
                                    env,
                                    List.of(
                                            new ReplicationRequest(
                                                    "memory-" + label + "-" + System.nanoTime(),
                                                    SOURCE,
                                                    source.id,
                                                    null,
                                                    List.of(ReplicationTarget.of(TARGET)),
                                                    null,
                                                    false,
                                                    Map.of(),
                                                    ReplicationRequest.NO_DEADLINE,
                                                    0)),
                                    options,
                                    BlockTransform.IDENTITY,
                                    jobFactory,
                                    new Probe())
                            .executeAndCollect("memory-benchmark")) {
                it.forEachRemaining(results::add);
            }
        } finally {
            sampler.stop();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (results.size() != 1 || !results.get(0).succeeded()) {
            throw new IllegalStateException("The job failed: " + results);
        }
        ReplicationResult r = results.get(0);
        if (r.blocksWritten() != source.blocks) {
            throw new IllegalStateException(
                    "Wrote " + r.blocksWritten() + " blocks, the source has " + source.blocks);
        }
        if (!source.linear.equals(r.checksum())) {
            throw new IllegalStateException(
                    "LINEAR checksum " + r.checksum() + ", the source's is " + source.linear);
        }
        verifyIdentical(factory, source, r.targetSnapshotId());
        long lastListed = Probe.lastSource.get();
        return new Run(
                volumeGib,
                source.blocks,
                maxInFlight,
                parallelism,
                idle,
                sampler.peakRetained / MIB,
                sampler.peakAfterAnyGc / MIB,
                sampler.samples,
                lastListed == 0 ? -1 : (lastListed - t0) / 1e9,
                seconds,
                sampler.histogram);
    }

    /**
     * The target has exactly the source's block indexes, every one with the same bytes, and is
     * {@code completed} (so ebs-local accepted the job's LINEAR checksum and block count).
     */
    private static void verifyIdentical(SdkEbsProxyFactory factory, Source source, String target)
            throws Exception {
        try (EbsProxy src = factory.create(SOURCE);
                EbsProxy dst = factory.create(TARGET)) {
            if (!dst.describeSnapshot(target).completed()) {
                throw new IllegalStateException(target + " is not completed");
            }
            Map<Integer, String> a = BlockListing.allBlocks(src, source.id);
            Map<Integer, String> b = BlockListing.allBlocks(dst, target);
            if (!a.keySet().equals(b.keySet())) {
                throw new IllegalStateException(
                        target + " has other block indexes than " + source.id);
            }
            Semaphore inFlight = new Semaphore(8);
            List<CompletableFuture<Void>> checks = new ArrayList<>();
            for (Map.Entry<Integer, String> e : a.entrySet()) {
                int index = e.getKey();
                inFlight.acquire();
                CompletableFuture<FetchedBlock> x = src.getBlock(source.id, index, e.getValue());
                CompletableFuture<FetchedBlock> y = dst.getBlock(target, index, b.get(index));
                checks.add(
                        x.thenCombine(
                                        y,
                                        (p, q) -> {
                                            if (!p.data().equals(q.data())) {
                                                throw new IllegalStateException(
                                                        "Block "
                                                                + index
                                                                + " of "
                                                                + target
                                                                + " differs from the source's");
                                            }
                                            return (Void) null;
                                        })
                                .whenComplete((v, t) -> inFlight.release()));
            }
            CompletableFuture.allOf(checks.toArray(new CompletableFuture<?>[0])).join();
        }
    }

    // ------------------------------------------------------------------ measurement

    /**
     * Times the source's records and counts the copier's, so the sampler knows when copying is well
     * under way. Runs on the operators' task threads in this JVM (the MiniCluster is embedded),
     * hence the static counters: this probe exists only in the benchmark.
     */
    static final class Probe implements PipelineHook {
        private static final long serialVersionUID = 1L;
        static final AtomicLong lastSource = new AtomicLong();
        static final AtomicLong copied = new AtomicLong();
        static volatile long halfway;

        static void reset(long half) {
            lastSource.set(0);
            copied.set(0);
            halfway = Math.max(1, half);
        }

        static boolean halfwayCopied() {
            return copied.get() >= halfway;
        }

        @Override
        public void onRecord(String operator, int subtask) {
            if (SOURCE.equals(operator)) {
                lastSource.set(System.nanoTime());
            } else if (COPIER.equals(operator)) {
                copied.incrementAndGet();
            }
        }
    }

    /** The live heap: used heap right after a full collection, the lowest of three. */
    private static double retainedMib() {
        long min = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            System.gc();
            min = Math.min(min, ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
        }
        return min / MIB;
    }

    /**
     * Forces a full GC every {@code periodMillis} and records the heap used after it, from the
     * collection's own notification (the live heap at that moment); once half the blocks have
     * passed the copier, one of those samples is a class histogram of the live objects instead
     * ({@code GC.class_histogram}, itself a full GC). Also listens to every GC's own
     * after-collection usage, which includes garbage that a young collection leaves in the old
     * generation (an upper bound, for reference).
     */
    private static final class Sampler implements NotificationListener {
        private final long periodMillis;
        private final Thread thread;
        private volatile boolean running = true;
        volatile long peakRetained;
        volatile long peakAfterAnyGc;
        volatile int samples;
        volatile String histogram = "";

        Sampler(long periodMillis) {
            this.periodMillis = periodMillis;
            this.thread = new Thread(this::loop, "heap-sampler");
            thread.setDaemon(true);
        }

        void start() {
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                ((NotificationEmitter) gc).addNotificationListener(this, null, null);
            }
            thread.start();
        }

        void stop() throws Exception {
            running = false;
            thread.join();
            Thread.sleep(200); // notifications arrive on another thread, a little later
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                ((NotificationEmitter) gc).removeNotificationListener(this);
            }
        }

        private void loop() {
            boolean histogramTaken = false;
            while (running) {
                try {
                    if (!histogramTaken && Probe.halfwayCopied()) {
                        histogram = liveHistogram();
                        histogramTaken = true;
                    } else {
                        System.gc();
                    }
                    TimeUnit.MILLISECONDS.sleep(periodMillis);
                } catch (InterruptedException e) {
                    return;
                } catch (Exception e) {
                    throw new IllegalStateException("Heap sampling failed", e);
                }
            }
        }

        @Override
        public void handleNotification(Notification n, Object handback) {
            if (!GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(
                    n.getType())) {
                return;
            }
            GarbageCollectionNotificationInfo info =
                    GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
            long used = 0;
            for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
                // The map also holds the non-heap pools (metaspace, code cache): heap pools only.
                MemoryUsage u = info.getGcInfo().getMemoryUsageAfterGc().get(pool.getName());
                if (pool.getType() == MemoryType.HEAP && u != null) {
                    used += u.getUsed();
                }
            }
            String cause = info.getGcCause();
            if ("System.gc()".equals(cause) || "Heap Inspection Initiated GC".equals(cause)) {
                // A full collection this sampler asked for: what is left is the live heap.
                peakRetained = Math.max(peakRetained, used);
                samples++;
            }
            peakAfterAnyGc = Math.max(peakAfterAnyGc, used);
        }
    }

    /** The top of {@code GC.class_histogram} (live objects only), as jcmd prints it. */
    private static String liveHistogram() throws Exception {
        String text =
                (String)
                        ManagementFactory.getPlatformMBeanServer()
                                .invoke(
                                        new ObjectName("com.sun.management:type=DiagnosticCommand"),
                                        "gcClassHistogram",
                                        new Object[] {new String[0]},
                                        new String[] {String[].class.getName()});
        String[] lines = text.split("\n");
        StringBuilder top = new StringBuilder();
        for (int i = 0; i < Math.min(lines.length, 18); i++) {
            top.append(lines[i]).append('\n');
        }
        top.append(lines[lines.length - 1]).append('\n'); // the Total line
        return top.toString();
    }

    // ------------------------------------------------------------------ ebs-local

    /**
     * ebs-local as a child process from its jar, data in memory, loopback only; with {@code tls},
     * HTTPS with a self-signed certificate whose PEM is {@code caBundle}.
     */
    private static final class EbsLocalProcess implements AutoCloseable {
        final Process process;
        final URI endpoint;
        final String caBundle;

        private EbsLocalProcess(Process process, URI endpoint, String caBundle) {
            this.process = process;
            this.endpoint = endpoint;
            this.caBundle = caBundle;
        }

        static EbsLocalProcess start(Path jar, boolean tls) throws Exception {
            if (!Files.isRegularFile(jar)) {
                throw new IllegalArgumentException(
                        jar + " not found: build it with mvn -pl ebs-local -am package");
            }
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            List<String> command =
                    new ArrayList<>(
                            List.of(
                                    java.toString(),
                                    "-Xmx512m",
                                    "-jar",
                                    jar.toString(),
                                    "--port",
                                    "0",
                                    "--seal-delay",
                                    "200ms"));
            if (tls) {
                command.add("--tls");
            }
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            BufferedReader lines =
                    new BufferedReader(
                            new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String ready = "ebs-local listening on ";
            String line;
            while ((line = lines.readLine()) != null && !line.startsWith(ready)) {
                System.out.println("ebs-local: " + line);
            }
            if (line == null) {
                p.destroyForcibly();
                throw new IllegalStateException("ebs-local exited before it served");
            }
            URI endpoint = URI.create(line.substring(ready.length()).split(" ")[0]);
            String caBundle = null;
            for (String field : line.split(" ")) {
                if (field.startsWith("ca-bundle=")) {
                    caBundle = field.substring("ca-bundle=".length());
                }
            }
            if (tls && (caBundle == null || !"https".equals(endpoint.getScheme()))) {
                p.destroyForcibly();
                throw new IllegalStateException("ebs-local did not serve HTTPS: " + line);
            }
            System.out.println(line);
            Thread drain =
                    new Thread(
                            () -> {
                                try {
                                    while (lines.readLine() != null) {
                                        // ebs-local's log: not needed here
                                    }
                                } catch (Exception ignored) {
                                    // the process ended
                                }
                            },
                            "ebs-local-output");
            drain.setDaemon(true);
            drain.start();
            return new EbsLocalProcess(p, endpoint, caBundle);
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }

    // ------------------------------------------------------------------ reports

    /** For each setting, the trial with the median job heap. */
    private static List<Run> medians(List<Run> all, List<Integer> inFlights, List<Long> volumes) {
        List<Run> out = new ArrayList<>();
        for (int inFlight : inFlights) {
            for (long v : volumes) {
                List<Run> same =
                        all.stream()
                                .filter(r -> r.volumeGib == v && r.maxInFlight == inFlight)
                                .sorted(java.util.Comparator.comparingDouble(Run::jobHeapMib))
                                .toList();
                out.add(same.get((same.size() - 1) / 2));
            }
        }
        return out;
    }

    private static Run find(List<Run> runs, long volumeGib, int maxInFlight) {
        return runs.stream()
                .filter(r -> r.volumeGib == volumeGib && r.maxInFlight == maxInFlight)
                .findFirst()
                .orElse(null);
    }

    /** Job heap of the largest volume over that of the smallest, at one in-flight setting. */
    private static double ratio(List<Run> runs, int maxInFlight) {
        long small = runs.stream().mapToLong(Run::volumeGib).min().orElse(0);
        long large = runs.stream().mapToLong(Run::volumeGib).max().orElse(0);
        Run a = find(runs, small, maxInFlight);
        Run b = find(runs, large, maxInFlight);
        return a == null || b == null ? Double.NaN : b.jobHeapMib() / a.jobHeapMib();
    }

    private static boolean ratioHolds(List<Run> runs, int maxInFlight) {
        long small = runs.stream().mapToLong(Run::volumeGib).min().orElse(0);
        long large = runs.stream().mapToLong(Run::volumeGib).max().orElse(0);
        Run a = find(runs, small, maxInFlight);
        Run b = find(runs, large, maxInFlight);
        return a != null
                && b != null
                && (b.jobHeapMib() <= a.jobHeapMib() * RATIO_LIMIT
                        || b.jobHeapMib() - a.jobHeapMib() <= ABSOLUTE_SLACK_MIB);
    }

    private static boolean allHold(List<Run> runs) {
        for (Run r : runs) {
            if (!r.holds() || !ratioHolds(runs, r.maxInFlight)) {
                return false;
            }
        }
        return true;
    }

    private static String volume(long gib) {
        return gib >= 1024 && gib % 1024 == 0 ? gib / 1024 + " TiB" : gib + " GiB";
    }

    private static String markdown(List<Run> runs, int trials, double idleCold) {
        StringBuilder sb = new StringBuilder();
        sb.append(
                String.format(
                        Locale.ROOT,
                        "Job heap = peak live heap during the run (full GC every sample) minus the idle"
                                + " heap just before it (MiniCluster up, no job; %.1f MiB before the"
                                + " first job); median of %d trials. In flight = copier subtasks x"
                                + " ebs.copier.max-in-flight.%n%n",
                        idleCold,
                        trials));
        sb.append(
                "| volume | written blocks | in flight | job heap peak MiB | budget MiB | holds? |"
                        + " ratio to 1 GiB | listed after s | duration s | blocks/s |\n");
        sb.append("| --- | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |\n");
        for (Run r : runs) {
            Run small = find(runs, runs.get(0).volumeGib, r.maxInFlight);
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %d | %d (%d x %d) | %.1f | %.1f | %s | %.2f | %.2f | %.2f | %.0f |%n",
                            volume(r.volumeGib),
                            r.writtenBlocks,
                            r.inFlight(),
                            r.parallelism,
                            r.maxInFlight,
                            r.jobHeapMib(),
                            r.budgetMib(),
                            r.holds() ? "yes" : "NO",
                            small == null ? Double.NaN : r.jobHeapMib() / small.jobHeapMib(),
                            r.enumerationSeconds,
                            r.seconds,
                            r.blocksPerSecond()));
        }
        sb.append("\nTargets:\n\n");
        for (int inFlight : runs.stream().map(Run::maxInFlight).distinct().toList()) {
            for (Run r : runs) {
                if (r.maxInFlight == inFlight) {
                    sb.append(
                            String.format(
                                    Locale.ROOT,
                                    "- %s, %d in flight: job heap %.1f MiB <= budget %.1f MiB: %s%n",
                                    volume(r.volumeGib),
                                    r.inFlight(),
                                    r.jobHeapMib(),
                                    r.budgetMib(),
                                    r.holds() ? "holds" : "MISSED"));
                }
            }
            double ratio = ratio(runs, inFlight);
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "- max-in-flight %d: job heap 64 TiB / 1 GiB = %.2f (target <= %.2f, or"
                                    + " within %.0f MiB): %s%n",
                            inFlight,
                            ratio,
                            RATIO_LIMIT,
                            ABSOLUTE_SLACK_MIB,
                            ratioHolds(runs, inFlight) ? "holds" : "MISSED"));
        }
        return sb.toString();
    }

    private static String json(
            List<Run> runs, List<Run> all, double idleCold, long sampleMillis, String scheme) {
        StringBuilder sb = new StringBuilder();
        sb.append(
                String.format(
                        Locale.ROOT,
                        "{%n  \"cores\": %d, \"maxHeapMiB\": %.0f, \"java\": \"%s\", \"sampleMs\": %d,"
                                + " \"ebsLocal\": \"%s\","
                                + " \"idleHeapBeforeFirstJobMiB\": %.1f,%n  \"budget\":"
                                + " \"inFlight x %.1f MiB + %.0f MiB\", \"allHold\": %s,%n  \"runs\": [%n",
                        Runtime.getRuntime().availableProcessors(),
                        Runtime.getRuntime().maxMemory() / MIB,
                        System.getProperty("java.version"),
                        sampleMillis,
                        scheme,
                        idleCold,
                        MIB_PER_BLOCK_IN_FLIGHT,
                        FIXED_BUDGET_MIB,
                        allHold(runs)));
        runsJson(sb, runs, runs, true);
        sb.append("  ],\n  \"trials\": [\n");
        runsJson(sb, all, runs, false);
        return sb.append("  ]\n}\n").toString();
    }

    private static void runsJson(
            StringBuilder sb, List<Run> runs, List<Run> medians, boolean histograms) {
        for (int i = 0; i < runs.size(); i++) {
            Run r = runs.get(i);
            sb.append(
                    String.format(
                            Locale.ROOT,
                            "    {\"volumeGiB\": %d, \"writtenBlocks\": %d, \"parallelism\": %d,"
                                    + " \"maxInFlight\": %d, \"inFlight\": %d, \"idleHeapMiB\": %.1f,"
                                    + " \"peakLiveHeapMiB\": %.1f, \"jobHeapMiB\": %.1f, \"budgetMiB\": %.1f,"
                                    + " \"holds\": %s, \"ratioToSmallest\": %.3f,"
                                    + " \"peakAfterAnyGcMiB\": %.1f, \"samples\": %d,"
                                    + " \"listedAfterSeconds\": %.3f, \"seconds\": %.3f,"
                                    + " \"blocksPerSecond\": %.1f,%n     \"liveHistogram\": \"%s\"}%s%n",
                            r.volumeGib,
                            r.writtenBlocks,
                            r.parallelism,
                            r.maxInFlight,
                            r.inFlight(),
                            r.idleMib,
                            r.peakRetainedMib,
                            r.jobHeapMib(),
                            r.budgetMib(),
                            r.holds(),
                            r.jobHeapMib()
                                    / find(medians, medians.get(0).volumeGib, r.maxInFlight)
                                            .jobHeapMib(),
                            r.peakAfterAnyGcMib,
                            r.samples,
                            r.enumerationSeconds,
                            r.seconds,
                            r.blocksPerSecond(),
                            histograms
                                    ? r.histogram
                                            .replace("\\", "\\\\")
                                            .replace("\"", "\\\"")
                                            .replace("\n", "\\n")
                                    : "",
                            i + 1 < runs.size() ? "," : ""));
        }
    }
}
