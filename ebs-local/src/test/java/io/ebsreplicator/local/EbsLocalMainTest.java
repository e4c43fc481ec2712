package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ec2.Ec2Client;

import javax.net.ssl.TrustManagerFactory;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

/**
 * The command line, run as a separate JVM on the test classpath (the runnable jar is built only in
 * the {@code package} phase).
 */
class EbsLocalMainTest {

    private static final Pattern READY =
            Pattern.compile("^ebs-local listening on (\\S+) regions=(\\S+) data-dir=(\\S+)(.*)$");

    private final List<Process> processes = new ArrayList<>();

    @TempDir Path tmp;

    @AfterEach
    void stopProcesses() throws Exception {
        for (Process p : processes) {
            p.destroy();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
            }
        }
    }

    // ------------------------------------------------------------------ process helpers

    private static String classpath() {
        String cp = System.getProperty("surefire.test.class.path");
        return cp != null && !cp.isBlank() ? cp : System.getProperty("java.class.path");
    }

    private ProcessBuilder command(String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx256m");
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-cp");
        cmd.add(classpath());
        cmd.add(EbsLocalMain.class.getName());
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd);
    }

    /** A running server process and what its ready line said. */
    private record Running(Process process, URI endpoint, String line, Matcher ready) {}

    private Running startServer(String... args) throws Exception {
        Path err = Files.createTempFile(tmp, "stderr", ".log");
        Process p = command(args).redirectError(err.toFile()).start();
        processes.add(p);
        BlockingQueue<String> lines = new ArrayBlockingQueue<>(1000);
        Thread reader =
                new Thread(
                        () -> {
                            try (BufferedReader r =
                                    new BufferedReader(
                                            new InputStreamReader(
                                                    p.getInputStream(), StandardCharsets.UTF_8))) {
                                String line;
                                while ((line = r.readLine()) != null) {
                                    lines.offer(line);
                                }
                            } catch (Exception ignored) {
                                // process ended
                            }
                        },
                        "ebs-local-stdout");
        reader.setDaemon(true);
        reader.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String line = lines.poll(200, TimeUnit.MILLISECONDS);
            if (line != null && line.startsWith("ebs-local listening on ")) {
                Matcher m = READY.matcher(line);
                assertThat(m.matches()).as("ready line: " + line).isTrue();
                return new Running(p, URI.create(m.group(1)), line, m);
            }
            if (line == null && !p.isAlive()) {
                throw new AssertionError(
                        "ebs-local exited with "
                                + p.exitValue()
                                + " before it was ready: "
                                + Files.readString(err));
            }
        }
        throw new AssertionError("no ready line within 60 s: " + Files.readString(err));
    }

    /** Runs a process that is expected to exit by itself; returns its exit code and output. */
    private record Finished(int exitCode, String stdout, String stderr) {}

    private Finished run(String... args) throws Exception {
        Path out = Files.createTempFile(tmp, "stdout", ".log");
        Path err = Files.createTempFile(tmp, "stderr", ".log");
        Process p = command(args).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        processes.add(p);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("process exits by itself").isTrue();
        return new Finished(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    private static Ec2Client ec2(URI endpoint, String region) {
        return Ec2Client.builder()
                .endpointOverride(endpoint)
                .region(Region.of(region))
                .credentialsProvider(EbsClients.credentials(AccessKey.DEFAULT))
                .httpClient(ApacheHttpClient.builder().build())
                .overrideConfiguration(EbsClients.noRetries())
                .build();
    }

    // ------------------------------------------------------------------ tests

    @Test
    void servesARoundTripInEachRegion() throws Exception {
        Path data = tmp.resolve("data");
        Running s =
                startServer(
                        "--port",
                        "0",
                        "--data-dir",
                        data.toString(),
                        "--regions",
                        "us-east-1,eu-west-1",
                        "--seal-delay",
                        "50ms");
        assertThat(s.endpoint.getScheme()).isEqualTo("http");
        assertThat(s.endpoint.getHost()).isEqualTo("127.0.0.1");
        assertThat(s.endpoint.getPort()).isPositive();
        // In the order given on the command line.
        assertThat(s.ready.group(2)).isEqualTo("us-east-1,eu-west-1");
        assertThat(s.ready.group(3)).isEqualTo(data.toString());

        for (String region : List.of("us-east-1", "eu-west-1")) {
            try (EbsClient ebs = EbsClients.ebs(s.endpoint, AccessKey.DEFAULT, region, false);
                    Ec2Client ec2 = ec2(s.endpoint, region)) {
                String id = EbsClients.start(ebs, 1, null).snapshotId();
                byte[] a = EbsClients.block(region.hashCode());
                EbsClients.put(ebs, id, 4, a);
                EbsClients.complete(ebs, id, List.of(a));
                EbsClients.awaitCompleted(ec2, id);
                var page = ebs.listSnapshotBlocks(r -> r.snapshotId(id));
                assertThat(page.blocks()).extracting(b -> b.blockIndex()).containsExactly(4);
                assertThat(EbsClients.get(ebs, id, 4, page.blocks().get(0).blockToken()))
                        .isEqualTo(a);
            }
        }
        assertThat(data.resolve("journal.log")).exists();
        assertThat(Files.size(data.resolve("journal.log"))).isPositive();
    }

    @Test
    void tlsPrintsACaBundleThatTheSdkCanTrust() throws Exception {
        Running s = startServer("--port", "0", "--tls");
        assertThat(s.endpoint.getScheme()).isEqualTo("https");
        Matcher ca = Pattern.compile("ca-bundle=(\\S+)").matcher(s.line);
        assertThat(ca.find()).as(s.line).isTrue();
        Path pem = Path.of(ca.group(1));
        assertThat(pem).exists();
        assertThat(Files.readString(pem)).contains("-----BEGIN CERTIFICATE-----");

        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = Files.newInputStream(pem)) {
            Collection<? extends Certificate> certs =
                    CertificateFactory.getInstance("X.509").generateCertificates(in);
            assertThat(certs).isNotEmpty();
            int i = 0;
            for (Certificate c : certs) {
                trust.setCertificateEntry("ebs-local-" + i++, c);
            }
        }
        TrustManagerFactory tmf =
                TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);

        try (EbsClient ebs =
                EbsClient.builder()
                        .endpointOverride(s.endpoint)
                        .region(Region.US_EAST_1)
                        .credentialsProvider(EbsClients.credentials(AccessKey.DEFAULT))
                        .httpClient(
                                ApacheHttpClient.builder()
                                        .tlsTrustManagersProvider(tmf::getTrustManagers)
                                        .build())
                        .overrideConfiguration(EbsClients.noRetries())
                        .build()) {
            String id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] a = EbsClients.block(77);
            assertThat(EbsClients.put(ebs, id, 0, a).checksum()).isEqualTo(EbsClients.sha256(a));
        }

        // Without trusting the bundle the handshake fails: the trust above is what made it work.
        try (EbsClient untrusting =
                EbsClient.builder()
                        .endpointOverride(s.endpoint)
                        .region(Region.US_EAST_1)
                        .credentialsProvider(EbsClients.credentials(AccessKey.DEFAULT))
                        .httpClient(ApacheHttpClient.builder().build())
                        .overrideConfiguration(EbsClients.noRetries())
                        .build()) {
            Throwable t = catchThrowable(() -> EbsClients.start(untrusting, 1, null));
            assertThat(t).isInstanceOf(SdkClientException.class);
        }
    }

    @Test
    void helpExitsZeroWithUsage() throws Exception {
        Finished f = run("--help");
        assertThat(f.exitCode).isZero();
        assertThat(f.stdout).contains("Usage:").contains("--port").contains("--data-dir");
    }

    @Test
    void rolesAndTheStsSessionCapAreParsed() {
        EbsLocalConfig c =
                EbsLocalMain.parse(
                        new String[] {
                            "--role", "arn:aws:iam::222222222222:role/dr-target:222222222222:ext:1",
                            "--role", "arn:aws:iam::333333333333:role/open:333333333333",
                            "--sts-max-session", "30s"
                        },
                        System.out);
        assertThat(c.roles()).hasSize(2);
        assertThat(c.roles().get(0).arn()).isEqualTo("arn:aws:iam::222222222222:role/dr-target");
        assertThat(c.roles().get(0).externalId()).isEqualTo("ext:1");
        assertThat(c.roles().get(1).externalId()).isNull();
        assertThat(c.stsMaxSession()).isEqualTo(Duration.ofSeconds(30));
        assertThat(EbsLocalMain.parse(new String[0], System.out).stsMaxSession()).isNull();
        assertThatThrownBy(
                        () ->
                                EbsLocalMain.parse(
                                        new String[] {"--role", "arn:aws:iam::222222222222:role/x"},
                                        System.out))
                .hasMessageContaining("ARN:ACCOUNT[:EXTERNAL_ID]");
        assertThatThrownBy(
                        () ->
                                EbsLocalMain.parse(
                                        new String[] {"--sts-max-session", "0s"}, System.out))
                .hasMessageContaining("must be positive");
    }

    @Test
    void unknownFlagExitsTwo() throws Exception {
        Finished f = run("--port", "0", "--no-such-flag", "x");
        assertThat(f.exitCode).isEqualTo(2);
        assertThat(f.stderr).contains("--no-such-flag").contains("Usage:");
    }

    @Test
    void badFaultProfileExitsTwoWithAClearMessage() throws Exception {
        Path bad = tmp.resolve("faults.json");
        Files.writeString(bad, "{\"throttleRate\": 0.1, \"bogusField\": true}");
        Finished f = run("--port", "0", "--faults", bad.toString());
        assertThat(f.exitCode).isEqualTo(2);
        assertThat(f.stderr).contains("fault profile").contains(bad.toString());
        assertThat(f.stderr).contains("bogusField");

        Path outOfRange = tmp.resolve("rate.json");
        Files.writeString(outOfRange, "{\"serverErrorRate\": 1.5}");
        Finished g = run("--port", "0", "--faults", outOfRange.toString());
        assertThat(g.exitCode).isEqualTo(2);
        assertThat(g.stderr).contains("fault profile").contains("[0, 1]");

        Finished h = run("--port", "0", "--faults", tmp.resolve("missing.json").toString());
        assertThat(h.exitCode).isEqualTo(2);
        assertThat(h.stderr).contains("fault profile").contains("missing.json");
    }

    @Test
    void secondProcessOnTheSameDataDirFails() throws Exception {
        Path data = tmp.resolve("shared");
        Running first = startServer("--port", "0", "--data-dir", data.toString());
        assertThat(first.process.isAlive()).isTrue();

        Finished second = run("--port", "0", "--data-dir", data.toString());
        assertThat(second.exitCode).isNotZero();
        assertThat(second.stdout).doesNotContain("ebs-local listening on");
        assertThat(second.stdout + second.stderr).contains("Another ebs-local process");

        // The first one still serves.
        try (EbsClient ebs =
                EbsClients.ebs(first.endpoint, AccessKey.DEFAULT, "us-east-1", false)) {
            assertThat(EbsClients.start(ebs, 1, null).snapshotId()).startsWith("snap-");
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"2min", "2 min", "120s", "2m"})
    void durationOptionsTakeFlinksForms(String text) {
        assertThat(EbsLocalMain.parse(new String[] {"--seal-delay", text}, System.out).sealDelay)
                .isEqualTo(Duration.ofMinutes(2));
    }

    @Test
    void aDurationOptionThatIsNotOneSaysWhich() {
        assertThatThrownBy(
                        () ->
                                EbsLocalMain.parse(
                                        new String[] {"--seal-delay", "2 fortnights"}, System.out))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("--seal-delay")
                .hasMessageContaining("fortnights");
    }
}
