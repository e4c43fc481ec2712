package io.ebsreplicator.local;

import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Quotas;

import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.AccessDeniedExceptionReason;
import software.amazon.awssdk.services.ebs.model.ChecksumAggregationMethod;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.ebs.model.StartSnapshotRequest;
import software.amazon.awssdk.services.ebs.model.Status;
import software.amazon.awssdk.services.ebs.model.Tag;
import software.amazon.awssdk.services.ebs.model.ValidationExceptionReason;
import software.amazon.awssdk.services.ec2.Ec2Client;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static io.ebsreplicator.local.ErrorReasonsTest.accessDenied;
import static io.ebsreplicator.local.ErrorReasonsTest.completed;
import static io.ebsreplicator.local.ErrorReasonsTest.validation;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The value constraints of every request member, over HTTP with the unmodified SDK: each bad value
 * answers ValidationException (HTTP 400) with the README's reason, and the boundary values on the
 * good side are accepted (so a check that is too strict fails too).
 */
class ValidationTest {

    private static final String REGION = ErrorReasonsTest.REGION;
    private static final String KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab";
    private static final String OWN_KEY = "arn:aws:kms:us-east-1:111122223333:key/" + KEY_ID;

    private static final ValidationExceptionReason IPV =
            ValidationExceptionReason.INVALID_PARAMETER_VALUE;

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(b -> b.sealDelay(Duration.ZERO).quotas(Quotas.unlimited()))
                    .build();

    private static EbsClient ebs() {
        return EbsClients.ebs(EBS.server(), REGION);
    }

    private static Ec2Client ec2() {
        return EbsClients.ec2(EBS.server(), REGION);
    }

    private static String start(EbsClient ebs, Consumer<StartSnapshotRequest.Builder> r) {
        return ebs.startSnapshot(r).snapshotId();
    }

    private static List<Tag> tags(int n) {
        return IntStream.range(0, n).mapToObj(i -> tag("k" + i, "v" + i)).toList();
    }

    private static Tag tag(String key, String value) {
        return Tag.builder().key(key).value(value).build();
    }

    // ================================================================ StartSnapshot

    /** A StartSnapshot that breaks one constraint, and the reason it must be refused with. */
    private static Arguments refused(
            String what,
            ValidationExceptionReason reason,
            Consumer<StartSnapshotRequest.Builder> q) {
        return Arguments.of(Named.of(what, q), reason);
    }

