package io.ebsreplicator.connector.ebs.copier;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureException;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.metrics.EbsMetricConstants;
import io.ebsreplicator.connector.ebs.metrics.EbsProxyMetrics;
import io.ebsreplicator.connector.ebs.model.BlockCopied;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.proxy.BlockBytes;
import io.ebsreplicator.connector.ebs.proxy.BlockListing;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.ListedBlock;
import io.ebsreplicator.connector.ebs.proxy.NewSnapshotAware;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.ThreadSafeSimpleCounter;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

/**
 * Copies one block per call, asynchronously, one instance per copier subtask: GetSnapshotBlock from
 * the source, SHA-256 checked against the checksum EBS sent (read again on a mismatch), the {@link
 * BlockTransform} applied, then PutSnapshotBlock to every target region at once, so a fan-out reads
 * each source block once. Emits one {@link BlockCopied} per target with the index and digest only;
 * the 512 KiB payload lives inside this call and nowhere else. A block token that EBS refuses
 * (expired while the job was paused, or restored from a checkpoint) is replaced by listing that one
 * block again. Split ends and request failures pass through to every target.
 *
 * <p>How many blocks are in flight is bounded by the async operator's capacity ({@code
 * ebs.copier.max-in-flight}).
 */
public final class BlockCopyFunction extends RichAsyncFunction<BlockTask, BlockCopied> {

    private static final long serialVersionUID = 1L;

    private static final Logger LOG = LoggerFactory.getLogger(BlockCopyFunction.class);

    /** Blocks listed ahead when a token is refused: one List call serves a run of refusals. */
    static final int RELIST_PAGE = 1000;

    /** Tokens kept ahead at most (about 100 bytes each). */
    private static final int MAX_CACHED_TOKENS = 100_000;

    private final EbsProxyFactory proxyFactory;
    private final BlockTransform transform;
    private final int readAttempts;

    /**
     * Region to role to proxy ({@code ""} for the job's own credentials): looked up twice per
     * block, so by two keys that exist already rather than one built per lookup.
     */
    private transient Map<String, Map<String, EbsProxy>> proxies;

    private transient ExecutorService relister;

    /**
     * Tokens listed ahead by {@link #freshToken}, by region/snapshot/index; re-list thread only.
     */
    private transient Map<String, String> freshTokens;

    private transient MetricGroup metrics;
    private transient Counter blocksRead;
    private transient Counter bytesRead;
    private transient Counter blocksCopied;
    private transient Counter bytesWritten;
    private transient Counter checksumMismatches;
    private transient Counter tokenRefreshes;
    private transient AtomicInteger inFlight;
    private transient java.util.Set<String> seenTargets;

    /** Targets found completed by an earlier attempt (see {@link #refused}). */
    private transient java.util.Set<String> completedTargets;

    public BlockCopyFunction(
            EbsProxyFactory proxyFactory, BlockTransform transform, int readAttempts) {
        this.proxyFactory = proxyFactory;
        this.transform = transform == null ? BlockTransform.IDENTITY : transform;
        this.readAttempts = Math.max(1, readAttempts);
    }

    @Override
    public void open(OpenContext openContext) {
        proxies = new ConcurrentHashMap<>();
        freshTokens = new java.util.HashMap<>();
        seenTargets = ConcurrentHashMap.newKeySet();
        completedTargets = ConcurrentHashMap.newKeySet();
        // Re-listing is a blocking call: never on SDK completion threads.
        relister =
                Executors.newSingleThreadExecutor(
                        r -> {
                            Thread t = new Thread(r, "ebs-copier-relist");
                            t.setDaemon(true);
                            return t;
                        });
        metrics = getRuntimeContext().getMetricGroup().addGroup(EbsMetricConstants.GROUP);
        // Counted on SDK completion threads, many at once: plain counters would lose updates.
        blocksRead = metrics.counter(EbsMetricConstants.BLOCKS_READ, new ThreadSafeSimpleCounter());
        bytesRead = metrics.counter(EbsMetricConstants.BYTES_READ, new ThreadSafeSimpleCounter());
        blocksCopied =
                metrics.counter(EbsMetricConstants.BLOCKS_COPIED, new ThreadSafeSimpleCounter());
        bytesWritten =
                metrics.counter(EbsMetricConstants.BYTES_WRITTEN, new ThreadSafeSimpleCounter());
        checksumMismatches =
                metrics.counter(
                        EbsMetricConstants.CHECKSUM_MISMATCHES, new ThreadSafeSimpleCounter());
        tokenRefreshes =
                metrics.counter(
                        EbsMetricConstants.BLOCK_TOKEN_REFRESHES, new ThreadSafeSimpleCounter());
        inFlight = new AtomicInteger();
        metrics.gauge(EbsMetricConstants.BLOCKS_IN_FLIGHT, inFlight::get);
    }

