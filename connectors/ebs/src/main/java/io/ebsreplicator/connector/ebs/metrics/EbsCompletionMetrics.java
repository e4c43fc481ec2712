package io.ebsreplicator.connector.ebs.metrics;

import io.ebsreplicator.connector.ebs.proxy.EbsProxyListener;

import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The metrics of one completion subtask: counters of targets completed, failed and replaced and of
 * blocks verified, and subtask-level gauges over the targets still in progress ({@value
 * EbsMetricConstants#ACTIVE_TARGETS}, {@value EbsMetricConstants#BLOCKS_RECEIVED_ACTIVE}, {@value
 * EbsMetricConstants#OLDEST_REQUEST_LAG_MS}), plus one progress log line per active target at most
 * every {@link #PROGRESS_LOG_INTERVAL}. Per-request gauges are avoided on purpose: see {@link
 * EbsMetricConstants}.
 *
 * <p>Updated on the completion task thread, read by metric reporters, hence the concurrent map. The
 * tracking is not checkpointed (it is derived): after a restore a target counts as active again
 * from its next event or timer, and its block count restarts from what arrives after the restore.
 */
public final class EbsCompletionMetrics {

    private static final Logger LOG = LoggerFactory.getLogger(EbsCompletionMetrics.class);

    /**
     * A progress line per active target at most this often: often enough to follow a large copy in
     * the logs, rare enough that thousands of targets do not flood them.
     */
    public static final Duration PROGRESS_LOG_INTERVAL = Duration.ofSeconds(30);

    private final MetricGroup group;
    private final LongSupplier clock;
    private final Counter completed;
    private final Counter failed;
    private final Counter replaced;
    private final Counter verified;
    private final Map<String, Progress> active = new ConcurrentHashMap<>();
    private final Map<String, EbsProxyMetrics> proxies = new ConcurrentHashMap<>();

    /** Where one target in progress stands. */
    private static final class Progress {
        final String requestId;
        final String targetRegion;
        final long requestStartMillis;
        volatile long blocks;
        long lastLogMillis;

        Progress(String requestId, String targetRegion, long requestStartMillis, long now) {
            this.requestId = requestId;
            this.targetRegion = targetRegion;
            this.requestStartMillis = requestStartMillis;
            this.lastLogMillis = now;
        }
    }

    /** Registers the metrics under {@code operatorGroup}; the lag is measured on the wall clock. */
    public EbsCompletionMetrics(MetricGroup operatorGroup) {
        this(operatorGroup, System::currentTimeMillis);
    }

    @VisibleForTesting
    public EbsCompletionMetrics(MetricGroup operatorGroup, LongSupplier clock) {
        this.group = operatorGroup.addGroup(EbsMetricConstants.GROUP);
        this.clock = clock;
        this.completed = group.counter(EbsMetricConstants.TARGETS_COMPLETED);
        this.failed = group.counter(EbsMetricConstants.TARGETS_FAILED);
        this.replaced = group.counter(EbsMetricConstants.TARGETS_REPLACED);
        this.verified = group.counter(EbsMetricConstants.BLOCKS_VERIFIED);
        group.gauge(EbsMetricConstants.ACTIVE_TARGETS, this::activeTargets);
        group.gauge(EbsMetricConstants.BLOCKS_RECEIVED_ACTIVE, this::activeBlocksReceived);
        group.gauge(EbsMetricConstants.OLDEST_REQUEST_LAG_MS, this::oldestRequestLagMs);
    }

    /** Target {@code key} of {@code requestId} is in progress here; idempotent. */
    public void active(String key, String requestId, String targetRegion, long requestStartMillis) {
        active.computeIfAbsent(
                key,
                k -> new Progress(requestId, targetRegion, requestStartMillis, clock.getAsLong()));
    }

    /** A new block of an active target arrived. */
    public void blockReceived(String key) {
        Progress p = active.get(key);
        if (p == null) {
            return;
        }
        p.blocks++;
        long now = clock.getAsLong();
        if (now - p.lastLogMillis >= PROGRESS_LOG_INTERVAL.toMillis()) {
            p.lastLogMillis = now;
            LOG.info(
                    "Request {} to {}: {} blocks received, {} since the request arrived",
                    p.requestId,
                    p.targetRegion,
                    p.blocks,
                    Duration.ofMillis(Math.max(0, now - p.requestStartMillis)));
        }
    }

    /** The target of {@code key} was cancelled by EBS and a new generation replaces it. */
    public void replaced(String key) {
        replaced.inc();
        Progress p = active.get(key);
        if (p != null) {
            p.blocks = 0; // the blocks are copied again to the replacement
        }
    }

    /** The target of {@code key} was reported; it is no longer active. */
    public void done(String key, boolean succeeded) {
        (succeeded ? completed : failed).inc();
        active.remove(key);
    }

    /** One block of a target read back and found equal to the source. */
    public void blockVerified() {
        verified.inc();
    }

    /** The listener for the proxy of {@code region}; one per region for this subtask. */
    public EbsProxyListener proxyListener(String region) {
        return proxies.computeIfAbsent(region, r -> new EbsProxyMetrics(group, r));
    }

    @VisibleForTesting
    int activeTargets() {
        return active.size();
    }

    @VisibleForTesting
    long activeBlocksReceived() {
        long sum = 0;
        for (Progress p : active.values()) {
            sum += p.blocks;
        }
        return sum;
    }

    @VisibleForTesting
    long oldestRequestLagMs() {
        long oldest = Long.MAX_VALUE;
        for (Progress p : active.values()) {
            oldest = Math.min(oldest, p.requestStartMillis);
        }
        return oldest == Long.MAX_VALUE ? 0 : Math.max(0, clock.getAsLong() - oldest);
    }
}
