package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.metrics.EbsCompletionMetrics;
import io.ebsreplicator.connector.ebs.proxy.DescribeBatcher;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;

import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The proxy and the DescribeSnapshots batcher of each target region of one completion subtask,
 * built on first use (in the subtask, never serialized) and closed with it. Used on the task
 * thread; the batchers also run on the proxies' threads as calls answer.
 *
 * <p>Every DescribeSnapshots of completion goes through the region's {@link DescribeBatcher}: a
 * subtask with hundreds of targets sealing at once sends one call per round trip per region, with
 * every id asked meanwhile, not one call per target.
 */
final class RegionClients implements AutoCloseable {

    private final EbsProxyFactory factory;
    private final EbsCompletionMetrics metrics;
    private final Map<String, EbsProxy> proxies = new HashMap<>();
    private final Map<String, DescribeBatcher> describers = new HashMap<>();

    RegionClients(EbsProxyFactory factory, EbsCompletionMetrics metrics) {
        this.factory = factory;
        this.metrics = metrics;
    }

    /** The proxy of {@code region} as {@code roleArn} ({@code null}: the job's own). */
    EbsProxy proxy(String region, String roleArn) {
        return proxies.computeIfAbsent(
                EbsProxyFactory.key(region, roleArn),
                k -> factory.create(region, roleArn, metrics.proxyListener(region)));
    }

    /**
     * {@code snapshotId} in {@code region} as DescribeSnapshots sees it as {@code roleArn} ({@code
     * null} when it does not exist), batched with the region's other questions.
     */
    CompletableFuture<SnapshotDescription> describe(
            String region, String roleArn, String snapshotId) {
        return describers
                .computeIfAbsent(
                        EbsProxyFactory.key(region, roleArn),
                        k -> new DescribeBatcher(proxy(region, roleArn)))
                .describe(snapshotId);
    }

    @Override
    public void close() {
        proxies.values().forEach(EbsProxy::close);
        proxies.clear();
        describers.clear();
    }
}
