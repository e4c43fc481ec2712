package io.ebsreplicator.connector.ebs.metrics;

import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link EbsCompletionMetrics}: counters and the subtask-level gauges over active targets, on a
 * clock the test moves. Runs in the test JVM with a collecting metric group.
 */
class EbsCompletionMetricsTest {

    private final AtomicLong now = new AtomicLong(1_000_000);
    private final CollectingMetricGroup root = new CollectingMetricGroup();
    private final EbsCompletionMetrics metrics = new EbsCompletionMetrics(root, now::get);

    @Test
    void gaugesFollowTheActiveTargetsAndTheOldestRequest() {
        assertThat(root.value("ebs.activeTargets")).isEqualTo(0);
        assertThat(root.value("ebs.oldestRequestLagMs")).isEqualTo(0L);

        metrics.active("r1/us-west-2", "r1", "us-west-2", 990_000);
        metrics.active("r1/eu-west-1", "r1", "eu-west-1", 990_000);
        metrics.active("r2/us-west-2", "r2", "us-west-2", 995_000);
        metrics.active("r2/us-west-2", "r2", "us-west-2", 995_000); // again: no change
        metrics.blockReceived("r1/us-west-2");
        metrics.blockReceived("r1/us-west-2");
        metrics.blockReceived("r2/us-west-2");
        metrics.blockReceived("unknown/us-west-2"); // not active: ignored

        assertThat(root.value("ebs.activeTargets")).isEqualTo(3);
        assertThat(root.value("ebs.activeTargetBlocksReceived")).isEqualTo(3L);
        assertThat(root.value("ebs.oldestRequestLagMs")).isEqualTo(10_000L);

        now.addAndGet(5_000);
        assertThat(root.value("ebs.oldestRequestLagMs")).isEqualTo(15_000L);

        metrics.done("r1/us-west-2", true);
        metrics.done("r1/eu-west-1", false);
        assertThat(root.value("ebs.activeTargets")).isEqualTo(1);
        assertThat(root.value("ebs.activeTargetBlocksReceived")).isEqualTo(1L);
        assertThat(root.value("ebs.oldestRequestLagMs")).isEqualTo(10_000L);
        assertThat(root.count("ebs.targetsCompleted")).isEqualTo(1);
        assertThat(root.count("ebs.targetsFailed")).isEqualTo(1);

        metrics.done("r2/us-west-2", true);
        assertThat(root.value("ebs.activeTargets")).isEqualTo(0);
        assertThat(root.value("ebs.oldestRequestLagMs")).isEqualTo(0L);
    }

    @Test
    void aReplacedTargetStartsCountingItsBlocksAgain() {
        metrics.active("r1/us-west-2", "r1", "us-west-2", now.get());
        metrics.blockReceived("r1/us-west-2");
        metrics.blockReceived("r1/us-west-2");
        metrics.replaced("r1/us-west-2");
        metrics.blockReceived("r1/us-west-2");

        assertThat(root.count("ebs.targetsReplaced")).isEqualTo(1);
        assertThat(root.value("ebs.activeTargetBlocksReceived")).isEqualTo(1L);
        assertThat(root.value("ebs.activeTargets")).isEqualTo(1);
    }

    @Test
    void verifiedBlocksAndProxyCallsAreCounted() {
        metrics.blockVerified();
        metrics.blockVerified();
        metrics.proxyListener("us-west-2").onRequest("CompleteSnapshot");
        metrics.proxyListener("us-west-2").onRequest("CompleteSnapshot");

        assertThat(root.count("ebs.blocksVerified")).isEqualTo(2);
        assertThat(root.count("ebs.region.us-west-2.api.CompleteSnapshot.requests")).isEqualTo(2);
    }

    @Test
    void aReportedTargetThatWasNotTrackedStillCounts() {
        // After a restore a sealing target may finish before any event re-registers it.
        metrics.done("r9/us-west-2", true);
        assertThat(root.count("ebs.targetsCompleted")).isEqualTo(1);
        assertThat(root.value("ebs.activeTargets")).isEqualTo(0);
    }
}
