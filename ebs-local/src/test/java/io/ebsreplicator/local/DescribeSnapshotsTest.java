package io.ebsreplicator.local;

import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Quotas;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.ebs.model.Tag;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.DescribeSnapshotsResponse;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.Snapshot;
import software.amazon.awssdk.services.ec2.model.SnapshotState;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** EC2 DescribeSnapshots through the SDK's Ec2Client. */
class DescribeSnapshotsTest {

    private static final String REGION = "us-east-1";
    private static final Duration SEAL = Duration.ofMinutes(5);
    private static final String OWNER = "111122223333";

    /** Per test: tests move the clock (a long seal delay is passed by moving it). */
    @RegisterExtension
    final EbsLocalExtension ebsLocal =
            EbsLocalExtension.builder()
                    .configure(b -> b.sealDelay(SEAL).quotas(Quotas.unlimited()))
                    .build();

    private EbsClient ebs;
    private Ec2Client ec2;

    @BeforeEach
    void setUp() {
        ebs = EbsClients.ebs(ebsLocal.server(), REGION);
        ec2 = EbsClients.ec2(ebsLocal.server(), REGION);
    }

    @AfterEach
    void tearDown() {
        ebs.close();
        ec2.close();
    }

    private String start(String name, String description) {
        return ebs.startSnapshot(
                        r ->
                                r.volumeSize(3L)
                                        .description(description)
                                        .tags(
                                                Tag.builder().key("Name").value(name).build(),
                                                Tag.builder().key("team").value("storage").build())
                                        .timeout(60))
                .snapshotId();
    }

    private Snapshot describe(String id) {
        DescribeSnapshotsResponse r = ec2.describeSnapshots(b -> b.snapshotIds(id));
        assertThat(r.snapshots()).hasSize(1);
        return r.snapshots().get(0);
    }

    private List<String> ids(DescribeSnapshotsResponse r) {
        return r.snapshots().stream().map(Snapshot::snapshotId).toList();
    }

    private static Ec2Exception ec2Error(Runnable call) {
        try {
            call.run();
        } catch (Ec2Exception e) {
            return e;
        }
        throw new AssertionError("expected an Ec2Exception");
    }

    private void completeEmpty(String id) {
        ebs.completeSnapshot(r -> r.snapshotId(id).changedBlocksCount(0));
    }

    /** The ids DescribeSnapshots answers with these filters (ANDed). */
    private List<String> where(Filter... filters) {
        return ids(ec2.describeSnapshots(r -> r.filters(filters)));
    }

    private static Filter filter(String name, String... values) {
        return Filter.builder().name(name).values(values).build();
    }

    @Test
    void byIdPendingThenCompletedAfterTheSealDelay() {
        Instant before = ebsLocal.clock().now().minusSeconds(1);
        String id = start("web-1", "nightly web backup");
        Instant after = ebsLocal.clock().now().plusSeconds(1);

        Snapshot s = describe(id);
        assertThat(s.snapshotId()).isEqualTo(id);
        assertThat(s.state()).isEqualTo(SnapshotState.PENDING);
        assertThat(s.volumeSize()).isEqualTo(3);
        assertThat(s.description()).isEqualTo("nightly web backup");
        assertThat(s.ownerId()).isEqualTo(OWNER);
        assertThat(s.startTime()).isBetween(before, after);
        assertThat(s.progress()).isEqualTo("0%");
        assertThat(s.encrypted()).isFalse();
        assertThat(s.tags().stream().collect(Collectors.toMap(t -> t.key(), t -> t.value())))
                .isEqualTo(Map.of("Name", "web-1", "team", "storage"));

        byte[] data = EbsClients.block(3);
        ebs.putSnapshotBlock(
                r ->
                        r.snapshotId(id)
                                .blockIndex(4)
                                .dataLength(data.length)
                                .checksum(EbsClients.sha256(data))
                                .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                .progress(40),
                RequestBody.fromBytes(data));
        assertThat(describe(id).progress()).isEqualTo("40%");

        EbsClients.complete(ebs, id, List.of(data));
        Snapshot sealing = describe(id);
        assertThat(sealing.state()).isEqualTo(SnapshotState.PENDING);

        ebsLocal.clock().advance(SEAL.minusSeconds(5));
        assertThat(describe(id).state()).isEqualTo(SnapshotState.PENDING);

        ebsLocal.clock().advance(Duration.ofSeconds(10));
        Snapshot done = describe(id);
        assertThat(done.state()).isEqualTo(SnapshotState.COMPLETED);
        assertThat(done.progress()).isEqualTo("100%");
        assertThat(done.stateMessage()).isNull();
        assertThat(done.startTime()).isEqualTo(s.startTime());
        assertThat(done.volumeSize()).isEqualTo(3);
        assertThat(done.description()).isEqualTo("nightly web backup");
        assertThat(done.ownerId()).isEqualTo(OWNER);
        assertThat(done.completionTime()).isNotNull().isAfter(done.startTime());
    }

