package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException;

import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.services.ebs.model.Block;
import software.amazon.awssdk.services.ebs.model.ChangedBlock;
import software.amazon.awssdk.services.ebs.model.ChecksumAggregationMethod;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.ebs.model.CompleteSnapshotRequest;
import software.amazon.awssdk.services.ebs.model.CompleteSnapshotResponse;
import software.amazon.awssdk.services.ebs.model.GetSnapshotBlockRequest;
import software.amazon.awssdk.services.ebs.model.GetSnapshotBlockResponse;
import software.amazon.awssdk.services.ebs.model.ListChangedBlocksRequest;
import software.amazon.awssdk.services.ebs.model.ListSnapshotBlocksRequest;
import software.amazon.awssdk.services.ebs.model.PutSnapshotBlockRequest;
import software.amazon.awssdk.services.ebs.model.StartSnapshotRequest;
import software.amazon.awssdk.services.ebs.model.Tag;
import software.amazon.awssdk.services.ec2.model.DeleteSnapshotRequest;
import software.amazon.awssdk.services.ec2.model.DescribeSnapshotsRequest;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.Snapshot;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Predicate;

/**
 * The {@link EbsProxy} of one region over the AWS SDK for Java v2: maps each operation to its EBS
 * or EC2 request and its answer to our types, and pages where an operation takes every page. Built
 * where it is used (an enumerator's {@code start}, a reader, an operator's {@code open}) on the
 * JobManager or a TaskManager by {@link SdkEbsProxyFactory}, and closed there; never serialized.
 *
 * <p>It receives its parts: the {@link EbsClients} (SDK and HTTP clients, credentials, trust) and
 * the {@link RetryingCaller} every request goes through (budget, timeouts, classification,
 * retries). It owns both and closes them. Every call is asynchronous; the blocking forms of {@link
 * EbsProxy} wait for the same futures.
 */
public final class SdkEbsProxy implements EbsProxy, NewSnapshotAware {

    /**
     * Snapshot ids per DescribeSnapshots call: EC2 takes up to 200 values per filter, and one call
     * for 200 targets is what keeps watching a fleet within EC2's Describe rate.
     */
    static final int DESCRIBE_IDS_PER_CALL = 200;

    /** Results per DescribeSnapshots page (EC2 allows 5 to 1,000). */
    private static final int DESCRIBE_PAGE_SIZE = 1000;

    /** An EBS block: what GetSnapshotBlock returns and PutSnapshotBlock takes. */
    static final int BLOCK_SIZE = BlockBytes.BLOCK_SIZE;

    /**
     * The largest GetSnapshotBlock body accepted: a response declaring more fails instead of
     * allocating whatever its Content-Length says.
     */
    static final int MAX_BLOCK_BODY = 2 * BLOCK_SIZE;

    /**
     * Pieces of a PutSnapshotBlock body: the block's chunks, views of them, not copies. A put is
     * sent UNSIGNED-PAYLOAD over HTTPS and HTTP alike ({@link UnsignedBodySigner}), so the SDK
     * neither hashes nor copies the body.
     */
    static final int PUT_PIECE = BlockBytes.CHUNK_SIZE;

    private final String region;
    private final EbsClients clients;
    private final RetryingCaller caller;

    /** A proxy of {@code region} over {@code clients}, calling through {@code caller}. */
    SdkEbsProxy(String region, EbsClients clients, RetryingCaller caller) {
        this.region = region;
        this.clients = clients;
        this.caller = caller;
    }

    @Override
    public String region() {
        return region;
    }

    // ------------------------------------------------------------------ operations

