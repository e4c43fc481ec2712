package io.ebsreplicator.job.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs the scripts of {@code deploy/local} from the tests, as an operator would, and finds free
 * loopback ports for them. Runs in the test JVM; every run is bounded and fails with the script's
 * output.
 */
final class DeployScripts {

    private DeployScripts() {}

    /**
     * Runs {@code deploy/local/<name> args...} to its end in {@code repo} with {@code env} added;
     * its output, or an exception carrying it (non-zero exit, or still running after {@code
     * timeout}, when it is killed).
     */
    static String run(
            Path repo,
            Map<String, String> env,
            Path logDir,
            Duration timeout,
            String name,
            String... args) {
        return run(repo, env, logDir, timeout, true, name, args);
    }

    /** As {@link #run}, but a non-zero exit returns the output instead of failing. */
    static String runAllowingFailure(
            Path repo,
            Map<String, String> env,
            Path logDir,
            Duration timeout,
            String name,
            String... args) {
        return run(repo, env, logDir, timeout, false, name, args);
    }

    private static String run(
            Path repo,
            Map<String, String> env,
            Path logDir,
            Duration timeout,
            boolean failOnExit,
            String name,
            String... args) {
        List<String> command = new ArrayList<>(List.of("bash", "deploy/local/" + name));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(repo.toFile());
        pb.redirectErrorStream(true);
        pb.environment().putAll(env);
        try {
            Files.createDirectories(logDir);
            Path log = Files.createTempFile(logDir, "script-", ".log");
            pb.redirectOutput(log.toFile());
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(
                        String.join(" ", command)
                                + " did not finish in "
                                + timeout
                                + ":\n"
                                + Files.readString(log));
            }
            String out = Files.readString(log, StandardCharsets.UTF_8);
            Files.delete(log);
            if (failOnExit && p.exitValue() != 0) {
                throw new IllegalStateException(
                        String.join(" ", command) + " exited " + p.exitValue() + ":\n" + out);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The first of {@code count} consecutive loopback ports that are all free now: the scripts put
     * a standby JobManager on the port after its leader's.
     */
    static int freePorts(int count) {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = freePort();
            if (base + count > 65535) {
                continue;
            }
            boolean free = true;
            for (int p = base + 1; p < base + count && free; p++) {
                free = isFree(p);
            }
            if (free) {
                return base;
            }
        }
        throw new IllegalStateException("No " + count + " consecutive free ports on loopback");
    }

    static int freePort() {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean isFree(int port) {
        try (ServerSocket s = new ServerSocket(port)) {
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
