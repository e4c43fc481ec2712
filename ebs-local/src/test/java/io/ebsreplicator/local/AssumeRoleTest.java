package io.ebsreplicator.local;

import io.ebsreplicator.local.ErrorReasonsTest.RawResponse;
import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.auth.Role;
import io.ebsreplicator.local.auth.SessionStore;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Quotas;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.AccessDeniedException;
import software.amazon.awssdk.services.ebs.model.AccessDeniedExceptionReason;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.services.ec2.model.Snapshot;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.auth.StsAssumeRoleCredentialsProvider;
import software.amazon.awssdk.services.sts.model.AssumeRoleRequest;
import software.amazon.awssdk.services.sts.model.AssumeRoleResponse;
import software.amazon.awssdk.services.sts.model.Credentials;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * STS AssumeRole on the EBS port, through the unmodified SDK's {@code StsClient} and {@code
 * StsAssumeRoleCredentialsProvider}: a role of another account is assumed with its external id, its
 * session writes and reads snapshots as that account, the two accounts cannot see or touch each
 * other's snapshots, wrong credentials and wrong tokens are refused, and expired session
 * credentials are refused with {@code ExpiredTokenException} while the provider renews its own.
 */
class AssumeRoleTest {

    static final String REGION = "us-east-1";

    /** Account B has no key pair of its own: its role is the only way in, as for a DR target. */
    static final String ACCOUNT_B = "222222222222";

    static final Role ROLE_B =
            Role.parse("arn:aws:iam::" + ACCOUNT_B + ":role/dr-target:" + ACCOUNT_B + ":ext-123");

    /** A role that requires no external id, in a third account. */
    static final Role OPEN_ROLE =
            Role.parse("arn:aws:iam::333333333333:role/ops/open:333333333333");

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(
                            b ->
                                    b.sealDelay(Duration.ZERO)
                                            .quotas(Quotas.unlimited())
                                            .addRole(ROLE_B)
                                            .addRole(OPEN_ROLE))
                    .build();

    // ================================================================ clients

    static StaticCredentialsProvider staticCredentials(AccessKey key) {
        return StaticCredentialsProvider.create(
                AwsBasicCredentials.create(key.accessKeyId(), key.secretAccessKey()));
    }

    static StaticCredentialsProvider sessionCredentials(Credentials c) {
        return StaticCredentialsProvider.create(
                AwsSessionCredentials.create(
                        c.accessKeyId(), c.secretAccessKey(), c.sessionToken()));
    }

    static StsClient sts(URI endpoint, AwsCredentialsProvider credentials) {
        return StsClient.builder()
                .endpointOverride(endpoint)
                .region(Region.of(REGION))
                .credentialsProvider(credentials)
                .httpClient(ApacheHttpClient.builder().build())
                .overrideConfiguration(EbsClients.noRetries())
                .build();
    }

    static EbsClient ebs(URI endpoint, AwsCredentialsProvider credentials) {
        return EbsClient.builder()
                .endpointOverride(endpoint)
                .region(Region.of(REGION))
                .credentialsProvider(credentials)
                .httpClient(ApacheHttpClient.builder().build())
                .overrideConfiguration(EbsClients.noRetries())
                .build();
    }

    static Ec2Client ec2(URI endpoint, AwsCredentialsProvider credentials) {
        return Ec2Client.builder()
                .endpointOverride(endpoint)
                .region(Region.of(REGION))
                .credentialsProvider(credentials)
                .httpClient(ApacheHttpClient.builder().build())
                .overrideConfiguration(EbsClients.noRetries())
                .build();
    }

    static AssumeRoleRequest assumeB(String sessionName) {
        return AssumeRoleRequest.builder()
                .roleArn(ROLE_B.arn())
                .roleSessionName(sessionName)
                .externalId("ext-123")
                .build();
    }

    /** The AWS error code and HTTP status a call fails with. */
    static String failure(ThrowingCallable call) {
        Throwable t = catchThrowable(call);
        assertThat(t)
                .as("the call fails with a service error")
                .isInstanceOf(AwsServiceException.class);
        AwsServiceException e = (AwsServiceException) t;
        return e.awsErrorDetails().errorCode() + " " + e.statusCode();
    }

    static void unauthorized(ThrowingCallable call) {
        Throwable t = catchThrowable(call);
        assertThat(t).isInstanceOf(AccessDeniedException.class);
        assertThat(((AccessDeniedException) t).reason())
                .isEqualTo(AccessDeniedExceptionReason.UNAUTHORIZED_ACCOUNT);
    }

    // ================================================================ tests

