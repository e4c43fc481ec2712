package io.ebsreplicator.local;

import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.Block;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.services.ebs.model.ValidationExceptionReason;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Block tokens: bound to region, snapshot and index, unforgeable, per-secret and expiring. */
class TokenTest {

    private static final String REGION = "us-east-1";

    @RegisterExtension
    final EbsLocalExtension ebsLocal =
            EbsLocalExtension.builder().configure(b -> b.sealDelay(Duration.ZERO)).build();

    private EbsClient ebs;
    private String snapA;
    private String snapB;

    private static final byte[] A5 = EbsClients.block(105);
    private static final byte[] A6 = EbsClients.block(106);
    private static final byte[] B5 = EbsClients.block(205);
    private static final byte[] B6 = EbsClients.block(206);

    @BeforeEach
    void setUp() {
        ebs = EbsClients.ebs(ebsLocal.server(), REGION);
        snapA = snapshot(ebs, A5, A6);
        snapB = snapshot(ebs, B5, B6);
    }

    @AfterEach
    void tearDown() {
        ebs.close();
    }

    /** A completed 1 GiB snapshot with data at blocks 5 and 6. */
    private static String snapshot(EbsClient client, byte[] five, byte[] six) {
        String id = EbsClients.start(client, 1, null).snapshotId();
        EbsClients.put(client, id, 5, five);
        EbsClients.put(client, id, 6, six);
        EbsClients.complete(client, id, List.of(five, six));
        return id;
    }

    private static Map<Integer, String> tokens(EbsClient client, String snapshotId) {
        return client.listSnapshotBlocks(r -> r.snapshotId(snapshotId)).blocks().stream()
                .collect(Collectors.toMap(Block::blockIndex, Block::blockToken));
    }

    private static void assertInvalidBlockToken(Runnable call) {
        try {
            call.run();
        } catch (ValidationException e) {
            assertThat(e.statusCode()).isEqualTo(400);
            assertThat(e.reason()).isEqualTo(ValidationExceptionReason.INVALID_BLOCK_TOKEN);
            return;
        }
        throw new AssertionError("expected ValidationException(INVALID_BLOCK_TOKEN)");
    }

    @Test
    void tokensReadTheirOwnBlock() {
        Map<Integer, String> a = tokens(ebs, snapA);
        assertThat(EbsClients.get(ebs, snapA, 5, a.get(5))).isEqualTo(A5);
        assertThat(EbsClients.get(ebs, snapA, 6, a.get(6))).isEqualTo(A6);
    }

