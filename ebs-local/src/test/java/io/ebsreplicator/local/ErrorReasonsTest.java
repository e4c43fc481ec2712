package io.ebsreplicator.local;

import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Quotas;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.AccessDeniedException;
import software.amazon.awssdk.services.ebs.model.AccessDeniedExceptionReason;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.ebs.model.ConcurrentLimitExceededException;
import software.amazon.awssdk.services.ebs.model.ConflictException;
import software.amazon.awssdk.services.ebs.model.InternalServerException;
import software.amazon.awssdk.services.ebs.model.RequestThrottledException;
import software.amazon.awssdk.services.ebs.model.RequestThrottledExceptionReason;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundException;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundExceptionReason;
import software.amazon.awssdk.services.ebs.model.ServiceQuotaExceededException;
import software.amazon.awssdk.services.ebs.model.ServiceQuotaExceededExceptionReason;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.services.ebs.model.ValidationExceptionReason;
import software.amazon.awssdk.services.ec2.Ec2Client;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * Every error reason of the README table, produced by the condition it names, over HTTP with the
 * unmodified SDK (or a raw, SDK-signed request where the SDK cannot produce the condition), and
 * mapped by the SDK to the modelled exception class, reason and HTTP status. The value constraints
 * of the request members are in {@link ValidationTest}.
 */
class ErrorReasonsTest {

    static final String REGION = "us-east-1";
    static final String OTHER_REGION = "us-west-2";

    /** A second account's key pair, next to the documented default one. */
    static final AccessKey OTHER_ACCOUNT =
            new AccessKey(
                    "AKIAEBSLOCAL00000002",
                    "ebs-local/secret/key/of/another/account00",
                    "444455556666");

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(
                            b ->
                                    b.sealDelay(Duration.ZERO)
                                            .quotas(Quotas.unlimited())
                                            .addKey(AccessKey.DEFAULT)
                                            .addKey(OTHER_ACCOUNT))
                    .build();

    // ================================================================ assertion helpers

    static <T extends Throwable> T thrown(Class<T> type, ThrowingCallable call) {
        Throwable t = catchThrowable(call);
        assertThat(t).as("expected %s", type.getSimpleName()).isInstanceOf(type);
        return type.cast(t);
    }

    /** ValidationException, HTTP 400, with this reason ({@code null}: without a reason). */
    static ValidationException validation(ValidationExceptionReason reason, ThrowingCallable call) {
        ValidationException e = thrown(ValidationException.class, call);
        assertThat(e.statusCode()).as("HTTP status of %s", e.getMessage()).isEqualTo(400);
        assertThat(e.reason()).as("reason of %s", e.getMessage()).isEqualTo(reason);
        assertThat(e.reasonAsString()).isEqualTo(reason == null ? null : reason.toString());
        return e;
    }

    static void notFound(ResourceNotFoundExceptionReason reason, ThrowingCallable call) {
        ResourceNotFoundException e = thrown(ResourceNotFoundException.class, call);
        assertThat(e.statusCode()).isEqualTo(404);
        assertThat(e.reason()).as("reason of %s", e.getMessage()).isEqualTo(reason);
    }

    static void accessDenied(AccessDeniedExceptionReason reason, ThrowingCallable call) {
        AccessDeniedException e = thrown(AccessDeniedException.class, call);
        assertThat(e.statusCode()).isEqualTo(403);
        assertThat(e.reason()).as("reason of %s", e.getMessage()).isEqualTo(reason);
    }

    static void throttled(RequestThrottledExceptionReason reason, ThrowingCallable call) {
        RequestThrottledException e = thrown(RequestThrottledException.class, call);
        assertThat(e.statusCode()).isEqualTo(400);
        assertThat(e.reason()).as("reason of %s", e.getMessage()).isEqualTo(reason);
    }

    // ================================================================ snapshot helpers

    /** Writes block(seed = index) at each index and completes; returns once it is completed. */
    static String completed(EbsClient ebs, Ec2Client ec2, long gib, String parent, int... indexes)
            throws InterruptedException {
        String id = EbsClients.start(ebs, gib, parent).snapshotId();
        List<byte[]> written = new ArrayList<>();
        for (int i : indexes) {
            byte[] data = EbsClients.block(i);
            EbsClients.put(ebs, id, i, data);
            written.add(data);
        }
        EbsClients.complete(ebs, id, written);
        EbsClients.awaitCompleted(ec2, id);
        return id;
    }