    static Stream<Arguments> startsOutsideTheConstraints() {
        var size = ValidationExceptionReason.INVALID_VOLUME_SIZE;
        var tag = ValidationExceptionReason.INVALID_TAG;
        var key = ValidationExceptionReason.INVALID_CUSTOMER_KEY;
        return Stream.of(
                refused("volume size 0", size, q -> q.volumeSize(0L)),
                refused("volume size 65537", size, q -> q.volumeSize(65537L)),
                refused("volume size -1", size, q -> q.volumeSize(-1L)),
                refused("timeout 9", IPV, q -> q.volumeSize(1L).timeout(9)),
                refused("timeout 4321", IPV, q -> q.volumeSize(1L).timeout(4321)),
                refused("empty description", IPV, q -> q.volumeSize(1L).description("")),
                refused(
                        "description of 256",
                        IPV,
                        q -> q.volumeSize(1L).description("d".repeat(256))),
                refused("51 tags", tag, q -> q.volumeSize(1L).tags(tags(51))),
                refused(
                        "tag key of 128",
                        tag,
                        q -> q.volumeSize(1L).tags(tag("k".repeat(128), "v"))),
                refused("empty tag key", tag, q -> q.volumeSize(1L).tags(tag("", "v"))),
                refused("tag key aws:", tag, q -> q.volumeSize(1L).tags(tag("aws:name", "v"))),
                refused(
                        "tag value of 256",
                        tag,
                        q -> q.volumeSize(1L).tags(tag("k", "v".repeat(256)))),
                refused(
                        "a tag key twice",
                        tag,
                        q -> q.volumeSize(1L).tags(tag("dup", "a"), tag("dup", "b"))),
                refused("client token with a space", IPV, q -> q.volumeSize(1L).clientToken("a b")),
                refused("client token with a tab", IPV, q -> q.volumeSize(1L).clientToken("a\tb")),
                refused(
                        "client token of 256",
                        IPV,
                        q -> q.volumeSize(1L).clientToken("t".repeat(256))),
                refused(
                        "KMS key that is no ARN",
                        key,
                        q -> q.volumeSize(1L).encrypted(true).kmsKeyArn("not-an-arn")),
                refused(
                        "KMS key ARN of another service",
                        key,
                        q ->
                                q.volumeSize(1L)
                                        .encrypted(true)
                                        .kmsKeyArn(
                                                "arn:aws:s3:us-east-1:111122223333:key/" + KEY_ID)),
                refused(
                        "KMS key of another region",
                        key,
                        q ->
                                q.volumeSize(1L)
                                        .encrypted(true)
                                        .kmsKeyArn(
                                                "arn:aws:kms:eu-west-1:111122223333:key/"
                                                        + KEY_ID)),
                refused("KMS key without Encrypted", IPV, q -> q.volumeSize(1L).kmsKeyArn(OWN_KEY)),
                refused(
                        "KMS key with Encrypted false",
                        IPV,
                        q -> q.volumeSize(1L).encrypted(false).kmsKeyArn(OWN_KEY)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("startsOutsideTheConstraints")
    void refusesAStartOutsideItsConstraints(
            Consumer<StartSnapshotRequest.Builder> q, ValidationExceptionReason reason) {
        try (var ebs = ebs()) {
            validation(reason, () -> start(ebs, q));
        }
    }

    /** The good side of each limit above, so that a check too strict fails too. */
    static Stream<Named<Consumer<StartSnapshotRequest.Builder>>> startsOnTheGoodSideOfEachLimit() {
        return Stream.of(
                Named.of("volume size 1", q -> q.volumeSize(1L)),
                Named.of("volume size 65536", q -> q.volumeSize(65536L)),
                Named.of("timeout 10", q -> q.volumeSize(1L).timeout(10)),
                Named.of("timeout 4320", q -> q.volumeSize(1L).timeout(4320)),
                Named.of("description of 255", q -> q.volumeSize(1L).description("d".repeat(255))),
                Named.of("50 tags", q -> q.volumeSize(1L).tags(tags(50))),
                Named.of(
                        "tag key of 127, value of 255, keys differing in case",
                        q ->
                                q.volumeSize(1L)
                                        .tags(
                                                tag("k".repeat(127), "v".repeat(255)),
                                                tag("Dup", "a"),
                                                tag("dup", "b"))),
                Named.of("client token of 255", q -> q.volumeSize(1L).clientToken("t".repeat(255))),
                Named.of(
                        "own KMS key with Encrypted",
                        q -> q.volumeSize(1L).encrypted(true).kmsKeyArn(OWN_KEY)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("startsOnTheGoodSideOfEachLimit")
    void acceptsAStartOnTheGoodSideOfEachLimit(Consumer<StartSnapshotRequest.Builder> q) {
        try (var ebs = ebs()) {
            var started = ebs.startSnapshot(q);
            assertThat(started.snapshotId()).startsWith("snap-");
            StartSnapshotRequest asked = StartSnapshotRequest.builder().applyMutation(q).build();
            assertThat(started.kmsKeyArn()).isEqualTo(asked.kmsKeyArn());
        }
    }

    @Test
    void aKmsKeyOfAnotherAccountIsRefusedAsADependencyTheCallerMayNotUse() {
        try (var ebs = ebs()) {
            accessDenied(
                    AccessDeniedExceptionReason.DEPENDENCY_ACCESS_DENIED,
                    () ->
                            start(
                                    ebs,
                                    q ->
                                            q.volumeSize(1L)
                                                    .encrypted(true)
                                                    .kmsKeyArn(
                                                            "arn:aws:kms:us-east-1:444455556666:key/"
                                                                    + KEY_ID)));
        }
    }

    @Test
    void parentConstraints() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String parent = completed(ebs, ec2, 2, null, 0);
            String pendingParent = EbsClients.start(ebs, 1, null).snapshotId();
            // Encrypted together with ParentSnapshotId, either value.
            validation(
                    IPV,
                    () ->
                            start(
                                    ebs,
                                    q ->
                                            q.volumeSize(2L)
                                                    .parentSnapshotId(parent)
                                                    .encrypted(true)));
            validation(
                    IPV,
                    () ->
                            start(
                                    ebs,
                                    q ->
                                            q.volumeSize(2L)
                                                    .parentSnapshotId(parent)
                                                    .encrypted(false)));
            // The parent is still pending.
            validation(
                    ValidationExceptionReason.INVALID_DEPENDENCY_REQUEST,
                    () -> EbsClients.start(ebs, 1, pendingParent));
            // Smaller than the parent.
            validation(
                    ValidationExceptionReason.INVALID_VOLUME_SIZE,
                    () -> EbsClients.start(ebs, 1, parent));
            // Equal and larger are fine.
            assertThat(EbsClients.start(ebs, 2, parent).snapshotId()).startsWith("snap-");
            assertThat(EbsClients.start(ebs, 3, parent).snapshotId()).startsWith("snap-");
        }
    }

    // ================================================================ PutSnapshotBlock

    private static void put(
            EbsClient ebs,
            String id,
            int index,
            byte[] body,
            int dataLength,
            String checksum,
            String algorithm,
            Integer progress) {
        ebs.putSnapshotBlock(
                r ->
                        r.snapshotId(id)
                                .blockIndex(index)
                                .dataLength(dataLength)
                                .checksum(checksum)
                                .checksumAlgorithm(algorithm)
                                .progress(progress),
                RequestBody.fromBytes(body));
    }

    @Test
    void blockIndexOutsideTheVolume() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] data = EbsClients.block(1);
            var r = ValidationExceptionReason.INVALID_BLOCK;
            validation(r, () -> EbsClients.put(ebs, id, 2048, data)); // 1 GiB = blocks 0..2047
            validation(r, () -> EbsClients.put(ebs, id, -1, data));
            EbsClients.put(ebs, id, 2047, data);
            EbsClients.complete(ebs, id, List.of(data));
            EbsClients.awaitCompleted(ec2, id);
            String token =
                    ebs.listSnapshotBlocks(q -> q.snapshotId(id)).blocks().get(0).blockToken();
            validation(r, () -> EbsClients.get(ebs, id, 2048, token));
            assertThat(EbsClients.get(ebs, id, 2047, token)).isEqualTo(data);
        }
    }

    @Test
    void dataLengthNot524288() {
        try (var ebs = ebs()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] small = new byte[1000];
            validation(
                    IPV,
                    () -> put(ebs, id, 0, small, 1000, EbsClients.sha256(small), "SHA256", null));
            byte[] big = new byte[EbsClients.BLOCK + 1];
            validation(
                    IPV,
                    () -> put(ebs, id, 0, big, big.length, EbsClients.sha256(big), "SHA256", null));
        }
    }

