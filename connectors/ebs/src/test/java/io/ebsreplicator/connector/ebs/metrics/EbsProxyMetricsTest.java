package io.ebsreplicator.connector.ebs.metrics;

import io.ebsreplicator.connector.ebs.proxy.EbsOperation;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link EbsProxyMetrics}: what each listener call counts, under which name, and that error names
 * stay in a bounded set. Runs in the test JVM with a collecting metric group.
 */
class EbsProxyMetricsTest {

    private static final String API = "ebs.region.us-west-2.api.";

    private final CollectingMetricGroup root = new CollectingMetricGroup();
    private final EbsProxyMetrics metrics =
            new EbsProxyMetrics(root.addGroup(EbsMetricConstants.GROUP), "us-west-2");

    @Test
    void everyOperationIsRegisteredUpFrontAtZero() {
        for (EbsOperation op : EbsOperation.values()) {
            for (String counter :
                    List.of(
                            EbsMetricConstants.REQUESTS,
                            EbsMetricConstants.RETRIES,
                            EbsMetricConstants.THROTTLES)) {
                assertThat(root.count(API + op.apiName() + "." + counter)).isZero();
            }
        }
    }

    @Test
    void requestsRetriesAndThrottlesCountPerOperation() {
        metrics.onRequest("PutSnapshotBlock");
        metrics.onFailure("PutSnapshotBlock", "RequestThrottledException", "ACCOUNT_THROTTLED");
        metrics.onThrottle("PutSnapshotBlock");
        metrics.onRetry("PutSnapshotBlock", "RequestThrottledException", "ACCOUNT_THROTTLED");
        metrics.onRequest("PutSnapshotBlock");
        metrics.onRequest("GetSnapshotBlock");

        assertThat(root.count(API + "PutSnapshotBlock.requests")).isEqualTo(2);
        assertThat(root.count(API + "PutSnapshotBlock.retries")).isEqualTo(1);
        assertThat(root.count(API + "PutSnapshotBlock.throttles")).isEqualTo(1);
        assertThat(root.count(API + "GetSnapshotBlock.requests")).isEqualTo(1);
        assertThat(root.count(API + "GetSnapshotBlock.retries")).isZero();
        assertThat(root.count(API + "errors.ACCOUNT_THROTTLED")).isEqualTo(1);
    }

    @Test
    void errorsAreCountedByKnownReasonThenKnownCodeElseOther() {
        metrics.onFailure("GetSnapshotBlock", "ValidationException", "INVALID_BLOCK_TOKEN");
        metrics.onFailure("GetSnapshotBlock", "ValidationException", "INVALID_BLOCK_TOKEN");
        metrics.onFailure("PutSnapshotBlock", "InternalServerException", null);
        metrics.onFailure("DescribeSnapshots", "InvalidSnapshot.NotFound", null);
        metrics.onFailure("PutSnapshotBlock", "ApiCallAttemptTimeoutException", null);
        metrics.onFailure("PutSnapshotBlock", "SomethingNewException", "A_NEW_REASON");
        metrics.onFailure("PutSnapshotBlock", "ServiceUnavailable", null);
        metrics.onFailure("PutSnapshotBlock", null, null);

        assertThat(root.count(API + "errors.INVALID_BLOCK_TOKEN")).isEqualTo(2);
        assertThat(root.count(API + "errors.InternalServerException")).isEqualTo(1);
        assertThat(root.count(API + "errors.InvalidSnapshot_NotFound")).isEqualTo(1);
        assertThat(root.count(API + "errors.ApiCallAttemptTimeoutException")).isEqualTo(1);
        assertThat(root.count(API + "errors.OTHER")).isEqualTo(3);
        List<String> errorNames = new ArrayList<>();
        for (String n : root.names()) {
            if (n.startsWith(API + "errors.")) {
                errorNames.add(n.substring((API + "errors.").length()));
            }
        }
        assertThat(errorNames)
                .containsExactlyInAnyOrder(
                        "INVALID_BLOCK_TOKEN",
                        "InternalServerException",
                        "InvalidSnapshot_NotFound",
                        "ApiCallAttemptTimeoutException",
                        "OTHER");
    }

    @Test
    void errorNamesAreOneScopeLevel() {
        assertThat(EbsProxyMetrics.errorName("InvalidSnapshot.NotFound", null))
                .isEqualTo("InvalidSnapshot_NotFound");
        assertThat(EbsProxyMetrics.errorName("ThrottlingException", null))
                .isEqualTo("ThrottlingException");
        assertThat(EbsProxyMetrics.errorName("ResourceNotFoundException", "SNAPSHOT_NOT_FOUND"))
                .isEqualTo("SNAPSHOT_NOT_FOUND");
        assertThat(EbsProxyMetrics.errorName("ValidationException", "NOT_A_REASON"))
                .isEqualTo("ValidationException");
    }

    @Test
    void twoRegionsKeepSeparateCounters() {
        EbsProxyMetrics east =
                new EbsProxyMetrics(root.addGroup(EbsMetricConstants.GROUP), "us-east-1");
        east.onRequest("ListSnapshotBlocks");
        metrics.onRequest("ListSnapshotBlocks");
        metrics.onRequest("ListSnapshotBlocks");

        assertThat(root.count("ebs.region.us-east-1.api.ListSnapshotBlocks.requests")).isEqualTo(1);
        assertThat(root.count(API + "ListSnapshotBlocks.requests")).isEqualTo(2);
    }

    @Test
    void countersAreExactUnderConcurrentCallers() throws Exception {
        int threads = 4;
        int each = 10_000;
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread w =
                    new Thread(
                            () -> {
                                for (int i = 0; i < each; i++) {
                                    metrics.onRequest("PutSnapshotBlock");
                                }
                            });
            workers.add(w);
            w.start();
        }
        for (Thread w : workers) {
            w.join();
        }
        assertThat(root.count(API + "PutSnapshotBlock.requests")).isEqualTo((long) threads * each);
    }
}