    private EbsProxy proxy(String region, String roleArn) {
        return proxies.computeIfAbsent(region, r -> new ConcurrentHashMap<>())
                .computeIfAbsent(
                        roleArn == null ? "" : roleArn,
                        k ->
                                proxyFactory.create(
                                        region, roleArn, new EbsProxyMetrics(metrics, region)));
    }

    /** The proxy that reads the source in {@code region}. */
    private EbsProxy sourceProxy(String region) {
        return proxy(region, proxyFactory.sourceRoleArn());
    }

    /**
     * The proxy of a target region, told once that {@code snapshot} is new: for a while after
     * StartSnapshot (made by the enumerator, elsewhere) EBS may answer that it does not exist yet.
     */
    private EbsProxy targetProxy(String region, String roleArn, String snapshot) {
        EbsProxy p = proxy(region, roleArn);
        if (seenTargets.add(snapshot)) {
            NewSnapshotAware.tell(p, snapshot, java.time.Instant.now());
        }
        return p;
    }

    @Override
    public void asyncInvoke(BlockTask input, ResultFuture<BlockCopied> result) {
        BlockTask task = input.upgraded();
        Map<String, String> targets = task.targetSnapshots().snapshotByRegion();
        switch (task.kind()) {
            case SPLIT_END ->
                    result.complete(perTarget(targets, (r, s) -> BlockCopied.splitEnd(task, r, s)));
            case REQUEST_FAILED -> result.complete(failedForAll(task, task.error()));
            case BLOCK -> copy(task, targets, result);
                // Dead letters leave right after the source; one that got here has nothing to copy.
            case DEAD_LETTER -> result.complete(List.of());
            default -> result.completeExceptionally(new IllegalStateException("Unknown " + task));
        }
    }

    private void copy(
            BlockTask task, Map<String, String> targets, ResultFuture<BlockCopied> result) {
        inFlight.incrementAndGet();
        CompletableFuture<Verified> block =
                task.blockToken() == null
                        // A block only the base has: the source reads zeros there.
                        ? CompletableFuture.completedFuture(new Verified(ZERO_BLOCK, ZERO_DIGEST))
                        : read(task, task.blockToken(), 1);
        block.thenCompose(
                        source -> {
                            Verified out = transformed(transform, task.blockIndex(), source);
                            return writeAll(task, targets, out.data(), out.digest());
                        })
                .whenComplete(
                        (copied, error) -> {
                            inFlight.decrementAndGet();
                            if (error == null) {
                                result.complete(copied);
                            } else {
                                Failure failure = Failure.of(error);
                                LOG.warn(
                                        "Block {} of request {} failed ({}): {}",
                                        task.blockIndex(),
                                        task.requestId(),
                                        failure.reason(),
                                        failure.message());
                                result.complete(failedForAll(task, failure));
                            }
                        });
    }

    /**
     * The block to write: the source's own, uncopied and not hashed again, unless a transform other
     * than {@link BlockTransform#IDENTITY} returns different bytes. Only such a transform costs a
     * copy of the block into one array (its {@code byte[]} contract), and only bytes it changed are
     * hashed again.
     */
    static Verified transformed(BlockTransform transform, int blockIndex, Verified source) {
        if (transform == BlockTransform.IDENTITY) {
            return source;
        }
        byte[] in = source.data().toArray();
        byte[] out = transform.apply(blockIndex, in);
        // Unchanged: write the source's chunks and let the one-array copy go.
        return out == in ? source : new Verified(BlockBytes.of(out), sha256(out));
    }

