package io.ebsreplicator.connector.ebs.metrics;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.proxy.EbsOperation;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyListener;

import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.ThreadSafeSimpleCounter;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts what one region's proxy reports in Flink metrics: per operation {@code
 * region.<region>.api.<Operation>.requests|retries|throttles}, and failed attempts by error in
 * {@code region.<region>.api.errors.<name>} (see {@link EbsMetricConstants#ERRORS_GROUP}). Built in
 * an operator's {@code open} (or a reader's or enumerator's start) from its {@code ebs} group, one
 * per region and operator instance, and handed to {@code EbsProxyFactory#create(region, listener)}.
 *
 * <p>Called on whichever thread runs an attempt (task, fetcher, SDK completion and proxy scheduler
 * threads at once), so the counters are thread-safe. The counters of every operation are registered
 * up front, so a dashboard shows zeros rather than missing series; error counters appear on the
 * first failure of their kind, from a bounded set of names.
 */
public final class EbsProxyMetrics implements EbsProxyListener {

    private final MetricGroup api;
    private final Map<String, OperationCounters> operations = new ConcurrentHashMap<>();
    private final Map<String, Counter> errors = new ConcurrentHashMap<>();

    /** The counters of one operation. */
    private record OperationCounters(Counter requests, Counter retries, Counter throttles) {}

    /**
     * Metrics of the proxy of {@code region}, registered under {@code ebsGroup} (the operator's
     * {@value EbsMetricConstants#GROUP} group).
     */
    public EbsProxyMetrics(MetricGroup ebsGroup, String region) {
        this.api =
                ebsGroup.addGroup(EbsMetricConstants.REGION_GROUP, region)
                        .addGroup(EbsMetricConstants.API_GROUP);
        for (EbsOperation op : EbsOperation.values()) {
            operation(op.apiName());
        }
    }

    @Override
    public void onRequest(String operation) {
        operation(operation).requests().inc();
    }

    @Override
    public void onRetry(String operation, String errorCode, String reason) {
        operation(operation).retries().inc();
    }

    @Override
    public void onThrottle(String operation) {
        operation(operation).throttles().inc();
    }

    @Override
    public void onFailure(String operation, String errorCode, String reason) {
        errors.computeIfAbsent(
                        errorName(errorCode, reason),
                        name ->
                                api.addGroup(EbsMetricConstants.ERRORS_GROUP)
                                        .counter(name, new ThreadSafeSimpleCounter()))
                .inc();
    }

    private OperationCounters operation(String operation) {
        // Operation names come from EbsOperation: a fixed set, registered in the constructor.
        return operations.computeIfAbsent(
                operation,
                name -> {
                    MetricGroup g = api.addGroup(name);
                    return new OperationCounters(
                            g.counter(EbsMetricConstants.REQUESTS, new ThreadSafeSimpleCounter()),
                            g.counter(EbsMetricConstants.RETRIES, new ThreadSafeSimpleCounter()),
                            g.counter(EbsMetricConstants.THROTTLES, new ThreadSafeSimpleCounter()));
                });
    }

    /**
     * The metric name of a failure: its reason when EBS modelled a known one, else its code when
     * the classifier knows it, else {@value EbsMetricConstants#OTHER_ERROR}. Dots (EC2 codes such
     * as {@code InvalidSnapshot.NotFound}) become underscores, so that a name is one scope level.
     */
    @VisibleForTesting
    static String errorName(String errorCode, String reason) {
        if (EbsErrorClassifier.isKnownReason(reason)) {
            return reason;
        }
        if (EbsErrorClassifier.isKnownErrorCode(errorCode)) {
            return errorCode.replace('.', '_');
        }
        return EbsMetricConstants.OTHER_ERROR;
    }
}
