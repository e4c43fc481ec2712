package io.ebsreplicator.local;

import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.fault.FaultInjector.Disruption;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.ResponseBytes;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkServiceException;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ConcurrentLimitExceededException;
import software.amazon.awssdk.services.ebs.model.GetSnapshotBlockResponse;
import software.amazon.awssdk.services.ebs.model.InternalServerException;
import software.amazon.awssdk.services.ebs.model.RequestThrottledException;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundException;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.services.ec2.Ec2Client;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Each fault of the profile, observed through the unmodified SDK. */
class FaultProfileTest {

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder().configure(b -> b.sealDelay(Duration.ZERO)).build();

    static final String README_EXAMPLE =
            """
            {
              "seed": 7,
              "latencyMs": 20, "jitterMs": 5,
              "throttleRate": 0.02, "throttleReason": "ACCOUNT_THROTTLED",
              "serverErrorRate": 0.01,
              "resetRate": 0.005,
              "stallRate": 0.001, "stallMs": 30000,
              "corruptReadRate": 0.01,
              "readFailureRate": 0.01,
              "concurrentLimitRate": 0.0,
              "notFoundAfterStartSeconds": 5,
              "emptyPageRate": 0.2,
              "operations": ["PutSnapshotBlock", "GetSnapshotBlock", "ListSnapshotBlocks"]
            }
            """;

    static EbsClient ebs;
    static Ec2Client ec2;

    /** A completed snapshot with blocks 0 and 1. */
    static String done;

    static byte[] block0;
    static String token0;

    @BeforeAll
    static void setUp() throws Exception {
        ebs = EbsClients.ebs(EBS.server(), "us-east-1");
        ec2 = EbsClients.ec2(EBS.server(), "us-east-1");
        block0 = EbsClients.block(1);
        byte[] block1 = EbsClients.block(2);
        done = EbsClients.start(ebs, 1, null).snapshotId();
        EbsClients.put(ebs, done, 0, block0);
        EbsClients.put(ebs, done, 1, block1);
        EbsClients.complete(ebs, done, List.of(block0, block1));
        EbsClients.awaitCompleted(ec2, done);
        token0 = ebs.listSnapshotBlocks(r -> r.snapshotId(done)).blocks().get(0).blockToken();
    }

    @AfterAll
    static void tearDown() {
        ebs.close();
        ec2.close();
    }

    private static void faults(FaultProfile.Builder b) {
        EBS.setFaults(b.build());
    }

    private static long timeListMillis() {
        long t0 = System.nanoTime();
        ebs.listSnapshotBlocks(r -> r.snapshotId(done));
        return (System.nanoTime() - t0) / 1_000_000;
    }

