package io.ebsreplicator.benchmarks;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.job.Relauncher;
import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.service.Snapshot;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.ebsreplicator.benchmarks.EndToEndBenchmark.SOURCE;
import static io.ebsreplicator.benchmarks.EndToEndBenchmark.TARGET;

/**
 * One-shot copies as a user starts them: every copy is a fresh process. {@code replicate} ({@code
 * java -jar ebs-replicator.jar}), optionally an older build of it ({@code --baseline-jar}, to show
 * before and after in the same run), and the tuned direct copier ({@link ColdTunedCopier}) copy the
 * same source snapshots (16 blocks, 512 MiB, 4 GiB by default) over ebs-local at each round trip,
 * over HTTP and HTTPS. {@code tuned-jvm} is the tuned copier started the way {@code replicate}'s
 * relaunch starts its JVM, with a class-data sharing archive of its own (an AOT cache on Java 25)
 * and the same JIT set-up: what a cold Java process on the AWS SDK needs for the copy without
 * Flink, the floor under {@code replicate}'s fixed cost. For each copy: wall time, CPU seconds of
 * the copying process (its children included) and of ebs-local (this JVM) apart, the time to the
 * first written block, peak RSS, and that the target equals the source.
 *
 * <p>ebs-local runs in this JVM with EBS's default quotas and its default seal delay, so every copy
 * includes a real wait for the target to be completed. Each system runs once untimed first (for
 * {@code replicate} and {@code tuned-jvm} that run makes the archive). Trials rotate the order of
 * the systems. Writes {@code DIR/cold-start.md} and {@code DIR/cold-start.json}.
 *
 * <p>{@code --variant NAME=FLAGS} adds {@code replicate} started with more {@code java} flags
 * (comma-separated), e.g. {@code jvm-jit=-Debs.launcher.jit=default} for the JVM's own JIT
 * thresholds; {@code --java PATH} runs every system on another JVM.
 */
public final class ColdStartBenchmark {

    /** The tuned copier with {@code replicate}'s JVM set-up. */
    static final String TUNED_JVM = "tuned-jvm";

    private ColdStartBenchmark() {}

    /** The feature version of the Java at {@code java}, as {@code java -version} reports it. */
    private static int javaFeature(String java) throws Exception {
        Process p = new ProcessBuilder(java, "-version").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        Matcher m = Pattern.compile("version \"(1\\.)?(\\d+)").matcher(out);
        if (!m.find()) {
            throw new IllegalStateException("No Java version in: " + out);
        }
        return Integer.parseInt(m.group(2));
    }

    /** One copy: what was copied how, and what it cost. */
    record Run(
            String system,
            String transport,
            int blocks,
            long latencyMs,
            double wallS,
            double cpuS,
            double ebsLocalCpuS,
            double firstBlockS,
            long peakRssMb) {

        double mibPerS() {
            return blocks * 0.5 / wallS;
        }
    }

