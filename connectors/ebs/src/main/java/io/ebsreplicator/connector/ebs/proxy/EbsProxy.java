package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException;

import java.io.Closeable;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * The EBS direct APIs of one region, plus the EC2 call that watches a snapshot seal, in the terms
 * the replicator needs. The implementation owns the SDK and HTTP clients, retries what is retryable
 * within the configured timeouts, spends the region's request budget, and classifies every failure
 * once into an {@link EbsProxyException}. Built where it is used ({@code open}, {@code
 * createReader}, {@code start} of an enumerator), never serialized. Thread-safe.
 *
 * <p>Every call is asynchronous at heart: a future that completes exceptionally with an {@link
 * EbsProxyException}, on a thread of the proxy, never the caller's. The control plane (the
 * enumerator and completion) uses the futures so that no thread others wait for waits for EBS; the
 * blocking forms, for threads that may wait (a source reader's fetcher, a command line), wait for
 * the same futures and throw the same exceptions.
 */
public interface EbsProxy extends Closeable {

    /** The region this proxy talks to. */
    String region();

    /**
     * StartSnapshot. Idempotent through {@link StartSnapshotSpec#clientToken()}: replaying the same
     * spec returns the same snapshot.
     */
    CompletableFuture<StartedSnapshot> startSnapshotAsync(StartSnapshotSpec spec);

    /**
     * One page of ListSnapshotBlocks from {@code startingBlockIndex}, or from {@code nextToken}.
     */
    CompletableFuture<BlockListing> listSnapshotBlocksAsync(
            String snapshotId, int startingBlockIndex, String nextToken, int maxResults);

    /**
     * One page of ListChangedBlocks between two snapshots of one lineage; the tokens returned are
     * those of {@code secondSnapshotId} (absent where it has no data).
     */
    CompletableFuture<BlockListing> listChangedBlocksAsync(
            String firstSnapshotId,
            String secondSnapshotId,
            int startingBlockIndex,
            String nextToken,
            int maxResults);

    /** GetSnapshotBlock; the data is returned as received, with the checksum EBS sent. */
    CompletableFuture<FetchedBlock> getBlock(String snapshotId, int blockIndex, String blockToken);

    /**
     * PutSnapshotBlock of a 512 KiB block with its base64 SHA-256. The put reads {@code data}
     * without copying it, and may be given the same bytes as other puts running at the same time.
     */
    CompletableFuture<Void> putBlock(
            String snapshotId, int blockIndex, BlockBytes data, String checksumBase64);

    /**
     * {@link #putBlock(String, int, BlockBytes, String)} of a block in one array, which the caller
     * hands over and must not change (it is wrapped, not copied).
     */
    default CompletableFuture<Void> putBlock(
            String snapshotId, int blockIndex, byte[] data, String checksumBase64) {
        return putBlock(snapshotId, blockIndex, BlockBytes.of(data), checksumBase64);
    }

    /**
     * CompleteSnapshot with the written-block count and the LINEAR aggregate; answers the status
     * EBS gave ({@code pending} while it seals, or {@code completed}).
     */
    CompletableFuture<String> completeSnapshotAsync(
            String snapshotId, int changedBlocksCount, String linearChecksumBase64);

    /**
     * EC2 DescribeSnapshots of several snapshots in one call (or a few, for many ids): the ones
     * that exist, by id. A snapshot that does not exist (or is not visible yet) is absent.
     */
    CompletableFuture<Map<String, SnapshotDescription>> describeSnapshotsAsync(
            Collection<String> snapshotIds);

    /**
     * EC2 DescribeSnapshots of this account's snapshots that carry tag {@code key} = {@code value}
     * (every page), at most {@code limit}: how retention finds the copies of a lineage.
     */
    CompletableFuture<List<SnapshotDescription>> describeSnapshotsByTagAsync(
            String key, String value, int limit);

    /**
     * EC2 DeleteSnapshot. A snapshot that is already gone ({@code InvalidSnapshot.NotFound}) is
     * {@link SnapshotDeletion#ALREADY_GONE}, not a failure, so that a deletion repeated after a
     * failover is harmless. A snapshot still {@code pending} is refused ({@code IncorrectState},
     * fatal): the caller never deletes a copy in progress.
     */
    CompletableFuture<SnapshotDeletion> deleteSnapshotAsync(String snapshotId);

    @Override
    void close();

    // ------------------------------------------------------------------ blocking forms

    /** {@link #startSnapshotAsync}, waiting for the answer. */
    default StartedSnapshot startSnapshot(StartSnapshotSpec spec) {
        return await(startSnapshotAsync(spec), region());
    }

    /** {@link #listSnapshotBlocksAsync}, waiting for the page. */
    default BlockListing listSnapshotBlocks(
            String snapshotId, int startingBlockIndex, String nextToken, int maxResults) {
        return await(
                listSnapshotBlocksAsync(snapshotId, startingBlockIndex, nextToken, maxResults),
                region());
    }

    /** {@link #listChangedBlocksAsync}, waiting for the page. */
    default BlockListing listChangedBlocks(
            String firstSnapshotId,
            String secondSnapshotId,
            int startingBlockIndex,
            String nextToken,
            int maxResults) {
        return await(
                listChangedBlocksAsync(
                        firstSnapshotId,
                        secondSnapshotId,
                        startingBlockIndex,
                        nextToken,
                        maxResults),
                region());
    }

    /** {@link #completeSnapshotAsync}, waiting for the answer. */
    default String completeSnapshot(
            String snapshotId, int changedBlocksCount, String linearChecksumBase64) {
        return await(
                completeSnapshotAsync(snapshotId, changedBlocksCount, linearChecksumBase64),
                region());
    }

    /** DescribeSnapshots of one snapshot, waiting; {@code null} when it does not exist. */
    default SnapshotDescription describeSnapshot(String snapshotId) {
        return await(describeSnapshotsAsync(List.of(snapshotId)), region()).get(snapshotId);
    }

    /** {@link #deleteSnapshotAsync}, waiting for the answer. */
    default SnapshotDeletion deleteSnapshot(String snapshotId) {
        return await(deleteSnapshotAsync(snapshotId), region());
    }

    /**
     * Waits for {@code call} on a thread that may wait; its {@link EbsProxyException} is thrown as
     * it is. An interrupt gives up on the call (it is cancelled) and is reported as a retryable
     * failure, with the thread's interrupt flag set again.
     */
    static <T> T await(CompletableFuture<T> call, String region) {
        try {
            return call.get();
        } catch (InterruptedException e) {
            call.cancel(true);
            Thread.currentThread().interrupt();
            throw EbsErrorClassifier.classify(e, "await", region, null, null, false);
        } catch (ExecutionException | CancellationException e) {
            throw EbsErrorClassifier.classify(e, "await", region, null, null, false);
        }
    }
}