    @Test
    void byTagFilterWithWildcards() {
        String web1 = start("web-1", "a");
        String web2 = start("web-2", "b");
        String db1 = start("db-1", "c");
        ebs.startSnapshot(r -> r.volumeSize(1L).timeout(60)); // no tags at all

        assertThat(where(filter("tag:Name", "web-*"))).containsExactlyInAnyOrder(web1, web2);
        assertThat(where(filter("tag:Name", "??-1"))).containsExactly(db1);
        assertThat(where(filter("tag:Name", "web-2", "db-1"))).containsExactlyInAnyOrder(web2, db1);
        assertThat(where(filter("tag:Name", "web"))).isEmpty();
        assertThat(where(filter("tag-key", "te*"))).containsExactlyInAnyOrder(web1, web2, db1);
        // Two filters are ANDed.
        assertThat(where(filter("tag:Name", "*-1"), filter("description", "c")))
                .containsExactly(db1);
    }

    @Test
    void byStatusFilter() {
        String done = start("done", "x");
        completeEmpty(done);
        ebsLocal.clock().advance(SEAL.plusSeconds(1));
        String pending = start("pending", "y");

        assertThat(where(filter("status", "pending"))).containsExactly(pending);
        assertThat(where(filter("status", "completed"))).containsExactly(done);
        assertThat(where(filter("status", "completed", "pending")))
                .containsExactlyInAnyOrder(done, pending);
        assertThat(where(filter("status", "error"))).isEmpty();
    }

    @Test
    void ownerIdsSelectWhoseSnapshotsAreShownAndNeverShowAnotherAccounts() {
        String mine = start("x", "x");
        assertThat(ids(ec2.describeSnapshots(r -> r.ownerIds("self"))))
                .as("Owner.1=self")
                .containsExactly(mine);
        assertThat(ids(ec2.describeSnapshots(r -> r.ownerIds(OWNER))))
                .as("Owner.1=own account")
                .containsExactly(mine);
        assertThat(ids(ec2.describeSnapshots(r -> r.ownerIds("444455556666"))))
                .as("Owner.1=another account: none of its snapshots are shared, none of ours match")
                .isEmpty();
    }

    @Test
    void nonexistentIdIsNotFound() {
        String real = start("x", "x");
        Ec2Exception e =
                ec2Error(() -> ec2.describeSnapshots(r -> r.snapshotIds("snap-0123456789abcdef0")));
        assertThat(e.awsErrorDetails().errorCode()).isEqualTo("InvalidSnapshot.NotFound");
        assertThat(e.statusCode()).isEqualTo(400);
        assertThat(e.getMessage()).contains("snap-0123456789abcdef0");

        // One missing id among existing ones fails the whole request.
        Ec2Exception mixed =
                ec2Error(
                        () ->
                                ec2.describeSnapshots(
                                        r -> r.snapshotIds(real, "snap-00000000000000000")));
        assertThat(mixed.awsErrorDetails().errorCode()).isEqualTo("InvalidSnapshot.NotFound");

        // A snapshot of another region is not found here.
        try (EbsClient west = EbsClients.ebs(ebsLocal.server(), "us-west-2")) {
            String westId = EbsClients.start(west, 1, null).snapshotId();
            Ec2Exception other = ec2Error(() -> ec2.describeSnapshots(r -> r.snapshotIds(westId)));
            assertThat(other.awsErrorDetails().errorCode()).isEqualTo("InvalidSnapshot.NotFound");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"vol-0123456789abcdef0", "snap-XYZ", "snap-"})
    void malformedIdIsRejected(String bad) {
        Ec2Exception e = ec2Error(() -> ec2.describeSnapshots(r -> r.snapshotIds(bad)));
        assertThat(e.awsErrorDetails().errorCode()).isEqualTo("InvalidSnapshotID.Malformed");
        assertThat(e.statusCode()).isEqualTo(400);
    }

    @Test
    void pagesOfFiveOverTwelveSnapshots() {
        List<String> created = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            created.add(start("page-" + i, "d" + i));
        }
        List<String> listed = new ArrayList<>();
        List<Integer> sizes = new ArrayList<>();
        String next = null;
        do {
            String t = next;
            DescribeSnapshotsResponse page =
                    ec2.describeSnapshots(r -> r.maxResults(5).nextToken(t));
            sizes.add(page.snapshots().size());
            listed.addAll(ids(page));
            next = page.nextToken();
            assertThat(sizes).hasSizeLessThan(10);
        } while (next != null);
        assertThat(sizes).containsExactly(5, 5, 2);
        assertThat(listed).containsExactlyInAnyOrderElementsOf(created).doesNotHaveDuplicates();

