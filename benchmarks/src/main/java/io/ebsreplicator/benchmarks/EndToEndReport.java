package io.ebsreplicator.benchmarks;

import io.ebsreplicator.benchmarks.EndToEndBenchmark.Result;

import java.util.List;
import java.util.Locale;

/**
 * The reports of {@link EndToEndBenchmark}: the JSON every later run is compared with ({@code
 * results/latest.json}) and the Markdown table, from the trial with the median throughput of each
 * system and latency.
 */
final class EndToEndReport {

    private EndToEndReport() {}

    static String json(List<Result> results, double gib) {
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
                            r.system(),
                            r.trial(),
                            r.latencyMs(),
                            r.blocks(),
                            r.mibPerSecond(),
                            r.blocksPerSecond(),
                            r.cpuSecondsPerGib(),
                            r.peakHeapMib(),
                            r.inFlight(),
                            r.firstBlockSeconds(),
                            r.firstBlockCpuSeconds(),
                            r.steadyCpuSecondsPerGib(),
                            r.jitSeconds(),
                            r.jitCpuSeconds(),
                            r.gcCpuSeconds(),
                            r.copyCpuSecondsPerGib(),
                            r.throttled(),
                            r.busy(),
                            i + 1 < results.size() ? "," : ""));
        }
        return sb.append("  ]\n}\n").toString();
    }

    static String markdown(List<Result> results, double gib) {
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
                                r.system(),
                                r.latencyMs(),
                                r.mibPerSecond(),
                                r.blocksPerSecond(),
                                r.steadyMibPerSecond(),
                                r.cpuSecondsPerGib(),
                                r.firstBlockCpuSeconds(),
                                r.steadyCpuSecondsPerGib(),
                                r.jitCpuSeconds(),
                                r.gcCpuSeconds(),
                                r.copyCpuSecondsPerGib(),
                                r.peakHeapMib(),
                                r.inFlight(),
                                r.throttled(),
                                r.firstBlockSeconds(),
                                r.busy() * 100));
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
                                        .filter(x -> x.trial() == trial)
                                        .findFirst()
                                        .orElse(null);
                        sb.append(
                                r == null
                                        ? " |"
                                        : String.format(
                                                Locale.ROOT,
                                                " %.1f (%.1f) |",
                                                r.mibPerSecond(),
                                                r.jitCpuSeconds()));
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
                        if (t.trial() == j.trial()) {
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
                            j100.inFlight(),
                            throttled,
                            t0 == null || t100 == null
                                    ? ""
                                    : String.format(
                                            Locale.ROOT,
                                            "; the tuned copier, %d in flight: %.2f",
                                            t100.inFlight(),
                                            t100.mibPerSecond() / t0.mibPerSecond())));
        }
        return sb.toString();
    }

    static List<Result> trials(List<Result> results, String system, long latency) {
        return results.stream()
                .filter(r -> r.system().equals(system) && r.latencyMs() == latency)
                .toList();
    }

    /** The trial with the median throughput (the lower middle one of an even number). */
    static Result median(List<Result> results, String system, long latency) {
        List<Result> runs =
                trials(results, system, latency).stream()
                        .sorted(java.util.Comparator.comparingDouble(Result::mibPerSecond))
                        .toList();
        return runs.isEmpty() ? null : runs.get((runs.size() - 1) / 2);
    }
}
