package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.proxy.BlockBytes;
import io.ebsreplicator.connector.ebs.proxy.BlockListing;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy;
import io.ebsreplicator.connector.ebs.proxy.FetchedBlock;
import io.ebsreplicator.connector.ebs.proxy.ListedBlock;
import io.ebsreplicator.connector.ebs.proxy.NewSnapshotAware;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDeletion;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.connector.ebs.proxy.StartedSnapshot;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A proxy that passes every call to a {@link FakeEbsProxy} and watches the read-back: it can hold
 * GetSnapshotBlock answers until {@link #release()} (the fake answers reads at once), counts the
 * reads in flight, and can leave blocks out of ListSnapshotBlocks pages, as a target that lost a
 * block would list. Runs in the test's thread, as the fake does. Thread-safe.
 */
final class ReadBackProbe implements EbsProxy, NewSnapshotAware {

    private final FakeEbsProxy fake;
    private final Set<Integer> unlisted = new HashSet<>();
    private final List<Runnable> heldReads = new ArrayList<>();
    private boolean holding;
    private int inFlight;
    private int mostInFlight;

    ReadBackProbe(FakeEbsProxy fake) {
        this.fake = fake;
    }

    /** Holds GetSnapshotBlock answers until {@link #release()}. */
    synchronized ReadBackProbe holdReads() {
        holding = true;
        return this;
    }

    /** Answers the held reads, and holds no more. */
    void release() {
        List<Runnable> answers;
        synchronized (this) {
            holding = false;
            answers = new ArrayList<>(heldReads);
            heldReads.clear();
        }
        answers.forEach(Runnable::run);
    }

    /** Leaves {@code blockIndex} out of every listing from now on. */
    synchronized ReadBackProbe unlist(int blockIndex) {
        unlisted.add(blockIndex);
        return this;
    }

    /** How many reads are held unanswered. */
    synchronized int heldReads() {
        return heldReads.size();
    }

    /** The most reads that were in flight at once. */
    synchronized int mostReadsInFlight() {
        return mostInFlight;
    }

    @Override
    public CompletableFuture<FetchedBlock> getBlock(
            String snapshotId, int blockIndex, String blockToken) {
        CompletableFuture<FetchedBlock> answer = new CompletableFuture<>();
        CompletableFuture<FetchedBlock> read = fake.getBlock(snapshotId, blockIndex, blockToken);
        Runnable deliver =
                () -> {
                    synchronized (this) {
                        inFlight--;
                    }
                    read.whenComplete(
                            (b, e) -> {
                                if (e != null) {
                                    answer.completeExceptionally(e);
                                } else {
                                    answer.complete(b);
                                }
                            });
                };
        synchronized (this) {
            inFlight++;
            mostInFlight = Math.max(mostInFlight, inFlight);
            if (holding) {
                heldReads.add(deliver);
                return answer;
            }
        }
        deliver.run();
        return answer;
    }

    @Override
    public CompletableFuture<BlockListing> listSnapshotBlocksAsync(
            String snapshotId, int startingBlockIndex, String nextToken, int maxResults) {
        return fake.listSnapshotBlocksAsync(snapshotId, startingBlockIndex, nextToken, maxResults)
                .thenApply(
                        page -> {
                            synchronized (this) {
                                List<ListedBlock> kept = new ArrayList<>(page.blocks());
                                kept.removeIf(b -> unlisted.contains(b.blockIndex()));
                                return new BlockListing(
                                        kept,
                                        page.nextToken(),
                                        page.volumeSizeGib(),
                                        page.expiryTime());
                            }
                        });
    }

    @Override
    public String region() {
        return fake.region();
    }

    @Override
    public CompletableFuture<StartedSnapshot> startSnapshotAsync(StartSnapshotSpec spec) {
        return fake.startSnapshotAsync(spec);
    }

    @Override
    public CompletableFuture<BlockListing> listChangedBlocksAsync(
            String firstSnapshotId,
            String secondSnapshotId,
            int startingBlockIndex,
            String nextToken,
            int maxResults) {
        return fake.listChangedBlocksAsync(
                firstSnapshotId, secondSnapshotId, startingBlockIndex, nextToken, maxResults);
    }

    @Override
    public CompletableFuture<Void> putBlock(
            String snapshotId, int blockIndex, BlockBytes data, String checksumBase64) {
        return fake.putBlock(snapshotId, blockIndex, data, checksumBase64);
    }

    @Override
    public CompletableFuture<String> completeSnapshotAsync(
            String snapshotId, int changedBlocksCount, String linearChecksumBase64) {
        return fake.completeSnapshotAsync(snapshotId, changedBlocksCount, linearChecksumBase64);
    }

    @Override
    public CompletableFuture<Map<String, SnapshotDescription>> describeSnapshotsAsync(
            Collection<String> snapshotIds) {
        return fake.describeSnapshotsAsync(snapshotIds);
    }

    @Override
    public CompletableFuture<List<SnapshotDescription>> describeSnapshotsByTagAsync(
            String key, String value, int limit) {
        return fake.describeSnapshotsByTagAsync(key, value, limit);
    }

    @Override
    public CompletableFuture<SnapshotDeletion> deleteSnapshotAsync(String snapshotId) {
        return fake.deleteSnapshotAsync(snapshotId);
    }

    @Override
    public void snapshotStarted(String snapshotId, Instant startTime) {
        fake.snapshotStarted(snapshotId, startTime);
    }

    @Override
    public void close() {
        fake.close();
    }
}