    /** 512 KiB of zeros, never modified: written where the source has no block. */
    private static final BlockBytes ZERO_BLOCK = BlockBytes.ZERO_BLOCK;

    private static final byte[] ZERO_DIGEST = ZERO_BLOCK.sha256();

    /** A block read and checked: its bytes and their SHA-256, hashed once. */
    record Verified(BlockBytes data, byte[] digest) {}

    /** Reads a block and checks it against the checksum EBS sent, reading again on a mismatch. */
    private CompletableFuture<Verified> read(BlockTask task, String token, int attempt) {
        EbsProxy source = sourceProxy(task.sourceRegion());
        return source.getBlock(task.sourceSnapshotId(), task.blockIndex(), token)
                .handle(
                        (block, error) -> {
                            if (error != null) {
                                Throwable e = unwrap(error);
                                if (e instanceof EbsProxyException p
                                        && p.kind() == EbsProxyException.Kind.INVALID_TOKEN
                                        && attempt <= readAttempts) {
                                    tokenRefreshes.inc();
                                    return CompletableFuture.supplyAsync(
                                                    () -> freshToken(task, token), relister)
                                            .thenCompose(fresh -> read(task, fresh, attempt + 1));
                                }
                                return CompletableFuture.<Verified>failedFuture(e);
                            }
                            byte[] digest = block.data().sha256();
                            if (Base64.getEncoder()
                                    .encodeToString(digest)
                                    .equals(block.checksumBase64())) {
                                blocksRead.inc();
                                bytesRead.inc(block.data().length());
                                return CompletableFuture.completedFuture(
                                        new Verified(block.data(), digest));
                            }
                            checksumMismatches.inc();
                            if (attempt >= readAttempts) {
                                return CompletableFuture.<Verified>failedFuture(
                                        new FailureException(
                                                Failure.of(
                                                        FailureReason.CHECKSUM_MISMATCH,
                                                        "Block "
                                                                + task.blockIndex()
                                                                + " of "
                                                                + task.sourceSnapshotId()
                                                                + " in "
                                                                + task.sourceRegion()
                                                                + " did not match its"
                                                                + " checksum in "
                                                                + attempt
                                                                + " reads")));
                            }
                            return read(task, token, attempt + 1);
                        })
                .thenCompose(f -> f);
    }

    /**
     * A fresh token for one block. When tokens expire (a pause longer than their lifetime, or a
     * restore from an old checkpoint), they expire for every block in flight and those after it, so
     * one List call fetches the tokens of the next {@value #RELIST_PAGE} blocks and later refusals
     * are served from them: about one List call per page instead of one per block. Runs on the
     * re-list thread only.
     */
    private String freshToken(BlockTask task, String refused) {
        String key = task.sourceRegion() + "/" + task.sourceSnapshotId() + "/" + task.blockIndex();
        String cached = freshTokens.remove(key);
        if (cached != null && !cached.equals(refused)) {
            return cached;
        }
        BlockListing page =
                sourceProxy(task.sourceRegion())
                        .listSnapshotBlocks(
                                task.sourceSnapshotId(), task.blockIndex(), null, RELIST_PAGE);
        if (freshTokens.size() > MAX_CACHED_TOKENS) {
            freshTokens.clear(); // tokens of blocks that never asked; they would expire anyway
        }
        String found = null;
        for (ListedBlock b : page.blocks()) {
            if (b.blockToken() == null) {
                continue;
            }
            if (b.blockIndex() == task.blockIndex()) {
                found = b.blockToken();
            } else {
                freshTokens.put(
                        task.sourceRegion() + "/" + task.sourceSnapshotId() + "/" + b.blockIndex(),
                        b.blockToken());
            }
        }
        if (found == null) {
            throw new IllegalStateException(
                    "Block "
                            + task.blockIndex()
                            + " is no longer listed in "
                            + task.sourceSnapshotId());
        }
        return found;
    }

