package io.ebsreplicator.benchmarks.fleet;

import io.ebsreplicator.benchmarks.fleet.FleetBenchmark.Args;
import io.ebsreplicator.benchmarks.fleet.FleetBenchmark.Published;
import io.ebsreplicator.benchmarks.fleet.FleetBenchmark.PutSampler;
import io.ebsreplicator.benchmarks.fleet.FleetBenchmark.Run;
import io.ebsreplicator.local.EbsLocalStats;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.schemas.AppliedCopyMode;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ResultStatus;

import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.shaded.jackson2.com.fasterxml.jackson.databind.SerializationFeature;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/** What a fleet benchmark scenario measured, as JSON, Markdown and (for the fleet) a chart. */
final class FleetReport {

    /** StartSnapshot and CompleteSnapshot per second per account and region (EBS default). */
    static final double CONTROL_QUOTA_PER_SECOND = 10.0;

    private final Map<String, Object> json;
    private final String markdown;
    private final List<double[]> timeline;
    private final double floorSeconds;

    private FleetReport(
            Map<String, Object> json, String markdown, List<double[]> timeline, double floor) {
        this.json = json;
        this.markdown = markdown;
        this.timeline = timeline;
        this.floorSeconds = floor;
    }

    String markdown() {
        return markdown;
    }

    void write(Path out) throws Exception {
        Files.createDirectories(out.toAbsolutePath().getParent());
        new ObjectMapper()
                .enable(SerializationFeature.INDENT_OUTPUT)
                .writeValue(out.toFile(), json);
        String base = out.toString().replaceAll("\\.json$", "");
        Files.writeString(Path.of(base + ".md"), markdown);
        if (timeline != null) {
            LineChart chart =
                    new LineChart(
                            String.format(
                                    Locale.ROOT,
                                    "Fleet: %s results over time against the control-plane floor",
                                    json.get("requests")),
                            "seconds since the requests were published",
                            "results");
            chart.series("measured", timeline);
            double n = ((Number) json.get("requests")).doubleValue();
            chart.series(
                    "floor: 10/s", List.of(new double[] {0, 0}, new double[] {floorSeconds, n}));
            chart.write(Path.of(base + ".png"));
        }
    }

    // ------------------------------------------------------------------ fleet

    static FleetReport fleet(Args a, Run run, EbsLocalStats stats) {
        int n = run.requests().size();
        int completed = 0;
        int incrementalExpected = 0;
        int incremental = 0;
        Map<String, Integer> failures = new TreeMap<>();
        List<Long> latencies = new ArrayList<>();
        for (Published p : run.requests()) {
            ReplicationResult r = run.results().get(p.id());
            if (r == null) {
                failures.merge("NO_RESULT", 1, Integer::sum);
                continue;
            }
            latencies.add(run.receivedAtMillis().get(p.id()) - run.publishedAtMillis().get(p.id()));
            if (r.getStatus() == ResultStatus.COMPLETED) {
                completed++;
            } else {
                failures.merge(r.getError().getReason(), 1, Integer::sum);
            }
            if (p.generation() > 0) {
                incrementalExpected++;
                if (r.getCopyMode() == AppliedCopyMode.INCREMENTAL) {
                    incremental++;
                }
            }
        }
        double seconds = (run.lastResultMillis() - run.firstPublishMillis()) / 1000.0;
        double floor = n / CONTROL_QUOTA_PER_SECOND;
        long quotaExceeded = stats.errors("ServiceQuotaExceededException");
        long throttled = stats.errors("RequestThrottledException");
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("scenario", "fleet");
        j.put("lineages", a.lineages);
        j.put("generations", a.generations);
        j.put("requests", n);
        j.put("parallelism", a.parallelism);
        j.put("checkpointIntervalMs", a.checkpointInterval.toMillis());
        j.put("completed", completed);
        j.put("failedByReason", failures);
        j.put("incremental", incremental);
        j.put("incrementalExpected", incrementalExpected);
        j.put("seconds", round(seconds));
        j.put("resultsPerSecond", round(n / seconds));
        j.put("floorSeconds", round(floor));
        j.put("floorOverMeasured", round(floor / seconds));
        j.put("latencyMsP50", percentile(latencies, 50));
        j.put("latencyMsP95", percentile(latencies, 95));
        j.put("latencyMsP99", percentile(latencies, 99));
        j.put("serviceQuotaExceededAnswers", quotaExceeded);
        j.put("throttledAnswers", throttled);
        j.put("startSnapshotRequests", stats.requests(Operation.START_SNAPSHOT));
        j.put("completeSnapshotRequests", stats.requests(Operation.COMPLETE_SNAPSHOT));
        j.put("describeSnapshotsRequests", stats.requests(Operation.DESCRIBE_SNAPSHOTS));
        putCheckpoints(j, run);
        j.put("maxHeapMiB", run.maxHeapBytes() >> 20);
        j.put("heapAfterGcMiB", run.heapAfterGcBytes() >> 20);

        String md =
                String.format(
                        Locale.ROOT,
                        "| L x G | requests | completed | incremental | s | results/s | floor s |"
                                + " floor/measured | p50 / p95 / p99 ms | ServiceQuotaExceeded |"
                                + " throttled | checkpoint max KiB / max ms | heap max / after GC"
                                + " MiB |%n"
                                + "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
                                + " --- | --- | --- |%n"
                                + "| %d x %d | %d | %d | %d of %d | %.1f | %.1f | %.0f | **%.2f** |"
                                + " %d / %d / %d | %d | %d | %d / %d | %d / %d |%n",
                        a.lineages,
                        a.generations,
                        n,
                        completed,
                        incremental,
                        incrementalExpected,
                        seconds,
                        n / seconds,
                        floor,
                        floor / seconds,
                        (long) j.get("latencyMsP50"),
                        (long) j.get("latencyMsP95"),
                        (long) j.get("latencyMsP99"),
                        quotaExceeded,
                        throttled,
                        ((long) j.get("checkpointMaxBytes")) >> 10,
                        (long) j.get("checkpointMaxMs"),
                        run.maxHeapBytes() >> 20,
                        run.heapAfterGcBytes() >> 20);
        return new FleetReport(j, md, timeline(run), floor);
    }

