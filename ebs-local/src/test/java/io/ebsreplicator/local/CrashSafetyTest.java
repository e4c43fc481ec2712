package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ebs.EbsClient;

import java.net.URI;
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

    @Test
    void killNineWhileTheJournalIsCompactedLosesNothing() throws Exception {
        // Writers overwrite 64 blocks, so the journal outgrows the state every few dozen writes
        // and is compacted many times a second: a kill lands in or next to a compaction.
        String[] compacting = {"--compact-min", "4k", "--compact-ratio", "1.5"};
        Map<Integer, Long> lastAcked = new ConcurrentHashMap<>();
        Map<Integer, Long> attempted = new ConcurrentHashMap<>();
        String snapshotId;
        int rounds = 2;
        String stderr = "";
        ServerProcess server = ServerProcess.start(dataDir, compacting);
        try (EbsClient ebs = client(server.endpoint)) {
            snapshotId = EbsClients.start(ebs, 1, null).snapshotId();
        }
        for (int round = 0; round < rounds; round++) {
            try (EbsClient ebs = client(server.endpoint)) {
                overwriteUntilKilled(server, ebs, snapshotId, round, lastAcked, attempted);
            }
            stderr += server.stderr();
            server = ServerProcess.start(dataDir, compacting);
        }
        assertThat(stderr).as("the journal was compacted").contains("Compacted the journal");
        try (EbsClient ebs = client(server.endpoint)) {
            // A write the client never saw acknowledged may or may not have landed: write it
            // again, so that the expected content of every index is its last attempt.
            for (Map.Entry<Integer, Long> e : attempted.entrySet()) {
                if (!e.getValue().equals(lastAcked.get(e.getKey()))) {
                    EbsClients.put(ebs, snapshotId, e.getKey(), EbsClients.block(e.getValue()));
                }
            }
            List<byte[]> inOrder = new ArrayList<>();
            new TreeMap<>(attempted).values().forEach(seed -> inOrder.add(EbsClients.block(seed)));
            // Accepted only if the restarted server holds exactly these digests.
            EbsClients.complete(ebs, snapshotId, inOrder);
            awaitCompleted(ebs, snapshotId);
        } finally {
            server.kill();
        }
    }

    /**
     * Eight writers, each owning 8 of 64 indexes, overwrite them with new content until the server
     * is killed; each index's writes are sequential, so its last acknowledgement is well defined.
     */
    private static void overwriteUntilKilled(
            ServerProcess server,
            EbsClient ebs,
            String snapshotId,
            int round,
            Map<Integer, Long> lastAcked,
            Map<Integer, Long> attempted)
            throws Exception {
        AtomicInteger acks = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        for (int w = 0; w < 8; w++) {
            int writer = w;
            pool.submit(
                    () -> {
                        for (long n = 0; ; n++) {
                            int index = writer + 8 * (int) (n % 8);
                            long seed = 7_000_000L * (round + 1) + n * 64 + index;
                            attempted.put(index, seed);
                            try {
                                EbsClients.put(ebs, snapshotId, index, EbsClients.block(seed));
                            } catch (RuntimeException e) {
                                return null; // the server is gone
                            }
                            lastAcked.put(index, seed);
                            acks.incrementAndGet();
                        }
                    });
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (acks.get() < 300 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        server.kill();
        pool.shutdown();
        assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        assertThat(acks.get()).isGreaterThanOrEqualTo(300);
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
}
