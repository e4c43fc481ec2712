package io.ebsreplicator.local;

import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The wire protocol through a second, independent SDK: boto3 (Debian's python3-boto3) runs {@code
 * scripts/boto3_roundtrip.py} against an in-process ebs-local. Skipped, saying so, where boto3 is
 * not installed; CI installs it.
 */
class Boto3RoundTripTest {

    private static final Path PYTHON = Path.of("/usr/bin/python3");
    private static final Path SCRIPT = Path.of("scripts", "boto3_roundtrip.py");

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder().configure(b -> b.sealDelay(Duration.ofMillis(200))).build();

    @Test
    void boto3CompletesTheFullRoundTrip() throws Exception {
        assumeTrue(boto3Installed(), "boto3 is not installed for /usr/bin/python3; skipped");
        assertThat(SCRIPT).exists();
        Process p =
                new ProcessBuilder(
                                PYTHON.toString(),
                                SCRIPT.toString(),
                                "--endpoint",
                                EBS.endpoint().toString())
                        .redirectErrorStream(true)
                        .start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!done) {
            p.destroyForcibly();
        }
        assertThat(done).as("boto3 script finished; output:%n%s", output).isTrue();
        assertThat(p.exitValue()).as("exit status; output:%n%s", output).isZero();
        assertThat(output).contains("boto3 round trip: OK");
    }

    private static boolean boto3Installed() throws IOException, InterruptedException {
        if (!Files.isExecutable(PYTHON)) {
            return false;
        }
        Process p = new ProcessBuilder(PYTHON.toString(), "-c", "import boto3").start();
        return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    }
}
