package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.proxy.BlockListing;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.FetchedBlock;
import io.ebsreplicator.schemas.JsonStrings;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

/**
 * Compares two snapshots block by block: the sets of block indexes, then the SHA-256 of every block
 * read from both (each also checked against the checksum EBS sent). Runs in the client with a
 * bounded number of reads in flight.
 */
final class SnapshotComparison {

    /** Reads in flight per snapshot; enough to hide a cross-region round trip. */
    private static final int IN_FLIGHT = 32;

    /** How many differing indexes a report lists. */
    private static final int LISTED = 20;

    record Report(
            String sourceSnapshotId,
            String targetSnapshotId,
            int sourceBlocks,
            int targetBlocks,
            List<Integer> onlyInSource,
            List<Integer> onlyInTarget,
            List<Integer> different) {

        boolean identical() {
            return onlyInSource.isEmpty() && onlyInTarget.isEmpty() && different.isEmpty();
        }

        String toJson() {
            return "{\"sourceSnapshotId\":"
                    + JsonStrings.quote(sourceSnapshotId)
                    + ",\"targetSnapshotId\":"
                    + JsonStrings.quote(targetSnapshotId)
                    + ",\"identical\":"
                    + identical()
                    + ",\"sourceBlocks\":"
                    + sourceBlocks
                    + ",\"targetBlocks\":"
                    + targetBlocks
                    + ",\"onlyInSource\":"
                    + head(onlyInSource)
                    + ",\"onlyInTarget\":"
                    + head(onlyInTarget)
                    + ",\"different\":"
                    + head(different)
                    + "}";
        }

        private static String head(List<Integer> l) {
            return l.subList(0, Math.min(LISTED, l.size())).toString().replace(" ", "");
        }
    }

    private SnapshotComparison() {}

    static Report compare(EbsProxy source, String sourceId, EbsProxy target, String targetId)
            throws Exception {
        Map<Integer, String> s = BlockListing.allBlocks(source, sourceId);
        Map<Integer, String> t = BlockListing.allBlocks(target, targetId);
        List<Integer> onlyInSource = new ArrayList<>();
        List<Integer> onlyInTarget = new ArrayList<>();
        for (Integer k : s.keySet()) {
            if (!t.containsKey(k)) {
                onlyInSource.add(k);
            }
        }
        for (Integer k : t.keySet()) {
            if (!s.containsKey(k)) {
                onlyInTarget.add(k);
            }
        }
        TreeSet<Integer> common = new TreeSet<>(s.keySet());
        common.retainAll(t.keySet());
        List<Integer> different = new ArrayList<>();
        Semaphore permits = new Semaphore(IN_FLIGHT);
        List<CompletableFuture<Void>> checks = new ArrayList<>();
        for (Integer k : common) {
            permits.acquire();
            CompletableFuture<byte[]> a = digest(source, sourceId, k, s.get(k));
            CompletableFuture<byte[]> b = digest(target, targetId, k, t.get(k));
            checks.add(
                    a.thenCombine(b, (x, y) -> Arrays.equals(x, y))
                            .handle(
                                    (same, error) -> {
                                        permits.release();
                                        if (error != null || !same) {
                                            synchronized (different) {
                                                different.add(k);
                                            }
                                        }
                                        return null;
                                    }));
        }
        CompletableFuture.allOf(checks.toArray(new CompletableFuture<?>[0])).join();
        different.sort(Integer::compare);
        return new Report(
                sourceId, targetId, s.size(), t.size(), onlyInSource, onlyInTarget, different);
    }

    private static CompletableFuture<byte[]> digest(
            EbsProxy proxy, String id, int index, String token) {
        return proxy.getBlock(id, index, token)
                .thenApply(
                        (FetchedBlock b) -> {
                            byte[] d = b.data().sha256();
                            if (!java.util.Base64.getEncoder()
                                    .encodeToString(d)
                                    .equals(b.checksumBase64())) {
                                throw new IllegalStateException(
                                        "Block "
                                                + index
                                                + " of "
                                                + id
                                                + " does not match its checksum");
                            }
                            return d;
                        });
    }
}
