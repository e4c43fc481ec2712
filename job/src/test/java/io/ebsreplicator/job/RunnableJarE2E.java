package io.ebsreplicator.job;

import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code java -jar ebs-replicator.jar replicate} as a user runs it: a fresh process, against
 * ebs-local in this JVM. The first run makes the class-data sharing archive of the command, the
 * second loads Flink, Pekko (from the jar's own class path, not a copied RPC jar) and the AWS SDK
 * from it; both print exactly one result line on stdout and copy the source byte for byte. Runs
 * after {@code package} (the failsafe plugin), because it runs the packaged jar.
 */
class RunnableJarE2E {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";

    static EbsLocalServer ebs;
    static String source;

    @TempDir static Path work;

    @BeforeAll
    static void start() throws Exception {
        ebs =
                EbsLocalServer.start(
                        EbsLocalConfig.builder()
                                .port(0)
                                .regions(SOURCE, DR)
                                .sealDelay(Duration.ofMillis(200))
                                .build());
        source = TestSnapshots.create(ebs, SOURCE, 1, 16);
    }

    @AfterAll
    static void stop() {
        if (ebs != null) {
            ebs.close();
        }
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void theFirstRunMakesTheArchiveAndTheSecondLoadsFlinkAndPekkoFromIt() throws Exception {
        Path cache = work.resolve("cache");
        Run first = replicate(cache, "first");
        assertCopied(first);
        assertThat(archives(cache)).as("one archive, nothing half-written").hasSize(1);
        assertThat(archives(cache).get(0).getFileName().toString()).startsWith("replicate-");

        Path classLog = work.resolve("second-classes.log");
        Run second = replicate(cache, "second", "-Xlog:class+load=info:file=" + classLog);
        assertCopied(second);
        assertThat(archives(cache)).as("the same archive, used again").hasSize(1);
        String loaded = Files.readString(classLog);
        for (String cls :
                List.of(
                        "org.apache.flink.runtime.minicluster.MiniCluster ",
                        "org.apache.pekko.actor.ActorSystem ",
                        "software.amazon.awssdk.services.ebs.DefaultEbsAsyncClient ")) {
            assertThat(lineOf(loaded, cls))
                    .as("%s comes from the archive", cls.trim())
                    .contains("source: shared objects file");
        }
    }

    private static void assertCopied(Run run) throws Exception {
        assertThat(run.status).as("exit status; stderr:%n%s", run.stderr).isZero();
        List<String> lines = run.stdout.lines().filter(l -> !l.isBlank()).toList();
        assertThat(lines).as("one result line and nothing else on stdout").hasSize(1);
        JsonNode result = new ObjectMapper().readTree(lines.get(0));
        assertThat(result.get("status").asText()).isEqualTo("COMPLETED");
        assertThat(result.get("blocksWritten").asInt()).isEqualTo(16);
        String target = result.get("targetSnapshotId").asText();
        assertThat(ebs.service().blocksOf(DR, target))
                .as("the target holds the source's blocks")
                .isEqualTo(ebs.service().blocksOf(SOURCE, source));
    }

    private static String lineOf(String log, String cls) {
        return log.lines().filter(l -> l.contains(" " + cls)).findFirst().orElse("(not loaded)");
    }

    private static List<Path> archives(Path cache) throws Exception {
        try (Stream<Path> files = Files.list(cache)) {
            return files.sorted().toList();
        }
    }

    private static Run replicate(Path cache, String requestId, String... jvmFlags)
            throws Exception {
        Path jar =
                Path.of(System.getProperty("ebs.e2e.runnableJar", "target/ebs-replicator.jar"))
                        .toAbsolutePath();
        assertThat(jar).as("the packaged runnable jar").exists();
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Debs.launcher.cache=" + cache);
        cmd.addAll(List.of(jvmFlags));
        cmd.addAll(
                List.of(
                        "-jar",
                        jar.toString(),
                        "replicate",
                        "--source-region",
                        SOURCE,
                        "--source-snapshot",
                        source,
                        "--target-region",
                        DR,
                        "--request-id",
                        requestId,
                        "--source-endpoint",
                        ebs.endpoint().toString(),
                        "--target-endpoint",
                        ebs.endpoint().toString(),
                        "-D",
                        "ebs.credentials.access-key-id=" + ebs.accessKey().accessKeyId(),
                        "-D",
                        "ebs.credentials.secret-access-key=" + ebs.accessKey().secretAccessKey()));
        Path out = work.resolve(requestId + ".out");
        Path err = work.resolve(requestId + ".err");
        Process p =
                new ProcessBuilder(cmd)
                        .redirectOutput(out.toFile())
                        .redirectError(err.toFile())
                        .start();
        long t0 = System.nanoTime();
        if (!p.waitFor(3, TimeUnit.MINUTES)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            throw new AssertionError("replicate did not end in 3 minutes");
        }
        System.out.printf(
                "[runnable-jar] %s: exit %d in %.1f s%n",
                requestId, p.exitValue(), (System.nanoTime() - t0) / 1e9);
        return new Run(
                p.exitValue(),
                Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    private record Run(int status, String stdout, String stderr) {}
}