    @Test
    void bodyShorterThanDataLength() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] half = new byte[EbsClients.BLOCK / 2];
            // The SDK sends x-amz-Data-Length as given and Content-Length from the body.
            validation(
                    IPV,
                    () ->
                            put(
                                    ebs,
                                    id,
                                    0,
                                    half,
                                    EbsClients.BLOCK,
                                    EbsClients.sha256(half),
                                    "SHA256",
                                    null));
            ebs.completeSnapshot(q -> q.snapshotId(id).changedBlocksCount(0));
            EbsClients.awaitCompleted(ec2, id);
            assertThat(ebs.listSnapshotBlocks(q -> q.snapshotId(id)).blocks()).isEmpty();
        }
    }

    @Test
    void checksumMismatchStoresNothing() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] a = EbsClients.block(10);
            byte[] b = EbsClients.block(11);
            validation(
                    IPV, () -> put(ebs, id, 0, a, a.length, EbsClients.sha256(b), "SHA256", null));
            // A checksum that is not base64 at all.
            validation(IPV, () -> put(ebs, id, 0, a, a.length, "not*base64!", "SHA256", null));
            EbsClients.put(ebs, id, 1, b);
            // Counting the rejected block is refused; the count of what was stored is accepted.
            validation(
                    IPV, () -> ebs.completeSnapshot(q -> q.snapshotId(id).changedBlocksCount(2)));
            EbsClients.complete(ebs, id, List.of(b));
            EbsClients.awaitCompleted(ec2, id);
            assertThat(ebs.listSnapshotBlocks(q -> q.snapshotId(id)).blocks())
                    .extracting(x -> x.blockIndex())
                    .containsExactly(1);
        }
    }

    @Test
    void checksumAlgorithmOtherThanSha256() {
        try (var ebs = ebs()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] a = EbsClients.block(12);
            validation(IPV, () -> put(ebs, id, 0, a, a.length, EbsClients.sha256(a), "MD5", null));
            validation(
                    IPV, () -> put(ebs, id, 0, a, a.length, EbsClients.sha256(a), "sha256", null));
            put(ebs, id, 0, a, a.length, EbsClients.sha256(a), "SHA256", null);
        }
    }

    @Test
    void progressOutside0To100() {
        try (var ebs = ebs()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] a = EbsClients.block(13);
            String sum = EbsClients.sha256(a);
            validation(IPV, () -> put(ebs, id, 0, a, a.length, sum, "SHA256", 101));
            validation(IPV, () -> put(ebs, id, 0, a, a.length, sum, "SHA256", -1));
            put(ebs, id, 0, a, a.length, sum, "SHA256", 100);
            put(ebs, id, 1, a, a.length, sum, "SHA256", 0);
        }
    }

    // ================================================================ lists

    @Test
    void maxResultsAbove10000() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String id = completed(ebs, ec2, 1, null, 0);
            validation(IPV, () -> ebs.listSnapshotBlocks(q -> q.snapshotId(id).maxResults(10001)));
            validation(
                    IPV,
                    () -> ebs.listChangedBlocks(q -> q.secondSnapshotId(id).maxResults(10001)));
            assertThat(ebs.listSnapshotBlocks(q -> q.snapshotId(id).maxResults(10000)).blocks())
                    .hasSize(1);
            assertThat(
                            ebs.listChangedBlocks(q -> q.secondSnapshotId(id).maxResults(10000))
                                    .changedBlocks())
                    .hasSize(1);
        }
    }

    @Test
    void maxResultsBelow100IsRaisedTo100() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] data = EbsClients.block(20);
            List<byte[]> written = new ArrayList<>();
            for (int i = 0; i < 150; i++) {
                EbsClients.put(ebs, id, i, data);
                written.add(data);
            }
            EbsClients.complete(ebs, id, written);
            EbsClients.awaitCompleted(ec2, id);

            var first = ebs.listSnapshotBlocks(q -> q.snapshotId(id).maxResults(5));
            assertThat(first.blocks()).hasSize(100);
            assertThat(first.blocks().get(99).blockIndex()).isEqualTo(99);
            assertThat(first.nextToken()).isNotNull();
            var second =
                    ebs.listSnapshotBlocks(
                            q -> q.snapshotId(id).maxResults(5).nextToken(first.nextToken()));
            assertThat(second.blocks()).hasSize(50);
            assertThat(second.blocks().get(0).blockIndex()).isEqualTo(100);
            assertThat(second.nextToken()).isNull();

            var changed = ebs.listChangedBlocks(q -> q.secondSnapshotId(id).maxResults(5));
            assertThat(changed.changedBlocks()).hasSize(100);
            assertThat(changed.nextToken()).isNotNull();
        }
    }

    // ================================================================ CompleteSnapshot

    @Test
    void wrongChangedBlocksCountOrLinearChecksumLeavesThePendingSnapshotWritable()
            throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] a = EbsClients.block(30);
            byte[] b = EbsClients.block(31);
            EbsClients.put(ebs, id, 0, a);
            EbsClients.put(ebs, id, 1, b);
            // Wrong count.
            validation(
                    IPV,
                    () ->
                            ebs.completeSnapshot(
                                    q ->
                                            q.snapshotId(id)
                                                    .changedBlocksCount(3)
                                                    .checksum(EbsClients.linear(List.of(a, b)))
                                                    .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                                    .checksumAggregationMethod(
                                                            ChecksumAggregationMethod.LINEAR)));
            // Right count, wrong LINEAR aggregate (the blocks in the wrong order).
            validation(
                    IPV,
                    () ->
                            ebs.completeSnapshot(
                                    q ->
                                            q.snapshotId(id)
                                                    .changedBlocksCount(2)
                                                    .checksum(EbsClients.linear(List.of(b, a)))
                                                    .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                                    .checksumAggregationMethod(
                                                            ChecksumAggregationMethod.LINEAR)));
            // Wrong algorithm and aggregation method for the aggregate.
            validation(
                    IPV,
                    () ->
                            ebs.completeSnapshot(
                                    q ->
                                            q.snapshotId(id)
                                                    .changedBlocksCount(2)
                                                    .checksum(EbsClients.linear(List.of(a, b)))
                                                    .checksumAlgorithm("MD5")
                                                    .checksumAggregationMethod(
                                                            ChecksumAggregationMethod.LINEAR)));
            validation(
                    IPV,
                    () ->
                            ebs.completeSnapshot(
                                    q ->
                                            q.snapshotId(id)
                                                    .changedBlocksCount(2)
                                                    .checksum(EbsClients.linear(List.of(a, b)))
                                                    .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                                    .checksumAggregationMethod("TREE")));
            // Still pending and writable.
            var described = ec2.describeSnapshots(q -> q.snapshotIds(id)).snapshots().get(0);
            assertThat(described.stateAsString()).isEqualTo("pending");
            byte[] c = EbsClients.block(32);
            EbsClients.put(ebs, id, 2, c);
            // A correct retry succeeds.
            var done = EbsClients.complete(ebs, id, List.of(a, b, c));
            assertThat(done.status()).isIn(Status.PENDING, Status.COMPLETED);
            EbsClients.awaitCompleted(ec2, id);
            assertThat(ebs.listSnapshotBlocks(q -> q.snapshotId(id)).blocks())
                    .extracting(x -> x.blockIndex())
                    .containsExactly(0, 1, 2);
        }
    }

    @Test
    void writingToOrCompletingAgainACompletedSnapshot() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] a = EbsClients.block(40);
            EbsClients.put(ebs, id, 0, a);
            EbsClients.complete(ebs, id, List.of(a));
            EbsClients.awaitCompleted(ec2, id);
            // No reason for a write to a snapshot that is not pending.
            validation(null, () -> EbsClients.put(ebs, id, 1, a));
            validation(null, () -> EbsClients.put(ebs, id, 0, a));
            // Completing again with other values.
            validation(
                    null, () -> ebs.completeSnapshot(q -> q.snapshotId(id).changedBlocksCount(5)));
            // The same values are a retry of the accepted completion.
            assertThat(EbsClients.complete(ebs, id, List.of(a)).status())
                    .isEqualTo(Status.COMPLETED);
        }
    }

    @Test
    void readingOrListingAPendingSnapshot() throws Exception {
        try (var ebs = ebs();
                var ec2 = ec2()) {
            String base = completed(ebs, ec2, 1, null, 0);
            String token =
                    ebs.listSnapshotBlocks(q -> q.snapshotId(base)).blocks().get(0).blockToken();
            String id = EbsClients.start(ebs, 1, base).snapshotId();
            EbsClients.put(ebs, id, 1, EbsClients.block(1));
            validation(null, () -> ebs.listSnapshotBlocks(q -> q.snapshotId(id)));
            validation(null, () -> EbsClients.get(ebs, id, 0, token));
            validation(null, () -> ebs.listChangedBlocks(q -> q.secondSnapshotId(id)));
            validation(
                    null,
                    () -> ebs.listChangedBlocks(q -> q.firstSnapshotId(id).secondSnapshotId(base)));
        }
    }
}
