package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.local.auth.AccessKey;

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

/**
 * ebs-local as a process of its own (its {@code main}, on this JVM's class path), so that a test
 * can freeze it with SIGSTOP (a region that stops answering, with its connections open) and thaw it
 * with SIGCONT. Runs in the test JVM, which owns the child process and stops it on close.
 */
public final class EbsLocalProcess implements AutoCloseable {

    private static final String READY = "ebs-local listening on ";

    private final Process process;
    private final URI endpoint;
    private final Path log;

    private EbsLocalProcess(Process process, URI endpoint, Path log) {
        this.process = process;
        this.endpoint = endpoint;
        this.log = log;
    }

    /** Starts ebs-local serving {@code regions}, with {@code extra} command-line options. */
    public static EbsLocalProcess start(Path dir, List<String> regions, String... extra)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        Path log = dir.resolve("ebs-local.log");
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx256m");
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add("io.ebsreplicator.local.EbsLocalMain");
        command.add("--port");
        command.add("0");
        command.add("--data-dir");
        command.add(dir.resolve("data").toString());
        command.add("--regions");
        command.add(String.join(",", regions));
        command.addAll(List.of(extra));
        Process p =
                new ProcessBuilder(command)
                        .redirectErrorStream(false)
                        .redirectError(ProcessBuilder.Redirect.appendTo(log.toFile()))
                        .start();
        BufferedReader out =
                new BufferedReader(
                        new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String line;
        while ((line = out.readLine()) != null) {
            if (line.startsWith(READY)) {
                String url = line.substring(READY.length()).split(" ")[0];
                Thread drain =
                        new Thread(
                                () -> {
                                    try {
                                        while (out.readLine() != null) {
                                            // keep the pipe from filling up
                                        }
                                    } catch (IOException ignored) {
                                        // the process ended
                                    }
                                },
                                "ebs-local-stdout");
                drain.setDaemon(true);
                drain.start();
                return new EbsLocalProcess(p, URI.create(url), log);
            }
            if (System.nanoTime() > until) {
                break;
            }
        }
        p.destroyForcibly();
        throw new IllegalStateException(
                "ebs-local did not start; its log: " + Files.readString(log));
    }

    public URI endpoint() {
        return endpoint;
    }

    public long pid() {
        return process.pid();
    }

    /** SIGSTOP: the process stops answering, its sockets stay open. */
    public void freeze() throws IOException, InterruptedException {
        signal("-STOP");
    }

    /** SIGCONT: it answers again, starting with what arrived while it was frozen. */
    public void thaw() throws IOException, InterruptedException {
        signal("-CONT");
    }

    private void signal(String signal) throws IOException, InterruptedException {
        int rc = new ProcessBuilder("kill", signal, Long.toString(pid())).start().waitFor();
        if (rc != 0) {
            throw new IllegalStateException("kill " + signal + " " + pid() + " failed: " + rc);
        }
    }

    /** A proxy of {@code region} on this process, with the documented local key pair. */
    public EbsProxy proxy(String region) {
        return new SdkEbsProxyFactory(
                        EbsProxyConfig.builder()
                                .endpoint(region, endpoint.toString())
                                .credentials(
                                        AccessKey.DEFAULT.accessKeyId(),
                                        AccessKey.DEFAULT.secretAccessKey())
                                .build())
                .create(region);
    }

    public Path log() {
        return log;
    }

    @Override
    public void close() throws Exception {
        try {
            thaw(); // a frozen process does not act on SIGTERM
        } catch (Exception ignored) {
            // already gone
        }
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }
    }
}