    // ------------------------------------------------------------------ deadline

    /** One start order's outcome in the deadline scenario. */
    record Order(
            int urgent,
            int urgentMet,
            int urgentFailed,
            int bulkCompleted,
            double seconds,
            long urgentCompletedMsMax) {

        static Order of(Run run) {
            int urgent = 0;
            int met = 0;
            int failed = 0;
            int bulk = 0;
            long urgentMax = 0;
            for (Published p : run.requests()) {
                ReplicationResult r = run.results().get(p.id());
                Long deadline = run.deadlines().get(p.id());
                if (deadline != null) {
                    urgent++;
                    if (r != null && r.getStatus() == ResultStatus.COMPLETED) {
                        urgentMax =
                                Math.max(
                                        urgentMax,
                                        r.getCompletedAt().toEpochMilli()
                                                - run.publishedAtMillis().get(p.id()));
                    }
                    if (r != null
                            && r.getStatus() == ResultStatus.COMPLETED
                            && r.getCompletedAt().toEpochMilli() <= deadline) {
                        met++;
                    } else if (r != null && r.getStatus() == ResultStatus.FAILED) {
                        failed++;
                    }
                } else if (r != null && r.getStatus() == ResultStatus.COMPLETED) {
                    bulk++;
                }
            }
            return new Order(
                    urgent,
                    met,
                    failed,
                    bulk,
                    round((run.lastResultMillis() - run.firstPublishMillis()) / 1000.0),
                    urgentMax);
        }
    }

