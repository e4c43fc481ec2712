package io.ebsreplicator.job.cluster;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The chaos soak ({@link ChaosSoak}) in {@code mvn verify}: the short run by default (about three
 * minutes: the Prometheus metrics and the Grafana dashboard checked during a first copy, one
 * TaskManager kill, one JobManager failover timed from the kill to the first block the standby's
 * recovered job writes, faults on), or {@code -Debs.soak.minutes=M} for a real soak ({@code
 * benchmarks/soak.sh}). Runs after {@code package} (the failsafe plugin). Fails when any end-of-run
 * check fails; the report and chart stay in {@code target/soak-cluster-e2e}, and are copied to
 * {@code ebs.soak.out} when it is set.
 */
class SoakClusterE2E {

    @Test
    void survivesKillsAndFaultsWithEveryCheckPassing() throws Exception {
        Path repo = Path.of(System.getProperty("ebs.e2e.repoRoot", "..")).toAbsolutePath();
        Path jobJar =
                Path.of(System.getProperty("ebs.e2e.jobJar", "target/ebs-replicator-job.jar"))
                        .toAbsolutePath();
        assertThat(jobJar).as("the packaged cluster job jar").exists();
        Path work =
                Path.of(System.getProperty("ebs.e2e.workDir", "target/cluster-e2e"))
                        .toAbsolutePath()
                        .resolveSibling("soak-cluster-e2e");
        deleteRecursively(work);
        String minutes = System.getProperty("ebs.soak.minutes", "");
        ChaosSoak.Config config =
                minutes.isBlank()
                        ? ChaosSoak.Config.shortRun(repo, jobJar, work)
                        : ChaosSoak.Config.minutes(repo, jobJar, work, Integer.parseInt(minutes));
        ChaosSoak.Report report = new ChaosSoak(config).run();
        String md = SoakReportWriter.markdown(report);
        System.out.println(md);
        ChaosSoak.log("report and chart in %s", work);
        // Only the report and the chart leave the work directory (its data is large).
        String out = System.getProperty("ebs.soak.out", "");
        if (!out.isBlank()) {
            Path dir = Files.createDirectories(Path.of(out).toAbsolutePath());
            for (String f : List.of("soak-report.md", "soak-chart.png")) {
                Files.copy(work.resolve(f), dir.resolve(f), StandardCopyOption.REPLACE_EXISTING);
            }
            ChaosSoak.log("copied to %s", dir);
        }
        assertThat(report.events()).as("disruptions").isNotEmpty();
        assertThat(report.failed()).as("failed checks; the report:%n%s", md).isEmpty();
    }

    private static void deleteRecursively(Path p) throws Exception {
        if (Files.exists(p)) {
            try (var s = Files.walk(p)) {
                for (Path f : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }
}
