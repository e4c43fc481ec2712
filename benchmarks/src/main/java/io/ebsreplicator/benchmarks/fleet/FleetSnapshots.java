package io.ebsreplicator.benchmarks.fleet;

import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

/**
 * Writes the source snapshots of a fleet benchmark into ebs-local through the proxy: lineages of
 * small snapshots, each generation a child of the one before that writes some blocks again. Block
 * contents come from a small pool (ebs-local stores each content once), so a fleet of thousands of
 * snapshots costs megabytes, not gigabytes; EBS tells changed blocks by who wrote them, not by
 * content, so every generation still has its own change set. Runs in the harness.
 */
final class FleetSnapshots {

    /** Distinct block contents: enough that neighbouring blocks differ. */
    private static final int CONTENTS = 16;

    /** Snapshots written at once: the server runs without quotas while the fleet is seeded. */
    private static final int CONCURRENCY = 64;

    private final List<byte[]> contents = new ArrayList<>();
    private final List<String> checksums = new ArrayList<>();

    FleetSnapshots() throws Exception {
        Random random = new Random(7);
        for (int i = 0; i < CONTENTS; i++) {
            byte[] b = new byte[512 * 1024];
            random.nextBytes(b);
            contents.add(b);
            checksums.add(
                    Base64.getEncoder()
                            .encodeToString(MessageDigest.getInstance("SHA-256").digest(b)));
        }
    }

    /**
     * {@code lineages} chains of {@code generations} snapshots of a 1 GiB volume: the first writes
     * {@code blocks} blocks, each later one writes {@code changed} of them again. Returns the ids,
     * by lineage then generation.
     */
    List<List<String>> lineages(
            EbsProxy ebs, int lineages, int generations, int blocks, int changed) throws Exception {
        List<List<String>> out = new ArrayList<>();
        for (int l = 0; l < lineages; l++) {
            out.add(new ArrayList<>());
        }
        for (int g = 0; g < generations; g++) {
            Semaphore slots = new Semaphore(CONCURRENCY);
            List<CompletableFuture<Void>> all = new ArrayList<>();
            for (int l = 0; l < lineages; l++) {
                List<String> chain = out.get(l);
                String parent = g == 0 ? null : chain.get(g - 1);
                int[] indexes = new int[g == 0 ? blocks : changed];
                for (int i = 0; i < indexes.length; i++) {
                    indexes[i] = g == 0 ? i : (i + g) % blocks;
                }
                int seed = l * 31 + g;
                slots.acquire();
                all.add(
                        write(ebs, parent, indexes, seed)
                                .thenAccept(
                                        id -> {
                                            synchronized (chain) {
                                                chain.add(id);
                                            }
                                        })
                                .whenComplete((v, e) -> slots.release()));
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).join();
            List<String> written = new ArrayList<>();
            out.forEach(chain -> written.add(chain.get(chain.size() - 1)));
            awaitCompleted(ebs, written); // children need a completed parent
        }
        return out;
    }

    /** Waits until every snapshot of {@code ids} is completed. */
    static void awaitCompleted(EbsProxy ebs, List<String> ids) throws InterruptedException {
        for (int from = 0; from < ids.size(); ) {
            List<String> batch = ids.subList(from, Math.min(ids.size(), from + 200));
            var found = ebs.describeSnapshotsAsync(batch).join();
            if (batch.stream().allMatch(id -> found.containsKey(id) && found.get(id).completed())) {
                from += batch.size();
            } else {
                Thread.sleep(50);
            }
        }
    }

    /** One snapshot writing {@code indexes}, a child of {@code parent} when not null. */
    CompletableFuture<String> write(EbsProxy ebs, String parent, int[] unsorted, int seed) {
        int[] indexes = unsorted.clone();
        java.util.Arrays.sort(indexes); // LINEAR takes the digests in ascending index order
        StartSnapshotSpec spec =
                new StartSnapshotSpec(1, parent, null, null, Map.of(), null, null, 60);
        return ebs.startSnapshotAsync(spec)
                .thenCompose(
                        started -> {
                            String id = started.snapshotId();
                            List<CompletableFuture<Void>> puts = new ArrayList<>();
                            List<byte[]> digests = new ArrayList<>();
                            for (int index : indexes) {
                                int c = Math.floorMod(seed + index * 7, CONTENTS);
                                digests.add(Base64.getDecoder().decode(checksums.get(c)));
                                puts.add(
                                        ebs.putBlock(id, index, contents.get(c), checksums.get(c)));
                            }
                            String linear = linear(digests);
                            return CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new))
                                    .thenCompose(
                                            v ->
                                                    ebs.completeSnapshotAsync(
                                                            id, indexes.length, linear))
                                    .thenApply(status -> id);
                        });
    }

    /** LINEAR of the digests of blocks written in ascending index order. */
    private static String linear(List<byte[]> digestsInIndexOrder) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            digestsInIndexOrder.forEach(md::update);
            return Base64.getEncoder().encodeToString(md.digest());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