    @Test
    void latencyDelaysEveryRequest() {
        timeListMillis(); // warm the connection
        long baseline = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) {
            baseline = Math.min(baseline, timeListMillis());
        }
        faults(FaultProfile.builder().latency(200, 0));
        long delayed = timeListMillis();
        assertThat(delayed).isGreaterThanOrEqualTo(180);
        assertThat(delayed - baseline).isGreaterThanOrEqualTo(150);
    }

    @Test
    void throttleRateAnswersTheConfiguredReason() {
        for (String reason :
                List.of(
                        "ACCOUNT_THROTTLED",
                        "RESOURCE_LEVEL_THROTTLE",
                        "DEPENDENCY_REQUEST_THROTTLED")) {
            faults(FaultProfile.builder().throttleRate(1.0).throttleReason(reason));
            RequestThrottledException e =
                    catchThrowableOfType(
                            RequestThrottledException.class,
                            () -> ebs.listSnapshotBlocks(r -> r.snapshotId(done)));
            assertThat(e).as(reason).isNotNull();
            assertThat(e.statusCode()).isEqualTo(400);
            assertThat(e.reasonAsString()).isEqualTo(reason);
            assertThat(EBS.server().stats().errors("RequestThrottledException/" + reason))
                    .isPositive();
        }
        assertThat(EBS.server().stats().faults(Disruption.THROTTLE)).isGreaterThanOrEqualTo(3);
    }

    @Test
    void serverErrorRateAnswersInternalServerError() {
        faults(FaultProfile.builder().serverErrorRate(1.0));
        InternalServerException e =
                catchThrowableOfType(
                        InternalServerException.class, () -> EbsClients.start(ebs, 1, null));
        assertThat(e).isNotNull();
        assertThat(e.statusCode()).isEqualTo(500);
    }

    @Test
    void resetRateResetsTheConnection() {
        long before = EBS.server().stats().faults(Disruption.RESET);
        faults(FaultProfile.builder().resetRate(1.0));
        Throwable t = catchThrowable(() -> ebs.listSnapshotBlocks(r -> r.snapshotId(done)));
        assertThat(t).isInstanceOf(SdkClientException.class);
        assertThat(t).isNotInstanceOf(SdkServiceException.class);
        assertThat(EBS.server().stats().faults(Disruption.RESET)).isGreaterThan(before);
    }

    @Test
    void stallRateOutlastsTheAttemptTimeout() {
        faults(FaultProfile.builder().stall(1.0, 3000));
        try (EbsClient impatient =
                EbsClient.builder()
                        .endpointOverride(EBS.endpoint())
                        .region(Region.US_EAST_1)
                        .credentialsProvider(EbsClients.credentials(EBS.accessKey()))
                        .httpClient(ApacheHttpClient.builder().build())
                        .overrideConfiguration(
                                o ->
                                        o.retryStrategy(AwsRetryStrategy.doNotRetry())
                                                .apiCallAttemptTimeout(Duration.ofMillis(500)))
                        .build()) {
            long t0 = System.nanoTime();
            Throwable t =
                    catchThrowable(() -> impatient.listSnapshotBlocks(r -> r.snapshotId(done)));
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(t).isInstanceOf(ApiCallAttemptTimeoutException.class);
            assertThat(ms).isGreaterThanOrEqualTo(450);
        }
        assertThat(EBS.server().stats().faults(Disruption.STALL)).isPositive();
    }

    @Test
    void corruptReadKeepsTheOriginalChecksum() {
        long before = EBS.server().stats().corruptedReads();
        faults(FaultProfile.builder().corruptReadRate(1.0));
        ResponseBytes<GetSnapshotBlockResponse> r =
                ebs.getSnapshotBlock(
                        q -> q.snapshotId(done).blockIndex(0).blockToken(token0),
                        ResponseTransformer.toBytes());
        byte[] data = r.asByteArray();
        assertThat(data).hasSize(EbsClients.BLOCK);
        assertThat(r.response().checksum()).isEqualTo(EbsClients.sha256(block0));
        assertThat(EbsClients.sha256(data)).isNotEqualTo(r.response().checksum());
        int differing = 0;
        for (int i = 0; i < data.length; i++) {
            if (data[i] != block0[i]) {
                differing++;
            }
        }
        assertThat(differing).isEqualTo(1);
        assertThat(EBS.server().stats().corruptedReads()).isGreaterThan(before);

        EBS.setFaults(FaultProfile.none());
        assertThat(EbsClients.get(ebs, done, 0, token0)).isEqualTo(block0);
    }

    @Test
    void readFailureFailsThePutAndStoresNothing() throws Exception {
        String id = EbsClients.start(ebs, 1, null).snapshotId();
        byte[] lost = EbsClients.block(30);
        faults(FaultProfile.builder().readFailureRate(1.0));
        ValidationException e =
                catchThrowableOfType(
                        ValidationException.class, () -> EbsClients.put(ebs, id, 3, lost));
        assertThat(e).isNotNull();
        assertThat(e.statusCode()).isEqualTo(400);
        assertThat(e.reasonAsString()).isEqualTo("INVALID_PARAMETER_VALUE");
        assertThat(e.awsErrorDetails().errorMessage()).contains("Failed to read block data");

        EBS.setFaults(FaultProfile.none());
        byte[] kept = EbsClients.block(31);
        EbsClients.put(ebs, id, 5, kept);
        // One block written: the count and aggregate of block 5 alone are accepted.
        EbsClients.complete(ebs, id, List.of(kept));
        EbsClients.awaitCompleted(ec2, id);
        assertThat(ebs.listSnapshotBlocks(r -> r.snapshotId(id)).blocks())
                .extracting(b -> b.blockIndex())
                .containsExactly(5);
    }

    @Test
    void concurrentLimitRateFailsStartSnapshotOnly() {
        String pending = EbsClients.start(ebs, 1, null).snapshotId();
        faults(FaultProfile.builder().concurrentLimitRate(1.0));
        ConcurrentLimitExceededException e =
                catchThrowableOfType(
                        ConcurrentLimitExceededException.class,
                        () -> EbsClients.start(ebs, 1, null));
        assertThat(e).isNotNull();
        assertThat(e.statusCode()).isEqualTo(400);
        // Other operations are unaffected.
        byte[] data = EbsClients.block(40);
        assertThat(EbsClients.put(ebs, pending, 0, data).checksum())
                .isEqualTo(EbsClients.sha256(data));
        assertThat(ebs.listSnapshotBlocks(r -> r.snapshotId(done)).blocks()).hasSize(2);
        assertThat(EbsClients.get(ebs, done, 0, token0)).isEqualTo(block0);
    }

    @Test
    void notFoundRightAfterStartUntilTheSnapshotHasPropagated() {
        faults(FaultProfile.builder().notFoundAfterStartSeconds(2));
        String id = EbsClients.start(ebs, 1, null).snapshotId();
        byte[] data = EbsClients.block(50);
        ResourceNotFoundException e =
                catchThrowableOfType(
                        ResourceNotFoundException.class, () -> EbsClients.put(ebs, id, 0, data));
        assertThat(e).isNotNull();
        assertThat(e.statusCode()).isEqualTo(404);
        assertThat(e.reasonAsString()).isEqualTo("SNAPSHOT_NOT_FOUND");
        ResourceNotFoundException c =
                catchThrowableOfType(
                        ResourceNotFoundException.class,
                        () -> EbsClients.complete(ebs, id, List.of()));
        assertThat(c).isNotNull();
        assertThat(c.reasonAsString()).isEqualTo("SNAPSHOT_NOT_FOUND");

        EBS.clock().advance(Duration.ofSeconds(3));
        assertThat(EbsClients.put(ebs, id, 0, data).checksum()).isEqualTo(EbsClients.sha256(data));
    }

    @Test
    void operationsRestrictTheFaults() {
        String pending = EbsClients.start(ebs, 1, null).snapshotId();
        faults(FaultProfile.builder().throttleRate(1.0).operations(Operation.GET_SNAPSHOT_BLOCK));
        assertThat(
                        catchThrowableOfType(
                                RequestThrottledException.class,
                                () -> EbsClients.get(ebs, done, 0, token0)))
                .isNotNull();
        assertThat(ebs.listSnapshotBlocks(r -> r.snapshotId(done)).blocks()).hasSize(2);
        byte[] data = EbsClients.block(60);
        assertThat(EbsClients.put(ebs, pending, 0, data).checksum())
                .isEqualTo(EbsClients.sha256(data));
        assertThat(EbsClients.start(ebs, 1, null).snapshotId()).startsWith("snap-");
    }

    @Test
    void emptyPageRateReturnsEmptyPagesWithANextToken() {
        faults(
                FaultProfile.builder()
                        .emptyPageRate(1.0)
                        .operations(Operation.LIST_SNAPSHOT_BLOCKS));
        var page = ebs.listSnapshotBlocks(r -> r.snapshotId(done));
        assertThat(page.blocks()).isEmpty();
        assertThat(page.nextToken()).isNotNull();
        EBS.setFaults(FaultProfile.none());
        var rest = ebs.listSnapshotBlocks(r -> r.snapshotId(done).nextToken(page.nextToken()));
        assertThat(rest.blocks()).extracting(b -> b.blockIndex()).containsExactly(0, 1);
        assertThat(rest.nextToken()).isNull();
    }

    @Test
    void setFaultsNoneHeals() {
        faults(FaultProfile.builder().serverErrorRate(1.0));
        assertThat(
                        catchThrowableOfType(
                                InternalServerException.class,
                                () -> ebs.listSnapshotBlocks(r -> r.snapshotId(done))))
                .isNotNull();
        EBS.server().setFaults(FaultProfile.none());
        assertThat(ebs.listSnapshotBlocks(r -> r.snapshotId(done)).blocks()).hasSize(2);
    }

    @Test
    void fromJsonParsesTheReadmeExample() throws Exception {
        FaultProfile p = FaultProfile.fromJson(README_EXAMPLE);
        assertThat(p.seed()).isEqualTo(7);
        assertThat(p.latencyMs()).isEqualTo(20);
        assertThat(p.jitterMs()).isEqualTo(5);
        assertThat(p.throttleRate()).isEqualTo(0.02);
        assertThat(p.throttleReason()).isEqualTo("ACCOUNT_THROTTLED");
        assertThat(p.serverErrorRate()).isEqualTo(0.01);
        assertThat(p.resetRate()).isEqualTo(0.005);
        assertThat(p.stallRate()).isEqualTo(0.001);
        assertThat(p.stallMs()).isEqualTo(30000);
        assertThat(p.corruptReadRate()).isEqualTo(0.01);
        assertThat(p.readFailureRate()).isEqualTo(0.01);
        assertThat(p.concurrentLimitRate()).isEqualTo(0.0);
        assertThat(p.notFoundAfterStartSeconds()).isEqualTo(5);
        assertThat(p.emptyPageRate()).isEqualTo(0.2);
        assertThat(p.operations())
                .containsExactly("PutSnapshotBlock", "GetSnapshotBlock", "ListSnapshotBlocks");
        assertThat(p.appliesTo(Operation.PUT_SNAPSHOT_BLOCK)).isTrue();
        assertThat(p.appliesTo(Operation.START_SNAPSHOT)).isFalse();

        FaultProfile empty = FaultProfile.fromJson("{}");
        assertThat(empty).isEqualTo(FaultProfile.none());
        assertThat(empty.appliesTo(Operation.START_SNAPSHOT)).isTrue();
    }

    @Test
    void fromJsonRejectsUnknownFieldsAndBadRates() {
        assertThatThrownBy(() -> FaultProfile.fromJson("{\"throttleRate\": 0.1, \"bogusRate\": 1}"))
                .satisfies(t -> assertThat(messages(t)).contains("bogusRate"));
        assertThatThrownBy(() -> FaultProfile.fromJson("{\"throttleRate\": 1.5}"))
                .satisfies(t -> assertThat(messages(t)).contains("[0, 1]"));
        assertThatThrownBy(() -> FaultProfile.fromJson("{\"resetRate\": -0.1}"))
                .satisfies(t -> assertThat(messages(t)).contains("[0, 1]"));
        assertThatThrownBy(() -> FaultProfile.fromJson("{\"operations\": [\"Nope\"]}"))
                .satisfies(t -> assertThat(messages(t)).contains("Nope"));
        assertThatThrownBy(() -> FaultProfile.builder().serverErrorRate(2).build())
                .isInstanceOf(IllegalArgumentException.class);
        // The boundaries themselves are valid.
        assertThat(FaultProfile.builder().throttleRate(1.0).resetRate(0.0).build().throttleRate())
                .isEqualTo(1.0);
    }

    private static String messages(Throwable t) {
        StringBuilder sb = new StringBuilder();
        for (Throwable c = t; c != null; c = c.getCause()) {
            sb.append(c.getMessage()).append('\n');
        }
        return sb.toString();
    }
}
