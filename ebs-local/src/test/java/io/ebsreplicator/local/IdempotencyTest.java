package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Quotas;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ChecksumAggregationMethod;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.ebs.model.CompleteSnapshotResponse;
import software.amazon.awssdk.services.ebs.model.ConflictException;
import software.amazon.awssdk.services.ebs.model.StartSnapshotRequest;
import software.amazon.awssdk.services.ebs.model.StartSnapshotResponse;
import software.amazon.awssdk.services.ebs.model.Status;
import software.amazon.awssdk.services.ebs.model.Tag;
import software.amazon.awssdk.services.ebs.model.ValidationException;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** ClientToken idempotency of StartSnapshot and replays of CompleteSnapshot. */
class IdempotencyTest {

    private static final String REGION = "us-east-1";
    private static final AccessKey OTHER =
            new AccessKey(
                    "AKIAEBSLOCALOTHER000",
                    "another/secret/key/for/ebs-local/tests0",
                    "444455556666");
    private static final Duration SEAL = Duration.ofMinutes(10);

    /** A per-test server whose seal delay is long, so tests move the clock to seal. */
    @RegisterExtension
    final EbsLocalExtension ebsLocal =
            EbsLocalExtension.builder()
                    .configure(
                            b ->
                                    b.sealDelay(SEAL)
                                            .quotas(Quotas.unlimited())
                                            .addKey(AccessKey.DEFAULT)
                                            .addKey(OTHER))
                    .build();

    private EbsClient ebs;

    @BeforeEach
    void setUp() {
        ebs = EbsClients.ebs(ebsLocal.server(), REGION);
    }

    @AfterEach
    void tearDown() {
        ebs.close();
    }

    private static Consumer<StartSnapshotRequest.Builder> request(String token) {
        return r ->
                r.volumeSize(2L)
                        .description("nightly backup")
                        .tags(
                                Tag.builder().key("Name").value("db").build(),
                                Tag.builder().key("env").value("prod").build())
                        .timeout(60)
                        .clientToken(token);
    }

    private static ConflictException conflict(Runnable call) {
        try {
            call.run();
        } catch (ConflictException e) {
            return e;
        }
        throw new AssertionError("expected a ConflictException");
    }

    private static CompleteSnapshotResponse complete(
            EbsClient client, String id, int count, String checksum) {
        return client.completeSnapshot(
                r ->
                        r.snapshotId(id)
                                .changedBlocksCount(count)
                                .checksum(checksum)
                                .checksumAlgorithm(
                                        checksum == null ? null : ChecksumAlgorithm.SHA256)
                                .checksumAggregationMethod(
                                        checksum == null
                                                ? null
                                                : ChecksumAggregationMethod.LINEAR));
    }

    @Test
    void sameTokenAndParametersReturnTheSameSnapshot() {
        StartSnapshotResponse first = ebs.startSnapshot(request("token-1"));
        StartSnapshotResponse again = ebs.startSnapshot(request("token-1"));
        assertThat(again.snapshotId()).isEqualTo(first.snapshotId());
        assertThat(again.status()).isEqualTo(Status.PENDING);
        assertThat(again.volumeSize()).isEqualTo(2L);
        assertThat(again.description()).isEqualTo("nightly backup");
        assertThat(again.ownerId()).isEqualTo(AccessKey.DEFAULT.accountId());
        assertThat(again.startTime()).isEqualTo(first.startTime());

        // No token, or another token: a new snapshot each time.
        String other = ebs.startSnapshot(request("token-2")).snapshotId();
        String none = ebs.startSnapshot(request(null)).snapshotId();
        String none2 = ebs.startSnapshot(request(null)).snapshotId();
        assertThat(List.of(other, none, none2))
                .doesNotContain(first.snapshotId())
                .doesNotHaveDuplicates();
        assertThat(ebsLocal.service().snapshots(REGION)).hasSize(4);
    }

    @Test
    void sameTokenReturnsTheSnapshotAlsoAfterItCompleted() {
        String id = ebs.startSnapshot(request("token-done")).snapshotId();
        byte[] b = EbsClients.block(1);
        EbsClients.put(ebs, id, 3, b);
        EbsClients.complete(ebs, id, List.of(b));
        ebsLocal.clock().advance(SEAL.plusSeconds(1));

        StartSnapshotResponse again = ebs.startSnapshot(request("token-done"));
        assertThat(again.snapshotId()).isEqualTo(id);
        assertThat(again.status()).isEqualTo(Status.COMPLETED);
        assertThat(ebsLocal.service().snapshots(REGION)).hasSize(1);
    }

    @Test
    void sameTokenWithDifferentParametersIsAConflict() {
        String id = ebs.startSnapshot(request("token-c")).snapshotId();
        List<Consumer<StartSnapshotRequest.Builder>> variants =
                List.of(
                        request("token-c").andThen(r -> r.volumeSize(3L)),
                        request("token-c").andThen(r -> r.description("another description")),
                        request("token-c")
                                .andThen(
                                        r -> r.tags(Tag.builder().key("Name").value("db").build())),
                        request("token-c")
                                .andThen(
                                        r ->
                                                r.tags(
                                                        Tag.builder()
                                                                .key("Name")
                                                                .value("web")
                                                                .build(),
                                                        Tag.builder()
                                                                .key("env")
                                                                .value("prod")
                                                                .build())),
                        request("token-c").andThen(r -> r.timeout(120)));
        for (var variant : variants) {
            ConflictException e = conflict(() -> ebs.startSnapshot(variant));
            assertThat(e.statusCode()).isEqualTo(409);
            assertThat(e.awsErrorDetails().errorCode()).isEqualTo("ConflictException");
        }
        // Nothing new was created, and the original still replays.
        assertThat(ebsLocal.service().snapshots(REGION)).hasSize(1);
        assertThat(ebs.startSnapshot(request("token-c")).snapshotId()).isEqualTo(id);
    }

