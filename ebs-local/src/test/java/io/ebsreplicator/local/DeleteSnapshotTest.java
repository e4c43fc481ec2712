package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.service.Quotas;
import io.ebsreplicator.local.service.SnapshotStatus;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ResourceNotFoundException;
import software.amazon.awssdk.services.ebs.model.StartSnapshotResponse;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Ec2Exception;
import software.amazon.awssdk.services.ec2.model.Snapshot;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * EC2 DeleteSnapshot through the SDK's Ec2Client, on a data directory: a deleted snapshot is gone
 * for every API, its blocks stay for the snapshots built on it, a pending snapshot cannot be
 * deleted, a second deletion answers InvalidSnapshot.NotFound, and a restart (with or without a
 * compaction in between) keeps all of that.
 */
class DeleteSnapshotTest {

    private static final String REGION = "us-east-1";

    @TempDir Path dataDir;

    private EbsLocalServer start(Consumer<EbsLocalConfig.Builder> extra) throws IOException {
        EbsLocalConfig.Builder b =
                EbsLocalConfig.builder()
                        .dataDir(dataDir)
                        .sealDelay(Duration.ZERO)
                        .quotas(Quotas.unlimited());
        extra.accept(b);
        return EbsLocalServer.start(b.build());
    }

    /** parent (blocks 0, 1) and child (block 1 again, block 2), both completed. */
    private record Lineage(String parent, String child) {}

    private static Lineage lineage(EbsClient ebs, Ec2Client ec2) throws InterruptedException {
        String parent = ErrorReasonsTest.completed(ebs, ec2, 1, null, 0, 1);
        String child = EbsClients.start(ebs, 1, parent).snapshotId();
        byte[] b1 = EbsClients.block(101);
        byte[] b2 = EbsClients.block(2);
        EbsClients.put(ebs, child, 1, b1);
        EbsClients.put(ebs, child, 2, b2);
        EbsClients.complete(ebs, child, List.of(b1, b2));
        EbsClients.awaitCompleted(ec2, child);
        return new Lineage(parent, child);
    }

    @Test
    void aDeletedSnapshotIsGoneButItsChildStillReadsTheBlocksItInherited() throws Exception {
        try (EbsLocalServer server = start(b -> {});
                EbsClient ebs = EbsClients.ebs(server, REGION);
                Ec2Client ec2 = EbsClients.ec2(server, REGION)) {
            Lineage l = lineage(ebs, ec2);
            var before = server.service().blocksOf(REGION, l.child());

            var answer = ec2.deleteSnapshot(r -> r.snapshotId(l.parent()));

            assertThat(answer.sdkHttpResponse().isSuccessful()).isTrue();
            assertThat(server.service().snapshot(REGION, l.parent())).isNull();
            assertThat(server.service().deleted(REGION, l.parent())).isTrue();
            Ec2Exception described =
                    catchThrowableOfType(
                            Ec2Exception.class,
                            () -> ec2.describeSnapshots(r -> r.snapshotIds(l.parent())));
            assertThat(described.awsErrorDetails().errorCode())
                    .isEqualTo("InvalidSnapshot.NotFound");
            assertThat(ids(ec2.describeSnapshots(r -> {}).snapshots()))
                    .contains(l.child())
                    .doesNotContain(l.parent());
            ResourceNotFoundException listed =
                    catchThrowableOfType(
                            ResourceNotFoundException.class,
                            () -> ebs.listSnapshotBlocks(r -> r.snapshotId(l.parent())));
            assertThat(listed.reasonAsString()).isEqualTo("SNAPSHOT_NOT_FOUND");
            ResourceNotFoundException asParent =
                    catchThrowableOfType(
                            ResourceNotFoundException.class,
                            () -> EbsClients.start(ebs, 1, l.parent()));
            assertThat(asParent.reasonAsString()).isEqualTo("DEPENDENCY_RESOURCE_NOT_FOUND");

            assertThat(server.service().blocksOf(REGION, l.child()))
                    .as("the child's blocks, inherited ones included, are unchanged")
                    .isEqualTo(before)
                    .containsOnlyKeys(0, 1, 2);
            var page = ebs.listSnapshotBlocks(r -> r.snapshotId(l.child()));
            var block0 = page.blocks().get(0);
            assertThat(block0.blockIndex()).isZero();
            assertThat(EbsClients.get(ebs, l.child(), 0, block0.blockToken()))
                    .as("a block the child inherited from the deleted parent")
                    .isEqualTo(EbsClients.block(0));
        }
    }

