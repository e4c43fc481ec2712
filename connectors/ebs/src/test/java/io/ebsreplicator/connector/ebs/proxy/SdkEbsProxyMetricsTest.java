package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.metrics.CollectingMetricGroup;
import io.ebsreplicator.connector.ebs.metrics.EbsMetricConstants;
import io.ebsreplicator.connector.ebs.metrics.EbsProxyMetrics;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.fault.FaultInjector.Disruption;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The proxy call metrics of {@link SdkEbsProxy} wired through {@link EbsProxyFactory#create(String,
 * EbsProxyListener)} to {@link EbsProxyMetrics}, with the real SDK over HTTP against an in-process
 * ebs-local that injects throttling. The counters must agree with what the server saw. Runs in the
 * test JVM; the server is this class's own, so its statistics are this test's alone.
 */
class SdkEbsProxyMetricsTest {

    private static final String REGION = "us-east-1";
    private static final String API = "ebs.region." + REGION + ".api.";
    private static final int BLOCKS = 40;

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder().configure(b -> b.sealDelay(Duration.ZERO)).build();

    @Test
    void throttledPutsShowAsThrottlesRetriesAndErrorsAndRequestsMatchTheServer() throws Exception {
        CollectingMetricGroup root = new CollectingMetricGroup();
        EbsProxyFactory factory =
                new SdkEbsProxyFactory(
                        EbsProxyConfig.builder()
                                .endpoint(REGION, EBS.endpoint().toString())
                                .credentials(
                                        EBS.accessKey().accessKeyId(),
                                        EBS.accessKey().secretAccessKey())
                                .attemptTimeout(Duration.ofSeconds(5))
                                .totalTimeout(Duration.ofSeconds(30))
                                .baseBackoff(Duration.ofMillis(10))
                                .maxBackoff(Duration.ofMillis(200))
                                .build());
        try (EbsProxy proxy =
                factory.create(
                        REGION,
                        new EbsProxyMetrics(root.addGroup(EbsMetricConstants.GROUP), REGION))) {
            String id =
                    proxy.startSnapshot(
                                    new StartSnapshotSpec(
                                            1,
                                            null,
                                            UUID.randomUUID().toString(),
                                            null,
                                            Map.of(),
                                            null,
                                            null,
                                            30))
                            .snapshotId();
            long putsBefore = EBS.server().stats().requests(Operation.PUT_SNAPSHOT_BLOCK);
            long throttledBefore = EBS.server().stats().faults(Disruption.THROTTLE);
            EBS.server()
                    .setFaults(
                            FaultProfile.builder()
                                    .throttleRate(0.3)
                                    .operations(Operation.PUT_SNAPSHOT_BLOCK)
                                    .seed(11)
                                    .build());
            try {
                List<CompletableFuture<Void>> puts = new ArrayList<>();
                for (int i = 0; i < BLOCKS; i++) {
                    byte[] data = SdkEbsProxyTest.block(i);
                    puts.add(proxy.putBlock(id, i, data, SdkEbsProxyTest.sha256(data)));
                }
                CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new))
                        .get(60, TimeUnit.SECONDS);
            } finally {
                EBS.server().setFaults(FaultProfile.none());
            }
            long served = EBS.server().stats().requests(Operation.PUT_SNAPSHOT_BLOCK) - putsBefore;
            long throttled = EBS.server().stats().faults(Disruption.THROTTLE) - throttledBefore;

            assertThat(throttled).as("the fault profile throttled some puts").isPositive();
            assertThat(root.count(API + "PutSnapshotBlock.throttles")).isEqualTo(throttled);
            // Every throttled put was retried (all succeeded within the total timeout).
            assertThat(root.count(API + "PutSnapshotBlock.retries")).isEqualTo(throttled);
            assertThat(root.count(API + "errors.ACCOUNT_THROTTLED")).isEqualTo(throttled);
            assertThat(root.count(API + "PutSnapshotBlock.requests"))
                    .isEqualTo(BLOCKS + throttled)
                    .isEqualTo(served);
            assertThat(root.count(API + "StartSnapshot.requests")).isEqualTo(1);
            assertThat(root.count(API + "StartSnapshot.throttles")).isZero();
            assertThat(root.count(API + "GetSnapshotBlock.requests")).isZero();
        }
    }
}