    @Test
    void aRoleSessionActsAsTheRolesAccountAndTheAccountsStayApart() throws Exception {
        URI endpoint = EBS.endpoint();
        StaticCredentialsProvider a = staticCredentials(AccessKey.DEFAULT);
        try (StsClient sts = sts(endpoint, a);
                StsAssumeRoleCredentialsProvider roleB =
                        StsAssumeRoleCredentialsProvider.builder()
                                .stsClient(sts)
                                .refreshRequest(assumeB("dr-copy"))
                                .build();
                EbsClient ebsA = ebs(endpoint, a);
                Ec2Client ec2A = ec2(endpoint, a);
                EbsClient ebsB = ebs(endpoint, roleB);
                Ec2Client ec2B = ec2(endpoint, roleB)) {
            // A's own snapshot, and one still pending.
            String snapA = ErrorReasonsTest.completed(ebsA, ec2A, 1, null, 0);
            String pendingA = EbsClients.start(ebsA, 1, null).snapshotId();

            // B writes through the role: the snapshot is B's.
            var started = EbsClients.start(ebsB, 1, null);
            assertThat(started.ownerId())
                    .as("owner of a snapshot the role started")
                    .isEqualTo(ACCOUNT_B);
            String snapB = started.snapshotId();
            byte[] data = EbsClients.block(42);
            EbsClients.put(ebsB, snapB, 3, data);
            EbsClients.complete(ebsB, snapB, List.of(data));
            EbsClients.awaitCompleted(ec2B, snapB);
            String token =
                    ebsB.listSnapshotBlocks(r -> r.snapshotId(snapB)).blocks().get(0).blockToken();
            assertThat(EbsClients.get(ebsB, snapB, 3, token)).isEqualTo(data);
            assertThat(EBS.service().snapshot(REGION, snapB).ownerId()).isEqualTo(ACCOUNT_B);

            // A cannot see or touch B's snapshot.
            assertThat(ec2A.describeSnapshots().snapshots())
                    .extracting(Snapshot::snapshotId)
                    .as("A's DescribeSnapshots without filters")
                    .contains(snapA)
                    .doesNotContain(snapB);
            assertThat(ec2A.describeSnapshots(r -> r.ownerIds(ACCOUNT_B)).snapshots())
                    .as("A asking for B's snapshots by owner")
                    .isEmpty();
            assertThat(failure(() -> ec2A.describeSnapshots(r -> r.snapshotIds(snapB))))
                    .isEqualTo("InvalidSnapshot.NotFound 400");
            assertThat(failure(() -> ec2A.deleteSnapshot(r -> r.snapshotId(snapB))))
                    .isEqualTo("InvalidSnapshot.NotFound 400");
            unauthorized(() -> ebsA.listSnapshotBlocks(r -> r.snapshotId(snapB)));
            unauthorized(() -> EbsClients.get(ebsA, snapB, 3, token));
            unauthorized(() -> EbsClients.start(ebsA, 1, snapB));

            // B's role cannot see or touch A's snapshots.
            assertThat(ec2B.describeSnapshots().snapshots())
                    .extracting(Snapshot::snapshotId)
                    .as("B's DescribeSnapshots without filters")
                    .containsExactly(snapB);
            assertThat(failure(() -> ec2B.describeSnapshots(r -> r.snapshotIds(snapA))))
                    .isEqualTo("InvalidSnapshot.NotFound 400");
            assertThat(failure(() -> ec2B.deleteSnapshot(r -> r.snapshotId(snapA))))
                    .isEqualTo("InvalidSnapshot.NotFound 400");
            String tokenA =
                    ebsA.listSnapshotBlocks(r -> r.snapshotId(snapA)).blocks().get(0).blockToken();
            unauthorized(() -> ebsB.listSnapshotBlocks(r -> r.snapshotId(snapA)));
            unauthorized(() -> EbsClients.get(ebsB, snapA, 0, tokenA));
            unauthorized(() -> ebsB.listChangedBlocks(r -> r.secondSnapshotId(snapA)));
            unauthorized(
                    () ->
                            ebsB.listChangedBlocks(
                                    r -> r.firstSnapshotId(snapA).secondSnapshotId(snapB)));
            unauthorized(() -> EbsClients.start(ebsB, 1, snapA));
            unauthorized(() -> EbsClients.put(ebsB, pendingA, 0, data));
            unauthorized(
                    () -> ebsB.completeSnapshot(r -> r.snapshotId(pendingA).changedBlocksCount(0)));
            assertThat(EBS.service().snapshot(REGION, snapA).ownerId()).isEqualTo("111122223333");
        }
    }

