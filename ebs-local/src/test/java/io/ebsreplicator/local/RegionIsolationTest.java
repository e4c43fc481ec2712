package io.ebsreplicator.local;

import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ChecksumAggregationMethod;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.ebs.model.EbsException;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundException;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;
import software.amazon.awssdk.services.ec2.model.Snapshot;

import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** One process serving two regions: nothing of one region is visible or usable from the other. */
class RegionIsolationTest {

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(b -> b.regions("us-east-1", "eu-west-1").sealDelay(Duration.ZERO))
                    .build();

    static EbsClient us;
    static EbsClient eu;
    static Ec2Client usEc2;
    static Ec2Client euEc2;

    /** A completed snapshot in us-east-1 with blocks 0 and 1. */
    static String usSnap;

    static String usToken0;
    static byte[] usBlock0;

    /** A completed snapshot in eu-west-1 with block 0. */
    static String euSnap;

    @BeforeAll
    static void setUp() throws Exception {
        us = EbsClients.ebs(EBS.server(), "us-east-1");
        eu = EbsClients.ebs(EBS.server(), "eu-west-1");
        usEc2 = EbsClients.ec2(EBS.server(), "us-east-1");
        euEc2 = EbsClients.ec2(EBS.server(), "eu-west-1");

        usBlock0 = EbsClients.block(1);
        byte[] b1 = EbsClients.block(2);
        usSnap = EbsClients.start(us, 1, null).snapshotId();
        EbsClients.put(us, usSnap, 0, usBlock0);
        EbsClients.put(us, usSnap, 1, b1);
        EbsClients.complete(us, usSnap, List.of(usBlock0, b1));
        EbsClients.awaitCompleted(usEc2, usSnap);
        usToken0 = us.listSnapshotBlocks(r -> r.snapshotId(usSnap)).blocks().get(0).blockToken();

        byte[] e0 = EbsClients.block(3);
        euSnap = EbsClients.start(eu, 1, null).snapshotId();
        EbsClients.put(eu, euSnap, 0, e0);
        EbsClients.complete(eu, euSnap, List.of(e0));
        EbsClients.awaitCompleted(euEc2, euSnap);
    }

    @AfterAll
    static void tearDown() {
        for (AutoCloseable c : new AutoCloseable[] {us, eu, usEc2, euEc2}) {
            try {
                if (c != null) {
                    c.close();
                }
            } catch (Exception ignored) {
                // best effort
            }
        }
    }

    @Test
    void controlTheSnapshotIsUsableInItsOwnRegion() {
        assertThat(EbsClients.get(us, usSnap, 0, usToken0)).isEqualTo(usBlock0);
        assertThat(usEc2.describeSnapshots(r -> r.snapshotIds(usSnap)).snapshots())
                .extracting(Snapshot::snapshotId)
                .containsExactly(usSnap);
    }

    @Test
    void putFromOtherRegionIsSnapshotNotFound() throws Exception {
        // A pending snapshot, so that the put would be valid in its own region.
        String pending = EbsClients.start(us, 1, null).snapshotId();
        byte[] data = EbsClients.block(9);
        assertNotFound(() -> EbsClients.put(eu, pending, 0, data), "SNAPSHOT_NOT_FOUND");
        // The same put in us-east-1 succeeds.
        assertThat(EbsClients.put(us, pending, 0, data).checksum())
                .isEqualTo(EbsClients.sha256(data));
    }

    @Test
    void listFromOtherRegionIsSnapshotNotFound() {
        assertNotFound(
                () -> eu.listSnapshotBlocks(r -> r.snapshotId(usSnap)), "SNAPSHOT_NOT_FOUND");
    }

    @Test
    void getWithTokenFromOtherRegionIsSnapshotNotFound() {
        assertNotFound(() -> EbsClients.get(eu, usSnap, 0, usToken0), "SNAPSHOT_NOT_FOUND");
    }

    @Test
    void completeFromOtherRegionIsSnapshotNotFound() {
        String pending = EbsClients.start(us, 1, null).snapshotId();
        assertNotFound(
                () ->
                        eu.completeSnapshot(
                                r ->
                                        r.snapshotId(pending)
                                                .changedBlocksCount(0)
                                                .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                                .checksumAggregationMethod(
                                                        ChecksumAggregationMethod.LINEAR)
                                                .checksum(EbsClients.linear(List.of()))),
                "SNAPSHOT_NOT_FOUND");
        // It is still pending in us-east-1: the eu-west-1 call did nothing to it.
        assertThat(
                        usEc2.describeSnapshots(r -> r.snapshotIds(pending))
                                .snapshots()
                                .get(0)
                                .stateAsString())
                .isEqualTo("pending");
    }