    @Test
    void sameTokenWithADifferentParentIsAConflict() {
        String parent = EbsClients.start(ebs, 1, null).snapshotId();
        EbsClients.complete(ebs, parent, List.of());
        ebsLocal.clock().advance(SEAL.plusSeconds(1));
        String id = ebs.startSnapshot(request("token-p")).snapshotId();
        ConflictException e =
                conflict(
                        () ->
                                ebs.startSnapshot(
                                        request("token-p")
                                                .andThen(r -> r.parentSnapshotId(parent))));
        assertThat(e.statusCode()).isEqualTo(409);
        assertThat(ebs.startSnapshot(request("token-p")).snapshotId()).isEqualTo(id);
    }

    @Test
    void accountsUseTheSameTokenIndependently() {
        try (EbsClient other = EbsClients.ebs(ebsLocal.endpoint(), OTHER, REGION, false)) {
            String mine = ebs.startSnapshot(request("shared-token")).snapshotId();
            // The other account may even use different parameters: no conflict across accounts.
            String theirs =
                    other.startSnapshot(request("shared-token").andThen(r -> r.volumeSize(5L)))
                            .snapshotId();
            assertThat(theirs).isNotEqualTo(mine);
            assertThat(ebsLocal.service().snapshot(REGION, theirs).ownerId())
                    .isEqualTo("444455556666");
            assertThat(ebsLocal.service().snapshot(REGION, mine).ownerId())
                    .isEqualTo(AccessKey.DEFAULT.accountId());

            assertThat(ebs.startSnapshot(request("shared-token")).snapshotId()).isEqualTo(mine);
            assertThat(
                            other.startSnapshot(
                                            request("shared-token").andThen(r -> r.volumeSize(5L)))
                                    .snapshotId())
                    .isEqualTo(theirs);
            // Each account's conflict check is against its own snapshot.
            assertThat(conflict(() -> other.startSnapshot(request("shared-token"))).statusCode())
                    .isEqualTo(409);
            assertThat(
                            conflict(
                                            () ->
                                                    ebs.startSnapshot(
                                                            request("shared-token")
                                                                    .andThen(
                                                                            r -> r.volumeSize(5L))))
                                    .statusCode())
                    .isEqualTo(409);
        }
    }

    @Test
    void replayedCompletionAnswersTheCurrentStatusAndIsAcceptedOnce() {
        String id = EbsClients.start(ebs, 1, null).snapshotId();
        byte[] a = EbsClients.block(10);
        byte[] b = EbsClients.block(11);
        EbsClients.put(ebs, id, 0, a);
        EbsClients.put(ebs, id, 9, b);
        String linear = EbsClients.linear(List.of(a, b));

        CompleteSnapshotResponse first = complete(ebs, id, 2, linear);
        assertThat(first.sdkHttpResponse().statusCode()).isEqualTo(202);
        assertThat(first.status()).isEqualTo(Status.PENDING);

        CompleteSnapshotResponse replay = complete(ebs, id, 2, linear);
        assertThat(replay.sdkHttpResponse().statusCode()).isEqualTo(202);
        assertThat(replay.status()).isEqualTo(Status.PENDING);
        assertThat(ebsLocal.service().snapshot(REGION, id).completionsAccepted()).isEqualTo(1);

        ebsLocal.clock().advance(SEAL.plusSeconds(1));
        CompleteSnapshotResponse late = complete(ebs, id, 2, linear);
        assertThat(late.sdkHttpResponse().statusCode()).isEqualTo(202);
        assertThat(late.status()).isEqualTo(Status.COMPLETED);
        assertThat(ebsLocal.service().snapshot(REGION, id).completionsAccepted()).isEqualTo(1);
    }

    @Test
    void completionWithDifferentValuesAfterAcceptanceIsRejected() {
        String id = EbsClients.start(ebs, 1, null).snapshotId();
        byte[] a = EbsClients.block(20);
        byte[] b = EbsClients.block(21);
        EbsClients.put(ebs, id, 1, a);
        EbsClients.put(ebs, id, 2, b);
        String linear = EbsClients.linear(List.of(a, b));
        assertThat(complete(ebs, id, 2, linear).status()).isEqualTo(Status.PENDING);

        // While sealing: another count, another checksum, no checksum.
        for (Runnable call :
                List.<Runnable>of(
                        () -> complete(ebs, id, 3, linear),
                        () -> complete(ebs, id, 2, EbsClients.linear(List.of(b, a))),
                        () -> complete(ebs, id, 2, null))) {
            try {
                call.run();
                throw new AssertionError("expected a ValidationException");
            } catch (ValidationException e) {
                assertThat(e.statusCode()).isEqualTo(400);
            }
        }
        // After it completed: completing it again differently has no reason.
        ebsLocal.clock().advance(SEAL.plusSeconds(1));
        try {
            complete(ebs, id, 1, null);
            throw new AssertionError("expected a ValidationException");
        } catch (ValidationException e) {
            assertThat(e.statusCode()).isEqualTo(400);
            assertThat(e.reasonAsString()).isNull();
        }
        assertThat(ebsLocal.service().snapshot(REGION, id).completionsAccepted()).isEqualTo(1);
        // The accepted values still replay.
        assertThat(complete(ebs, id, 2, linear).status()).isEqualTo(Status.COMPLETED);
        assertThat(ebsLocal.service().blocksOf(REGION, id).keySet()).containsExactly(1, 2);
    }
}