    @Test
    void assumeRoleAnswersTheStsShapeAndChecksTheExternalIdAndTheParameters() {
        try (StsClient sts = sts(EBS.endpoint(), staticCredentials(AccessKey.DEFAULT))) {
            Instant before = Instant.now();
            AssumeRoleResponse r = sts.assumeRole(assumeB("copy-1"));
            Credentials c = r.credentials();
            assertThat(c.accessKeyId()).startsWith(SessionStore.ACCESS_KEY_PREFIX).hasSize(20);
            assertThat(c.secretAccessKey()).hasSize(40);
            assertThat(c.sessionToken()).isNotBlank();
            assertThat(c.expiration())
                    .as("default DurationSeconds is one hour")
                    .isBetween(before.plusSeconds(3600 - 2), before.plusSeconds(3600 + 2));
            assertThat(r.assumedRoleUser().arn())
                    .isEqualTo("arn:aws:sts::222222222222:assumed-role/dr-target/copy-1");
            assertThat(r.assumedRoleUser().assumedRoleId()).matches("AROA[A-Z2-7]{17}:copy-1");
            assertThat(
                            sts.assumeRole(
                                            assumeB("copy-2").toBuilder()
                                                    .durationSeconds(900)
                                                    .build())
                                    .credentials()
                                    .expiration())
                    .isBetween(Instant.now().plusSeconds(900 - 2), Instant.now().plusSeconds(900));

            // STS does not tell a missing role from a refused one.
            assertThat(
                            failure(
                                    () ->
                                            sts.assumeRole(
                                                    assumeB("s1").toBuilder()
                                                            .externalId("ext-999")
                                                            .build())))
                    .as("wrong external id")
                    .isEqualTo("AccessDenied 403");
            assertThat(
                            failure(
                                    () ->
                                            sts.assumeRole(
                                                    assumeB("s1").toBuilder()
                                                            .externalId(null)
                                                            .build())))
                    .as("missing external id")
                    .isEqualTo("AccessDenied 403");
            assertThat(
                            failure(
                                    () ->
                                            sts.assumeRole(
                                                    assumeB("s1").toBuilder()
                                                            .roleArn(
                                                                    "arn:aws:iam::222222222222:role/no-such-role")
                                                            .build())))
                    .as("unknown role")
                    .isEqualTo("AccessDenied 403");
            // A role without an external id takes any.
            assertThat(
                            sts.assumeRole(
                                            r2 ->
                                                    r2.roleArn(OPEN_ROLE.arn())
                                                            .roleSessionName("ops")
                                                            .externalId("whatever"))
                                    .assumedRoleUser()
                                    .arn())
                    .as("the path is not part of the assumed-role ARN")
                    .isEqualTo("arn:aws:sts::333333333333:assumed-role/open/ops");

            for (ThrowingCallable bad :
                    List.<ThrowingCallable>of(
                            () -> sts.assumeRole(assumeB("x")),
                            () -> sts.assumeRole(assumeB("has space")),
                            () -> sts.assumeRole(assumeB("n".repeat(65))),
                            () ->
                                    sts.assumeRole(
                                            assumeB("s1").toBuilder().durationSeconds(899).build()),
                            () ->
                                    sts.assumeRole(
                                            assumeB("s1").toBuilder()
                                                    .durationSeconds(43_201)
                                                    .build()),
                            () -> sts.assumeRole(assumeB("s1").toBuilder().roleArn(null).build()),
                            () -> sts.assumeRole(assumeB("s1").toBuilder().policy("{}").build()))) {
                assertThat(failure(bad)).isEqualTo("ValidationError 400");
            }
        }
    }