    @Test
    void listChangedBlocksFromOtherRegionIsSnapshotNotFound() {
        assertNotFound(
                () -> eu.listChangedBlocks(r -> r.secondSnapshotId(usSnap)), "SNAPSHOT_NOT_FOUND");
        assertNotFound(
                () -> eu.listChangedBlocks(r -> r.firstSnapshotId(usSnap).secondSnapshotId(euSnap)),
                "SNAPSHOT_NOT_FOUND");
    }

    @Test
    void parentFromOtherRegionIsDependencyNotFound() {
        assertNotFound(
                () -> eu.startSnapshot(r -> r.volumeSize(1L).parentSnapshotId(usSnap)),
                "DEPENDENCY_RESOURCE_NOT_FOUND");
        // The same parent works in its own region.
        assertThat(EbsClients.start(us, 1, usSnap).parentSnapshotId()).isEqualTo(usSnap);
    }

    @Test
    void describeSnapshotsInOtherRegionIsNotFound() {
        Ec2Exception e =
                catchThrowableOfType(
                        Ec2Exception.class,
                        () -> euEc2.describeSnapshots(r -> r.snapshotIds(usSnap)));
        assertThat(e).isNotNull();
        assertThat(e.awsErrorDetails().errorCode()).isEqualTo("InvalidSnapshot.NotFound");
    }

    @Test
    void blockTokenFromOtherRegionIsRejected() {
        // euSnap has a block at index 0 too; a us-east-1 token for index 0 must not read it.
        ValidationException e =
                catchThrowableOfType(
                        ValidationException.class, () -> EbsClients.get(eu, euSnap, 0, usToken0));
        assertThat(e).isNotNull();
        assertThat(e.statusCode()).isEqualTo(400);
        assertThat(e.reasonAsString()).isEqualTo("INVALID_BLOCK_TOKEN");
    }

    @Test
    void regionNotServedIsForbidden() {
        try (EbsClient ap = EbsClients.ebs(EBS.server(), "ap-south-1")) {
            EbsException e =
                    catchThrowableOfType(EbsException.class, () -> EbsClients.start(ap, 1, null));
            assertThat(e).isNotNull();
            assertThat(e.statusCode()).isEqualTo(403);
            assertThat(e.awsErrorDetails().errorMessage()).containsIgnoringCase("region");
        }
    }

    @Test
    void describeSnapshotsListsOnlyItsOwnRegion() {
        String usExtra = EbsClients.start(us, 1, null).snapshotId();
        String euExtra = EbsClients.start(eu, 1, null).snapshotId();

        List<String> inUs =
                usEc2.describeSnapshots(r -> r.ownerIds("self")).snapshots().stream()
                        .map(Snapshot::snapshotId)
                        .toList();
        List<String> inEu =
                euEc2.describeSnapshots(r -> r.ownerIds("self")).snapshots().stream()
                        .map(Snapshot::snapshotId)
                        .toList();
        List<String> inUsAll =
                usEc2.describeSnapshots(r -> {}).snapshots().stream()
                        .map(Snapshot::snapshotId)
                        .toList();
        List<String> inEuAll =
                euEc2.describeSnapshots(r -> {}).snapshots().stream()
                        .map(Snapshot::snapshotId)
                        .toList();

        assertThat(inUs).contains(usSnap, usExtra).doesNotContain(euSnap, euExtra);
        assertThat(inEu).contains(euSnap, euExtra).doesNotContain(usSnap, usExtra);
        assertThat(inUsAll).contains(usSnap, usExtra).doesNotContain(euSnap, euExtra);
        assertThat(inEuAll).contains(euSnap, euExtra).doesNotContain(usSnap, usExtra);
    }

    private static void assertNotFound(Runnable call, String reason) {
        ResourceNotFoundException e =
                catchThrowableOfType(ResourceNotFoundException.class, call::run);
        assertThat(e).as("expected ResourceNotFoundException(" + reason + ")").isNotNull();
        assertThat(e.statusCode()).isEqualTo(404);
        assertThat(e.reasonAsString()).isEqualTo(reason);
    }
}
