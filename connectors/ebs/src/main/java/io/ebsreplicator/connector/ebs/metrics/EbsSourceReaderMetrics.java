package io.ebsreplicator.connector.ebs.metrics;

import io.ebsreplicator.connector.ebs.proxy.EbsProxyListener;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.ThreadSafeSimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The metrics of one source reader (one per source subtask, on a TaskManager): {@value
 * EbsMetricConstants#BLOCKS_LISTED} and {@value EbsMetricConstants#SPLITS_FINISHED}, counted on the
 * task thread, {@value EbsMetricConstants#LIST_PAGES}, {@value EbsMetricConstants#COPIES_DELETED}
 * and {@value EbsMetricConstants#COPY_DELETIONS_FAILED}, counted on the fetcher thread, and the
 * proxy call metrics of every region the reader lists in. Built once in {@code createReader} and
 * shared by the reader and its split reader.
 */
public final class EbsSourceReaderMetrics {

    private final MetricGroup group;
    private final Counter blocksListed;
    private final Counter listPages;
    private final Counter splitsFinished;
    private final Counter copiesDeleted;
    private final Counter copyDeletionsFailed;
    private final Map<String, EbsProxyMetrics> proxies = new ConcurrentHashMap<>();

    /** Registers the reader's metrics under {@code readerGroup} (its source reader group). */
    public EbsSourceReaderMetrics(MetricGroup readerGroup) {
        this.group = readerGroup.addGroup(EbsMetricConstants.GROUP);
        // Writers are the task thread or the fetcher thread; readers the metric reporters.
        this.blocksListed =
                group.counter(EbsMetricConstants.BLOCKS_LISTED, new ThreadSafeSimpleCounter());
        this.listPages =
                group.counter(EbsMetricConstants.LIST_PAGES, new ThreadSafeSimpleCounter());
        this.splitsFinished =
                group.counter(EbsMetricConstants.SPLITS_FINISHED, new ThreadSafeSimpleCounter());
        this.copiesDeleted =
                group.counter(EbsMetricConstants.COPIES_DELETED, new ThreadSafeSimpleCounter());
        this.copyDeletionsFailed =
                group.counter(
                        EbsMetricConstants.COPY_DELETIONS_FAILED, new ThreadSafeSimpleCounter());
    }

    /** Metrics registered nowhere, for readers built without a metric group (tests). */
    public static EbsSourceReaderMetrics unregistered() {
        return new EbsSourceReaderMetrics(new UnregisteredMetricsGroup());
    }

    /** One block task emitted. */
    public void blockListed() {
        blocksListed.inc();
    }

    /** One List page received. */
    public void listPage() {
        listPages.inc();
    }

    /** Splits finished listing. */
    public void splitsFinished(int n) {
        splitsFinished.inc(n);
    }

    /** A copy deleted by retention, or found already gone. */
    public void copyDeleted() {
        copiesDeleted.inc();
    }

    /** A deletion by retention that failed. */
    public void copyDeletionFailed() {
        copyDeletionsFailed.inc();
    }

    /** The listener for the proxy of {@code region}; one per region for this reader. */
    public EbsProxyListener proxyListener(String region) {
        return proxies.computeIfAbsent(region, r -> new EbsProxyMetrics(group, r));
    }
}