    @Override
    public CompletableFuture<StartedSnapshot> startSnapshotAsync(StartSnapshotSpec spec) {
        StartSnapshotRequest.Builder b =
                StartSnapshotRequest.builder()
                        .volumeSize(spec.volumeSizeGib())
                        .parentSnapshotId(spec.parentSnapshotId())
                        .clientToken(spec.clientToken())
                        .description(spec.description())
                        .kmsKeyArn(spec.kmsKeyArn())
                        .timeout(spec.timeoutMinutes());
        if (!spec.tags().isEmpty()) {
            List<Tag> tags = new ArrayList<>();
            // Sorted, so that a replay with the same ClientToken sends the same parameters.
            new java.util.TreeMap<>(spec.tags())
                    .forEach((k, v) -> tags.add(Tag.builder().key(k).value(v).build()));
            b.tags(tags);
        }
        if (spec.encrypted() != null) {
            // Only when set: EBS refuses Encrypted together with ParentSnapshotId.
            b.encrypted(spec.encrypted());
        }
        StartSnapshotRequest request = b.build();
        return caller.call(
                        EbsOperation.START_SNAPSHOT,
                        spec.parentSnapshotId(),
                        null,
                        timeout -> clients.ebs().startSnapshot(withTimeout(request, timeout)))
                .thenApply(
                        r -> {
                            // EBS's start time, not ours: a replayed StartSnapshot of an old
                            // target is not new.
                            caller.snapshotStarted(r.snapshotId(), r.startTime());
                            return new StartedSnapshot(
                                    r.snapshotId(), r.statusAsString(), orZero(r.volumeSize()));
                        });
    }

    @Override
    public CompletableFuture<BlockListing> listSnapshotBlocksAsync(
            String snapshotId, int startingBlockIndex, String nextToken, int maxResults) {
        ListSnapshotBlocksRequest.Builder b =
                ListSnapshotBlocksRequest.builder().snapshotId(snapshotId).maxResults(maxResults);
        if (nextToken != null) {
            b.nextToken(nextToken);
        } else {
            b.startingBlockIndex(startingBlockIndex);
        }
        ListSnapshotBlocksRequest request = b.build();
        return caller.call(
                        EbsOperation.LIST_SNAPSHOT_BLOCKS,
                        snapshotId,
                        null,
                        timeout -> clients.ebs().listSnapshotBlocks(withTimeout(request, timeout)))
                .thenApply(
                        r -> {
                            List<ListedBlock> blocks = new ArrayList<>(r.blocks().size());
                            for (Block block : r.blocks()) {
                                blocks.add(new ListedBlock(block.blockIndex(), block.blockToken()));
                            }
                            return new BlockListing(
                                    blocks, r.nextToken(), orZero(r.volumeSize()), r.expiryTime());
                        });
    }

    @Override
    public CompletableFuture<BlockListing> listChangedBlocksAsync(
            String firstSnapshotId,
            String secondSnapshotId,
            int startingBlockIndex,
            String nextToken,
            int maxResults) {
        ListChangedBlocksRequest.Builder b =
                ListChangedBlocksRequest.builder()
                        .firstSnapshotId(firstSnapshotId)
                        .secondSnapshotId(secondSnapshotId)
                        .maxResults(maxResults);
        if (nextToken != null) {
            b.nextToken(nextToken);
        } else {
            b.startingBlockIndex(startingBlockIndex);
        }
        ListChangedBlocksRequest request = b.build();
        return caller.call(
                        EbsOperation.LIST_CHANGED_BLOCKS,
                        secondSnapshotId,
                        null,
                        timeout -> clients.ebs().listChangedBlocks(withTimeout(request, timeout)))
                .thenApply(
                        r -> {
                            List<ListedBlock> blocks = new ArrayList<>(r.changedBlocks().size());
                            for (ChangedBlock block : r.changedBlocks()) {
                                blocks.add(
                                        new ListedBlock(
                                                block.blockIndex(), block.secondBlockToken()));
                            }
                            return new BlockListing(
                                    blocks, r.nextToken(), orZero(r.volumeSize()), r.expiryTime());
                        });
    }

    @Override
    public CompletableFuture<FetchedBlock> getBlock(
            String snapshotId, int blockIndex, String blockToken) {
        GetSnapshotBlockRequest request =
                GetSnapshotBlockRequest.builder()
                        .snapshotId(snapshotId)
                        .blockIndex(blockIndex)
                        .blockToken(blockToken)
                        .build();
        return caller.call(
                EbsOperation.GET_SNAPSHOT_BLOCK,
                snapshotId,
                blockIndex,
                timeout ->
                        clients.ebs()
                                .getSnapshotBlock(
                                        withTimeout(request, timeout),
                                        // A new one per attempt: it holds that attempt's body.
                                        new ExactLengthBytesTransformer<GetSnapshotBlockResponse>(
                                                MAX_BLOCK_BODY))
                                .thenApply(SdkEbsProxy::fetched));
    }

