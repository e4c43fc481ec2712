package io.ebsreplicator.local;

import io.ebsreplicator.local.service.Quotas;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.InternalServerException;

import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Block files damaged on disk while the server was stopped: never served as data, never trusted by
 * a later put of the same content, and a server fault never tells the client where the data
 * directory is.
 */
class BlockIntegrityTest {

    private static final String REGION = "us-east-1";

    @TempDir Path dataDir;

    private EbsLocalServer start() throws Exception {
        return EbsLocalServer.start(
                EbsLocalConfig.builder()
                        .dataDir(dataDir)
                        .sealDelay(Duration.ZERO)
                        .quotas(Quotas.unlimited())
                        .build());
    }

    private Path blockFile(byte[] data) {
        String hex = HexFormat.of().formatHex(Base64.getDecoder().decode(EbsClients.sha256(data)));
        return dataDir.resolve("blocks").resolve(hex.substring(0, 2)).resolve(hex);
    }

    /** Writes {@code data} at index 0 of a new snapshot and completes it; returns its id. */
    private static String completedWith(EbsLocalServer server, byte[] data) throws Exception {
        try (EbsClient ebs = EbsClients.ebs(server, REGION);
                var ec2 = EbsClients.ec2(server, REGION)) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            EbsClients.put(ebs, id, 0, data);
            EbsClients.complete(ebs, id, List.of(data));
            EbsClients.awaitCompleted(ec2, id);
            return id;
        }
    }

    private static byte[] read(EbsClient ebs, String id) {
        String token = ebs.listSnapshotBlocks(r -> r.snapshotId(id)).blocks().get(0).blockToken();
        return EbsClients.get(ebs, id, 0, token);
    }

    private void assertDamagedReadIs500(EbsClient ebs, String id) {
        InternalServerException e =
                ErrorReasonsTest.thrown(InternalServerException.class, () -> read(ebs, id));
        assertThat(e.statusCode()).isEqualTo(500);
        assertThat(e.getMessage()).as("says why").contains("damaged");
        assertThat(e.getMessage())
                .as("no server path in a client message")
                .doesNotContain(dataDir.toString());
    }

    @Test
    void aFlippedByteIsNeverServedAndAPutOfTheSameContentRepairsIt() throws Exception {
        byte[] data = EbsClients.block(41);
        String id;
        try (EbsLocalServer server = start()) {
            id = completedWith(server, data);
        }
        Path file = blockFile(data);
        byte[] stored = Files.readAllBytes(file);
        stored[1000] ^= 0x01;
        Files.write(file, stored);

        try (EbsLocalServer server = start();
                EbsClient ebs = EbsClients.ebs(server, REGION)) {
            assertDamagedReadIs500(ebs, id);
            // The same content again: acknowledged only because the file is rewritten.
            String other = completedWith(server, data);
            assertThat(Files.readAllBytes(file)).as("file rewritten").isEqualTo(data);
            assertThat(read(ebs, other)).isEqualTo(data);
            assertThat(read(ebs, id)).as("the first snapshot is whole again").isEqualTo(data);
        }
    }

    @Test
    void aTruncatedBlockFileIsNeverServedAndAPutRewritesIt() throws Exception {
        byte[] data = EbsClients.block(42);
        String id;
        try (EbsLocalServer server = start()) {
            id = completedWith(server, data);
        }
        Path file = blockFile(data);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.truncate(100_000);
        }
        try (EbsLocalServer server = start();
                EbsClient ebs = EbsClients.ebs(server, REGION)) {
            assertDamagedReadIs500(ebs, id);
            String other = completedWith(server, data);
            assertThat(Files.size(file)).isEqualTo(data.length);
            assertThat(read(ebs, other)).isEqualTo(data);
        }
    }

    @Test
    void aStorageFailureAnswers500WithoutTheDataDirectory() throws Exception {
        byte[] data = EbsClients.block(43);
        // A file where the block's directory must go: storing it fails inside the server.
        Path blockDir = blockFile(data).getParent();
        Files.createDirectories(blockDir.getParent());
        Files.writeString(blockDir, "in the way");
        try (EbsLocalServer server = start();
                EbsClient ebs = EbsClients.ebs(server, REGION)) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            InternalServerException e =
                    ErrorReasonsTest.thrown(
                            InternalServerException.class, () -> EbsClients.put(ebs, id, 0, data));
            assertThat(e.statusCode()).isEqualTo(500);
            assertThat(e.getMessage())
                    .as("no server path in a client message")
                    .doesNotContain(dataDir.toString())
                    .contains("reference");
        }
    }
}