        // The SDK paginator sees the same, and paging combines with a filter.
        assertThat(
                        ec2.describeSnapshotsPaginator(r -> r.maxResults(5)).snapshots().stream()
                                .map(Snapshot::snapshotId)
                                .toList())
                .containsExactlyInAnyOrderElementsOf(created);
        var filtered =
                ec2
                        .describeSnapshotsPaginator(
                                r ->
                                        r.maxResults(5)
                                                .filters(
                                                        Filter.builder()
                                                                .name("tag:Name")
                                                                .values("page-1*")
                                                                .build()))
                        .snapshots()
                        .stream()
                        .map(Snapshot::snapshotId)
                        .toList();
        assertThat(filtered)
                .containsExactlyInAnyOrder(created.get(1), created.get(10), created.get(11));
    }

    @Test
    void timedOutSnapshotIsInErrorAndRejectsWrites() {
        String id =
                ebs.startSnapshot(r -> r.volumeSize(1L).timeout(10).description("will time out"))
                        .snapshotId();
        assertThat(describe(id).state()).isEqualTo(SnapshotState.PENDING);
        ebsLocal.clock().advance(Duration.ofMinutes(11));

        Snapshot s = describe(id);
        assertThat(s.state()).isEqualTo(SnapshotState.ERROR);
        assertThat(s.stateMessage()).isNotBlank();
        assertThat(where(filter("status", "error"))).containsExactly(id);

        byte[] data = EbsClients.block(5);
        try {
            EbsClients.put(ebs, id, 0, data);
            throw new AssertionError("a write to an errored snapshot must fail");
        } catch (ValidationException e) {
            assertThat(e.statusCode()).isEqualTo(400);
            assertThat(e.reasonAsString()).isNull();
        }
        try {
            ebs.completeSnapshot(r -> r.snapshotId(id).changedBlocksCount(0));
            throw new AssertionError("completing an errored snapshot must fail");
        } catch (ValidationException e) {
            assertThat(e.statusCode()).isEqualTo(400);
        }
        assertThat(describe(id).state()).isEqualTo(SnapshotState.ERROR);
        assertThat(ebsLocal.service().snapshot(REGION, id).ownBlockCount()).isZero();
    }

    @Test
    void snapshotNotCompletedAfterItsLastWriteTimesOut() {
        String id = ebs.startSnapshot(r -> r.volumeSize(1L).timeout(10)).snapshotId();
        ebsLocal.clock().advance(Duration.ofMinutes(8));
        EbsClients.put(ebs, id, 0, EbsClients.block(6));
        ebsLocal.clock().advance(Duration.ofMinutes(8)); // 16 min after start, 8 after the write
        assertThat(describe(id).state()).isEqualTo(SnapshotState.PENDING);
        ebsLocal.clock().advance(Duration.ofMinutes(3));
        Snapshot s = describe(id);
        assertThat(s.state()).isEqualTo(SnapshotState.ERROR);
        assertThat(s.stateMessage()).isNotBlank();
    }

    @Test
    void aWildcardThatWouldBacktrackAnswersAtOnce() {
        for (int i = 0; i < 5; i++) {
            start("n" + i, "d");
        }
        long t0 = System.nanoTime();
        var r =
                ec2.describeSnapshots(
                        b ->
                                b.filters(
                                        Filter.builder()
                                                .name("snapshot-id")
                                                .values("*".repeat(40) + "z", "*a".repeat(40) + "z")
                                                .build()));
        assertThat(r.snapshots()).isEmpty();
        assertThat((System.nanoTime() - t0) / 1_000_000)
                .as("milliseconds, not the hours a backtracking match takes")
                .isLessThan(5000);
    }

    @Test
    void aNegativeNextTokenOrAnOverflowingFilterIndexIs400() throws Exception {
        start("x", "x");
        Ec2Exception negative =
                ec2Error(
                        () ->
                                ec2.describeSnapshots(
                                        r ->
                                                r.maxResults(5)
                                                        .nextToken(
                                                                java.util.Base64.getEncoder()
                                                                        .encodeToString(
                                                                                "-5".getBytes()))));
        assertThat(negative.statusCode()).isEqualTo(400);
        assertThat(negative.awsErrorDetails().errorCode()).isEqualTo("InvalidParameterValue");

        for (String form :
                List.of(
                        "Action=DescribeSnapshots&Version=2016-11-15&Filter.99999999999.Name=status"
                                + "&Filter.99999999999.Value.1=pending",
                        "Action=DescribeSnapshots&Version=2016-11-15&Filter.1.Name=status"
                                + "&Filter.1.Value.99999999999=pending")) {
            RawHttp.Request post =
                    new RawHttp.Request("POST", "/", null)
                            .service("ec2")
                            .header("content-type", "application/x-www-form-urlencoded")
                            .body(form.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            var r =
                    RawHttp.exchange(
                            ebsLocal.endpoint(),
                            post.signed(ebsLocal.endpoint(), ebsLocal.accessKey()));
            assertThat(r.status()).as(r.body()).isEqualTo(400);
            assertThat(r.body()).contains("InvalidParameterValue");
        }
    }
}