    private CompletableFuture<List<BlockCopied>> writeAll(
            BlockTask task, Map<String, String> targets, BlockBytes data, byte[] digest) {
        String checksum = Base64.getEncoder().encodeToString(digest);
        List<String> regions = new ArrayList<>(targets.keySet());
        List<CompletableFuture<BlockCopied>> writes = new ArrayList<>(regions.size());
        for (String region : regions) {
            String snapshot = targets.get(region);
            String role = task.targetSnapshots().roleArn(region);
            writes.add(
                    targetProxy(region, role, snapshot)
                            .putBlock(snapshot, task.blockIndex(), data, checksum)
                            .handle(
                                    (v, error) -> {
                                        if (error == null) {
                                            blocksCopied.inc();
                                            bytesWritten.inc(data.length());
                                            return CompletableFuture.completedFuture(
                                                    BlockCopied.block(
                                                            task, region, snapshot, digest));
                                        }
                                        return refused(task, region, role, snapshot, digest, error);
                                    })
                            .thenCompose(f -> f));
        }
        return CompletableFuture.allOf(writes.toArray(new CompletableFuture<?>[0]))
                .thenApply(v -> writes.stream().map(CompletableFuture::join).toList());
    }

    /**
     * A write the target refused. A replay after a restore writes again blocks that a failed
     * attempt had already written, and that attempt may even have completed the target (its result
     * was never committed): a refusal by a target that is {@code completed} means the block is
     * there, since completion seals a target only once every block of it was written, with a count
     * and checksum EBS accepted. Anything else fails the request for this target; one target
     * failing must not hold back the others.
     */
    private CompletableFuture<BlockCopied> refused(
            BlockTask task,
            String region,
            String role,
            String snapshot,
            byte[] digest,
            Throwable error) {
        Throwable cause = unwrap(error);
        BlockCopied failed = BlockCopied.failed(task, region, snapshot, Failure.of(cause));
        if (!(cause instanceof EbsProxyException e) || e.kind() != EbsProxyException.Kind.FATAL) {
            return CompletableFuture.completedFuture(failed);
        }
        if (completedTargets.contains(snapshot)) {
            return CompletableFuture.completedFuture(
                    BlockCopied.block(task, region, snapshot, digest));
        }
        return CompletableFuture.supplyAsync(
                () -> {
                    SnapshotDescription d;
                    try {
                        d = proxy(region, role).describeSnapshot(snapshot);
                    } catch (RuntimeException describeFailed) {
                        return failed;
                    }
                    if (d == null || !d.completed()) {
                        return failed;
                    }
                    if (completedTargets.add(snapshot)) {
                        LOG.info(
                                "Target {} of request {} was completed by an earlier attempt;"
                                        + " its blocks are there",
                                snapshot,
                                task.requestId());
                    }
                    return BlockCopied.block(task, region, snapshot, digest);
                },
                relister);
    }

    /** One event per target of the task, in the order of its targets. */
    private static List<BlockCopied> perTarget(
            Map<String, String> targets, BiFunction<String, String, BlockCopied> event) {
        List<BlockCopied> out = new ArrayList<>(targets.size());
        for (Map.Entry<String, String> t : targets.entrySet()) {
            out.add(event.apply(t.getKey(), t.getValue()));
        }
        return out;
    }

    /** The request of {@code task} failed for every target of the task. */
    private static List<BlockCopied> failedForAll(BlockTask task, Failure failure) {
        return perTarget(
                task.targetSnapshots().snapshotByRegion(),
                (r, s) -> BlockCopied.failed(task, r, s, failure));
    }

    @Override
    public void timeout(BlockTask input, ResultFuture<BlockCopied> result) {
        // Never fail the job for one slow block: the request fails for its targets instead.
        BlockTask task = input.upgraded();
        result.complete(
                failedForAll(
                        task,
                        Failure.of(
                                FailureReason.EBS_UNAVAILABLE,
                                "Block "
                                        + task.blockIndex()
                                        + " of "
                                        + task.sourceSnapshotId()
                                        + " was not copied within the copier's timeout")));
    }

    private static Throwable unwrap(Throwable t) {
        while (t instanceof CompletionException && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        if (relister != null) {
            relister.shutdownNow();
        }
        if (proxies != null) {
            proxies.values().forEach(byRole -> byRole.values().forEach(EbsProxy::close));
            proxies.clear();
        }
    }
}
