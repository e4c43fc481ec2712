package io.ebsreplicator.job.cluster;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * A real ZooKeeper server in its own JVM, driven through {@code deploy/local/zookeeper.sh}, for the
 * JobManager high availability of a {@link LocalFlinkCluster}. Runs in the test JVM; on a free
 * loopback port, with its data in its own directory.
 *
 * <p>Nothing outlives the test JVM's orderly exit: {@link #close()} stops the server, and a
 * shutdown hook kills the pid its pid file names.
 */
final class LocalZooKeeper implements AutoCloseable {

    private final Path repo;
    private final Path dir;
    private final int port;
    private final Thread hook = new Thread(this::kill, "local-zookeeper-cleanup");

    LocalZooKeeper(Path repo, Path dir) {
        this.repo = repo;
        this.dir = dir;
        this.port = DeployScripts.freePort();
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** {@code zookeeper.sh start}: returns once the server serves requests. */
    String start() {
        return script(Duration.ofMinutes(2), "start");
    }

    /** The connect string: {@code high-availability.zookeeper.quorum}. */
    String quorum() {
        return "127.0.0.1:" + port;
    }

    boolean isRunning() {
        return pid().flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
    }

    @Override
    public void close() {
        try {
            script(Duration.ofMinutes(1), "stop");
        } catch (RuntimeException e) {
            System.err.println("zookeeper.sh stop failed: " + e.getMessage());
        }
        kill();
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // Already shutting down: the hook runs anyway.
        }
    }

    private void kill() {
        pid().flatMap(ProcessHandle::of)
                .filter(h -> h.info().commandLine().orElse("").contains("zookeeper"))
                .ifPresent(ProcessHandle::destroyForcibly);
    }

    private java.util.Optional<Long> pid() {
        Path f = dir.resolve("zookeeper.pid");
        try {
            return Files.exists(f)
                    ? java.util.Optional.of(Long.parseLong(Files.readString(f).trim()))
                    : java.util.Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (NumberFormatException e) {
            return java.util.Optional.empty();
        }
    }

    private String script(Duration timeout, String command) {
        return DeployScripts.run(
                repo,
                Map.of("ZOOKEEPER_DIR", dir.toString(), "ZOOKEEPER_PORT", Integer.toString(port)),
                dir.getParent(),
                timeout,
                "zookeeper.sh",
                command);
    }
}