    @Test
    void aSecondDeletionAnswersNotFoundAndAPendingSnapshotCannotBeDeleted() throws Exception {
        try (EbsLocalServer server = start(b -> {});
                EbsClient ebs = EbsClients.ebs(server, REGION);
                Ec2Client ec2 = EbsClients.ec2(server, REGION)) {
            String done = ErrorReasonsTest.completed(ebs, ec2, 1, null, 0);
            String pending = EbsClients.start(ebs, 1, null).snapshotId();
            ec2.deleteSnapshot(r -> r.snapshotId(done));

            Ec2Exception again =
                    catchThrowableOfType(
                            Ec2Exception.class, () -> ec2.deleteSnapshot(r -> r.snapshotId(done)));
            Ec2Exception stillPending =
                    catchThrowableOfType(
                            Ec2Exception.class,
                            () -> ec2.deleteSnapshot(r -> r.snapshotId(pending)));
            Ec2Exception malformed =
                    catchThrowableOfType(
                            Ec2Exception.class,
                            () -> ec2.deleteSnapshot(r -> r.snapshotId("vol-0123")));
            Ec2Exception dryRun =
                    catchThrowableOfType(
                            Ec2Exception.class,
                            () -> ec2.deleteSnapshot(r -> r.snapshotId(pending).dryRun(true)));

            assertThat(again.awsErrorDetails().errorCode()).isEqualTo("InvalidSnapshot.NotFound");
            assertThat(again.statusCode()).isEqualTo(400);
            assertThat(stillPending.awsErrorDetails().errorCode()).isEqualTo("IncorrectState");
            assertThat(malformed.awsErrorDetails().errorCode())
                    .isEqualTo("InvalidSnapshotID.Malformed");
            assertThat(dryRun.awsErrorDetails().errorCode())
                    .as("a dry run checks the state first")
                    .isEqualTo("IncorrectState");
            assertThat(server.service().snapshot(REGION, pending).status())
                    .isEqualTo(SnapshotStatus.PENDING);
        }
    }

    @Test
    void aDryRunOfADeletableSnapshotDeletesNothing() throws Exception {
        try (EbsLocalServer server = start(b -> {});
                EbsClient ebs = EbsClients.ebs(server, REGION);
                Ec2Client ec2 = EbsClients.ec2(server, REGION)) {
            String done = ErrorReasonsTest.completed(ebs, ec2, 1, null, 0);

            Ec2Exception dryRun =
                    catchThrowableOfType(
                            Ec2Exception.class,
                            () -> ec2.deleteSnapshot(r -> r.snapshotId(done).dryRun(true)));

            assertThat(dryRun.awsErrorDetails().errorCode()).isEqualTo("DryRunOperation");
            assertThat(dryRun.statusCode()).isEqualTo(412);
            assertThat(server.service().snapshot(REGION, done)).isNotNull();
        }
    }

    @Test
    void anotherAccountsSnapshotIsNotFoundAndStays() throws Exception {
        try (EbsLocalServer server =
                        start(
                                b ->
                                        b.addKey(AccessKey.DEFAULT)
                                                .addKey(ErrorReasonsTest.OTHER_ACCOUNT));
                EbsClient ebs = EbsClients.ebs(server, REGION);
                Ec2Client ec2 = EbsClients.ec2(server, REGION)) {
            String mine = ErrorReasonsTest.completed(ebs, ec2, 1, null, 0);
            try (Ec2Client other =
                    Ec2Client.builder()
                            .endpointOverride(server.endpoint())
                            .region(software.amazon.awssdk.regions.Region.of(REGION))
                            .credentialsProvider(
                                    EbsClients.credentials(ErrorReasonsTest.OTHER_ACCOUNT))
                            .overrideConfiguration(EbsClients.noRetries())
                            .build()) {
                Ec2Exception refused =
                        catchThrowableOfType(
                                Ec2Exception.class,
                                () -> other.deleteSnapshot(r -> r.snapshotId(mine)));
                assertThat(refused.awsErrorDetails().errorCode())
                        .isEqualTo("InvalidSnapshot.NotFound");
            }
            assertThat(server.service().snapshot(REGION, mine)).isNotNull();
        }
    }

