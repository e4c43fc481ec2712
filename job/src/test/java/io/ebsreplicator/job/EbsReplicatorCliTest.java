package io.ebsreplicator.job;

import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Digest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SortedMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The command line end to end: {@code replicate} and {@code verify} against an in-process ebs-local
 * (the job on an embedded Flink), failure exit codes, usage errors, and the demo.
 */
class EbsReplicatorCliTest {

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder().configure(b -> b.sealDelay(Duration.ofMillis(100))).build();

    private record Run(int status, String out, String err) {}

    private static Run cli(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status =
                EbsReplicatorCli.run(
                        args,
                        new PrintStream(out, true, StandardCharsets.UTF_8),
                        new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(
                status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static List<String> common() {
        List<String> a = new ArrayList<>();
        a.add("--source-endpoint");
        a.add(EBS.endpoint().toString());
        a.add("--target-endpoint");
        a.add(EBS.endpoint().toString());
        a.add("-D");
        a.add("ebs.credentials.access-key-id=" + EBS.accessKey().accessKeyId());
        a.add("-D");
        a.add("ebs.credentials.secret-access-key=" + EBS.accessKey().secretAccessKey());
        a.add("-D");
        a.add("ebs.completion.poll-interval=100ms");
        return a;
    }

    private static String[] args(String command, List<String> extra) {
        List<String> a = new ArrayList<>();
        a.add(command);
        a.addAll(extra);
        a.addAll(common());
        return a.toArray(new String[0]);
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\":\"?([^\",}]*)").matcher(json);
        return m.find() ? m.group(1) : null;
    }

    @Test
    void replicatesVerifiesAndReportsJsonPerTarget() throws Exception {
        String source = TestSnapshots.create(EBS.server(), "us-east-1", 2, 40);
        Run r =
                cli(
                        args(
                                "replicate",
                                List.of(
                                        "--source-region",
                                        "us-east-1",
                                        "--source-snapshot",
                                        source,
                                        "--target-region",
                                        "us-west-2",
                                        "--tag",
                                        "team=dr",
                                        "--parallelism",
                                        "2",
                                        "--checkpoint-interval",
                                        "500ms",
                                        "--verify")));
        assertThat(r.status()).as(r.err()).isZero();
        String[] lines = r.out().strip().split("\n");
        assertThat(lines).hasSize(1);
        String json = lines[0];
        assertThat(field(json, "status")).isEqualTo("COMPLETED");
        assertThat(field(json, "blocksWritten")).isEqualTo("40");
        assertThat(field(json, "bytesWritten")).isEqualTo(String.valueOf(40L * 512 * 1024));
        assertThat(field(json, "sourceSnapshotId")).isEqualTo(source);
        String target = field(json, "targetSnapshotId");
        SortedMap<Integer, Digest> expected = EBS.service().blocksOf("us-east-1", source);
        assertThat(EBS.service().blocksOf("us-west-2", target)).isEqualTo(expected);
        assertThat(EBS.service().snapshot("us-west-2", target).tags())
                .anySatisfy(t -> assertThat(t.key() + "=" + t.value()).isEqualTo("team=dr"));

        Run v =
                cli(
                        args(
                                "verify",
                                List.of(
                                        "--source-region",
                                        "us-east-1",
                                        "--source-snapshot",
                                        source,
                                        "--target-region",
                                        "us-west-2",
                                        "--target-snapshot",
                                        target)));
        assertThat(v.status()).as(v.err()).isZero();
        assertThat(v.out()).contains("\"identical\":true").contains("\"sourceBlocks\":40");

        // A different snapshot is reported as different, with exit status 1.
        String other = TestSnapshots.create(EBS.server(), "us-west-2", 2, 39);
        Run d =
                cli(
                        args(
                                "verify",
                                List.of(
                                        "--source-region",
                                        "us-east-1",
                                        "--source-snapshot",
                                        source,
                                        "--target-region",
                                        "us-west-2",
                                        "--target-snapshot",
                                        other)));
        assertThat(d.status()).isEqualTo(1);
        assertThat(d.out()).contains("\"identical\":false");
    }

    /** {@code replicate} of a snapshot that does not exist, with {@code extra} flags. */
    private static Run replicateMissingSource(String... extra) throws Exception {
        List<String> flags =
                new ArrayList<>(
                        List.of(
                                "--source-region", "us-east-1",
                                "--source-snapshot", "snap-0123456789abcdef0",
                                "--target-region", "us-west-2"));
        flags.addAll(List.of(extra));
        return cli(args("replicate", flags));
    }

    @Test
    void aMissingSourceFailsWithItsReasonAndExitStatusOne() throws Exception {
        Run r = replicateMissingSource();
        assertThat(r.status()).isEqualTo(1);
        assertThat(field(r.out(), "status")).isEqualTo("FAILED");
        assertThat(r.out()).contains("SNAPSHOT_NOT_FOUND");
        assertThat(field(r.out(), "errorReason")).isEqualTo("SNAPSHOT_NOT_FOUND");
        assertThat(field(r.out(), "error")).contains("snap-0123456789abcdef0");
    }

    @Test
    void aFailureOutsideAnyRequestIsReportedWithStatusOne() throws Exception {
        // No Hadoop here, so Flink cannot make the checkpoint storage and the job never starts.
        Run r = replicateMissingSource("--checkpoint-dir", "hdfs://namenode/checkpoints");
        assertThat(r.status()).isEqualTo(1);
        assertThat(r.out()).as("no result for a job that never ran").isEmpty();
        assertThat(r.err())
                .containsPattern(
                        "(?m)^ebs-replicator replicate: failed: .*UnsupportedFileSystemSchemeException")
                .contains("scheme 'hdfs'")
                .doesNotContain(EBS.accessKey().secretAccessKey());
    }

    @Test
    void usageErrorsExitWithTwoAndSayWhatIsWrong() throws Exception {
        assertThat(cli().status()).isEqualTo(2);
        Run unknown = cli("copy");
        assertThat(unknown.status()).isEqualTo(2);
        assertThat(unknown.err()).contains("Unknown command 'copy'");
        Run missing = cli("replicate", "--source-region", "us-east-1");
        assertThat(missing.status()).isEqualTo(2);
        assertThat(missing.err())
                .contains("--source-snapshot is required")
                .contains("Usage: replicate");
        Run bad =
                cli(
                        "replicate",
                        "--source-region",
                        "us-east-1",
                        "--source-snapshot",
                        "vol-1",
                        "--target-region",
                        "us-west-2");
        assertThat(bad.status()).isEqualTo(2);
        assertThat(bad.err()).contains("is not a snapshot id");
        Run incremental =
                cli(
                        "replicate",
                        "--source-region",
                        "us-east-1",
                        "--source-snapshot",
                        "snap-01234567",
                        "--base-snapshot",
                        "snap-89abcdef",
                        "--target-region",
                        "us-west-2");
        assertThat(incremental.status()).isEqualTo(2);
        assertThat(incremental.err()).contains("needs the target parent");
        Run badRole =
                cli(
                        "replicate",
                        "--source-region",
                        "us-east-1",
                        "--source-snapshot",
                        "snap-0123456789abcdef0",
                        "--target-region",
                        "us-west-2",
                        "--target-role-arn",
                        "us-west-2:arn:aws:iam::222222222222:role/dr",
                        "--role-external-id",
                        "secret-external-id");
        assertThat(badRole.status()).isEqualTo(2);
        assertThat(badRole.err())
                .contains("A target role is REGION=ARN")
                .doesNotContain("secret-external-id");
        java.nio.file.Path policy = java.nio.file.Files.createTempFile("policy", ".json");
        try {
            java.nio.file.Files.writeString(
                    policy, "{\"version\": 1, \"rules\": [{\"name\": \"x\"}]}");
            Run badPolicy =
                    cli(
                            "serve",
                            "--bootstrap-servers",
                            "127.0.0.1:9",
                            "--policy",
                            policy.toString());
            assertThat(badPolicy.status()).as("checked before the job is built").isEqualTo(2);
            assertThat(badPolicy.err())
                    .contains("is not valid")
                    .contains("$.rules[0].select is required")
                    .contains("$.rules[0].targets is required");
        } finally {
            java.nio.file.Files.delete(policy);
        }
        Run help = cli("help", "replicate");
        assertThat(help.status()).isZero();
        assertThat(help.out()).contains("--base-snapshot");
    }

    @Test
    void theDemoReplicatesALineageAndVerifiesIt() throws Exception {
        Run r = cli("demo", "--blocks", "64", "--volume-gib", "1");
        assertThat(r.status()).as(r.out() + r.err()).isZero();
        assertThat(r.out())
                .contains("full ")
                .contains("incremental ")
                .contains("identical (64 blocks)")
                .contains("Both targets are byte-identical to their sources.");
    }
}