    public static void main(String[] args) throws Exception {
        Path jar = Path.of("job/target/ebs-replicator.jar");
        Path baselineJar = null;
        Path benchJar = Path.of("benchmarks/target/benchmarks.jar");
        List<Integer> sizes = List.of(16, 1024, 8192);
        List<Long> latencies = List.of(0L, 20L);
        List<String> transports = List.of("http", "https");
        int trials = 3;
        int concurrency = 64;
        Duration sealDelay = Duration.ofMillis(500); // ebs-local's default
        Path out = Path.of("benchmarks/results/cold-start");
        Map<String, List<String>> variants = new LinkedHashMap<>();
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--jar" -> jar = Path.of(args[++i]);
                case "--baseline-jar" -> baselineJar = Path.of(args[++i]);
                case "--bench-jar" -> benchJar = Path.of(args[++i]);
                case "--blocks" -> sizes = ints(args[++i]);
                case "--latencies" ->
                        latencies = ints(args[++i]).stream().map(Long::valueOf).toList();
                case "--transports" -> transports = List.of(args[++i].split(","));
                case "--trials" -> trials = Integer.parseInt(args[++i]);
                case "--tuned-concurrency" -> concurrency = Integer.parseInt(args[++i]);
                case "--seal-delay-ms" -> sealDelay = Duration.ofMillis(Long.parseLong(args[++i]));
                case "--out" -> out = Path.of(args[++i]);
                case "--java" -> java = args[++i];
                case "--variant" -> {
                    String[] v = args[++i].split("=", 2);
                    if (v.length != 2 || v[0].isBlank() || v[1].isBlank()) {
                        throw new IllegalArgumentException(
                                "--variant takes NAME=FLAG[,FLAG...], got " + args[i]);
                    }
                    variants.put(v[0], List.of(v[1].split(",")));
                }
                default -> throw new IllegalArgumentException("Unknown argument " + args[i]);
            }
        }
        List<String> systems = new ArrayList<>(List.of("replicate", "tuned", TUNED_JVM));
        if (baselineJar != null) {
            systems.add(1, "baseline");
        }
        systems.addAll(1, variants.keySet());
        List<Run> runs = new ArrayList<>();
        // tuned-jvm's archive, made by the first untimed run and removed at the end.
        Path tunedArchive = Files.createTempDirectory("cold-start").resolve("tuned.archive");
        for (String transport : transports) {
            try (EbsLocalServer ebs =
                    EbsLocalServer.start(
                            EbsLocalConfig.builder()
                                    .regions(SOURCE, TARGET)
                                    .tls(transport.equals("https"))
                                    .sealDelay(sealDelay)
                                    .build())) {
                Copies copies =
                        new Copies(
                                ebs,
                                java,
                                jar,
                                baselineJar,
                                benchJar,
                                variants,
                                concurrency,
                                javaFeature(java),
                                tunedArchive);
                Map<Integer, String> sources = new LinkedHashMap<>();
                try (EbsProxy src = copies.factory().create(SOURCE)) {
                    for (int blocks : sizes) {
                        sources.put(blocks, EndToEndBenchmark.writeSource(src, blocks));
                    }
                }
                System.out.printf(Locale.ROOT, "%s: sources written %s%n", transport, sources);
                String smallest = sources.get(sizes.stream().min(Integer::compare).orElseThrow());
                for (String system : systems) {
                    copies.run(system, smallest); // untimed: makes the archives
                }
                if (!Files.isRegularFile(copies.tunedArchive())) {
                    throw new IllegalStateException(
                            TUNED_JVM + " made no archive at " + copies.tunedArchive());
                }
                for (int trial = 0; trial < trials; trial++) {
                    for (long latency : latencies) {
                        ebs.setFaults(
                                FaultProfile.builder()
                                        .latency(latency, latency / 10)
                                        .seed(trial)
                                        .build());
                        for (int blocks : sizes) {
                            for (int k = 0; k < systems.size(); k++) {
                                String system = systems.get((k + trial) % systems.size());
                                Run r =
                                        copies.measure(
                                                system,
                                                transport,
                                                sources.get(blocks),
                                                blocks,
                                                latency);
                                System.out.println(line(r));
                                runs.add(r);
                            }
                        }
                    }
                }
                ebs.setFaults(FaultProfile.builder().build());
            }
        }
        Files.deleteIfExists(tunedArchive);
        Files.deleteIfExists(tunedArchive.getParent());
        Files.createDirectories(out);
        Files.writeString(out.resolve("cold-start.md"), report(runs, systems, sealDelay));
        Files.writeString(out.resolve("cold-start.json"), json(runs));
        System.out.println(report(runs, systems, sealDelay));
        System.exit(0);
    }

    /** Starts the copies as processes against one ebs-local and measures them. */
    private record Copies(
            EbsLocalServer ebs,
            String java,
            Path jar,
            Path baselineJar,
            Path benchJar,
            Map<String, List<String>> variants,
            int concurrency,
            int javaFeature,
            Path tunedArchive) {

        SdkEbsProxyFactory factory() {
            return new SdkEbsProxyFactory(
                    EbsProxyConfig.fromConfiguration(EndToEndBenchmark.options(ebs, concurrency)));
        }

        List<String> command(String system, String source) {
            String endpoint = ebs.endpoint().toString();
            String key = ebs.accessKey().accessKeyId();
            String secret = ebs.accessKey().secretAccessKey();
            String ca = ebs.certificatePem() == null ? null : ebs.certificatePem().toString();
            List<String> cmd = new ArrayList<>();
            cmd.add(java);
            if (system.equals(TUNED_JVM)) {
                cmd.addAll(
                        Relauncher.archiveFlags(
                                javaFeature, tunedArchive, !Files.isRegularFile(tunedArchive)));
                cmd.addAll(Relauncher.jitFlags());
            }
            if (system.startsWith("tuned")) {
                cmd.addAll(
                        List.of(
                                "-cp",
                                benchJar.toString(),
                                ColdTunedCopier.class.getName(),
                                endpoint,
                                source,
                                key,
                                secret,
                                Integer.toString(concurrency)));
                if (ca != null) {
                    cmd.add(ca);
                }
                return cmd;
            }
            cmd.addAll(variants.getOrDefault(system, List.of()));
            cmd.addAll(
                    List.of(
                            "-jar",
                            (system.equals("baseline") ? baselineJar : jar).toString(),
                            "replicate",
                            "--source-region",
                            SOURCE,
                            "--source-snapshot",
                            source,
                            "--target-region",
                            TARGET,
                            "--source-endpoint",
                            endpoint,
                            "--target-endpoint",
                            endpoint,
                            "-D",
                            EbsReplicationOptions.ACCESS_KEY_ID.key() + "=" + key,
                            "-D",
                            EbsReplicationOptions.SECRET_ACCESS_KEY.key() + "=" + secret));
            if (ca != null) {
                cmd.addAll(List.of("-D", EbsReplicationOptions.CA_BUNDLE.key() + "=" + ca));
            }
            return cmd;
        }

        /** Runs one copy untimed; fails when it does. */
        void run(String system, String source) throws Exception {
            Process p =
                    new ProcessBuilder(command(system, source)).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) {
                throw new IllegalStateException(system + " failed:\n" + output);
            }
        }

        Run measure(String system, String transport, String source, int blocks, long latency)
                throws Exception {
            Path times = Files.createTempFile("cold-start", ".time");
            List<String> cmd = new ArrayList<>(List.of("/usr/bin/time", "-f", "%U %S %M", "-o"));
            cmd.add(times.toString());
            cmd.addAll(command(system, source));
            Set<String> before = new HashSet<>();
            ebs.service().snapshots(TARGET).forEach(s -> before.add(s.id()));
            FirstBlockWatcher watcher = FirstBlockWatcher.start(ebs, () -> {});
            long cpu0 = processCpuNanos();
            long t0 = System.nanoTime();
            Process p =
                    new ProcessBuilder(cmd)
                            .redirectError(ProcessBuilder.Redirect.DISCARD)
                            .redirectOutput(ProcessBuilder.Redirect.PIPE)
                            .start();
            String stdout = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(30, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException(system + " did not end");
            }
            long t1 = System.nanoTime();
            long cpu1 = processCpuNanos();
            watcher.stop();
            long firstBlock = watcher.firstBlockNanos();
            if (p.exitValue() != 0) {
                throw new IllegalStateException(system + " failed: " + stdout);
            }
            String[] t = Files.readString(times).trim().split("\\s+");
            Files.delete(times);
            checkTarget(before, source);
            return new Run(
                    system,
                    transport,
                    blocks,
                    latency,
                    (t1 - t0) / 1e9,
                    Double.parseDouble(t[0]) + Double.parseDouble(t[1]),
                    (cpu1 - cpu0) / 1e9,
                    firstBlock < 0 ? Double.NaN : (firstBlock - t0) / 1e9,
                    Long.parseLong(t[2]) / 1024);
        }

        /** The one new target of the run holds exactly the source's blocks. */
        private void checkTarget(Set<String> before, String source) {
            List<Snapshot> made =
                    ebs.service().snapshots(TARGET).stream()
                            .filter(s -> !before.contains(s.id()))
                            .toList();
            if (made.size() != 1) {
                throw new IllegalStateException("Expected one new target, found " + made.size());
            }
            if (!ebs.service()
                    .blocksOf(TARGET, made.get(0).id())
                    .equals(ebs.service().blocksOf(SOURCE, source))) {
                throw new IllegalStateException("Target " + made.get(0).id() + " differs");
            }
        }
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    private static String line(Run r) {
        return String.format(
                Locale.ROOT,
                "%-9s %-5s %5d blocks %3d ms: %6.2f s  %6.1f MiB/s  cpu %5.2f s  ebs-local %5.2f s"
                        + "  first block %5.2f s  rss %4d MB",
                r.system,
                r.transport,
                r.blocks,
                r.latencyMs,
                r.wallS,
                r.mibPerS(),
                r.cpuS,
                r.ebsLocalCpuS,
                r.firstBlockS,
                r.peakRssMb);
    }

    /** Medians per case, and replicate against the tuned copier's throughput. */
    static String report(List<Run> runs, List<String> systems, Duration sealDelay) {
        StringBuilder b = new StringBuilder();
        b.append("Cold one-shot copies, every copy a fresh process; ebs-local seal delay ")
                .append(sealDelay.toMillis())
                .append(" ms, default quotas; medians of each case's trials. \"vs tuned\": the")
                .append(" tuned copier's wall time over this one's. tuned-jvm: the tuned copier")
                .append(" with replicate's JVM set-up (its own class-data archive, the same JIT")
                .append(" flags), the cold floor of a Java copier on the AWS SDK.\n\n");
        b.append(
                "| transport | copy | RTT | system | wall s | MiB/s | CPU-s | ebs-local CPU-s |"
                        + " first block s | peak RSS MB | vs tuned |\n");
        b.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
        Map<String, List<Run>> cases = new LinkedHashMap<>();
        for (Run r : runs) {
            cases.computeIfAbsent(
                            r.transport + "|" + r.blocks + "|" + r.latencyMs + "|" + r.system,
                            k -> new ArrayList<>())
                    .add(r);
        }
        for (var e : cases.entrySet()) {
            List<Run> rs = e.getValue();
            Run first = rs.get(0);
            double wall = median(rs, Run::wallS);
            List<Run> tuned =
                    cases.getOrDefault(
                            first.transport + "|" + first.blocks + "|" + first.latencyMs + "|tuned",
                            List.of());
            String vsTuned =
                    tuned.isEmpty()
                            ? "-"
                            : String.format(Locale.ROOT, "%.2f", median(tuned, Run::wallS) / wall);
            b.append(
                    String.format(
                            Locale.ROOT,
                            "| %s | %s | %d ms | %s | %.2f | %.1f | %.2f | %.2f | %.2f | %d | %s |\n",
                            first.transport,
                            size(first.blocks),
                            first.latencyMs,
                            first.system,
                            wall,
                            first.blocks * 0.5 / wall,
                            median(rs, Run::cpuS),
                            median(rs, Run::ebsLocalCpuS),
                            median(rs, Run::firstBlockS),
                            (long) median(rs, r -> (double) r.peakRssMb),
                            vsTuned));
        }
        return b.toString();
    }

    private static String size(int blocks) {
        return blocks * 0.5 >= 1024
                ? String.format(Locale.ROOT, "%.0f GiB", blocks * 0.5 / 1024)
                : blocks >= 1024
                        ? String.format(Locale.ROOT, "%.0f MiB", blocks * 0.5)
                        : blocks + " blocks";
    }

    private static double median(List<Run> rs, java.util.function.ToDoubleFunction<Run> f) {
        double[] v = rs.stream().mapToDouble(f).sorted().toArray();
        if (v.length == 0) {
            return Double.NaN;
        }
        int m = v.length / 2;
        return v.length % 2 == 1 ? v[m] : (v[m - 1] + v[m]) / 2;
    }

    private static String json(List<Run> runs) {
        StringBuilder b = new StringBuilder("[\n");
        runs.stream()
                .sorted(Comparator.comparing(Run::transport))
                .forEach(
                        r ->
                                b.append(
                                        String.format(
                                                Locale.ROOT,
                                                "  {\"system\":\"%s\",\"transport\":\"%s\","
                                                        + "\"blocks\":%d,\"latencyMs\":%d,"
                                                        + "\"wallS\":%.3f,\"cpuS\":%.2f,"
                                                        + "\"ebsLocalCpuS\":%.2f,"
                                                        + "\"firstBlockS\":%.3f,"
                                                        + "\"peakRssMb\":%d},\n",
                                                r.system,
                                                r.transport,
                                                r.blocks,
                                                r.latencyMs,
                                                r.wallS,
                                                r.cpuS,
                                                r.ebsLocalCpuS,
                                                r.firstBlockS,
                                                r.peakRssMb)));
        if (!runs.isEmpty()) {
            b.setLength(b.length() - 2);
            b.append('\n');
        }
        return b.append("]\n").toString();
    }

    private static List<Integer> ints(String s) {
        List<Integer> out = new ArrayList<>();
        for (String p : s.split(",")) {
            out.add(Integer.parseInt(p.trim()));
        }
        return out;
    }
}
