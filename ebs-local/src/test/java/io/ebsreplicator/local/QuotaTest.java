package io.ebsreplicator.local;

import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.service.Quotas;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.retry.RetryMode;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.RequestThrottledException;
import software.amazon.awssdk.services.ebs.model.ServiceQuotaExceededException;
import software.amazon.awssdk.services.ec2.Ec2Client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Request-rate quotas (token buckets holding one second's worth) and the pending-snapshot limit,
 * with small numbers so that a handful of requests crosses them. Each test starts its own server so
 * that its buckets start full.
 */
class QuotaTest {

    private static final double HIGH = 10_000;

    /** get, getSnap, put, putSnap, listSnap, listChanged, start, complete, pending. */
    private static Quotas quotas(
            double put,
            double putSnap,
            double listSnap,
            double start,
            double complete,
            int pending) {
        return new Quotas(true, HIGH, HIGH, put, putSnap, listSnap, HIGH, start, complete, pending);
    }

    private static EbsLocalServer server(Quotas q) throws Exception {
        return EbsLocalServer.start(
                EbsLocalConfig.builder().sealDelay(Duration.ZERO).quotas(q).build());
    }

    /** Runs {@code call} up to {@code n} times in a row; returns the throttles it saw. */
    private static List<RequestThrottledException> burst(int n, Supplier<?> call) {
        List<RequestThrottledException> throttled = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            try {
                call.get();
            } catch (RequestThrottledException e) {
                throttled.add(e);
            }
        }
        return throttled;
    }

    @Test
    void startSnapshotBeyondItsRateIsAccountThrottledAndRefills() throws Exception {
        try (EbsLocalServer server = server(quotas(HIGH, HIGH, HIGH, 2, HIGH, 1000));
                EbsClient ebs = EbsClients.ebs(server, "us-east-1")) {
            List<RequestThrottledException> throttled =
                    burst(10, () -> EbsClients.start(ebs, 1, null));

            assertThat(throttled).isNotEmpty();
            assertThat(throttled.size()).isGreaterThanOrEqualTo(3);
            for (RequestThrottledException e : throttled) {
                assertThat(e.statusCode()).isEqualTo(400);
                assertThat(e.reasonAsString()).isEqualTo("ACCOUNT_THROTTLED");
            }
            assertThat(server.stats().errors("RequestThrottledException/ACCOUNT_THROTTLED"))
                    .isEqualTo(throttled.size());
            assertThat(server.stats().requests(Operation.START_SNAPSHOT)).isEqualTo(10);

            // After a second the bucket holds tokens again.
            Thread.sleep(1100);
            assertThat(EbsClients.start(ebs, 1, null).snapshotId()).startsWith("snap-");
        }
    }

    @Test
    void putsBeyondThePerSnapshotRateAreResourceLevelThrottled() throws Exception {
        try (EbsLocalServer server = server(quotas(HIGH, 2, HIGH, HIGH, HIGH, 1000));
                EbsClient ebs = EbsClients.ebs(server, "us-east-1")) {
            String a = EbsClients.start(ebs, 1, null).snapshotId();
            String b = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] data = EbsClients.block(5);

            int[] index = {0};
            List<RequestThrottledException> throttled =
                    burst(8, () -> EbsClients.put(ebs, a, index[0]++, data));
            assertThat(throttled).isNotEmpty();
            for (RequestThrottledException e : throttled) {
                assertThat(e.statusCode()).isEqualTo(400);
                assertThat(e.reasonAsString()).isEqualTo("RESOURCE_LEVEL_THROTTLE");
            }
            assertThat(server.stats().errors("RequestThrottledException/RESOURCE_LEVEL_THROTTLE"))
                    .isEqualTo(throttled.size());

            // Another snapshot has its own bucket and still accepts puts right now.
            assertThat(EbsClients.put(ebs, b, 0, data).checksum())
                    .isEqualTo(EbsClients.sha256(data));

            // After a second the first snapshot's bucket has refilled.
            Thread.sleep(1100);
            assertThat(EbsClients.put(ebs, a, 100, data).checksum())
                    .isEqualTo(EbsClients.sha256(data));
        }
    }

    @Test
    void listSnapshotBlocksBeyondItsRateIsThrottled() throws Exception {
        try (EbsLocalServer server = server(quotas(HIGH, HIGH, 2, HIGH, HIGH, 1000));
                EbsClient ebs = EbsClients.ebs(server, "us-east-1");
                Ec2Client ec2 = EbsClients.ec2(server, "us-east-1")) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] data = EbsClients.block(6);
            EbsClients.put(ebs, id, 0, data);
            EbsClients.complete(ebs, id, List.of(data));
            EbsClients.awaitCompleted(ec2, id);

            List<RequestThrottledException> throttled =
                    burst(8, () -> ebs.listSnapshotBlocks(r -> r.snapshotId(id)));
            assertThat(throttled).isNotEmpty();
            for (RequestThrottledException e : throttled) {
                assertThat(e.statusCode()).isEqualTo(400);
                assertThat(e.reasonAsString()).isEqualTo("ACCOUNT_THROTTLED");
            }
            assertThat(server.stats().errors("RequestThrottledException/ACCOUNT_THROTTLED"))
                    .isEqualTo(throttled.size());

            Thread.sleep(1100);
            assertThat(ebs.listSnapshotBlocks(r -> r.snapshotId(id)).blocks()).hasSize(1);
        }
    }

    @Test
    void pendingSnapshotLimitAndCompletingFreesASlot() throws Exception {
        try (EbsLocalServer server = server(quotas(HIGH, HIGH, HIGH, HIGH, HIGH, 3));
                EbsClient ebs = EbsClients.ebs(server, "us-east-1");
                Ec2Client ec2 = EbsClients.ec2(server, "us-east-1")) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                ids.add(EbsClients.start(ebs, 1, null).snapshotId());
            }
            ServiceQuotaExceededException e =
                    catchThrowableOfType(
                            ServiceQuotaExceededException.class,
                            () -> EbsClients.start(ebs, 1, null));
            assertThat(e).isNotNull();
            assertThat(e.statusCode()).isEqualTo(402);
            assertThat(e.reasonAsString()).isEqualTo("DEPENDENCY_SERVICE_QUOTA_EXCEEDED");
            assertThat(
                            server.stats()
                                    .errors(
                                            "ServiceQuotaExceededException/"
                                                    + "DEPENDENCY_SERVICE_QUOTA_EXCEEDED"))
                    .isEqualTo(1);

            // Completing one of them (it seals at once here) frees a slot.
            byte[] data = EbsClients.block(7);
            EbsClients.put(ebs, ids.get(0), 0, data);
            EbsClients.complete(ebs, ids.get(0), List.of(data));
            EbsClients.awaitCompleted(ec2, ids.get(0));

            String fourth = EbsClients.start(ebs, 1, null).snapshotId();
            assertThat(fourth).startsWith("snap-").isNotIn(ids);
            // ... and exactly one.
            assertThat(
                            catchThrowableOfType(
                                    ServiceQuotaExceededException.class,
                                    () -> EbsClients.start(ebs, 1, null)))
                    .isNotNull();
        }
    }

    @Test
    void sdkRetriesRideThroughThrottling() throws Exception {
        try (EbsLocalServer server = server(quotas(HIGH, HIGH, HIGH, 2, HIGH, 1000));
                // Retries left on, as an application would have them. RetryMode.LEGACY is the
                // SDK's default mode; it is named so that an AWS_RETRY_MODE in the environment
                // cannot change the test: 4 attempts, throttling backoff 250..500 ms, 500..1000
                // ms, 1..2 s, which always outlasts a 2-per-second bucket.
                EbsClient ebs =
                        EbsClient.builder()
                                .endpointOverride(server.endpoint())
                                .region(Region.US_EAST_1)
                                .credentialsProvider(EbsClients.credentials(server.accessKey()))
                                .overrideConfiguration(o -> o.retryStrategy(RetryMode.LEGACY))
                                .build()) {
            int burst = 6;
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < burst; i++) {
                ids.add(EbsClients.start(ebs, 1, null).snapshotId());
            }
            assertThat(new HashSet<>(ids)).hasSize(burst);
            long throttles = server.stats().errors("RequestThrottledException/ACCOUNT_THROTTLED");
            assertThat(throttles).as("the burst was throttled on the wire").isPositive();
            assertThat(server.stats().requests(Operation.START_SNAPSHOT))
                    .isEqualTo(burst + throttles);
        }
    }
}