    private static FetchedBlock fetched(
            ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse> body) {
        // The transformer's chunks are ours alone, sized to the body: no copy of the 512 KiB.
        // Taken, not read: the connection goes back to the pool still referring to this
        // request's result, and must not keep the block alive while it waits for the next one.
        return new FetchedBlock(body.take(), body.response().checksum());
    }

    @Override
    public CompletableFuture<Void> putBlock(
            String snapshotId, int blockIndex, BlockBytes data, String checksumBase64) {
        PutSnapshotBlockRequest request =
                PutSnapshotBlockRequest.builder()
                        .snapshotId(snapshotId)
                        .blockIndex(blockIndex)
                        .dataLength(data.length())
                        .checksum(checksumBase64)
                        .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                        .build();
        return caller.call(
                EbsOperation.PUT_SNAPSHOT_BLOCK,
                snapshotId,
                blockIndex,
                timeout -> {
                    // No copy: the block's bytes never change (a fan-out puts the same block to
                    // several regions; each put only reads it through its own views). One body
                    // per attempt, released when the attempt is over, so that the connection,
                    // back in its pool, does not keep the block.
                    BlockRequestBody body = putBody(data);
                    return clients.ebs()
                            .putSnapshotBlock(withTimeout(request, timeout), body)
                            .whenComplete((r, e) -> body.release())
                            .thenApply(r -> (Void) null);
                });
    }

    /** The block as a request body: read-only views of its chunks, uncopied. */
    static BlockRequestBody putBody(BlockBytes data) {
        return new BlockRequestBody(data);
    }

    @Override
    public CompletableFuture<String> completeSnapshotAsync(
            String snapshotId, int changedBlocksCount, String linearChecksumBase64) {
        CompleteSnapshotRequest.Builder b =
                CompleteSnapshotRequest.builder()
                        .snapshotId(snapshotId)
                        .changedBlocksCount(changedBlocksCount);
        if (linearChecksumBase64 != null) {
            b.checksum(linearChecksumBase64)
                    .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                    .checksumAggregationMethod(ChecksumAggregationMethod.LINEAR);
        }
        CompleteSnapshotRequest request = b.build();
        return caller.call(
                        EbsOperation.COMPLETE_SNAPSHOT,
                        snapshotId,
                        null,
                        timeout -> clients.ebs().completeSnapshot(withTimeout(request, timeout)))
                .thenApply(CompleteSnapshotResponse::statusAsString);
    }