    @Test
    void boto3AssumesTheRoleAndWritesAsItsAccount() throws Exception {
        Path python = Path.of("/usr/bin/python3");
        assumeTrue(
                Files.isExecutable(python)
                        && new ProcessBuilder(python.toString(), "-c", "import boto3")
                                        .start()
                                        .waitFor()
                                == 0,
                "boto3 is not installed for /usr/bin/python3; skipped");
        Process p =
                new ProcessBuilder(
                                python.toString(),
                                "scripts/boto3_assume_role.py",
                                "--endpoint",
                                EBS.endpoint().toString(),
                                "--role-arn",
                                ROLE_B.arn(),
                                "--external-id",
                                ROLE_B.externalId())
                        .redirectErrorStream(true)
                        .start();
        boolean done = p.waitFor(60, TimeUnit.SECONDS);
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
        }
        assertThat(done).as("boto3 script finished; output:%n%s", output).isTrue();
        assertThat(p.exitValue()).as("exit status; output:%n%s", output).isZero();
        assertThat(output).contains("boto3 assume role: OK");
    }

    @Test
    void errorsHaveTheStsErrorResponseShape() throws Exception {
        // Unsigned: the front end refuses it before the action is looked at.
        byte[] body =
                "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A222222222222%3Arole%2Fdr-target&RoleSessionName=s1"
                        .getBytes(StandardCharsets.UTF_8);
        RawHttp.Request unsigned =
                new RawHttp.Request("POST", "/", null)
                        .header("host", "127.0.0.1")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .header("content-length", String.valueOf(body.length))
                        .body(body);
        RawResponse r = RawHttp.exchange(EBS.endpoint(), unsigned.bytes());
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.body())
                .matches(
                        "(?s)<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\\s*"
                                + "<Error>\\s*<Type>Sender</Type>\\s*<Code>MissingAuthenticationToken</Code>\\s*"
                                + "<Message>[^<]+</Message>\\s*</Error>\\s*<RequestId>[0-9a-f-]{36}</RequestId>\\s*"
                                + "</ErrorResponse>\\s*");

        // Signed for sts, without the external id the role requires.
        RawHttp.Request signed =
                new RawHttp.Request("POST", "/", null)
                        .service("sts")
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body);
        r = RawHttp.exchange(EBS.endpoint(), signed.signed(EBS.endpoint(), AccessKey.DEFAULT));
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.body())
                .contains("<Type>Sender</Type>", "<Code>AccessDenied</Code>")
                .contains(
                        "User: arn:aws:iam::111122223333:root is not authorized to perform:"
                                + " sts:AssumeRole on resource: arn:aws:iam::222222222222:role/dr-target");
    }

    @Test
    void wrongCredentialsAndWrongSessionTokensAreRefused() {
        URI endpoint = EBS.endpoint();
        AccessKey wrongSecret =
                new AccessKey(
                        AccessKey.DEFAULT.accessKeyId(),
                        "not/the/secret/of/this/key/at/all/00000",
                        "111122223333");
        AccessKey unknown =
                new AccessKey(
                        "AKIAEBSLOCALUNKNOWN0",
                        "ebs-local/secret/nobody/knows/000000000",
                        "111122223333");
        try (StsClient bad = sts(endpoint, staticCredentials(wrongSecret));
                StsClient stranger = sts(endpoint, staticCredentials(unknown));
                StsClient sts = sts(endpoint, staticCredentials(AccessKey.DEFAULT))) {
            assertThat(failure(() -> bad.assumeRole(assumeB("s1"))))
                    .isEqualTo("SignatureDoesNotMatch 403");
            assertThat(failure(() -> stranger.assumeRole(assumeB("s1"))))
                    .isEqualTo("InvalidClientTokenId 403");

            Credentials c = sts.assumeRole(assumeB("tokens")).credentials();
            try (EbsClient right = ebs(endpoint, sessionCredentials(c));
                    EbsClient noToken =
                            ebs(
                                    endpoint,
                                    staticCredentials(
                                            new AccessKey(
                                                    c.accessKeyId(),
                                                    c.secretAccessKey(),
                                                    ACCOUNT_B)));
                    EbsClient otherToken =
                            ebs(
                                    endpoint,
                                    sessionCredentials(
                                            c.toBuilder()
                                                    .sessionToken(
                                                            c.sessionToken().substring(1) + "A")
                                                    .build()));
                    EbsClient wrongSessionSecret =
                            ebs(
                                    endpoint,
                                    sessionCredentials(
                                            c.toBuilder()
                                                    .secretAccessKey(wrongSecret.secretAccessKey())
                                                    .build()));
                    EbsClient longTermWithToken =
                            ebs(
                                    endpoint,
                                    StaticCredentialsProvider.create(
                                            AwsSessionCredentials.create(
                                                    AccessKey.DEFAULT.accessKeyId(),
                                                    AccessKey.DEFAULT.secretAccessKey(),
                                                    c.sessionToken())))) {
                assertThat(EbsClients.start(right, 1, null).ownerId()).isEqualTo(ACCOUNT_B);
                assertThat(failure(() -> EbsClients.start(noToken, 1, null)))
                        .as("session key without its token")
                        .isEqualTo("UnrecognizedClientException 403");
                assertThat(failure(() -> EbsClients.start(otherToken, 1, null)))
                        .as("session key with another token")
                        .isEqualTo("UnrecognizedClientException 403");
                assertThat(failure(() -> EbsClients.start(wrongSessionSecret, 1, null)))
                        .isEqualTo("InvalidSignatureException 403");
                assertThat(failure(() -> EbsClients.start(longTermWithToken, 1, null)))
                        .as("a long-term key has no session token")
                        .isEqualTo("UnrecognizedClientException 403");
            }

            // A role session may assume a role (chaining), for at most an hour.
            try (StsClient chained = sts(endpoint, sessionCredentials(c))) {
                assertThat(
                                chained.assumeRole(
                                                r ->
                                                        r.roleArn(OPEN_ROLE.arn())
                                                                .roleSessionName("hop"))
                                        .assumedRoleUser()
                                        .arn())
                        .endsWith(":assumed-role/open/hop");
                assertThat(
                                failure(
                                        () ->
                                                chained.assumeRole(
                                                        r ->
                                                                r.roleArn(OPEN_ROLE.arn())
                                                                        .roleSessionName("hop")
                                                                        .durationSeconds(3601))))
                        .isEqualTo("ValidationError 400");
            }
        }
    }

    @Test
    void expiredSessionsAreRefusedWhileTheProviderRenewsItsOwn() throws Exception {
        // Lifetimes of 3..4 s (whole seconds), and the provider renews with 2 s still left: wide
        // margins, because a loaded machine can take a second for one call.
        Duration cap = Duration.ofSeconds(4);
        try (EbsLocalServer server =
                        EbsLocalServer.start(
                                EbsLocalConfig.builder()
                                        .sealDelay(Duration.ZERO)
                                        .quotas(Quotas.unlimited())
                                        .addRole(ROLE_B)
                                        .stsMaxSession(cap)
                                        .build());
                StsClient sts = sts(server.endpoint(), staticCredentials(AccessKey.DEFAULT))) {
            URI endpoint = server.endpoint();
            Instant before = Instant.now();
            Credentials first =
                    sts.assumeRole(assumeB("held").toBuilder().durationSeconds(3600).build())
                            .credentials();
            assertThat(first.expiration())
                    .as("the cap, not the hour asked for")
                    .isBetween(before.plus(cap).minusSeconds(1), Instant.now().plus(cap));

            Set<String> keysUsed = new HashSet<>();
            List<String> owners = new ArrayList<>();
            try (StsAssumeRoleCredentialsProvider provider =
                            StsAssumeRoleCredentialsProvider.builder()
                                    .stsClient(sts)
                                    .refreshRequest(assumeB("renewing"))
                                    .staleTime(Duration.ofSeconds(2))
                                    .prefetchTime(Duration.ofSeconds(3))
                                    .build();
                    EbsClient renewing = ebs(endpoint, provider);
                    EbsClient held = ebs(endpoint, sessionCredentials(first));
                    Ec2Client heldEc2 = ec2(endpoint, sessionCredentials(first));
                    StsClient heldSts = sts(endpoint, sessionCredentials(first))) {
                // Calls through the provider outlive the first credentials and never fail.
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (keysUsed.size() < 2 || !Instant.now().isAfter(first.expiration())) {
                    assertThat(System.nanoTime()).as("renewed within 30 s").isLessThan(deadline);
                    keysUsed.add(provider.resolveCredentials().accessKeyId());
                    owners.add(EbsClients.start(renewing, 1, null).ownerId());
                    Thread.sleep(200);
                }
                assertThat(owners).containsOnly(ACCOUNT_B);

                assertThat(failure(() -> EbsClients.start(held, 1, null)))
                        .as("EBS with expired session credentials")
                        .isEqualTo("ExpiredTokenException 403");
                assertThat(failure(() -> heldEc2.describeSnapshots()))
                        .as("EC2 with expired session credentials")
                        .isEqualTo("ExpiredTokenException 403");
                assertThat(failure(() -> heldSts.assumeRole(assumeB("again"))))
                        .as("STS with expired session credentials")
                        .isEqualTo("ExpiredToken 403");
            }
        }
    }

    @Test
    void movingTheServiceClockExpiresSessionsWithoutWaiting() {
        URI endpoint = EBS.endpoint();
        try (StsClient sts = sts(endpoint, staticCredentials(AccessKey.DEFAULT))) {
            Credentials c = sts.assumeRole(assumeB("clock")).credentials();
            try (EbsClient ebs = ebs(endpoint, sessionCredentials(c))) {
                assertThat(EbsClients.start(ebs, 1, null).ownerId()).isEqualTo(ACCOUNT_B);
                EBS.clock().advance(Duration.ofHours(2));
                try {
                    assertThat(failure(() -> EbsClients.start(ebs, 1, null)))
                            .isEqualTo("ExpiredTokenException 403");
                } finally {
                    EBS.clock().advance(Duration.ofHours(-2));
                }
                assertThat(EbsClients.start(ebs, 1, null).ownerId()).isEqualTo(ACCOUNT_B);
            }
        }
    }
}
