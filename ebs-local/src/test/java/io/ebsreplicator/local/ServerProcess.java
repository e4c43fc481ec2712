package io.ebsreplicator.local;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** ebs-local as a separate JVM, started from the test classpath, to be killed with SIGKILL. */
final class ServerProcess {

    final Process process;
    final URI endpoint;
    final Path stderr;

    private ServerProcess(Process process, URI endpoint, Path stderr) {
        this.process = process;
        this.endpoint = endpoint;
        this.stderr = stderr;
    }

    private static List<String> command(String heap, List<String> args) {
        return command(List.of(heap), args);
    }

    private static List<String> command(List<String> jvm, List<String> args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvm);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(EbsLocalMain.class.getName());
        cmd.addAll(args);
        return cmd;
    }

    /** Starts a server on {@code dataDir} with quotas off, a 50 ms seal and {@code extra}. */
    static ServerProcess start(Path dataDir, String... extra) throws IOException {
        return start(List.of("-Xmx512m"), dataDir, extra);
    }

    /** The same, with these JVM options. */
    static ServerProcess start(List<String> jvm, Path dataDir, String... extra) throws IOException {
        List<String> args =
                new ArrayList<>(
                        List.of(
                                "--port",
                                "0",
                                "--data-dir",
                                dataDir.toString(),
                                "--no-quotas",
                                "--seal-delay",
                                "50ms"));
        args.addAll(List.of(extra));
        return startWithJvm(jvm, args);
    }

    /** Starts a server with these JVM options and these ebs-local arguments. */
    static ServerProcess startWithJvm(List<String> jvm, List<String> args) throws IOException {
        Path err = Files.createTempFile("ebs-local-stderr", ".log");
        err.toFile().deleteOnExit();
        Process p = new ProcessBuilder(command(jvm, args)).redirectError(err.toFile()).start();
        BufferedReader out =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith("ebs-local listening on ")) {
                String url = line.substring("ebs-local listening on ".length()).split(" ")[0];
                return new ServerProcess(p, URI.create(url), err);
            }
        }
        p.destroyForcibly();
        throw new IOException(
                "ebs-local exited before it was ready: "
                        + p.exitValue()
                        + "\n"
                        + Files.readString(err));
    }

    /** The output of a command that exits by itself: its exit code, stdout and stderr. */
    record Finished(int exitCode, String stdout, String stderr) {}

    static Finished run(String... args) throws Exception {
        Path out = Files.createTempFile("ebs-local-stdout", ".log");
        Path err = Files.createTempFile("ebs-local-stderr", ".log");
        try {
            Process p =
                    new ProcessBuilder(command("-Xmx256m", List.of(args)))
                            .redirectOutput(out.toFile())
                            .redirectError(err.toFile())
                            .start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("exits by itself").isTrue();
            return new Finished(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** The server's resident memory, from the kernel's accounting. */
    long rssBytes() throws IOException {
        for (String l : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
            if (l.startsWith("VmRSS:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        throw new IOException("no VmRSS for " + process.pid());
    }

    String stderr() throws IOException {
        return Files.readString(stderr);
    }

    /** SIGKILL: no shutdown hook, no flush, nothing. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
        assertThat(process.isAlive()).isFalse();
    }
}