    static EbsClient ebs() {
        return EbsClients.ebs(EBS.server(), REGION);
    }

    static EbsClient otherAccount() {
        return EbsClients.ebs(EBS.endpoint(), OTHER_ACCOUNT, REGION, false);
    }

    static Ec2Client ec2() {
        return EbsClients.ec2(EBS.server(), REGION);
    }

    // ================================================================ ResourceNotFound

    @Test
    void snapshotNotFoundForEveryOperationOnAnIdThatDoesNotExist() throws Exception {
        String missing = "snap-0123456789abcdef0";
        byte[] data = EbsClients.block(1);
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String real = completed(ebs, ec2, 1, null, 0);
            var rnf = ResourceNotFoundExceptionReason.SNAPSHOT_NOT_FOUND;
            notFound(rnf, () -> EbsClients.put(ebs, missing, 0, data));
            notFound(rnf, () -> EbsClients.get(ebs, missing, 0, "token"));
            notFound(rnf, () -> ebs.listSnapshotBlocks(r -> r.snapshotId(missing)));
            notFound(rnf, () -> ebs.listChangedBlocks(r -> r.secondSnapshotId(missing)));
            notFound(
                    rnf,
                    () ->
                            ebs.listChangedBlocks(
                                    r -> r.firstSnapshotId(missing).secondSnapshotId(real)));
            notFound(
                    rnf,
                    () -> ebs.completeSnapshot(r -> r.snapshotId(missing).changedBlocksCount(0)));
        }
    }

    @Test
    void snapshotNotFoundFromAnotherRegion() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2();
                var west = EbsClients.ebs(EBS.server(), OTHER_REGION)) {
            String pending = EbsClients.start(ebs, 1, null).snapshotId();
            String done = completed(ebs, ec2, 1, null, 0);
            var rnf = ResourceNotFoundExceptionReason.SNAPSHOT_NOT_FOUND;
            notFound(rnf, () -> EbsClients.put(west, pending, 0, EbsClients.block(1)));
            notFound(
                    rnf,
                    () -> west.completeSnapshot(r -> r.snapshotId(pending).changedBlocksCount(0)));
            notFound(rnf, () -> west.listSnapshotBlocks(r -> r.snapshotId(done)));
            // As a parent in another region, it is a missing dependency.
            notFound(
                    ResourceNotFoundExceptionReason.DEPENDENCY_RESOURCE_NOT_FOUND,
                    () -> EbsClients.start(west, 1, done));
            // The snapshot is untouched in its own region.
            EbsClients.put(ebs, pending, 0, EbsClients.block(1));
        }
    }

    @Test
    void dependencyResourceNotFoundForAMissingParent() {
        try (var ebs = ebs()) {
            notFound(
                    ResourceNotFoundExceptionReason.DEPENDENCY_RESOURCE_NOT_FOUND,
                    () -> EbsClients.start(ebs, 1, "snap-0000000000000000a"));
        }
    }

    // ================================================================ AccessDenied

    @Test
    void unauthorizedAccountForEveryOperationOnAnotherAccountsSnapshot() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2();
                var other = otherAccount();
                var otherEc2 = ec2Of(OTHER_ACCOUNT)) {
            String pending = EbsClients.start(ebs, 1, null).snapshotId();
            String done = completed(ebs, ec2, 1, null, 0);
            String token =
                    ebs.listSnapshotBlocks(r -> r.snapshotId(done)).blocks().get(0).blockToken();
            String mine = completed(other, otherEc2, 1, null, 0);
            var ua = AccessDeniedExceptionReason.UNAUTHORIZED_ACCOUNT;
            accessDenied(ua, () -> EbsClients.put(other, pending, 0, EbsClients.block(1)));
            accessDenied(
                    ua,
                    () -> other.completeSnapshot(r -> r.snapshotId(pending).changedBlocksCount(0)));
            accessDenied(ua, () -> EbsClients.get(other, done, 0, token));
            accessDenied(ua, () -> other.listSnapshotBlocks(r -> r.snapshotId(done)));
            accessDenied(ua, () -> other.listChangedBlocks(r -> r.secondSnapshotId(done)));
            accessDenied(
                    ua,
                    () ->
                            other.listChangedBlocks(
                                    r -> r.firstSnapshotId(done).secondSnapshotId(mine)));
            accessDenied(ua, () -> EbsClients.start(other, 1, done));
            // The owner still writes and completes its snapshot.
            EbsClients.put(ebs, pending, 0, EbsClients.block(1));
            EbsClients.complete(ebs, pending, List.of(EbsClients.block(1)));
        }
    }

    private static Ec2Client ec2Of(AccessKey key) {
        return Ec2Client.builder()
                .endpointOverride(EBS.endpoint())
                .region(software.amazon.awssdk.regions.Region.of(REGION))
                .credentialsProvider(EbsClients.credentials(key))
                .httpClient(software.amazon.awssdk.http.apache.ApacheHttpClient.builder().build())
                .overrideConfiguration(EbsClients.noRetries())
                .build();
    }

    @Test
    void dependencyAccessDeniedForAKmsKeyOfAnotherAccount() {
        try (var ebs = ebs()) {
            accessDenied(
                    AccessDeniedExceptionReason.DEPENDENCY_ACCESS_DENIED,
                    () ->
                            ebs.startSnapshot(
                                    r ->
                                            r.volumeSize(1L)
                                                    .encrypted(true)
                                                    .kmsKeyArn(
                                                            "arn:aws:kms:us-east-1:999988887777:key/"
                                                                    + "1234abcd-12ab-34cd-56ef-1234567890ab")));
            // The same key id in the caller's own account is accepted.
            var ok =
                    ebs.startSnapshot(
                            r ->
                                    r.volumeSize(1L)
                                            .encrypted(true)
                                            .kmsKeyArn(
                                                    "arn:aws:kms:us-east-1:111122223333:key/"
                                                            + "1234abcd-12ab-34cd-56ef-1234567890ab"));
            assertThat(ok.snapshotId()).startsWith("snap-");
        }
    }

    // ================================================================ Validation reasons
    // (non-value)

    @Test
    void invalidSnapshotIdInPathQueryAndBody() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String done = completed(ebs, ec2, 1, null, 0);
            var r = ValidationExceptionReason.INVALID_SNAPSHOT_ID;
            String upper = "snap-0123ABCD";
            String tooLong = "snap-" + "a".repeat(60);
            validation(r, () -> EbsClients.put(ebs, upper, 0, EbsClients.block(1)));
            validation(r, () -> EbsClients.put(ebs, "vol-0123abcd", 0, EbsClients.block(1)));
            validation(r, () -> EbsClients.put(ebs, tooLong, 0, EbsClients.block(1)));
            validation(r, () -> EbsClients.get(ebs, upper, 0, "t"));
            validation(r, () -> ebs.listSnapshotBlocks(q -> q.snapshotId(upper)));
            validation(
                    r, () -> ebs.completeSnapshot(q -> q.snapshotId(upper).changedBlocksCount(0)));
            validation(r, () -> ebs.listChangedBlocks(q -> q.secondSnapshotId(upper)));
            validation(
                    r,
                    () ->
                            ebs.listChangedBlocks(
                                    q -> q.firstSnapshotId(upper).secondSnapshotId(done)));
            validation(r, () -> EbsClients.start(ebs, 1, upper));
            validation(r, () -> EbsClients.start(ebs, 1, "snap-"));
        }
    }

    @Test
    void invalidBlockTokenAndInvalidPageToken() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            // 201 blocks so that a listing at 100 per page carries a NextToken.
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] data = EbsClients.block(5);
            List<byte[]> all = new ArrayList<>();
            for (int i = 0; i < 101; i++) {
                EbsClients.put(ebs, id, i, data);
                all.add(data);
            }
            EbsClients.complete(ebs, id, all);
            EbsClients.awaitCompleted(ec2, id);
            var page = ebs.listSnapshotBlocks(r -> r.snapshotId(id).maxResults(100));
            assertThat(page.nextToken()).isNotNull();
            String token0 = page.blocks().get(0).blockToken();
            assertThat(EbsClients.get(ebs, id, 0, token0)).isEqualTo(data);

            var bt = ValidationExceptionReason.INVALID_BLOCK_TOKEN;
            validation(bt, () -> EbsClients.get(ebs, id, 0, "bm90IGEgdG9rZW4="));
            validation(bt, () -> EbsClients.get(ebs, id, 1, token0)); // token of another index
            validation(bt, () -> EbsClients.get(ebs, id, 0, token0 + "x"));

            var pt = ValidationExceptionReason.INVALID_PAGE_TOKEN;
            String next = page.nextToken();
            validation(
                    pt, () -> ebs.listSnapshotBlocks(r -> r.snapshotId(id).nextToken("garbage")));
            // A page token of ListSnapshotBlocks is not one of ListChangedBlocks.
            validation(
                    pt, () -> ebs.listChangedBlocks(r -> r.secondSnapshotId(id).nextToken(next)));
            // The genuine token works.
            assertThat(ebs.listSnapshotBlocks(r -> r.snapshotId(id).nextToken(next)).blocks())
                    .hasSize(1);
        }
    }

    @Test
    void unrelatedSnapshotsAcrossLineages() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String a = completed(ebs, ec2, 1, null, 0);
            String b = completed(ebs, ec2, 1, null, 1);
            String child = completed(ebs, ec2, 1, a, 2);
            validation(
                    ValidationExceptionReason.UNRELATED_SNAPSHOTS,
                    () -> ebs.listChangedBlocks(r -> r.firstSnapshotId(a).secondSnapshotId(b)));
            validation(
                    ValidationExceptionReason.UNRELATED_SNAPSHOTS,
                    () -> ebs.listChangedBlocks(r -> r.firstSnapshotId(child).secondSnapshotId(b)));
            // Same lineage: accepted.
            assertThat(
                            ebs.listChangedBlocks(r -> r.firstSnapshotId(a).secondSnapshotId(child))
                                    .changedBlocks())
                    .extracting(c -> c.blockIndex())
                    .containsExactly(2);
        }
    }

    // ================================================================ Conflict

    @Test
    void conflictOnClientTokenReuseWithDifferentParameters() {
        try (var ebs = ebs()) {
            String token = "token-" + System.nanoTime();
            String id =
                    ebs.startSnapshot(r -> r.volumeSize(1L).clientToken(token).timeout(60))
                            .snapshotId();
            // Same parameters: the original snapshot.
            assertThat(
                            ebs.startSnapshot(r -> r.volumeSize(1L).clientToken(token).timeout(60))
                                    .snapshotId())
                    .isEqualTo(id);
            ConflictException e =
                    thrown(
                            ConflictException.class,
                            () ->
                                    ebs.startSnapshot(
                                            r -> r.volumeSize(2L).clientToken(token).timeout(60)));
            assertThat(e.statusCode()).isEqualTo(409);
            ConflictException e2 =
                    thrown(
                            ConflictException.class,
                            () ->
                                    ebs.startSnapshot(
                                            r ->
                                                    r.volumeSize(1L)
                                                            .clientToken(token)
                                                            .timeout(60)
                                                            .description("different")));
            assertThat(e2.statusCode()).isEqualTo(409);
        }
    }

    // ================================================================ quotas (real)

    /** A quota record with every rate high except the ones a test lowers. */
    private static Quotas quotas(Consumer<double[]> lower, int pending) {
        // get, getSnap, put, putSnap, listBlocks, listChanged, start, complete
        double[] q = {1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000};
        lower.accept(q);
        return new Quotas(true, q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7], pending);
    }

    private static EbsLocalServer serverWith(Quotas quotas) throws IOException {
        return EbsLocalServer.start(
                EbsLocalConfig.builder()
                        .sealDelay(Duration.ZERO)
                        .quotas(quotas)
                        .addKey(AccessKey.DEFAULT)
                        .addKey(OTHER_ACCOUNT)
                        .build());
    }

    @Test
    void dependencyServiceQuotaExceededAtThePendingSnapshotLimit() throws Exception {
        try (var server = serverWith(quotas(q -> {}, 2));
                var ebs = EbsClients.ebs(server, REGION);
                var other = EbsClients.ebs(server.endpoint(), OTHER_ACCOUNT, REGION, false)) {
            String first = EbsClients.start(ebs, 1, null).snapshotId();
            EbsClients.start(ebs, 1, null);
            ServiceQuotaExceededException e =
                    thrown(
                            ServiceQuotaExceededException.class,
                            () -> EbsClients.start(ebs, 1, null));
            assertThat(e.statusCode()).isEqualTo(402);
            assertThat(e.reason())
                    .isEqualTo(
                            ServiceQuotaExceededExceptionReason.DEPENDENCY_SERVICE_QUOTA_EXCEEDED);
            // Per account: the other account still starts one.
            assertThat(EbsClients.start(other, 1, null).snapshotId()).startsWith("snap-");
            // Completing one frees a slot.
            EbsClients.complete(ebs, first, List.of());
            try (var ec2 = EbsClients.ec2(server, REGION)) {
                EbsClients.awaitCompleted(ec2, first);
            }
            assertThat(EbsClients.start(ebs, 1, null).snapshotId()).startsWith("snap-");
        }
    }

    @Test
    void accountThrottledOnStartSnapshot() throws Exception {
        try (var server = serverWith(quotas(q -> q[6] = 1, 100));
                var ebs = EbsClients.ebs(server, REGION);
                var other = EbsClients.ebs(server.endpoint(), OTHER_ACCOUNT, REGION, false)) {
            EbsClients.start(ebs, 1, null);
            throttled(
                    RequestThrottledExceptionReason.ACCOUNT_THROTTLED,
                    () -> EbsClients.start(ebs, 1, null));
            // Another account has its own bucket.
            assertThat(EbsClients.start(other, 1, null).snapshotId()).startsWith("snap-");
        }
    }

    @Test
    void accountThrottledOnPutSnapshotBlockAcrossSnapshots() throws Exception {
        try (var server = serverWith(quotas(q -> q[2] = 1, 100));
                var ebs = EbsClients.ebs(server, REGION)) {
            String a = EbsClients.start(ebs, 1, null).snapshotId();
            String b = EbsClients.start(ebs, 1, null).snapshotId();
            EbsClients.put(ebs, a, 0, EbsClients.block(1));
            throttled(
                    RequestThrottledExceptionReason.ACCOUNT_THROTTLED,
                    () -> EbsClients.put(ebs, b, 0, EbsClients.block(1)));
        }
    }

    @Test
    void accountThrottledOnListSnapshotBlocks() throws Exception {
        try (var server = serverWith(quotas(q -> q[4] = 1, 100));
                var ebs = EbsClients.ebs(server, REGION);
                var ec2 = EbsClients.ec2(server, REGION)) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            EbsClients.complete(ebs, id, List.of());
            EbsClients.awaitCompleted(ec2, id);
            ebs.listSnapshotBlocks(r -> r.snapshotId(id));
            throttled(
                    RequestThrottledExceptionReason.ACCOUNT_THROTTLED,
                    () -> ebs.listSnapshotBlocks(r -> r.snapshotId(id)));
        }
    }

    @Test
    void resourceLevelThrottleOnPutSnapshotBlock() throws Exception {
        try (var server = serverWith(quotas(q -> q[3] = 1, 100));
                var ebs = EbsClients.ebs(server, REGION)) {
            String a = EbsClients.start(ebs, 1, null).snapshotId();
            String b = EbsClients.start(ebs, 1, null).snapshotId();
            EbsClients.put(ebs, a, 0, EbsClients.block(1));
            throttled(
                    RequestThrottledExceptionReason.RESOURCE_LEVEL_THROTTLE,
                    () -> EbsClients.put(ebs, a, 1, EbsClients.block(2)));
            // Per snapshot: the other snapshot is not throttled.
            EbsClients.put(ebs, b, 0, EbsClients.block(1));
        }
    }

    @Test
    void resourceLevelThrottleOnGetSnapshotBlock() throws Exception {
        try (var server = serverWith(quotas(q -> q[1] = 1, 100));
                var ebs = EbsClients.ebs(server, REGION);
                var ec2 = EbsClients.ec2(server, REGION)) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] a = EbsClients.block(1);
            byte[] b = EbsClients.block(2);
            EbsClients.put(ebs, id, 0, a);
            EbsClients.put(ebs, id, 1, b);
            EbsClients.complete(ebs, id, List.of(a, b));
            EbsClients.awaitCompleted(ec2, id);
            var blocks = ebs.listSnapshotBlocks(r -> r.snapshotId(id)).blocks();
            assertThat(EbsClients.get(ebs, id, 0, blocks.get(0).blockToken())).isEqualTo(a);
            throttled(
                    RequestThrottledExceptionReason.RESOURCE_LEVEL_THROTTLE,
                    () -> EbsClients.get(ebs, id, 1, blocks.get(1).blockToken()));
        }
    }

    // ================================================================ injected faults

    @Test
    void dependencyRequestThrottledIsInjected() {
        try (var ebs = ebs()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            EBS.setFaults(
                    FaultProfile.builder()
                            .seed(1)
                            .throttleRate(1.0)
                            .throttleReason("DEPENDENCY_REQUEST_THROTTLED")
                            .operations(Operation.PUT_SNAPSHOT_BLOCK)
                            .build());
            throttled(
                    RequestThrottledExceptionReason.DEPENDENCY_REQUEST_THROTTLED,
                    () -> EbsClients.put(ebs, id, 0, EbsClients.block(1)));
            EBS.setFaults(FaultProfile.none());
            EbsClients.put(ebs, id, 0, EbsClients.block(1));
        }
    }

    @Test
    void concurrentLimitExceededIsInjected() {
        try (var ebs = ebs()) {
            EBS.setFaults(
                    FaultProfile.builder()
                            .seed(1)
                            .concurrentLimitRate(1.0)
                            .operations(Operation.START_SNAPSHOT)
                            .build());
            ConcurrentLimitExceededException e =
                    thrown(
                            ConcurrentLimitExceededException.class,
                            () -> EbsClients.start(ebs, 1, null));
            assertThat(e.statusCode()).isEqualTo(400);
        }
    }

    @Test
    void internalServerErrorIsInjected() {
        try (var ebs = ebs()) {
            EBS.setFaults(
                    FaultProfile.builder()
                            .seed(1)
                            .serverErrorRate(1.0)
                            .operations(Operation.START_SNAPSHOT)
                            .build());
            InternalServerException e =
                    thrown(InternalServerException.class, () -> EbsClients.start(ebs, 1, null));
            assertThat(e.statusCode()).isEqualTo(500);
        }
    }

    @Test
    void failedToReadBlockDataIsInjectedAsInvalidParameterValue() {
        try (var ebs = ebs()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            EBS.setFaults(
                    FaultProfile.builder()
                            .seed(1)
                            .readFailureRate(1.0)
                            .operations(Operation.PUT_SNAPSHOT_BLOCK)
                            .build());
            ValidationException e =
                    validation(
                            ValidationExceptionReason.INVALID_PARAMETER_VALUE,
                            () -> EbsClients.put(ebs, id, 0, EbsClients.block(1)));
            assertThat(e.getMessage()).contains("Failed to read block data");
        }
    }

    @Test
    void snapshotNotFoundWhileANewSnapshotPropagates() {
        try (var ebs = ebs()) {
            EBS.setFaults(FaultProfile.builder().notFoundAfterStartSeconds(3600).build());
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            notFound(
                    ResourceNotFoundExceptionReason.SNAPSHOT_NOT_FOUND,
                    () -> EbsClients.put(ebs, id, 0, EbsClients.block(1)));
            notFound(
                    ResourceNotFoundExceptionReason.SNAPSHOT_NOT_FOUND,
                    () -> ebs.completeSnapshot(r -> r.snapshotId(id).changedBlocksCount(0)));
        }
    }

    // ================================================================ raw HTTP: encoding, timeout,
    // conflict

    @Test
    void invalidContentEncodingOverRawHttp() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] data = EbsClients.block(3);
            RawResponse r =
                    rawPut(
                            EBS.server(),
                            id,
                            0,
                            data,
                            data.length,
                            Map.of("Content-Encoding", "gzip"));
            assertThat(r.status).isEqualTo(400);
            assertThat(r.header("x-amzn-ErrorType")).isEqualTo("ValidationException");
            assertThat(r.body).contains("\"Reason\":\"INVALID_CONTENT_ENCODING\"");

            // The signing and framing are otherwise right: identity is accepted.
            RawResponse ok =
                    rawPut(
                            EBS.server(),
                            id,
                            1,
                            data,
                            data.length,
                            Map.of("Content-Encoding", "identity"));
            assertThat(ok.status).as(ok.body).isEqualTo(201);

            // Through the SDK too, with the header added to an otherwise correct put.
            validation(
                    ValidationExceptionReason.INVALID_CONTENT_ENCODING,
                    () ->
                            ebs.putSnapshotBlock(
                                    q ->
                                            q.snapshotId(id)
                                                    .blockIndex(2)
                                                    .dataLength(data.length)
                                                    .checksum(EbsClients.sha256(data))
                                                    .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                                    .overrideConfiguration(
                                                            o ->
                                                                    o.putHeader(
                                                                            "Content-Encoding",
                                                                            "gzip")),
                                    RequestBody.fromBytes(data)));
            // Only block 1 was stored.
            EbsClients.complete(ebs, id, List.of(data));
            EbsClients.awaitCompleted(ec2, id);
            assertThat(ebs.listSnapshotBlocks(q -> q.snapshotId(id)).blocks())
                    .extracting(b -> b.blockIndex())
                    .containsExactly(1);
        }
    }

    @Test
    void writeRequestTimeoutWhenTheBodyStalls() throws Exception {
        try (var server =
                        EbsLocalServer.start(
                                EbsLocalConfig.builder()
                                        .sealDelay(Duration.ZERO)
                                        .writeTimeout(Duration.ofSeconds(1))
                                        .build());
                var ebs = EbsClients.ebs(server, REGION);
                var ec2 = EbsClients.ec2(server, REGION)) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] data = EbsClients.block(4);
            long t0 = System.nanoTime();
            try (Socket s = openPartialPut(server, id, 0, data, data.length / 2)) {
                RawResponse r = readResponse(s.getInputStream());
                long waitedMs = (System.nanoTime() - t0) / 1_000_000;
                assertThat(r.status).isEqualTo(400);
                assertThat(r.header("x-amzn-ErrorType")).isEqualTo("ValidationException");
                assertThat(r.body).contains("\"Reason\":\"WRITE_REQUEST_TIMEOUT\"");
                assertThat(waitedMs).isGreaterThanOrEqualTo(900);
            }
            // Nothing was stored: the snapshot completes with zero blocks.
            ebs.completeSnapshot(r -> r.snapshotId(id).changedBlocksCount(0));
            EbsClients.awaitCompleted(ec2, id);
            assertThat(ebs.listSnapshotBlocks(r -> r.snapshotId(id)).blocks()).isEmpty();
        }
    }

    @Test
    void conflictingBlockUpdateWhileAPutOfTheSameIndexIsInProgress() throws Exception {
        try (var ebs = ebs()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] data = EbsClients.block(6);
            byte[] other = EbsClients.block(7);
            try (Socket stalled = openPartialPut(EBS.server(), id, 5, data, data.length / 2)) {
                Thread.sleep(200); // let the server take in the headers and half the body
                validation(
                        ValidationExceptionReason.CONFLICTING_BLOCK_UPDATE,
                        () -> EbsClients.put(ebs, id, 5, other));
                // Another index is not affected.
                EbsClients.put(ebs, id, 6, other);
            }
            // Once the stalled upload is gone, the index can be written again.
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            while (true) {
                try {
                    EbsClients.put(ebs, id, 5, other);
                    break;
                } catch (ValidationException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    Thread.sleep(50);
                }
            }
        }
    }

    // ================================================================ raw HTTP plumbing

    record RawResponse(int status, Map<String, String> headers, String body) {
        String header(String name) {
            return headers.get(name.toLowerCase(Locale.ROOT));
        }
    }

    /** A PutSnapshotBlock signed with the SDK's SigV4 signer, with the given extra headers. */
    static SdkHttpRequest signedPut(
            EbsLocalServer server,
            String snapshotId,
            int index,
            byte[] data,
            int dataLength,
            Map<String, String> extraHeaders) {
        SdkHttpFullRequest.Builder b =
                SdkHttpFullRequest.builder()
                        .method(SdkHttpMethod.PUT)
                        .protocol("http")
                        .host(server.endpoint().getHost())
                        .port(server.port())
                        .encodedPath("/snapshots/" + snapshotId + "/blocks/" + index)
                        .putHeader("Host", server.endpoint().getHost() + ":" + server.port())
                        .putHeader("Content-Type", "application/octet-stream")
                        .putHeader("Content-Length", String.valueOf(data.length))
                        .putHeader("x-amz-Data-Length", String.valueOf(dataLength))
                        .putHeader("x-amz-Checksum", EbsClients.sha256(data))
                        .putHeader("x-amz-Checksum-Algorithm", "SHA256");
        extraHeaders.forEach(b::putHeader);
        AccessKey key = server.accessKey();
        SignedRequest signed =
                AwsV4HttpSigner.create()
                        .sign(
                                r ->
                                        r.identity(
                                                        AwsCredentialsIdentity.create(
                                                                key.accessKeyId(),
                                                                key.secretAccessKey()))
                                                .request(b.build())
                                                .payload(ContentStreamProvider.fromByteArray(data))
                                                .putProperty(
                                                        AwsV4HttpSigner.SERVICE_SIGNING_NAME, "ebs")
                                                .putProperty(AwsV4HttpSigner.REGION_NAME, REGION));
        return signed.request();
    }

    private static void writeHead(OutputStream out, SdkHttpRequest req) throws IOException {
        StringBuilder head = new StringBuilder();
        head.append(req.method().name())
                .append(' ')
                .append(req.encodedPath())
                .append(" HTTP/1.1\r\n");
        req.forEachHeader(
                (name, values) ->
                        values.forEach(
                                v -> head.append(name).append(": ").append(v).append("\r\n")));
        head.append("\r\n");
        out.write(head.toString().getBytes(StandardCharsets.US_ASCII));
    }

    static RawResponse rawPut(
            EbsLocalServer server,
            String snapshotId,
            int index,
            byte[] data,
            int dataLength,
            Map<String, String> extraHeaders)
            throws IOException {
        SdkHttpRequest req = signedPut(server, snapshotId, index, data, dataLength, extraHeaders);
        try (Socket s = new Socket(server.endpoint().getHost(), server.port())) {
            s.setSoTimeout(20_000);
            OutputStream out = s.getOutputStream();
            writeHead(out, req);
            out.write(data);
            out.flush();
            return readResponse(s.getInputStream());
        }
    }

    /** Sends the signed headers and the first {@code sent} body bytes, then stops. */
    static Socket openPartialPut(
            EbsLocalServer server, String snapshotId, int index, byte[] data, int sent)
            throws IOException {
        SdkHttpRequest req = signedPut(server, snapshotId, index, data, data.length, Map.of());
        Socket s = new Socket(server.endpoint().getHost(), server.port());
        s.setSoTimeout(20_000);
        OutputStream out = s.getOutputStream();
        writeHead(out, req);
        out.write(data, 0, sent);
        out.flush();
        return s;
    }

    static RawResponse readResponse(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        while (!head.toString(StandardCharsets.US_ASCII).endsWith("\r\n\r\n")) {
            int c;
            try {
                c = in.read();
            } catch (SocketTimeoutException e) {
                throw new AssertionError("No response from the server", e);
            }
            if (c < 0) {
                throw new AssertionError("Connection closed before a response: " + head);
            }
            head.write(c);
        }
        String[] lines = head.toString(StandardCharsets.US_ASCII).split("\r\n");
        int status = Integer.parseInt(lines[0].split(" ")[1]);
        Map<String, String> headers = new LinkedHashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.put(
                        lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
                        lines[i].substring(colon + 1).trim());
            }
        }
        int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
        byte[] body = in.readNBytes(length);
        return new RawResponse(status, headers, new String(body, StandardCharsets.UTF_8));
    }
}
