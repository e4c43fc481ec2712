package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ebs.EbsClient;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Kills a real ebs-local process with SIGKILL in the middle of a stream of writes, restarts it on
 * the same data directory, and proves that every acknowledged block reads back and nothing is torn:
 * CompleteSnapshot's LINEAR aggregate is accepted only if the restarted server holds exactly the
 * blocks written, with exactly their digests.
 */
class CrashSafetyTest {

    private static final String REGION = "us-east-1";

    @TempDir Path dataDir;

    @Test
    void killNineMidWriteLosesNoAcknowledgedBlock() throws Exception {
        Map<Integer, Long> acknowledged = new ConcurrentHashMap<>();
        Map<Integer, Long> attempted = new ConcurrentHashMap<>();
        String completedBefore;
        byte[] completedBlock = EbsClients.block(-1);
        String snapshotId;

        ServerProcess first = ServerProcess.start(dataDir);
        try (EbsClient ebs = client(first.endpoint)) {
            // A snapshot completed before the crash must survive it too.
            completedBefore = EbsClients.start(ebs, 1, null).snapshotId();
            EbsClients.put(ebs, completedBefore, 3, completedBlock);
            EbsClients.complete(ebs, completedBefore, List.of(completedBlock));

            snapshotId = EbsClients.start(ebs, 8, null).snapshotId();
            writeUntilKilled(first, ebs, snapshotId, 0, acknowledged, attempted);
        }
        assertThat(acknowledged).hasSizeGreaterThan(50);

        // Second life: write more, and kill again.
        ServerProcess second = ServerProcess.start(dataDir);
        try (EbsClient ebs = client(second.endpoint)) {
            writeUntilKilled(second, ebs, snapshotId, 4096, acknowledged, attempted);
        }

        ServerProcess third = ServerProcess.start(dataDir);
        try (EbsClient ebs = client(third.endpoint)) {
            // Writes whose outcome the client never saw are written again, so the expected block
            // set is exactly the attempted one.
            for (Map.Entry<Integer, Long> e : attempted.entrySet()) {
                if (!acknowledged.containsKey(e.getKey())) {
                    EbsClients.put(ebs, snapshotId, e.getKey(), EbsClients.block(e.getValue()));
                }
            }
            TreeMap<Integer, Long> expected = new TreeMap<>(attempted);
            List<byte[]> inOrder = new ArrayList<>();
            expected.values().forEach(seed -> inOrder.add(EbsClients.block(seed)));
            // Accepted only if count and every digest match what the restarted server holds.
            EbsClients.complete(ebs, snapshotId, inOrder);
            awaitCompleted(ebs, snapshotId);

            Map<Integer, String> tokens = new TreeMap<>();
            String next = null;
            do {
                String t = next;
                var page = ebs.listSnapshotBlocks(r -> r.snapshotId(snapshotId).nextToken(t));
                page.blocks().forEach(b -> tokens.put(b.blockIndex(), b.blockToken()));
                next = page.nextToken();
            } while (next != null);
            assertThat(tokens.keySet()).isEqualTo(expected.keySet());
            for (Map.Entry<Integer, Long> e : acknowledged.entrySet()) {
                byte[] data = EbsClients.get(ebs, snapshotId, e.getKey(), tokens.get(e.getKey()));
                assertThat(data)
                        .as("acknowledged block %d", e.getKey())
                        .isEqualTo(EbsClients.block(e.getValue()));
            }

            var old = ebs.listSnapshotBlocks(r -> r.snapshotId(completedBefore));
            assertThat(old.blocks()).hasSize(1);
            assertThat(EbsClients.get(ebs, completedBefore, 3, old.blocks().get(0).blockToken()))
                    .isEqualTo(completedBlock);
        } finally {
            third.kill();
        }
    }

    /** Eight writers put distinct blocks until the server is killed under them. */
    private static void writeUntilKilled(
            ServerProcess server,
            EbsClient ebs,
            String snapshotId,
            int firstIndex,
            Map<Integer, Long> acknowledged,
            Map<Integer, Long> attempted)
            throws Exception {
        AtomicInteger nextIndex = new AtomicInteger(firstIndex);
        AtomicInteger acks = new AtomicInteger();
        int before = acknowledged.size();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        for (int w = 0; w < 8; w++) {
            pool.submit(
                    () -> {
                        while (true) {
                            int index = nextIndex.getAndIncrement();
                            long seed = 1_000_000L + index;
                            attempted.put(index, seed);
                            try {
                                EbsClients.put(ebs, snapshotId, index, EbsClients.block(seed));
                            } catch (RuntimeException e) {
                                return null; // the server is gone; this write's outcome is unknown
                            }
                            acknowledged.put(index, seed);
                            acks.incrementAndGet();
                        }
                    });
        }
        // Kill at an arbitrary point in a steady stream of writes.
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (acks.get() < 150 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        server.kill();
        pool.shutdown();
        assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        assertThat(acknowledged.size() - before).isGreaterThanOrEqualTo(150);
    }

    private static void awaitCompleted(EbsClient ebs, String id) throws InterruptedException {
        for (int i = 0; i < 500; i++) {
            try {
                ebs.listSnapshotBlocks(r -> r.snapshotId(id).maxResults(100));
                return;
            } catch (software.amazon.awssdk.services.ebs.model.ValidationException e) {
                Thread.sleep(20); // still sealing
            }
        }
        throw new AssertionError(id + " did not complete");
    }

    private static EbsClient client(URI endpoint) {
        return EbsClients.ebs(endpoint, AccessKey.DEFAULT, REGION, false);
    }

    /** ebs-local as a separate JVM, started from the test classpath. */
    private static final class ServerProcess {
        final Process process;
        final URI endpoint;

        private ServerProcess(Process process, URI endpoint) {
            this.process = process;
            this.endpoint = endpoint;
        }

        static ServerProcess start(Path dataDir) throws IOException {
            Path java = Path.of(System.getProperty("java.home"), "bin", "java");
            Process p =
                    new ProcessBuilder(
                                    java.toString(),
                                    "-Xmx512m",
                                    "-cp",
                                    System.getProperty("java.class.path"),
                                    EbsLocalMain.class.getName(),
                                    "--port",
                                    "0",
                                    "--data-dir",
                                    dataDir.toString(),
                                    "--no-quotas",
                                    "--seal-delay",
                                    "50ms")
                            .redirectError(ProcessBuilder.Redirect.DISCARD)
                            .start();
            BufferedReader out =
                    new BufferedReader(
                            new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("ebs-local listening on ")) {
                    String url = line.substring("ebs-local listening on ".length()).split(" ")[0];
                    return new ServerProcess(p, URI.create(url));
                }
            }
            p.destroyForcibly();
            throw new IOException("ebs-local exited before it was ready: " + p.exitValue());
        }

        /** SIGKILL: no shutdown hook, no flush, nothing. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
            assertThat(process.isAlive()).isFalse();
        }
    }
}
