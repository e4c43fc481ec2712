package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.store.FileJournal;
import io.ebsreplicator.local.store.JournalContents;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.InternalServerException;
import software.amazon.awssdk.services.ebs.model.ValidationException;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A data directory damaged while its server was killed: a flipped byte in a block file and a
 * flipped bit in the middle of the journal. The real command line refuses to start and names the
 * offset, {@code --check} lists exactly what is damaged and who uses it, {@code --salvage} starts
 * with every intact record, and no read ever returns wrong data.
 */
class DamagedDataDirTest {

    private static final String REGION = "us-east-1";

    @TempDir Path dataDir;

    private static EbsClient client(ServerProcess s) {
        return EbsClients.ebs(s.endpoint, AccessKey.DEFAULT, REGION, false);
    }

    private static String hex(byte[] block) {
        return HexFormat.of().formatHex(Base64.getDecoder().decode(EbsClients.sha256(block)));
    }

    private static String completed(EbsClient ebs, String parent, int... indexes) throws Exception {
        String id = EbsClients.start(ebs, 1, parent).snapshotId();
        List<byte[]> written = new java.util.ArrayList<>();
        for (int i : indexes) {
            EbsClients.put(ebs, id, i, EbsClients.block(i));
            written.add(EbsClients.block(i));
        }
        EbsClients.complete(ebs, id, written);
        awaitCompleted(ebs, id);
        return id;
    }

    private static void awaitCompleted(EbsClient ebs, String id) throws InterruptedException {
        for (int i = 0; i < 500; i++) {
            try {
                ebs.listSnapshotBlocks(r -> r.snapshotId(id));
                return;
            } catch (ValidationException e) {
                Thread.sleep(20);
            }
        }
        throw new AssertionError(id + " did not complete");
    }

    private static byte[] read(EbsClient ebs, String id, int index) {
        String token =
                ebs.listSnapshotBlocks(r -> r.snapshotId(id)).blocks().stream()
                        .filter(b -> b.blockIndex() == index)
                        .findFirst()
                        .orElseThrow()
                        .blockToken();
        return EbsClients.get(ebs, id, index, token);
    }

    @Test
    void checkAndSalvageReportExactlyWhatIsDamagedAndNothingWrongIsServed() throws Exception {
        String a;
        String c;
        String d;
        ServerProcess first = ServerProcess.start(dataDir);
        try (EbsClient ebs = client(first)) {
            a = completed(ebs, null, 0, 1);
            c = completed(ebs, a, 2); // inherits blocks 0 and 1 of a
            d = completed(ebs, null, 9);
        } finally {
            first.kill();
        }
        // One flipped byte in the block file of a's block 1.
        Path blockFile =
                dataDir.resolve("blocks")
                        .resolve(hex(EbsClients.block(1)).substring(0, 2))
                        .resolve(hex(EbsClients.block(1)));
        byte[] stored = Files.readAllBytes(blockFile);
        stored[4242] ^= 0x20;
        Files.write(blockFile, stored);
        // One flipped bit in the middle of the journal: in d's block write, records follow.
        Path journal = dataDir.resolve("journal.log");
        JournalContents.Entry putOfD =
                FileJournal.read(journal).records().stream()
                        .filter(e -> new String(e.bytes(), StandardCharsets.ISO_8859_1).contains(d))
                        .skip(1)
                        .findFirst()
                        .orElseThrow();
        byte[] log = Files.readAllBytes(journal);
        log[(int) putOfD.offset() + 20] ^= 0x04;
        Files.write(journal, log);

        ServerProcess.Finished check = ServerProcess.run("--check", dataDir.toString());
        assertThat(check.exitCode()).as(check.stdout() + check.stderr()).isEqualTo(1);
        assertThat(check.stdout())
                .contains("damaged bytes at offset " + putOfD.offset())
                .contains("block " + hex(EbsClients.block(1)) + ": its content does not match")
                .contains("used by " + REGION + " " + a + " block 1\n")
                .contains("used by " + REGION + " " + c + " block 1 (inherited)")
                .doesNotContain("block " + hex(EbsClients.block(0)) + ":")
                .contains("2 problems");
        assertThat(Files.readAllBytes(journal)).as("--check changes nothing").isEqualTo(log);

        ServerProcess.Finished refused =
                ServerProcess.run("--port", "0", "--data-dir", dataDir.toString());
        assertThat(refused.exitCode()).isEqualTo(1);
        assertThat(refused.stderr()).contains("offset " + putOfD.offset()).contains("--salvage");
        assertThat(refused.stdout()).doesNotContain("listening");

        ServerProcess salvaged = ServerProcess.start(dataDir, "--salvage");
        try (EbsClient ebs = client(salvaged)) {
            assertThat(salvaged.stderr())
                    .contains("damaged bytes at offset " + putOfD.offset())
                    .contains(d + " is now in error")
                    .contains("kept as");
            // Intact: a's block 0 and c's own block, after the damaged record.
            assertThat(read(ebs, a, 0)).isEqualTo(EbsClients.block(0));
            assertThat(read(ebs, c, 2)).isEqualTo(EbsClients.block(2));
            // The damaged block is refused, never served wrong, in a and in c.
            for (String id : List.of(a, c)) {
                InternalServerException e =
                        ErrorReasonsTest.thrown(
                                InternalServerException.class, () -> read(ebs, id, 1));
                assertThat(e.getMessage()).contains("damaged");
            }
            // Writing the content again repairs the file for everyone.
            String repair = EbsClients.start(ebs, 1, null).snapshotId();
            EbsClients.put(ebs, repair, 1, EbsClients.block(1));
            assertThat(read(ebs, c, 1)).isEqualTo(EbsClients.block(1));
        } finally {
            salvaged.kill();
        }
        ServerProcess.Finished clean = ServerProcess.run("--check", dataDir.toString());
        assertThat(clean.exitCode()).as(clean.stdout()).isZero();
        assertThat(clean.stdout()).contains("no damage");
    }
}