    @Test
    void aRestartKeepsTheDeletionAndTheChildsInheritedBlocks() throws Exception {
        Lineage l;
        String lone;
        StartSnapshotResponse first;
        java.util.SortedMap<Integer, ?> before;
        try (EbsLocalServer server = start(b -> {});
                EbsClient ebs = EbsClients.ebs(server, REGION);
                Ec2Client ec2 = EbsClients.ec2(server, REGION)) {
            l = lineage(ebs, ec2);
            before = server.service().blocksOf(REGION, l.child());
            first = ebs.startSnapshot(r -> r.volumeSize(1L).clientToken("lone-token").timeout(60));
            lone = first.snapshotId();
            EbsClients.put(ebs, lone, 0, EbsClients.block(9));
            EbsClients.complete(ebs, lone, List.of(EbsClients.block(9)));
            EbsClients.awaitCompleted(ec2, lone);
            ec2.deleteSnapshot(r -> r.snapshotId(l.parent()));
            ec2.deleteSnapshot(r -> r.snapshotId(lone));
        }
        try (EbsLocalServer server = start(b -> {});
                EbsClient ebs = EbsClients.ebs(server, REGION);
                Ec2Client ec2 = EbsClients.ec2(server, REGION)) {
            assertThat(server.service().snapshot(REGION, l.parent())).isNull();
            assertThat(server.service().snapshot(REGION, lone)).isNull();
            assertThat(server.service().blocksOf(REGION, l.child())).isEqualTo(before);
            Ec2Exception again =
                    catchThrowableOfType(
                            Ec2Exception.class,
                            () -> ec2.deleteSnapshot(r -> r.snapshotId(l.parent())));
            assertThat(again.awsErrorDetails().errorCode()).isEqualTo("InvalidSnapshot.NotFound");
            StartSnapshotResponse replay =
                    ebs.startSnapshot(r -> r.volumeSize(1L).clientToken("lone-token").timeout(60));
            assertThat(replay.snapshotId())
                    .as("a replayed ClientToken answers the original result, deleted since")
                    .isEqualTo(lone);
        }
        java.io.ByteArrayOutputStream report = new java.io.ByteArrayOutputStream();
        int check =
                io.ebsreplicator.local.service.DataDirCheck.run(
                        dataDir, new java.io.PrintStream(report, true));
        assertThat(check).as("--check of a data directory with deletions: %s", report).isZero();
    }

    @Test
    void aCompactedJournalKeepsADeletedParentForItsChildAndForgetsALoneDeletedSnapshot()
            throws Exception {
        Lineage l;
        String lone;
        java.util.SortedMap<Integer, ?> before;
        try (EbsLocalServer server =
                        start(b -> b.journalCompactionMinBytes(1024).journalCompactionRatio(1.5));
                EbsClient ebs = EbsClients.ebs(server, REGION);
                Ec2Client ec2 = EbsClients.ec2(server, REGION)) {
            l = lineage(ebs, ec2);
            lone = ErrorReasonsTest.completed(ebs, ec2, 1, null, 7);
            before = server.service().blocksOf(REGION, l.child());
            ec2.deleteSnapshot(r -> r.snapshotId(l.parent()));
            ec2.deleteSnapshot(r -> r.snapshotId(lone));
            // Overwrites of one pending snapshot grow the journal past the state: it compacts.
            String scratch = EbsClients.start(ebs, 1, null).snapshotId();
            for (int i = 0; i < 60; i++) {
                EbsClients.put(ebs, scratch, 0, EbsClients.block(i % 2));
            }
            assertThat(server.service().deleted(REGION, lone))
                    .as("still known in this run")
                    .isTrue();
        }
        try (EbsLocalServer server = start(b -> {});
                EbsClient ebs = EbsClients.ebs(server, REGION)) {
            assertThat(server.service().recovery().lostData()).isFalse();
            assertThat(server.service().snapshot(REGION, l.parent())).isNull();
            assertThat(server.service().deleted(REGION, l.parent()))
                    .as("kept by the compaction for the child built on it")
                    .isTrue();
            assertThat(server.service().deleted(REGION, lone))
                    .as("nothing is built on it: the compaction left it out")
                    .isFalse();
            assertThat(server.service().snapshot(REGION, lone)).isNull();
            assertThat(server.service().blocksOf(REGION, l.child())).isEqualTo(before);
            var page = ebs.listSnapshotBlocks(r -> r.snapshotId(l.child()));
            assertThat(page.blocks()).hasSize(3);
        }
    }

    private static List<String> ids(List<Snapshot> snapshots) {
        return snapshots.stream().map(Snapshot::snapshotId).toList();
    }
}
