package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;

import java.io.Closeable;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;

/**
 * The EBS direct APIs of one region, plus the EC2 call that watches a snapshot seal, in the terms
 * the replicator needs. The implementation owns the SDK and HTTP clients, retries what is retryable
 * within the configured timeouts, spends the region's request budget, and classifies every failure
 * once into an {@link EbsProxyException}. Built where it is used ({@code open}, {@code
 * createReader}, {@code start} of an enumerator), never serialized. Thread-safe.
 */
public interface EbsProxy extends Closeable {

    /** The region this proxy talks to. */
    String region();

    /**
     * StartSnapshot. Idempotent through {@link StartSnapshotSpec#clientToken()}: replaying the same
     * spec returns the same snapshot.
     */
    StartedSnapshot startSnapshot(StartSnapshotSpec spec);

    /**
     * One page of ListSnapshotBlocks from {@code startingBlockIndex}, or from {@code nextToken}.
     */
    BlockListing listSnapshotBlocks(
            String snapshotId, int startingBlockIndex, String nextToken, int maxResults);

    /**
     * One page of ListChangedBlocks between two snapshots of one lineage; the tokens returned are
     * those of {@code secondSnapshotId} (absent where it has no data).
     */
    BlockListing listChangedBlocks(
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
     * CompleteSnapshot with the written-block count and the LINEAR aggregate; returns the status
     * EBS answered ({@code pending} while it seals, or {@code completed}).
     */
    String completeSnapshot(String snapshotId, int changedBlocksCount, String linearChecksumBase64);

    /** EC2 DescribeSnapshots of one snapshot; {@code null} when it does not exist. */
    SnapshotDescription describeSnapshot(String snapshotId);

    /**
     * Tells this proxy that {@code snapshotId} was started at {@code startTime}, by itself or by
     * another proxy (the enumerator starts targets, the copier and completion write to them), so
     * that "snapshot does not exist" answers to PutSnapshotBlock and CompleteSnapshot on it are
     * retried during the new-snapshot grace, while EBS makes the snapshot visible everywhere. A
     * proxy records the snapshots it starts itself. The default ignores the hint.
     */
    default void markNew(String snapshotId, Instant startTime) {}

    @Override
    void close();
}
