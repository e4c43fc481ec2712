package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException;

import org.apache.flink.annotation.VisibleForTesting;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.awscore.AwsRequestOverrideConfiguration;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.TlsTrustManagersProvider;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsAsyncClient;
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
import software.amazon.awssdk.services.ec2.Ec2AsyncClient;
import software.amazon.awssdk.services.ec2.model.DeleteSnapshotRequest;
import software.amazon.awssdk.services.ec2.model.DescribeSnapshotsRequest;
import software.amazon.awssdk.services.ec2.model.Filter;
import software.amazon.awssdk.services.ec2.model.Snapshot;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The {@link EbsProxy} of one region over the AWS SDK for Java v2. Built where it is used (an
 * enumerator's {@code start}, a reader, an operator's {@code open}) on the JobManager or a
 * TaskManager, and closed there; never serialized.
 *
 * <p>Clients: an {@link EbsAsyncClient} and an {@link Ec2AsyncClient} (DescribeSnapshots,
 * DeleteSnapshot), each on its own Netty connection pool over the JVM's shared event loops. Every
 * call is asynchronous; the blocking forms of {@link EbsProxy} wait for the same futures.
 *
 * <p>Retries belong to the proxy, not to the SDK (its retries are off): every attempt first spends
 * the {@link RequestBudget} of its operation group, runs with the per-attempt timeout, and a
 * failure is classified once by {@link EbsErrorClassifier}. Retryable failures are retried after an
 * exponential backoff with full jitter until the total timeout, then thrown as {@link
 * EbsProxyException.Kind#RETRYABLE}; invalid tokens and fatal errors are thrown at once. Budget
 * waits and backoffs are scheduled on a small scheduler, never slept. Control-plane calls
 * (StartSnapshot, CompleteSnapshot, DescribeSnapshots) have their own, shorter timeouts: their
 * callers (the enumerator, completion) retry them on their own schedule, so one region that stops
 * answering holds a call for a short, known time.
 */
public final class SdkEbsProxy implements EbsProxy {

    private static final Logger LOG = LoggerFactory.getLogger(SdkEbsProxy.class);

    /**
     * Connections of the EC2 client: DescribeSnapshots is asked a few ids at a time by the
     * enumerator and by completion, never hundreds of calls at once.
     */
    private static final int EC2_MAX_CONCURRENCY = 16;

    /**
     * Snapshot ids per DescribeSnapshots call: EC2 takes up to 200 values per filter, and one call
     * for 200 targets is what keeps watching a fleet within EC2's Describe rate.
     */
    static final int DESCRIBE_IDS_PER_CALL = 200;

    /** Results per DescribeSnapshots page (EC2 allows 5 to 1,000). */
    private static final int DESCRIBE_PAGE_SIZE = 1000;

    /**
     * Connecting is quick or not at all; a black-holed connect should not eat the whole attempt.
     */
    private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    /**
     * Threads that run scheduled attempts (retries after a backoff, sends after a budget wait):
     * they only hand requests to the SDK, so two keep up with thousands of requests per second.
     */
    private static final int SCHEDULER_THREADS = 2;

    /** An attempt shorter than this cannot even get a response back; give it at least this long. */
    private static final long MIN_ATTEMPT_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    /** An EBS block: what GetSnapshotBlock returns and PutSnapshotBlock takes. */
    static final int BLOCK_SIZE = BlockBytes.BLOCK_SIZE;

    /**
     * The largest GetSnapshotBlock body accepted: a response declaring more fails instead of
     * allocating whatever its Content-Length says.
     */
    static final int MAX_BLOCK_BODY = 2 * BLOCK_SIZE;

    /**
     * Pieces of a PutSnapshotBlock body: the block's chunks. Over plain HTTP the SDK signs the
     * payload and copies the body piece by piece while hashing it (an HTTPS put is sent
     * UNSIGNED-PAYLOAD, uncopied): as one 512 KiB piece that copy would be a humongous object
     * taking a whole G1 region (1 MiB below 4 GiB of heap), as 128 KiB pieces it is ordinary heap.
     * The pieces are views of the block's chunks, not copies.
     */
    static final int PUT_PIECE = BlockBytes.CHUNK_SIZE;

    private final String region;
    private final EbsProxyConfig config;
    private final EbsProxyListener listener;
    private final AwsCredentialsProvider credentials;
    private final EbsAsyncClient ebs;
    private final SdkEventLoopGroup eventLoops;
    private final Ec2AsyncClient ec2;
    private final ScheduledExecutorService scheduler;
    private final Map<RequestBudget.Group, RequestBudget> budgets;

    /** Snapshots this proxy started, or was told are new, with the time they started. */
    private final Map<String, Instant> newSnapshots = new ConcurrentHashMap<>();

    /**
     * Async calls not finished yet, so that close() can fail them instead of leaving them hanging.
     */
    private final Set<CompletableFuture<?>> pending = ConcurrentHashMap.newKeySet();

    private volatile boolean closed;

    public SdkEbsProxy(String region, EbsProxyConfig config) {
        this(region, config, EbsProxyListener.NO_OP);
    }

    public SdkEbsProxy(String region, EbsProxyConfig config, EbsProxyListener listener) {
        this(region, null, config, listener);
    }

    /**
     * A proxy that calls {@code region} as {@code roleArn}, assumed through STS with the job's
     * credentials ({@code null}: the job's credentials themselves).
     */
    public SdkEbsProxy(
            String region, String roleArn, EbsProxyConfig config, EbsProxyListener listener) {
        this.region = region;
        this.config = config;
        this.listener = listener == null ? EbsProxyListener.NO_OP : listener;
        this.budgets = new EnumMap<>(RequestBudget.Group.class);
        for (RequestBudget.Group g : RequestBudget.Group.values()) {
            budgets.put(g, RequestBudget.forQuota(config.ratePerUser(g)));
        }
        this.credentials = EbsCredentials.provider(config, region, roleArn);
        Region sdkRegion = Region.of(region);
        URI endpoint = config.endpoint(region);
        Duration attempt = config.attemptTimeout();
        Duration connect = min(attempt, MAX_CONNECT_TIMEOUT);
        TlsTrustManagersProvider trust =
                config.caBundle() == null ? null : TrustBundle.provider(Path.of(config.caBundle()));
        // One event loop group per JVM (see SharedEventLoops); the SDK's own would make close()
        // wait out a 2 s quiet period.
        this.eventLoops = SharedEventLoops.acquire();
        var ebsBuilder =
                EbsAsyncClient.builder()
                        .region(sdkRegion)
                        .credentialsProvider(credentials)
                        .httpClientBuilder(http(trust, connect, attempt, config.maxConcurrency()))
                        .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()));
        var ec2Builder =
                Ec2AsyncClient.builder()
                        .region(sdkRegion)
                        .credentialsProvider(credentials)
                        .httpClientBuilder(http(trust, connect, attempt, EC2_MAX_CONCURRENCY))
                        .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()));
        if (endpoint != null) {
            ebsBuilder.endpointOverride(endpoint);
            ec2Builder.endpointOverride(endpoint);
        }
        this.ebs = ebsBuilder.build();
        this.ec2 = ec2Builder.build();

        int instance = INSTANCES.incrementAndGet();
        ScheduledThreadPoolExecutor s =
                new ScheduledThreadPoolExecutor(
                        SCHEDULER_THREADS,
                        r -> {
                            Thread t = new Thread(r, "ebs-proxy-" + region + "-" + instance);
                            t.setDaemon(true);
                            return t;
                        });
        s.setRemoveOnCancelPolicy(true);
        this.scheduler = s;
        LOG.info("EBS proxy for {} built: {}", region, config);
    }

    /** A Netty client on the shared event loops; the attempt timeout is the real bound. */
    private NettyNioAsyncHttpClient.Builder http(
            TlsTrustManagersProvider trust, Duration connect, Duration attempt, int connections) {
        return NettyNioAsyncHttpClient.builder()
                .tlsTrustManagersProvider(trust)
                .eventLoopGroup(eventLoops)
                .maxConcurrency(connections)
                .connectionTimeout(connect)
                .connectionAcquisitionTimeout(attempt)
                .readTimeout(attempt)
                .writeTimeout(attempt)
                .tcpKeepAlive(true);
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
        return callAsync(
                        EbsOperation.START_SNAPSHOT,
                        spec.parentSnapshotId(),
                        null,
                        timeout -> ebs.startSnapshot(withTimeout(request, timeout)))
                .thenApply(
                        r -> {
                            // EBS's start time, not ours: a replayed StartSnapshot of an old
                            // target is not new.
                            markNew(r.snapshotId(), r.startTime());
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
        return callAsync(
                        EbsOperation.LIST_SNAPSHOT_BLOCKS,
                        snapshotId,
                        null,
                        timeout -> ebs.listSnapshotBlocks(withTimeout(request, timeout)))
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
        return callAsync(
                        EbsOperation.LIST_CHANGED_BLOCKS,
                        secondSnapshotId,
                        null,
                        timeout -> ebs.listChangedBlocks(withTimeout(request, timeout)))
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
        return callAsync(
                EbsOperation.GET_SNAPSHOT_BLOCK,
                snapshotId,
                blockIndex,
                timeout ->
                        ebs.getSnapshotBlock(
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
        return callAsync(
                EbsOperation.PUT_SNAPSHOT_BLOCK,
                snapshotId,
                blockIndex,
                timeout -> {
                    // No copy: the block's bytes never change (a fan-out puts the same block to
                    // several regions; each put only reads it through its own views). One body
                    // per attempt, released when the attempt is over, so that the connection,
                    // back in its pool, does not keep the block.
                    BlockRequestBody body = putBody(data);
                    return ebs.putSnapshotBlock(withTimeout(request, timeout), body)
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
        return callAsync(
                        EbsOperation.COMPLETE_SNAPSHOT,
                        snapshotId,
                        null,
                        timeout -> ebs.completeSnapshot(withTimeout(request, timeout)))
                .thenApply(CompleteSnapshotResponse::statusAsString);
    }

    @Override
    public CompletableFuture<Map<String, SnapshotDescription>> describeSnapshotsAsync(
            Collection<String> snapshotIds) {
        List<String> ids = List.copyOf(new LinkedHashSet<>(snapshotIds));
        List<CompletableFuture<Map<String, SnapshotDescription>>> parts = new ArrayList<>();
        for (int i = 0; i < ids.size(); i += DESCRIBE_IDS_PER_CALL) {
            parts.add(
                    describePages(
                            ids.subList(i, Math.min(ids.size(), i + DESCRIBE_IDS_PER_CALL)),
                            null,
                            new HashMap<>()));
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
     * The snapshots among {@code ids} (at most {@link #DESCRIBE_IDS_PER_CALL}), page after page. A
     * {@code snapshot-id} filter rather than {@code SnapshotIds}: EC2 fails the whole call when one
     * of the {@code SnapshotIds} does not exist, a filter just leaves it out.
     */
    private CompletableFuture<Map<String, SnapshotDescription>> describePages(
            List<String> ids, String nextToken, Map<String, SnapshotDescription> found) {
        DescribeSnapshotsRequest request =
                DescribeSnapshotsRequest.builder()
                        .filters(Filter.builder().name("snapshot-id").values(ids).build())
                        .maxResults(DESCRIBE_PAGE_SIZE)
                        .nextToken(nextToken)
                        .build();
        return callAsync(
                        EbsOperation.DESCRIBE_SNAPSHOTS,
                        ids.size() == 1 ? ids.get(0) : null,
                        null,
                        timeout -> ec2.describeSnapshots(withTimeout(request, timeout)))
                .thenCompose(
                        r -> {
                            for (Snapshot s : r.snapshots()) {
                                found.put(s.snapshotId(), description(s));
                            }
                            String next = r.nextToken();
                            return next == null || next.isEmpty()
                                    ? CompletableFuture.completedFuture(found)
                                    : describePages(ids, next, found);
                        });
    }

    @Override
    public CompletableFuture<List<SnapshotDescription>> describeSnapshotsByTagAsync(
            String key, String value, int limit) {
        return tagPages(key, value, limit, null, new ArrayList<>());
    }

    private CompletableFuture<List<SnapshotDescription>> tagPages(
            String key,
            String value,
            int limit,
            String nextToken,
            List<SnapshotDescription> found) {
        DescribeSnapshotsRequest request =
                DescribeSnapshotsRequest.builder()
                        .ownerIds("self")
                        .filters(Filter.builder().name("tag:" + key).values(value).build())
                        .maxResults(DESCRIBE_PAGE_SIZE)
                        .nextToken(nextToken)
                        .build();
        return callAsync(
                        EbsOperation.DESCRIBE_SNAPSHOTS,
                        null,
                        null,
                        timeout -> ec2.describeSnapshots(withTimeout(request, timeout)))
                .thenCompose(
                        r -> {
                            for (Snapshot s : r.snapshots()) {
                                if (found.size() < limit) {
                                    found.add(description(s));
                                }
                            }
                            String next = r.nextToken();
                            return next == null || next.isEmpty() || found.size() >= limit
                                    ? CompletableFuture.completedFuture(found)
                                    : tagPages(key, value, limit, next, found);
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
        return callAsync(
                        EbsOperation.DELETE_SNAPSHOT,
                        snapshotId,
                        null,
                        timeout -> ec2.deleteSnapshot(withTimeout(request, timeout)))
                .handle(
                        (r, e) -> {
                            if (e == null) {
                                return SnapshotDeletion.DELETED;
                            }
                            EbsProxyException failure =
                                    EbsErrorClassifier.classify(
                                            e,
                                            EbsOperation.DELETE_SNAPSHOT.apiName(),
                                            region,
                                            snapshotId,
                                            null,
                                            false);
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
    public void markNew(String snapshotId, Instant startTime) {
        Instant now = Instant.now();
        // Forget what is past its grace, so a long-lived proxy does not collect every snapshot.
        newSnapshots.values().removeIf(t -> t.plus(config.newSnapshotGrace()).isBefore(now));
        // A start time ahead of our clock (skew) counts from now, so the grace stays bounded.
        Instant start = startTime == null || startTime.isAfter(now) ? now : startTime;
        newSnapshots.merge(snapshotId, start, (a, b) -> a.isAfter(b) ? a : b);
    }

    /** Whether EBS may still answer "does not exist" for this snapshot because it is too new. */
    @VisibleForTesting
    boolean isNew(String snapshotId) {
        if (snapshotId == null) {
            return false;
        }
        Instant started = newSnapshots.get(snapshotId);
        return started != null && Instant.now().isBefore(started.plus(config.newSnapshotGrace()));
    }

    /** The request budget of one operation group, to observe its adaptation. */
    public RequestBudget budget(RequestBudget.Group group) {
        return budgets.get(group);
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        scheduler.shutdownNow();
        // Calls waiting for a backoff or the budget will not run any more: say so.
        for (CompletableFuture<?> f : List.copyOf(pending)) {
            f.completeExceptionally(
                    EbsErrorClassifier.classify(
                            new CancellationException("The EBS proxy was closed"),
                            "close",
                            region,
                            null,
                            null,
                            false));
        }
        closeQuietly(ebs);
        closeQuietly(ec2);
        SharedEventLoops.release(eventLoops);
        if (credentials instanceof AutoCloseable c) {
            closeQuietly(c);
        }
    }

    // ------------------------------------------------------------------ retries

    /** Runs an async call with budget, per-attempt timeout, retries and classification. */
    private <T> CompletableFuture<T> callAsync(
            EbsOperation op,
            String snapshotId,
            Integer blockIndex,
            Function<Duration, CompletableFuture<T>> attempt) {
        AsyncCall<T> call = new AsyncCall<>(op, snapshotId, blockIndex, attempt);
        if (closed) {
            call.result.completeExceptionally(
                    classify(
                            new CancellationException("The EBS proxy is closed"),
                            op,
                            snapshotId,
                            blockIndex));
            return call.result;
        }
        pending.add(call.result);
        call.result.whenComplete((v, e) -> pending.remove(call.result));
        call.spendBudget();
        return call.result;
    }

    /**
     * After a failed attempt: reports the failure and throttling, then either throws (not
     * retryable, or the total timeout would pass during the backoff) or returns the backoff to
     * wait, in nanoseconds.
     */
    private long afterFailure(
            EbsOperation op, EbsProxyException failure, int attempts, long deadline) {
        listener.onFailure(op.apiName(), failure.errorCode(), failure.reason());
        if (EbsErrorClassifier.isThrottling(failure)) {
            budgets.get(op.group()).onThrottle();
            listener.onThrottle(op.apiName());
        }
        if (failure.kind() != EbsProxyException.Kind.RETRYABLE) {
            throw failure;
        }
        long backoff = backoffNanos(attempts);
        if (System.nanoTime() + backoff >= deadline) {
            throw giveUp(op, failure, attempts);
        }
        listener.onRetry(op.apiName(), failure.errorCode(), failure.reason());
        return backoff;
    }

    /**
     * Full jitter (uniform in [0, cap]) with the cap doubling from the base backoff per failed
     * attempt up to the max backoff: spreads the retries of a throttled burst instead of sending
     * them back in lockstep.
     */
    @VisibleForTesting
    long backoffNanos(int failedAttempts) {
        long base = config.baseBackoff().toNanos();
        long max = config.maxBackoff().toNanos();
        int doublings = Math.min(Math.max(0, failedAttempts - 1), 30);
        long cap = base << doublings;
        if (cap <= 0 || cap > max) {
            cap = max;
        }
        return ThreadLocalRandom.current().nextLong(cap + 1);
    }

    private Duration attemptTimeout(EbsOperation op, long deadline) {
        long remaining = deadline - System.nanoTime();
        long attempt = Math.min(config.attemptTimeout(op).toNanos(), remaining);
        return Duration.ofNanos(Math.max(MIN_ATTEMPT_NANOS, attempt));
    }

    private EbsProxyException classify(
            Throwable error, EbsOperation op, String snapshotId, Integer blockIndex) {
        // Only writes to a snapshot we just started may meet "does not exist" for a while; reads
        // and lists are of completed snapshots.
        boolean isNew =
                (op == EbsOperation.PUT_SNAPSHOT_BLOCK || op == EbsOperation.COMPLETE_SNAPSHOT)
                        && isNew(snapshotId);
        return EbsErrorClassifier.classify(
                error, op.apiName(), region, snapshotId, blockIndex, isNew);
    }

    private EbsProxyException giveUp(EbsOperation op, EbsProxyException last, int attempts) {
        return new EbsProxyException(
                last.kind(),
                last.errorCode(),
                last.reason(),
                last.region(),
                last.snapshotId(),
                last.blockIndex(),
                last.getMessage()
                        + " (gave up after "
                        + attempts
                        + " attempts within the total timeout of "
                        + config.totalTimeout(op)
                        + ")",
                last.getCause());
    }

    /** One async call through its attempts. Runs on the caller, SDK and scheduler threads. */
    private final class AsyncCall<T> {
        final EbsOperation op;
        final String snapshotId;
        final Integer blockIndex;
        final Function<Duration, CompletableFuture<T>> attempt;
        final CompletableFuture<T> result = new CompletableFuture<>();
        final long deadline;
        int attempts; // only touched by the one thread running the current step
        volatile CompletableFuture<T> inFlight;

        AsyncCall(
                EbsOperation op,
                String snapshotId,
                Integer blockIndex,
                Function<Duration, CompletableFuture<T>> attempt) {
            this.op = op;
            this.snapshotId = snapshotId;
            this.blockIndex = blockIndex;
            this.attempt = attempt;
            this.deadline = System.nanoTime() + config.totalTimeout(op).toNanos();
            // A caller that gives up on the result also gives up on the request on the wire.
            result.whenComplete(
                    (v, e) -> {
                        CompletableFuture<T> f = inFlight;
                        if (result.isCancelled() && f != null) {
                            f.cancel(true);
                        }
                    });
        }

        void spendBudget() {
            long wait = budgets.get(op.group()).reserveNanos();
            if (wait == 0) {
                send();
            } else {
                later(this::send, wait);
            }
        }

        void send() {
            if (result.isDone()) {
                return;
            }
            attempts++;
            listener.onRequest(op.apiName());
            CompletableFuture<T> f;
            try {
                f = attempt.apply(attemptTimeout(op, deadline));
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            inFlight = f;
            f.whenComplete(
                    (value, error) -> {
                        if (error == null) {
                            result.complete(value);
                        } else {
                            failed(error);
                        }
                    });
        }

        void failed(Throwable error) {
            EbsProxyException failure = classify(error, op, snapshotId, blockIndex);
            long backoff;
            try {
                backoff = afterFailure(op, failure, attempts, deadline);
            } catch (EbsProxyException e) {
                result.completeExceptionally(e);
                return;
            }
            later(this::spendBudget, backoff);
        }

        void later(Runnable step, long delayNanos) {
            try {
                scheduler.schedule(step, delayNanos, TimeUnit.NANOSECONDS);
            } catch (RejectedExecutionException e) {
                result.completeExceptionally(
                        classify(
                                new CancellationException("The EBS proxy was closed"),
                                op,
                                snapshotId,
                                blockIndex));
            }
        }
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

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static long orZero(Long v) {
        return v == null ? 0 : v;
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("Failed to close {}", c, e);
        }
    }
}
