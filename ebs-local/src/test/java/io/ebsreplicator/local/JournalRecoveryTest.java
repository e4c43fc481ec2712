package io.ebsreplicator.local;

import io.ebsreplicator.local.service.JournalRecovery;
import io.ebsreplicator.local.service.Quotas;
import io.ebsreplicator.local.service.SnapshotStatus;
import io.ebsreplicator.local.store.FileJournal;
import io.ebsreplicator.local.store.JournalContents;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ebs.EbsClient;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * A server started on a journal damaged in the middle: it refuses to start and names the offset, or
 * with salvage keeps every intact record, moves the damaged journal aside and puts snapshots that
 * lost blocks in error; and a journal compacted while serving replays to the same state.
 */
class JournalRecoveryTest {

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

    private Path journal() {
        return dataDir.resolve("journal.log");
    }

    /** Snapshot a (blocks 0, 1), b (block 0), both completed, and c pending with block 5. */
    private String[] writeThreeSnapshots() throws Exception {
        try (EbsLocalServer server = start(b -> {});
                EbsClient ebs = EbsClients.ebs(server, REGION);
                var ec2 = EbsClients.ec2(server, REGION)) {
            String a = ErrorReasonsTest.completed(ebs, ec2, 1, null, 0, 1);
            String b = ErrorReasonsTest.completed(ebs, ec2, 1, null, 0);
            String c = EbsClients.start(ebs, 1, null).snapshotId();
            EbsClients.put(ebs, c, 5, EbsClients.block(5));
            return new String[] {a, b, c};
        }
    }

    /** The intact record that mentions {@code snapshotId} for the {@code nth} time (from 0). */
    private JournalContents.Entry record(String snapshotId, int nth) throws IOException {
        int seen = 0;
        for (JournalContents.Entry e : FileJournal.read(journal()).records()) {
            if (new String(e.bytes(), StandardCharsets.ISO_8859_1).contains(snapshotId)
                    && seen++ == nth) {
                return e;
            }
        }
        throw new AssertionError("no record " + nth + " of " + snapshotId);
    }

    @Test
    void aFlippedBitMidJournalStopsTheStartAndSalvageKeepsEverythingAfterIt() throws Exception {
        String[] ids = writeThreeSnapshots();
        JournalContents.Entry putOfBlock1 = record(ids[0], 2); // start, put 0, put 1
        byte[] bytes = Files.readAllBytes(journal());
        bytes[(int) putOfBlock1.offset() + 12] ^= 0x10;
        Files.write(journal(), bytes);

        Throwable refused = catchThrowable(() -> start(b -> {}).close());
        assertThat(refused)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("offset " + putOfBlock1.offset())
                .hasMessageContaining("--salvage");
        assertThat(Files.readAllBytes(journal())).as("nothing changed").isEqualTo(bytes);

        try (EbsLocalServer server = start(b -> b.salvage(true));
                EbsClient ebs = EbsClients.ebs(server, REGION)) {
            JournalRecovery recovery = server.service().recovery();
            assertThat(recovery.damaged()).hasSize(1);
            assertThat(recovery.damaged().get(0).offset()).isEqualTo(putOfBlock1.offset());
            assertThat(recovery.damagedJournalKept()).isNotNull();
            assertThat(Files.readAllBytes(Path.of(recovery.damagedJournalKept())))
                    .as("the damaged journal kept aside")
                    .isEqualTo(bytes);
            // a lost a block it was completed with: in error, never served short.
            assertThat(server.service().snapshot(REGION, ids[0]).status())
                    .isEqualTo(SnapshotStatus.ERROR);
            assertThat(recovery.failedSnapshots()).anyMatch(s -> s.contains(ids[0]));
            // Everything after the damage is still there.
            assertThat(server.service().blocksOf(REGION, ids[1])).containsOnlyKeys(0);
            assertThat(server.service().snapshot(REGION, ids[2]).status())
                    .isEqualTo(SnapshotStatus.PENDING);
            assertThat(server.service().snapshot(REGION, ids[2]).ownBlockCount()).isEqualTo(1);
            String token =
                    ebs.listSnapshotBlocks(r -> r.snapshotId(ids[1])).blocks().get(0).blockToken();
            assertThat(EbsClients.get(ebs, ids[1], 0, token)).isEqualTo(EbsClients.block(0));
        }
        // The salvaged journal is whole: a plain start needs no salvage.
        try (EbsLocalServer server = start(b -> {})) {
            assertThat(server.service().recovery().lostData()).isFalse();
            assertThat(server.service().snapshot(REGION, ids[0]).status())
                    .isEqualTo(SnapshotStatus.ERROR);
        }
    }

    @Test
    void aStartRecordMissingFromTheMiddleIsReportedNotANullPointer() throws Exception {
        String[] ids = writeThreeSnapshots();
        JournalContents.Entry startOfB = record(ids[1], 0);
        byte[] bytes = Files.readAllBytes(journal());
        int from = (int) startOfB.offset();
        int to = from + 8 + startOfB.bytes().length;
        byte[] cut = new byte[bytes.length - (to - from)];
        System.arraycopy(bytes, 0, cut, 0, from);
        System.arraycopy(bytes, to, cut, from, bytes.length - to);
        Files.write(journal(), cut);

        Throwable refused = catchThrowable(() -> start(b -> {}).close());
        assertThat(refused)
                .isInstanceOf(IOException.class)
                .hasMessageContaining("never started")
                .hasMessageContaining(ids[1])
                .hasMessageContaining("offset " + from);

        try (EbsLocalServer server = start(b -> b.salvage(true))) {
            JournalRecovery recovery = server.service().recovery();
            assertThat(recovery.skipped()).isNotEmpty().allMatch(s -> s.contains(ids[1]));
            assertThat(server.service().snapshot(REGION, ids[1])).isNull();
            assertThat(server.service().blocksOf(REGION, ids[0])).containsOnlyKeys(0, 1);
        }
    }

    @Test
    void compactionBoundsTheJournalAndKeepsTheState() throws Exception {
        String id;
        byte[] last = null;
        try (EbsLocalServer server =
                        start(b -> b.journalCompactionMinBytes(2048).journalCompactionRatio(2));
                EbsClient ebs = EbsClients.ebs(server, REGION)) {
            id = EbsClients.start(ebs, 1, null).snapshotId();
            for (int i = 0; i < 120; i++) {
                last = EbsClients.block(i % 2);
                EbsClients.put(ebs, id, i % 3, last);
            }
            assertThat(Files.size(journal()))
                    .as("120 writes of 3 blocks (about 11 KB of records), compacted as it grew")
                    .isLessThan(4096);
        }
        try (EbsLocalServer server = start(b -> {});
                EbsClient ebs = EbsClients.ebs(server, REGION);
                var ec2 = EbsClients.ec2(server, REGION)) {
            byte[] b0 = EbsClients.block(0);
            byte[] b1 = EbsClients.block(1);
            // Index i % 3 last written at i = 117, 118, 119: contents 1, 0, 1.
            EbsClients.complete(ebs, id, List.of(b1, b0, b1));
            EbsClients.awaitCompleted(ec2, id);
            assertThat(server.service().blocksOf(REGION, id)).containsOnlyKeys(0, 1, 2);
            assertThat(last).isEqualTo(b1);
        }
    }
}