    static FleetReport deadline(Args a, Map<String, Order> orders) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("scenario", "deadline");
        j.put("backlog", a.backlog);
        j.put("urgent", a.urgent);
        j.put("deadlineAfterMs", a.deadlineAfter.toMillis());
        j.put("requests", a.backlog);
        j.put("orders", orders);
        StringBuilder md =
                new StringBuilder(
                        String.format(
                                Locale.ROOT,
                                "Backlog of %d full copies; the last %d to arrive must complete"
                                        + " within %d s of publishing.%n%n"
                                        + "| start order | deadlines met | failed"
                                        + " (DEADLINE_EXCEEDED) | slowest urgent completed after"
                                        + " s | others completed | s |%n"
                                        + "| --- | --- | --- | --- | --- | --- |%n",
                                a.backlog,
                                a.urgent,
                                a.deadlineAfter.toSeconds()));
        orders.forEach(
                (name, o) ->
                        md.append(
                                String.format(
                                        Locale.ROOT,
                                        "| %s | **%d of %d** | %d | %s | %d | %.1f |%n",
                                        name,
                                        o.urgentMet(),
                                        o.urgent(),
                                        o.urgentFailed(),
                                        o.urgentCompletedMsMax() == 0
                                                ? "-"
                                                : String.format(
                                                        Locale.ROOT,
                                                        "%.1f",
                                                        o.urgentCompletedMsMax() / 1000.0),
                                        o.bulkCompleted(),
                                        o.seconds())));
        return new FleetReport(j, md.toString(), null, 0);
    }

    // ------------------------------------------------------------------ put quota

    static FleetReport putQuota(Args a, Run run, PutSampler sampler, double quota) {
        List<long[]> s;
        synchronized (sampler) {
            s = new ArrayList<>(sampler.samples);
        }
        long total = s.isEmpty() ? 0 : s.get(s.size() - 1)[1] - s.get(0)[1];
        long throttled = s.isEmpty() ? 0 : s.get(s.size() - 1)[2] - s.get(0)[2];
        // The steady part: from 5 % to 95 % of the puts, leaving out start-up and the tail.
        long[] from = null;
        long[] to = null;
        long base = s.isEmpty() ? 0 : s.get(0)[1];
        for (long[] x : s) {
            if (from == null && x[1] - base >= total * 0.05) {
                from = x;
            }
            if (to == null && x[1] - base >= total * 0.95) {
                to = x;
            }
        }
        double rate =
                from == null || to == null || to[0] == from[0]
                        ? 0
                        : (to[1] - from[1]) * 1000.0 / (to[0] - from[0]);
        int completed = 0;
        for (ReplicationResult r : run.results().values()) {
            completed += r.getStatus() == ResultStatus.COMPLETED ? 1 : 0;
        }
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("scenario", "put-quota");
        j.put("copies", a.copies);
        j.put("requests", a.copies);
        j.put("blocksPerCopy", a.blocks);
        j.put("parallelism", a.parallelism);
        j.put("putQuotaPerSecond", quota);
        j.put("completed", completed);
        j.put("puts", total);
        j.put("putsPerSecondSteady", round(rate));
        j.put("shareOfQuota", round(rate / quota));
        j.put("throttledAnswers", throttled);
        j.put("throttledShare", total == 0 ? 0 : round4((double) throttled / total));
        // Puts per whole second since the first sample, to see ramp, dips and tail.
        List<Long> perSecond = new ArrayList<>();
        if (!s.isEmpty()) {
            long t0 = s.get(0)[0];
            long last = s.get(0)[1];
            long next = t0 + 1000;
            for (long[] x : s) {
                if (x[0] >= next) {
                    perSecond.add(x[1] - last);
                    last = x[1];
                    next += 1000;
                }
            }
        }
        j.put("putsPerSecond", perSecond);
        String md =
                String.format(
                        Locale.ROOT,
                        "| copies | copier subtasks | put quota /s | puts | steady puts/s |"
                                + " share of quota | throttled answers |%n"
                                + "| --- | --- | --- | --- | --- | --- | --- |%n"
                                + "| %d | %d | %.0f | %d | %.1f | **%.2f** | %d (%.2f %%) |%n",
                        a.copies,
                        a.parallelism,
                        quota,
                        total,
                        rate,
                        rate / quota,
                        throttled,
                        total == 0 ? 0 : 100.0 * throttled / total);
        return new FleetReport(j, md, null, 0);
    }

    // ------------------------------------------------------------------ helpers

    private static void putCheckpoints(Map<String, Object> j, Run run) {
        long maxBytes = 0;
        long maxMs = 0;
        List<Long> durations = new ArrayList<>();
        for (long[] c : run.checkpoints()) {
            maxBytes = Math.max(maxBytes, c[1]);
            maxMs = Math.max(maxMs, c[2]);
            durations.add(c[2]);
        }
        j.put("checkpoints", run.checkpoints().size());
        j.put("checkpointMaxBytes", maxBytes);
        j.put("checkpointMaxMs", maxMs);
        j.put("checkpointMedianMs", percentile(durations, 50));
    }

    /** Cumulative results against seconds since the first publish. */
    private static List<double[]> timeline(Run run) {
        List<Long> times = new ArrayList<>(run.receivedAtMillis().values());
        times.sort(Long::compare);
        List<double[]> points = new ArrayList<>();
        points.add(new double[] {0, 0});
        for (int i = 0; i < times.size(); i++) {
            points.add(new double[] {(times.get(i) - run.firstPublishMillis()) / 1000.0, i + 1});
        }
        return points;
    }

    static long percentile(List<Long> values, int p) {
        if (values.isEmpty()) {
            return 0;
        }
        List<Long> sorted = new ArrayList<>(values);
        sorted.sort(Long::compare);
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    private static double round4(double v) {
        return Math.round(v * 10_000) / 10_000.0;
    }
}