    @Test
    void tokenOfBlockFiveIsNotValidForBlockSix() {
        Map<Integer, String> a = tokens(ebs, snapA);
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 6, a.get(5)));
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, a.get(6)));
    }

    @Test
    void tokenOfSnapshotAIsNotValidOnSnapshotB() {
        Map<Integer, String> a = tokens(ebs, snapA);
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapB, 5, a.get(5)));
        // Nor a token from ListChangedBlocks of A.
        String changed =
                ebs.listChangedBlocks(r -> r.secondSnapshotId(snapA))
                        .changedBlocks()
                        .get(0)
                        .secondBlockToken();
        assertThat(EbsClients.get(ebs, snapA, 5, changed)).isEqualTo(A5);
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapB, 5, changed));
    }

    @Test
    void tokenOfAnotherRegionIsNotValid() {
        try (EbsClient west = EbsClients.ebs(ebsLocal.server(), "us-west-2")) {
            String westSnap = snapshot(west, A5, A6);
            String westToken = tokens(west, westSnap).get(5);
            assertThat(EbsClients.get(west, westSnap, 5, westToken)).isEqualTo(A5);
            assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, westToken));
        }
    }

    @Test
    void forgedTokensAreRejected() {
        String real = tokens(ebs, snapA).get(5);
        byte[] raw = Base64.getDecoder().decode(real);
        SecureRandom random = new SecureRandom();

        // Random bytes of the right length.
        byte[] randomBytes = new byte[raw.length];
        random.nextBytes(randomBytes);
        String randomToken = Base64.getEncoder().encodeToString(randomBytes);
        assertThat(randomToken).hasSameSizeAs(real);
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, randomToken));

        // The right layout (version, future expiry) with a random MAC.
        byte[] layout = raw.clone();
        byte[] mac = new byte[raw.length - 9];
        random.nextBytes(mac);
        System.arraycopy(mac, 0, layout, 9, mac.length);
        String randomMac = Base64.getEncoder().encodeToString(layout);
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, randomMac));

        // A later expiry with the original MAC.
        byte[] extended = raw.clone();
        ByteBuffer.wrap(extended).putLong(1, ByteBuffer.wrap(raw).getLong(1) + 86_400);
        String extendedToken = Base64.getEncoder().encodeToString(extended);
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, extendedToken));

        // One character changed, in the expiry and in the MAC part.
        for (int pos : new int[] {3, 10, 20, 28}) {
            char[] chars = real.toCharArray();
            chars[pos] = chars[pos] == 'A' ? 'B' : 'A';
            String changed = new String(chars);
            assertThat(changed).isNotEqualTo(real);
            assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, changed));
        }

        // Not base64 at all, and too short.
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, "not-a-token!"));
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, real.substring(0, 12)));

        // The real one still works.
        assertThat(EbsClients.get(ebs, snapA, 5, real)).isEqualTo(A5);
    }

    @Test
    void tokenOfAnotherServerInstanceIsRejected(@TempDir Path tmp) throws Exception {
        // A snapshot kept in a data directory; a copy of the directory with a fresh secret holds
        // the same snapshot id, so only the secret differs between the two servers' tokens.
        Path dirA = tmp.resolve("a");
        Path dirB = tmp.resolve("b");
        Path dirC = tmp.resolve("c");
        String id;
        var config = EbsLocalConfig.builder().sealDelay(Duration.ZERO);
        try (EbsLocalServer a = EbsLocalServer.start(config.dataDir(dirA).build());
                EbsClient client = EbsClients.ebs(a, REGION)) {
            id = snapshot(client, A5, A6);
        }
        copy(dirA, dirB);
        Files.delete(dirB.resolve("token.secret"));
        copy(dirA, dirC); // keeps the secret

        try (EbsLocalServer a =
                        EbsLocalServer.start(
                                EbsLocalConfig.builder()
                                        .sealDelay(Duration.ZERO)
                                        .dataDir(dirA)
                                        .build());
                EbsLocalServer b =
                        EbsLocalServer.start(
                                EbsLocalConfig.builder()
                                        .sealDelay(Duration.ZERO)
                                        .dataDir(dirB)
                                        .build());
                EbsLocalServer c =
                        EbsLocalServer.start(
                                EbsLocalConfig.builder()
                                        .sealDelay(Duration.ZERO)
                                        .dataDir(dirC)
                                        .build());
                EbsClient ca = EbsClients.ebs(a, REGION);
                EbsClient cb = EbsClients.ebs(b, REGION);
                EbsClient cc = EbsClients.ebs(c, REGION)) {
            assertThat(Files.readAllBytes(dirA.resolve("token.secret")))
                    .isNotEqualTo(Files.readAllBytes(dirB.resolve("token.secret")));
            String tokenA = tokens(ca, id).get(5);
            String tokenB = tokens(cb, id).get(5);
            assertThat(EbsClients.get(ca, id, 5, tokenA)).isEqualTo(A5);
            assertThat(EbsClients.get(cb, id, 5, tokenB)).isEqualTo(A5);
            assertInvalidBlockToken(() -> EbsClients.get(ca, id, 5, tokenB));
            assertInvalidBlockToken(() -> EbsClients.get(cb, id, 5, tokenA));
            // Same secret: the token is good on the copy (the secret is per data directory).
            assertThat(EbsClients.get(cc, id, 5, tokenA)).isEqualTo(A5);
        }

        // And an in-memory server started here, with its own random secret, on this test's
        // snapshots.
        String foreign;
        try (EbsLocalServer other =
                        EbsLocalServer.start(
                                EbsLocalConfig.builder().sealDelay(Duration.ZERO).build());
                EbsClient co = EbsClients.ebs(other, REGION)) {
            String otherSnap = snapshot(co, A5, A6);
            foreign = tokens(co, otherSnap).get(5);
            assertThat(EbsClients.get(co, otherSnap, 5, foreign)).isEqualTo(A5);
        }
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, foreign));
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else if (!p.getFileName().toString().equals("ebs-local.lock")) {
                    Files.copy(p, target);
                }
            }
        }
    }

    @Test
    void expiredTokenIsRejectedAndListingAgainGivesAWorkingOne() {
        String old = tokens(ebs, snapA).get(5);
        assertThat(EbsClients.get(ebs, snapA, 5, old)).isEqualTo(A5);

        ebsLocal.clock().advance(Duration.ofDays(8));
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, old));

        String fresh = tokens(ebs, snapA).get(5);
        assertThat(fresh).isNotEqualTo(old);
        assertThat(EbsClients.get(ebs, snapA, 5, fresh)).isEqualTo(A5);
    }

    @Test
    void tokenIsValidJustBeforeItsExpiryTime() {
        var page = ebs.listSnapshotBlocks(r -> r.snapshotId(snapA));
        String token = page.blocks().get(0).blockToken();
        Instant expiry = page.expiryTime();
        Duration untilExpiry = Duration.between(ebsLocal.clock().now(), expiry);
        ebsLocal.clock().advance(untilExpiry.minusSeconds(5));
        assertThat(EbsClients.get(ebs, snapA, 5, token)).isEqualTo(A5);
        ebsLocal.clock().advance(Duration.ofSeconds(10));
        assertInvalidBlockToken(() -> EbsClients.get(ebs, snapA, 5, token));
    }

    @Test
    void listingAgainDoesNotRevokeEarlierTokens() {
        String first = tokens(ebs, snapA).get(5);
        ebsLocal.clock().advance(Duration.ofMinutes(1)); // a later expiry, so a different token
        String second = tokens(ebs, snapA).get(5);
        String changed =
                ebs.listChangedBlocks(r -> r.secondSnapshotId(snapA))
                        .changedBlocks()
                        .get(0)
                        .secondBlockToken();
        assertThat(second).isNotEqualTo(first);
        assertThat(EbsClients.get(ebs, snapA, 5, first)).isEqualTo(A5);
        assertThat(EbsClients.get(ebs, snapA, 5, second)).isEqualTo(A5);
        assertThat(EbsClients.get(ebs, snapA, 5, changed)).isEqualTo(A5);
        assertThat(EbsClients.get(ebs, snapA, 5, first)).isEqualTo(A5);
    }

    @Test
    void expiryTimeIsAboutSevenDaysAhead() {
        Instant now = Instant.now();
        var page = ebs.listSnapshotBlocks(r -> r.snapshotId(snapA));
        assertThat(page.expiryTime())
                .isAfter(now)
                .isBetween(
                        now.plus(Duration.ofDays(7)).minusSeconds(60),
                        now.plus(Duration.ofDays(7)).plusSeconds(60));
        var changed = ebs.listChangedBlocks(r -> r.secondSnapshotId(snapA));
        assertThat(changed.expiryTime())
                .isBetween(
                        now.plus(Duration.ofDays(7)).minusSeconds(60),
                        now.plus(Duration.ofDays(7)).plusSeconds(60));
    }
}
