package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.job.kafka.KafkaBrokerExtension;
import io.ebsreplicator.job.serve.ServePipeline;
import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.local.auth.Role;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.SnapshotStatus;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.CopyMode;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ReplicationTarget;
import io.ebsreplicator.schemas.ResultStatus;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Copies from account A (the job's own credentials) into account B (a DR account) through a role
 * the job assumes with ebs-local's STS: {@code replicate} with {@code --target-role-arn}, its
 * session shorter than the copy, and {@code serve} with requests that name their target's role.
 * Each copy is owned by B, byte-identical to its source, sealed with the LINEAR checksum EBS
 * accepted, and invisible to A's credentials; a request naming a role that is not on the allow-list
 * fails with {@code ROLE_NOT_ALLOWED} while the others complete.
 */
class CrossAccountITCase {

    static final String SOURCE = "us-east-1";
    static final String TARGET = "us-west-2";
    static final String DR_ACCOUNT = "222222222222";
    static final String DR_ROLE = "arn:aws:iam::" + DR_ACCOUNT + ":role/ebs-replicator-dr";
    static final String VAULT_ACCOUNT = "333333333333";
    static final String VAULT_ROLE = "arn:aws:iam::" + VAULT_ACCOUNT + ":role/vault/copier";
    static final String EXTERNAL_ID = "dr-external-id-0123";

    /** A key of the DR account in the target region: copies are re-encrypted with it. */
    static final String DR_KEY =
            "arn:aws:kms:"
                    + TARGET
                    + ":"
                    + DR_ACCOUNT
                    + ":key/1234abcd-12ab-34cd-56ef-1234567890ab";

    /** Sessions that end long before the copy does, so the job must refresh them. */
    static final Duration SESSION = Duration.ofSeconds(2);

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(
                            c ->
                                    c.addRole(new Role(DR_ROLE, DR_ACCOUNT, EXTERNAL_ID))
                                            .addRole(new Role(VAULT_ROLE, VAULT_ACCOUNT, null))
                                            .stsMaxSession(SESSION))
                    .build();

    @RegisterExtension static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

    @Test
    void replicateWritesIntoTheDrAccountThroughARoleWhoseSessionsExpireDuringTheCopy()
            throws Exception {
        String source = TestSnapshots.create(EBS.server(), SOURCE, 1, 120);
        // Every call waits a little, so that the copy outlasts several sessions.
        EBS.setFaults(FaultProfile.builder().latency(15, 0).build());
        long started = System.nanoTime();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status =
                EbsReplicatorCli.run(
                        new String[] {
                            "replicate",
                            "--source-region",
                            SOURCE,
                            "--source-snapshot",
                            source,
                            "--target-region",
                            TARGET,
                            "--source-endpoint",
                            EBS.endpoint().toString(),
                            "--target-endpoint",
                            EBS.endpoint().toString(),
                            "--target-role-arn",
                            TARGET + "=" + DR_ROLE,
                            "--role-external-id",
                            EXTERNAL_ID,
                            "--sts-endpoint",
                            EBS.endpoint().toString(),
                            "--max-in-flight",
                            "2",
                            "--parallelism",
                            "1",
                            "-D",
                            "ebs.credentials.access-key-id=" + EBS.accessKey().accessKeyId(),
                            "-D",
                            "ebs.credentials.secret-access-key="
                                    + EBS.accessKey().secretAccessKey(),
                            "-D",
                            "ebs.credentials.role-refresh-ahead=1s",
                            "-D",
                            "ebs.completion.poll-interval=100ms"
                        },
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8));
        Duration took = Duration.ofNanos(System.nanoTime() - started);
        EBS.setFaults(FaultProfile.none());

        String json = out.toString(StandardCharsets.UTF_8).strip();
        assertThat(status).as(err.toString(StandardCharsets.UTF_8)).isZero();
        assertThat(field(json, "status")).isEqualTo("COMPLETED");
        String target = field(json, "targetSnapshotId");
        assertThat(took)
                .as("the copy outlasted a session, so its credentials were refreshed")
                .isGreaterThan(SESSION.multipliedBy(2));
        assertCopiedIntoTheDrAccount(source, target);
        assertThat(err.toString(StandardCharsets.UTF_8) + json)
                .as("no secret in the output")
                .doesNotContain(EBS.accessKey().secretAccessKey())
                .doesNotContain(EXTERNAL_ID);
    }

    @Test
    void serveCopiesAsTheRoleARequestNamesAndRefusesARoleNotAllowed() throws Exception {
        String requests = KAFKA.newTopic("requests");
        String results = KAFKA.newTopic("results");
        Configuration options = new Configuration();
        options.set(
                EbsReplicationOptions.ENDPOINTS,
                Map.of(SOURCE, EBS.endpoint().toString(), TARGET, EBS.endpoint().toString()));
        options.set(EbsReplicationOptions.ACCESS_KEY_ID, EBS.accessKey().accessKeyId());
        options.set(EbsReplicationOptions.SECRET_ACCESS_KEY, EBS.accessKey().secretAccessKey());
        options.set(EbsReplicationOptions.STS_ENDPOINT, EBS.endpoint().toString());
        options.set(EbsReplicationOptions.ROLE_EXTERNAL_ID, EXTERNAL_ID);
        options.set(EbsReplicationOptions.ALLOWED_ROLE_ARNS, List.of(DR_ROLE));
        options.set(EbsReplicationOptions.ROLE_REFRESH_AHEAD, Duration.ofSeconds(1));
        options.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        options.set(EbsReplicationOptions.TARGET_SEAL_INTERVAL, Duration.ofMillis(200));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(2);
        env.enableCheckpointing(500);
        ServePipeline.build(
                env,
                new ServeSettings(
                        KAFKA.bootstrapServers(),
                        requests,
                        results,
                        KAFKA.newTopic("dead-letters"),
                        null,
                        Duration.ofMinutes(5),
                        Map.of()),
                options,
                BlockTransform.IDENTITY,
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options).withShare(2)));
        JobClient job = env.executeAsync("cross-account-itcase");
        try {
            String toDr = TestSnapshots.create(EBS.server(), SOURCE, 1, 30);
            String refused = TestSnapshots.create(EBS.server(), SOURCE, 1, 10);
            String own = TestSnapshots.create(EBS.server(), SOURCE, 1, 20);
            publish(requests, "to-dr", toDr, DR_ROLE, DR_KEY);
            publish(requests, "to-vault", refused, VAULT_ROLE, null);
            publish(requests, "own-account", own, null, null);

            Map<String, ReplicationResult> byId = new HashMap<>();
            for (ConsumerRecord<byte[], byte[]> r :
                    KAFKA.consumeAll(results, 3, Duration.ofSeconds(90))) {
                ReplicationResult result = AvroCodec.forResults().decode(r.value());
                assertThat(byId.put(result.getRequestId(), result))
                        .as("one result per request")
                        .isNull();
            }
            assertThat(byId).containsOnlyKeys("to-dr", "to-vault", "own-account");

            ReplicationResult dr = byId.get("to-dr");
            assertThat(dr.getStatus()).as("%s", dr).isEqualTo(ResultStatus.COMPLETED);
            assertCopiedIntoTheDrAccount(toDr, dr.getTargetSnapshotId());
            assertThat(EBS.service().snapshot(TARGET, dr.getTargetSnapshotId()).kmsKeyArn())
                    .as("re-encrypted with the DR account's key")
                    .isEqualTo(DR_KEY);

            ReplicationResult vault = byId.get("to-vault");
            assertThat(vault.getStatus()).isEqualTo(ResultStatus.FAILED);
            assertThat(vault.getError().getReason()).isEqualTo("ROLE_NOT_ALLOWED");
            assertThat(vault.getError().getMessage()).contains(VAULT_ROLE);
            assertThat(EBS.service().snapshots(TARGET))
                    .as("nothing was started in the vault account")
                    .noneMatch(s -> s.ownerId().equals(VAULT_ACCOUNT));

            ReplicationResult mine = byId.get("own-account");
            assertThat(mine.getStatus()).as("%s", mine).isEqualTo(ResultStatus.COMPLETED);
            assertThat(EBS.service().snapshot(TARGET, mine.getTargetSnapshotId()).ownerId())
                    .as("a request without a role writes as the job's own account")
                    .isEqualTo(EBS.accessKey().accountId());
            assertThat(EBS.service().blocksOf(TARGET, mine.getTargetSnapshotId()))
                    .isEqualTo(EBS.service().blocksOf(SOURCE, own));
        } finally {
            job.cancel().get();
        }
    }

    /**
     * The copy belongs to the DR account, holds exactly the source's blocks (so the LINEAR checksum
     * EBS accepted at CompleteSnapshot is the source's), and the job's own account cannot see it.
     */
    private static void assertCopiedIntoTheDrAccount(String source, String target)
            throws Exception {
        assertThat(EBS.service().snapshot(TARGET, target).ownerId()).isEqualTo(DR_ACCOUNT);
        assertThat(EBS.service().snapshot(TARGET, target).status())
                .isEqualTo(SnapshotStatus.COMPLETED);
        assertThat(EBS.service().blocksOf(TARGET, target))
                .isEqualTo(EBS.service().blocksOf(SOURCE, source));
        try (EbsProxy a = TestSnapshots.proxy(EBS.server(), TARGET)) {
            assertThat(a.describeSnapshot(target))
                    .as("account A's own credentials do not see B's copy")
                    .isNull();
        }
    }

    private static void publish(
            String topic, String id, String source, String role, String kmsKeyArn) {
        ReplicationRequest r =
                ReplicationRequest.newBuilder()
                        .setRequestId(id)
                        .setSourceRegion(SOURCE)
                        .setSourceSnapshotId(source)
                        .setMode(CopyMode.FULL)
                        .setTargets(
                                List.of(
                                        ReplicationTarget.newBuilder()
                                                .setRegion(TARGET)
                                                .setRoleArn(role)
                                                .setEncrypted(kmsKeyArn != null)
                                                .setKmsKeyArn(kmsKeyArn)
                                                .build()))
                        .build();
        KAFKA.produce(
                topic, id.getBytes(StandardCharsets.UTF_8), AvroCodec.forRequests().encode(r));
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":\"?([^\",}]*)").matcher(json);
        return m.find() ? m.group(1) : null;
    }
}