    @Override
    public CompletableFuture<Map<String, SnapshotDescription>> describeSnapshotsAsync(
            Collection<String> snapshotIds) {
        List<String> ids = List.copyOf(new LinkedHashSet<>(snapshotIds));
        List<CompletableFuture<Map<String, SnapshotDescription>>> parts = new ArrayList<>();
        for (int i = 0; i < ids.size(); i += DESCRIBE_IDS_PER_CALL) {
            parts.add(describeIds(ids.subList(i, Math.min(ids.size(), i + DESCRIBE_IDS_PER_CALL))));
        }
        return CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new))
                .thenApply(
                        ignored -> {
                            Map<String, SnapshotDescription> all = new HashMap<>();
                            parts.forEach(p -> all.putAll(p.join()));
                            return all;
                        });
    }

    /**
     * The snapshots among {@code ids} (at most {@link #DESCRIBE_IDS_PER_CALL}). A {@code
     * snapshot-id} filter rather than {@code SnapshotIds}: EC2 fails the whole call when one of the
     * {@code SnapshotIds} does not exist, a filter just leaves it out.
     */
    private CompletableFuture<Map<String, SnapshotDescription>> describeIds(List<String> ids) {
        DescribeSnapshotsRequest request =
                DescribeSnapshotsRequest.builder()
                        .filters(Filter.builder().name("snapshot-id").values(ids).build())
                        .maxResults(DESCRIBE_PAGE_SIZE)
                        .build();
        Map<String, SnapshotDescription> found = new HashMap<>();
        return describePages(
                        request,
                        ids.size() == 1 ? ids.get(0) : null,
                        page -> {
                            page.forEach(s -> found.put(s.snapshotId(), description(s)));
                            return false;
                        })
                .thenApply(done -> found);
    }

    @Override
    public CompletableFuture<List<SnapshotDescription>> describeSnapshotsByTagAsync(
            String key, String value, int limit) {
        DescribeSnapshotsRequest request =
                DescribeSnapshotsRequest.builder()
                        .ownerIds("self")
                        .filters(Filter.builder().name("tag:" + key).values(value).build())
                        .maxResults(DESCRIBE_PAGE_SIZE)
                        .build();
        List<SnapshotDescription> found = new ArrayList<>();
        return describePages(
                        request,
                        null,
                        page -> {
                            for (Snapshot s : page) {
                                if (found.size() < limit) {
                                    found.add(description(s));
                                }
                            }
                            return found.size() >= limit;
                        })
                .thenApply(done -> found);
    }

    /**
     * DescribeSnapshots page after page: each page's snapshots go to {@code enough}, which answers
     * whether the caller has all it wants; the pages end there or where EC2 has no next page. One
     * page at a time, each a call of its own through the caller.
     */
    private CompletableFuture<Void> describePages(
            DescribeSnapshotsRequest request, String snapshotId, Predicate<List<Snapshot>> enough) {
        return caller.call(
                        EbsOperation.DESCRIBE_SNAPSHOTS,
                        snapshotId,
                        null,
                        timeout -> clients.ec2().describeSnapshots(withTimeout(request, timeout)))
                .thenCompose(
                        r -> {
                            String next = r.nextToken();
                            return enough.test(r.snapshots()) || next == null || next.isEmpty()
                                    ? CompletableFuture.<Void>completedFuture(null)
                                    : describePages(
                                            request.toBuilder().nextToken(next).build(),
                                            snapshotId,
                                            enough);
                        });
    }

    private static SnapshotDescription description(Snapshot s) {
        return new SnapshotDescription(
                s.snapshotId(),
                s.stateAsString(),
                s.stateMessage(),
                s.volumeSize() == null ? 0 : s.volumeSize(),
                s.startTime(),
                s.volumeId(),
                s.description(),
                tags(s));
    }

    @Override
    public CompletableFuture<SnapshotDeletion> deleteSnapshotAsync(String snapshotId) {
        DeleteSnapshotRequest request =
                DeleteSnapshotRequest.builder().snapshotId(snapshotId).build();
        return caller.call(
                        EbsOperation.DELETE_SNAPSHOT,
                        snapshotId,
                        null,
                        timeout -> clients.ec2().deleteSnapshot(withTimeout(request, timeout)))
                .handle(
                        (r, e) -> {
                            if (e == null) {
                                return SnapshotDeletion.DELETED;
                            }
                            EbsProxyException failure =
                                    caller.classify(
                                            e, EbsOperation.DELETE_SNAPSHOT, snapshotId, null);
                            if (EbsErrorClassifier.SNAPSHOT_GONE.equals(failure.errorCode())) {
                                return SnapshotDeletion.ALREADY_GONE;
                            }
                            throw failure;
                        });
    }

    /** A snapshot's tags; a key given twice keeps its last value (EC2 does not repeat keys). */
    private static Map<String, String> tags(Snapshot s) {
        Map<String, String> out = new HashMap<>();
        for (software.amazon.awssdk.services.ec2.model.Tag t : s.tags()) {
            if (t.key() != null && t.value() != null) {
                out.put(t.key(), t.value());
            }
        }
        return out;
    }

    @Override
    public void snapshotStarted(String snapshotId, Instant startTime) {
        caller.snapshotStarted(snapshotId, startTime);
    }

    /** The request budget of one operation group, to observe its adaptation. */
    public RequestBudget budget(RequestBudget.Group group) {
        return caller.budget(group);
    }

    /** Fails the calls still pending, then closes the clients. */
    @Override
    public void close() {
        caller.close();
        clients.close();
    }

    // ------------------------------------------------------------------ helpers

    private static <R extends software.amazon.awssdk.awscore.AwsRequest> R withTimeout(
            R request, Duration attemptTimeout) {
        AwsRequestOverrideConfiguration o =
                request.overrideConfiguration()
                        .map(AwsRequestOverrideConfiguration::toBuilder)
                        .orElseGet(AwsRequestOverrideConfiguration::builder)
                        .apiCallAttemptTimeout(attemptTimeout)
                        .apiCallTimeout(attemptTimeout)
                        .build();
        @SuppressWarnings("unchecked")
        R r = (R) request.toBuilder().overrideConfiguration(o).build();
        return r;
    }

    private static long orZero(Long v) {
        return v == null ? 0 : v;
    }
}
