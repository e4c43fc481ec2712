package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException.Kind;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * A hand-written, scriptable fake of {@link EbsProxy} for unit tests: one region of EBS in memory.
 * Runs in the test JVM, in whatever thread calls it (the returned futures are already complete,
 * unless held). Thread-safe.
 *
 * <p>It behaves like EBS where a caller can tell: snapshots start {@code pending}, accept 512 KiB
 * blocks with a matching SHA-256 while pending, complete only with the right block count and LINEAR
 * checksum, then seal ({@code pending} in DescribeSnapshots for {@link #sealAfterPolls} polls, then
 * {@code completed}); children inherit their parent's blocks; ListChangedBlocks works within one
 * lineage and answers {@code UNRELATED_SNAPSHOTS} across lineages; block and page tokens are
 * checked and can be invalidated; the same ClientToken returns the same snapshot. Failures are
 * thrown as the real proxy throws them: {@link EbsProxyException} of the right kind, error code and
 * reason. One liberty: {@code maxResults} is honoured as given (EBS raises it to 100), so that a
 * test can page through a handful of blocks.
 *
 * <p>Scripting: {@link #failNext} / {@link #failAlways} make an operation (by API name, e.g. {@code
 * "PutSnapshotBlock"}) fail with a supplied exception; {@link #hold} leaves the asynchronous calls
 * of an operation unanswered until {@link #release()} (a region that stops answering); {@link
 * #calls()} records every call with its arguments. For a Flink job, {@link #register(String)}
 * returns a serializable {@link Factory} that hands out the fakes of a static registry by name:
 *
 * <pre>{@code
 * FakeEbsProxy.Factory factory = FakeEbsProxy.register("my-test");
 * FakeEbsProxy source = factory.proxy("us-east-1");
 * String snap = source.createSnapshot(1, null, Map.of(0, FakeEbsProxy.block(7)));
 * ... build the job with factory ...
 * FakeEbsProxy.unregister("my-test");
 * }</pre>
 */
public final class FakeEbsProxy implements EbsProxy, NewSnapshotAware {

    public static final int BLOCK_SIZE = 512 * 1024;
    public static final int BLOCKS_PER_GIB = 2048;

    /** Block tokens live a week in EBS; the fake reports the same expiry. */
    private static final Duration BLOCK_TOKEN_TTL = Duration.ofDays(7);

    /** Snapshot ids are unique across every fake, as EBS ids are across regions. */
    private static final AtomicLong IDS = new AtomicLong(0x10000000L);

    private static final Map<String, Map<String, FakeEbsProxy>> REGISTRY =
            new ConcurrentHashMap<>();

    /** One recorded call: the operation's API name and its arguments as passed. */
    public record Call(String operation, List<Object> args) {}

    private final String region;
    private final Map<String, FakeSnapshot> snapshots = new HashMap<>();
    private final Map<String, String> byClientToken = new HashMap<>();
    private final List<Call> calls = new ArrayList<>();
    private final Map<String, Deque<Supplier<? extends RuntimeException>>> nextFailures =
            new HashMap<>();
    private final Map<String, Supplier<? extends RuntimeException>> alwaysFailures =
            new HashMap<>();
    private final Map<String, Instant> markedNew = new HashMap<>();
    private final List<String> deleted = new ArrayList<>();
    private final java.util.Set<String> held = new java.util.HashSet<>();
    private final List<Runnable> heldCalls = new ArrayList<>();
    private int tokenGeneration;
    private int sealPolls;
    private int corruptReads;
    private int closeCount;

    public FakeEbsProxy(String region) {
        this.region = region;
    }

    // ------------------------------------------------------------------ registry for jobs

    /** Registers an empty set of fakes under {@code name} and returns the factory for them. */
    public static Factory register(String name) {
        REGISTRY.put(name, new ConcurrentHashMap<>());
        return new Factory(name);
    }

    /** Forgets the fakes registered under {@code name}. */
    public static void unregister(String name) {
        REGISTRY.remove(name);
        ALLOWED_ROLES.remove(name);
        CREATED_AS.remove(name);
    }

    /**
     * A serializable {@link EbsProxyFactory} handing out the fake of each region registered under a
     * name: every {@code create} of one region returns the same fake, so a test sees what the job
     * did. Closing a fake does not discard it.
     */
    public static final class Factory implements EbsProxyFactory {
        private static final long serialVersionUID = 1L;

        private final String name;

        public Factory(String name) {
            this.name = Objects.requireNonNull(name);
        }

        public String name() {
            return name;
        }

        /** The fake of {@code region}, created empty on first use. */
        public FakeEbsProxy proxy(String region) {
            Map<String, FakeEbsProxy> fakes = REGISTRY.get(name);
            if (fakes == null) {
                throw new IllegalStateException("No fakes registered as '" + name + "'");
            }
            return fakes.computeIfAbsent(region, FakeEbsProxy::new);
        }

        @Override
        public EbsProxy create(String region) {
            return proxy(region);
        }

        /** Requests may name {@code roleArn} for any target (the allow-list). */
        public Factory allowRole(String roleArn) {
            ALLOWED_ROLES.computeIfAbsent(name, k -> ConcurrentHashMap.newKeySet()).add(roleArn);
            return this;
        }

        @Override
        public boolean allowsRole(String region, String roleArn) {
            return roleArn == null || ALLOWED_ROLES.getOrDefault(name, Set.of()).contains(roleArn);
        }

        /** Records as which role the proxy of a region was asked for; the fake is the region's. */
        @Override
        public EbsProxy create(String region, String roleArn, EbsProxyListener listener) {
            CREATED_AS
                    .computeIfAbsent(name, k -> new java.util.concurrent.CopyOnWriteArrayList<>())
                    .add(EbsProxyFactory.key(region, roleArn));
            return proxy(region);
        }

        /** The proxies asked for, as {@link EbsProxyFactory#key} of region and role, in order. */
        public List<String> createdAs() {
            return List.copyOf(CREATED_AS.getOrDefault(name, List.of()));
        }
    }

    /** Per factory name: the roles requests may name. */
    private static final Map<String, Set<String>> ALLOWED_ROLES = new ConcurrentHashMap<>();

    /** Per factory name: the proxies asked for. */
    private static final Map<String, List<String>> CREATED_AS = new ConcurrentHashMap<>();

    // ------------------------------------------------------------------ scripting

    /** The next call of {@code operation} fails with what {@code failure} supplies (queued). */
    public synchronized FakeEbsProxy failNext(
            String operation, Supplier<? extends RuntimeException> failure) {
        nextFailures.computeIfAbsent(operation, k -> new ArrayDeque<>()).add(failure);
        return this;
    }

    /** Every call of {@code operation} fails until {@link #clearFailures()}. */
    public synchronized FakeEbsProxy failAlways(
            String operation, Supplier<? extends RuntimeException> failure) {
        alwaysFailures.put(operation, failure);
        return this;
    }

    public synchronized FakeEbsProxy clearFailures() {
        nextFailures.clear();
        alwaysFailures.clear();
        return this;
    }

    /** DescribeSnapshots shows a completed snapshot {@code pending} for this many polls first. */
    public synchronized FakeEbsProxy sealAfterPolls(int polls) {
        sealPolls = polls;
        return this;
    }

    /** The next {@code n} GetSnapshotBlock answers have one byte flipped, checksum unchanged. */
    public synchronized FakeEbsProxy corruptNextReads(int n) {
        corruptReads = n;
        return this;
    }

    /** Makes every block and page token issued so far invalid, as if they had expired. */
    public synchronized FakeEbsProxy invalidateTokens() {
        tokenGeneration++;
        return this;
    }

    /** Every call so far, in order. */
    public synchronized List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The calls of one operation so far, in order. */
    public synchronized List<Call> calls(String operation) {
        return calls.stream().filter(c -> c.operation().equals(operation)).toList();
    }

    public synchronized void clearCalls() {
        calls.clear();
    }

    public synchronized int closeCount() {
        return closeCount;
    }

    // ------------------------------------------------------------------ inspection and seeding

    /**
     * A completed snapshot with {@code blocks} (index to 512 KiB data) written on top of {@code
     * parentId}'s, or a new lineage when {@code parentId} is {@code null}. Not recorded as a call.
     */
    public synchronized String createSnapshot(
            long volumeSizeGib, String parentId, Map<Integer, byte[]> blocks) {
        FakeSnapshot parent = parentId == null ? null : snapshots.get(parentId);
        if (parentId != null && parent == null) {
            throw new IllegalArgumentException("No snapshot " + parentId);
        }
        FakeSnapshot s = newSnapshot(volumeSizeGib, parent, null, null);
        blocks.forEach((i, d) -> s.blocks.put(i, d.clone()));
        s.status = "completed";
        return s.id;
    }

    /**
     * Says that a snapshot was taken from {@code volumeId} (null: not from a volume, as the EBS
     * direct APIs make them), with these tags and description, as DescribeSnapshots then reports.
     */
    public synchronized FakeEbsProxy describeAs(
            String snapshotId, String volumeId, Map<String, String> tags, String description) {
        FakeSnapshot s = require(snapshotId);
        s.volumeId = volumeId == null ? "vol-ffffffff" : volumeId;
        s.tags.putAll(tags);
        s.description = description;
        return this;
    }

    /** The status of a snapshot ({@code pending}, {@code completed}, {@code error}), or null. */
    public synchronized String status(String snapshotId) {
        FakeSnapshot s = snapshots.get(snapshotId);
        return s == null ? null : s.status;
    }

    /** Moves a snapshot to a status, e.g. {@code error} to model a target EBS cancelled. */
    public synchronized void setStatus(String snapshotId, String status, String stateMessage) {
        FakeSnapshot s = require(snapshotId);
        s.status = status;
        s.stateMessage = stateMessage;
    }

    /** Every block of a snapshot, inherited ones included, by index. */
    public synchronized SortedMap<Integer, byte[]> blocks(String snapshotId) {
        TreeMap<Integer, byte[]> out = new TreeMap<>();
        effective(require(snapshotId)).forEach((i, w) -> out.put(i, w.data.clone()));
        return out;
    }

    /** The blocks written to this snapshot itself. */
    public synchronized SortedMap<Integer, byte[]> ownBlocks(String snapshotId) {
        TreeMap<Integer, byte[]> out = new TreeMap<>();
        require(snapshotId).blocks.forEach((i, d) -> out.put(i, d.clone()));
        return out;
    }

    /** The spec a snapshot was started with, or {@code null} for a seeded one. */
    public synchronized StartSnapshotSpec spec(String snapshotId) {
        return require(snapshotId).spec;
    }

    public synchronized List<String> snapshotIds() {
        return List.copyOf(new TreeSet<>(snapshots.keySet()));
    }

    /** When a snapshot was last said to be started (or started here), or {@code null}. */
    public synchronized Instant markedNew(String snapshotId) {
        return markedNew.get(snapshotId);
    }

    // ------------------------------------------------------------------ EbsProxy

    @Override
    public String region() {
        return region;
    }

    @Override
    public synchronized StartedSnapshot startSnapshot(StartSnapshotSpec spec) {
        call(EbsOperation.START_SNAPSHOT, spec);
        String existing = spec.clientToken() == null ? null : byClientToken.get(spec.clientToken());
        if (existing != null) {
            FakeSnapshot s = snapshots.get(existing);
            if (!spec.equals(s.spec)) {
                throw fatal(
                        EbsOperation.START_SNAPSHOT,
                        "ConflictException",
                        null,
                        null,
                        null,
                        "The ClientToken was used with different parameters");
            }
            return new StartedSnapshot(s.id, s.status, s.volumeSizeGib);
        }
        if (spec.volumeSizeGib() < 1 || spec.volumeSizeGib() > 65536) {
            throw validation(EbsOperation.START_SNAPSHOT, "INVALID_VOLUME_SIZE", null, null);
        }
        if (spec.timeoutMinutes() < 10 || spec.timeoutMinutes() > 4320) {
            throw validation(EbsOperation.START_SNAPSHOT, "INVALID_PARAMETER_VALUE", null, null);
        }
        FakeSnapshot parent = null;
        if (spec.parentSnapshotId() != null) {
            if (spec.encrypted() != null) {
                throw validation(
                        EbsOperation.START_SNAPSHOT, "INVALID_PARAMETER_VALUE", null, null);
            }
            parent = snapshots.get(spec.parentSnapshotId());
            if (parent == null) {
                throw fatal(
                        EbsOperation.START_SNAPSHOT,
                        "ResourceNotFoundException",
                        "DEPENDENCY_RESOURCE_NOT_FOUND",
                        spec.parentSnapshotId(),
                        null,
                        "The parent snapshot does not exist");
            }
            if (!"completed".equals(parent.status)) {
                throw validation(
                        EbsOperation.START_SNAPSHOT,
                        "INVALID_DEPENDENCY_REQUEST",
                        spec.parentSnapshotId(),
                        null);
            }
            if (spec.volumeSizeGib() < parent.volumeSizeGib) {
                throw validation(EbsOperation.START_SNAPSHOT, "INVALID_VOLUME_SIZE", null, null);
            }
        }
        FakeSnapshot s = newSnapshot(spec.volumeSizeGib(), parent, spec, spec.clientToken());
        markedNew.put(s.id, Instant.now());
        return new StartedSnapshot(s.id, s.status, s.volumeSizeGib);
    }

    @Override
    public synchronized BlockListing listSnapshotBlocks(
            String snapshotId, int startingBlockIndex, String nextToken, int maxResults) {
        call(
                EbsOperation.LIST_SNAPSHOT_BLOCKS,
                snapshotId,
                startingBlockIndex,
                nextToken,
                maxResults);
        FakeSnapshot s = readable(EbsOperation.LIST_SNAPSHOT_BLOCKS, snapshotId);
        int from = resume(EbsOperation.LIST_SNAPSHOT_BLOCKS, s.id, startingBlockIndex, nextToken);
        TreeMap<Integer, String> tokens = new TreeMap<>();
        effective(s).keySet().forEach(i -> tokens.put(i, blockToken(s.id, i)));
        return page(s, tokens, from, maxResults);
    }

    @Override
    public synchronized BlockListing listChangedBlocks(
            String firstSnapshotId,
            String secondSnapshotId,
            int startingBlockIndex,
            String nextToken,
            int maxResults) {
        call(
                EbsOperation.LIST_CHANGED_BLOCKS,
                firstSnapshotId,
                secondSnapshotId,
                startingBlockIndex,
                nextToken,
                maxResults);
        FakeSnapshot second = readable(EbsOperation.LIST_CHANGED_BLOCKS, secondSnapshotId);
        Map<Integer, Written> secondBlocks = effective(second);
        Map<Integer, Written> firstBlocks = Map.of();
        if (firstSnapshotId != null) {
            FakeSnapshot first = readable(EbsOperation.LIST_CHANGED_BLOCKS, firstSnapshotId);
            if (!first.rootId.equals(second.rootId)) {
                throw validation(
                        EbsOperation.LIST_CHANGED_BLOCKS,
                        "UNRELATED_SNAPSHOTS",
                        secondSnapshotId,
                        null);
            }
            firstBlocks = effective(first);
        }
        int from =
                resume(EbsOperation.LIST_CHANGED_BLOCKS, second.id, startingBlockIndex, nextToken);
        TreeMap<Integer, String> tokens = new TreeMap<>();
        TreeSet<Integer> indexes = new TreeSet<>(secondBlocks.keySet());
        indexes.addAll(firstBlocks.keySet());
        for (int i : indexes) {
            Written a = firstBlocks.get(i);
            Written b = secondBlocks.get(i);
            // Changed where a different snapshot of the lineage wrote the block last.
            if (a == null || b == null || !a.writer.equals(b.writer)) {
                tokens.put(i, b == null ? null : blockToken(second.id, i));
            }
        }
        return page(second, tokens, from, maxResults);
    }

    @Override
    public synchronized CompletableFuture<FetchedBlock> getBlock(
            String snapshotId, int blockIndex, String blockToken) {
        try {
            call(EbsOperation.GET_SNAPSHOT_BLOCK, snapshotId, blockIndex, blockToken);
            FakeSnapshot s = readable(EbsOperation.GET_SNAPSHOT_BLOCK, snapshotId);
            Written w = effective(s).get(blockIndex);
            if (w == null || !blockToken(s.id, blockIndex).equals(blockToken)) {
                throw new EbsProxyException(
                        Kind.INVALID_TOKEN,
                        "ValidationException",
                        "INVALID_BLOCK_TOKEN",
                        region,
                        snapshotId,
                        blockIndex,
                        "GetSnapshotBlock failed in "
                                + region
                                + " for "
                                + snapshotId
                                + " block "
                                + blockIndex
                                + ": the block token is invalid or expired",
                        null);
            }
            byte[] data = w.data.clone();
            String checksum = sha256(data);
            if (corruptReads > 0) {
                corruptReads--;
                data[data.length / 2] ^= 0x5a;
            }
            return CompletableFuture.completedFuture(
                    new FetchedBlock(BlockBytes.copyOf(data), checksum));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public synchronized CompletableFuture<Void> putBlock(
            String snapshotId, int blockIndex, BlockBytes data, String checksumBase64) {
        try {
            call(EbsOperation.PUT_SNAPSHOT_BLOCK, snapshotId, blockIndex, data, checksumBase64);
            FakeSnapshot s = writable(EbsOperation.PUT_SNAPSHOT_BLOCK, snapshotId);
            if (blockIndex < 0 || blockIndex >= s.volumeSizeGib * BLOCKS_PER_GIB) {
                throw validation(
                        EbsOperation.PUT_SNAPSHOT_BLOCK, "INVALID_BLOCK", snapshotId, blockIndex);
            }
            if (data.length() != BLOCK_SIZE
                    || !Base64.getEncoder().encodeToString(data.sha256()).equals(checksumBase64)) {
                throw validation(
                        EbsOperation.PUT_SNAPSHOT_BLOCK,
                        "INVALID_PARAMETER_VALUE",
                        snapshotId,
                        blockIndex);
            }
            s.blocks.put(blockIndex, data.toArray());
            return CompletableFuture.completedFuture(null);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public synchronized String completeSnapshot(
            String snapshotId, int changedBlocksCount, String linearChecksumBase64) {
        call(EbsOperation.COMPLETE_SNAPSHOT, snapshotId, changedBlocksCount, linearChecksumBase64);
        FakeSnapshot s = existing(EbsOperation.COMPLETE_SNAPSHOT, snapshotId);
        if (s.completion != null && !"error".equals(s.status)) {
            // A repeated CompleteSnapshot with the same values answers the current status.
            if (s.completion.equals(
                    List.of(changedBlocksCount, String.valueOf(linearChecksumBase64)))) {
                return s.status;
            }
            throw validation(EbsOperation.COMPLETE_SNAPSHOT, null, snapshotId, null);
        }
        if (!"pending".equals(s.status)) {
            throw validation(EbsOperation.COMPLETE_SNAPSHOT, null, snapshotId, null);
        }
        List<byte[]> inOrder = new ArrayList<>(new TreeMap<>(s.blocks).values());
        if (changedBlocksCount != inOrder.size()
                || (linearChecksumBase64 != null
                        && !linearChecksum(inOrder).equals(linearChecksumBase64))) {
            throw validation(
                    EbsOperation.COMPLETE_SNAPSHOT, "INVALID_PARAMETER_VALUE", snapshotId, null);
        }
        s.completion = List.of(changedBlocksCount, String.valueOf(linearChecksumBase64));
        s.sealPollsLeft = sealPolls;
        if (sealPolls == 0) {
            s.status = "completed";
        }
        // EBS answers while it seals, before the snapshot is completed.
        return "pending";
    }

    @Override
    public synchronized SnapshotDescription describeSnapshot(String snapshotId) {
        call(EbsOperation.DESCRIBE_SNAPSHOTS, snapshotId);
        return describeOne(snapshotId);
    }

    private SnapshotDescription describeOne(String snapshotId) {
        FakeSnapshot s = snapshots.get(snapshotId);
        if (s == null) {
            return null;
        }
        String status = s.status;
        if (s.completion != null && "pending".equals(s.status)) {
            if (s.sealPollsLeft > 0) {
                s.sealPollsLeft--;
            }
            if (s.sealPollsLeft == 0) {
                s.status = "completed";
                status = "pending";
            }
        }
        Map<String, String> tags = new HashMap<>(s.spec == null ? Map.of() : s.spec.tags());
        tags.putAll(s.tags);
        return new SnapshotDescription(
                s.id,
                status,
                s.stateMessage,
                s.volumeSizeGib,
                // Unknown, as before: tests order a lineage's snapshots by the enumerator's clock.
                null,
                s.volumeId,
                s.description != null
                        ? s.description
                        : s.spec == null ? null : s.spec.description(),
                tags);
    }

    // ------------------------------------------------------------------ asynchronous forms

    @Override
    public CompletableFuture<StartedSnapshot> startSnapshotAsync(StartSnapshotSpec spec) {
        return async(EbsOperation.START_SNAPSHOT, () -> startSnapshot(spec));
    }

    @Override
    public CompletableFuture<BlockListing> listSnapshotBlocksAsync(
            String snapshotId, int startingBlockIndex, String nextToken, int maxResults) {
        return async(
                EbsOperation.LIST_SNAPSHOT_BLOCKS,
                () -> listSnapshotBlocks(snapshotId, startingBlockIndex, nextToken, maxResults));
    }

    @Override
    public CompletableFuture<BlockListing> listChangedBlocksAsync(
            String firstSnapshotId,
            String secondSnapshotId,
            int startingBlockIndex,
            String nextToken,
            int maxResults) {
        return async(
                EbsOperation.LIST_CHANGED_BLOCKS,
                () ->
                        listChangedBlocks(
                                firstSnapshotId,
                                secondSnapshotId,
                                startingBlockIndex,
                                nextToken,
                                maxResults));
    }

    @Override
    public CompletableFuture<String> completeSnapshotAsync(
            String snapshotId, int changedBlocksCount, String linearChecksumBase64) {
        return async(
                EbsOperation.COMPLETE_SNAPSHOT,
                () -> completeSnapshot(snapshotId, changedBlocksCount, linearChecksumBase64));
    }

    /** One recorded DescribeSnapshots call with the list of ids; absent ids are left out. */
    @Override
    public CompletableFuture<Map<String, SnapshotDescription>> describeSnapshotsAsync(
            java.util.Collection<String> snapshotIds) {
        List<String> ids = List.copyOf(snapshotIds);
        return async(
                EbsOperation.DESCRIBE_SNAPSHOTS,
                () -> {
                    synchronized (this) {
                        call(EbsOperation.DESCRIBE_SNAPSHOTS, ids);
                        Map<String, SnapshotDescription> found = new HashMap<>();
                        for (String id : ids) {
                            SnapshotDescription d = describeOne(id);
                            if (d != null) {
                                found.put(id, d);
                            }
                        }
                        return found;
                    }
                });
    }

    /**
     * The snapshots whose tags (started with, or described as) have {@code key} = {@code value}.
     */
    @Override
    public CompletableFuture<List<SnapshotDescription>> describeSnapshotsByTagAsync(
            String key, String value, int limit) {
        return async(
                EbsOperation.DESCRIBE_SNAPSHOTS,
                () -> {
                    synchronized (this) {
                        call(EbsOperation.DESCRIBE_SNAPSHOTS, key, value);
                        List<SnapshotDescription> out = new ArrayList<>();
                        for (String id : new TreeSet<>(snapshots.keySet())) {
                            SnapshotDescription d = describeOne(id);
                            if (value.equals(d.tags().get(key)) && out.size() < limit) {
                                out.add(d);
                            }
                        }
                        return out;
                    }
                });
    }

    /**
     * EC2 DeleteSnapshot, as EC2 answers it: a snapshot still {@code pending} is refused ({@code
     * IncorrectState}), one that does not exist (any more) is {@link
     * SnapshotDeletion#ALREADY_GONE}. A deleted snapshot's children keep the blocks they inherit
     * from it.
     */
    @Override
    public CompletableFuture<SnapshotDeletion> deleteSnapshotAsync(String snapshotId) {
        return async(
                EbsOperation.DELETE_SNAPSHOT,
                () -> {
                    synchronized (this) {
                        call(EbsOperation.DELETE_SNAPSHOT, snapshotId);
                        FakeSnapshot s = snapshots.get(snapshotId);
                        if (s == null) {
                            return SnapshotDeletion.ALREADY_GONE;
                        }
                        if ("pending".equals(s.status)) {
                            throw fatal(
                                    EbsOperation.DELETE_SNAPSHOT,
                                    "IncorrectState",
                                    null,
                                    snapshotId,
                                    null,
                                    "The snapshot is pending");
                        }
                        snapshots.remove(snapshotId);
                        deleted.add(snapshotId);
                        return SnapshotDeletion.DELETED;
                    }
                });
    }

    /** The snapshots deleted through {@link #deleteSnapshotAsync}, in the order deleted. */
    public synchronized List<String> deleted() {
        return List.copyOf(deleted);
    }

    /**
     * Runs a call now, unless calls of its operation are held: then it runs when they are released
     * (a region that stops answering, and answers again later).
     */
    private <T> CompletableFuture<T> async(EbsOperation op, Supplier<T> call) {
        synchronized (this) {
            if (held.contains(op.apiName())) {
                CompletableFuture<T> later = new CompletableFuture<>();
                heldCalls.add(() -> complete(later, call));
                return later;
            }
        }
        CompletableFuture<T> now = new CompletableFuture<>();
        complete(now, call);
        return now;
    }

    private static <T> void complete(CompletableFuture<T> f, Supplier<T> call) {
        try {
            f.complete(call.get());
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        }
    }

    /**
     * Holds the asynchronous calls of {@code operations} (API names) unanswered until {@link
     * #release()}: a region that stops answering. Blocking calls are not held.
     */
    public synchronized FakeEbsProxy hold(String... operations) {
        held.addAll(List.of(operations));
        return this;
    }

    /** How many asynchronous calls are held unanswered. */
    public synchronized int heldCalls() {
        return heldCalls.size();
    }

    /** Answers every held call, in the order they were made, and holds no more. */
    public FakeEbsProxy release() {
        List<Runnable> answers;
        synchronized (this) {
            held.clear();
            answers = new ArrayList<>(heldCalls);
            heldCalls.clear();
        }
        answers.forEach(Runnable::run);
        return this;
    }

    @Override
    public synchronized void snapshotStarted(String snapshotId, Instant startTime) {
        calls.add(new Call("snapshotStarted", Arrays.asList(snapshotId, startTime)));
        markedNew.put(snapshotId, startTime);
    }

    @Override
    public synchronized void close() {
        calls.add(new Call("close", List.of()));
        closeCount++;
    }

    // ------------------------------------------------------------------ ready-made failures

    /** What the proxy throws when throttling outlasted the total timeout. */
    public static EbsProxyException throttled() {
        return new EbsProxyException(
                Kind.RETRYABLE,
                "RequestThrottledException",
                "ACCOUNT_THROTTLED",
                null,
                null,
                null,
                "Request throttled (fake)",
                null);
    }

    /** A fatal error with the given AWS error code and reason. */
    public static EbsProxyException fatal(String errorCode, String reason) {
        return new EbsProxyException(
                Kind.FATAL, errorCode, reason, null, null, null, errorCode + " (fake)", null);
    }

    /** An expired block token ({@code INVALID_BLOCK_TOKEN}) or page token. */
    public static EbsProxyException invalidToken(String reason) {
        return new EbsProxyException(
                Kind.INVALID_TOKEN,
                "ValidationException",
                reason,
                null,
                null,
                null,
                "The token is invalid or expired (fake)",
                null);
    }

    // ------------------------------------------------------------------ block helpers

    /** 512 KiB of deterministic pseudo-random data for {@code seed}. */
    public static byte[] block(long seed) {
        byte[] b = new byte[BLOCK_SIZE];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    /** The base64 SHA-256 of a block, as PutSnapshotBlock wants it. */
    public static String sha256(byte[] data) {
        return Base64.getEncoder().encodeToString(digest(data));
    }

    /** The LINEAR aggregate: base64 SHA-256 over the raw block digests in index order. */
    public static String linearChecksum(List<byte[]> blocksInIndexOrder) {
        MessageDigest md = sha256Digest();
        for (byte[] b : blocksInIndexOrder) {
            md.update(digest(b));
        }
        return Base64.getEncoder().encodeToString(md.digest());
    }

    // ------------------------------------------------------------------ internals

    private static final class FakeSnapshot {
        final String id;
        final String rootId;
        final FakeSnapshot parent;
        final long volumeSizeGib;
        final StartSnapshotSpec spec;
        final TreeMap<Integer, byte[]> blocks = new TreeMap<>();
        String status = "pending";
        String stateMessage = "";
        List<Object> completion;
        String volumeId = "vol-ffffffff";
        String description;
        final Map<String, String> tags = new HashMap<>();
        int sealPollsLeft;

        FakeSnapshot(String id, FakeSnapshot parent, long volumeSizeGib, StartSnapshotSpec spec) {
            this.id = id;
            this.parent = parent;
            this.rootId = parent == null ? id : parent.rootId;
            this.volumeSizeGib = volumeSizeGib;
            this.spec = spec;
        }
    }

    /** A block as a snapshot sees it: the data and the snapshot of the lineage that wrote it. */
    private record Written(String writer, byte[] data) {}

    private FakeSnapshot newSnapshot(
            long volumeSizeGib, FakeSnapshot parent, StartSnapshotSpec spec, String clientToken) {
        String id = String.format("snap-1%016x", IDS.incrementAndGet());
        FakeSnapshot s = new FakeSnapshot(id, parent, volumeSizeGib, spec);
        snapshots.put(id, s);
        if (clientToken != null) {
            byClientToken.put(clientToken, id);
        }
        return s;
    }

    private static Map<Integer, Written> effective(FakeSnapshot s) {
        Map<Integer, Written> out =
                s.parent == null ? new TreeMap<>() : new TreeMap<>(effective(s.parent));
        s.blocks.forEach((i, d) -> out.put(i, new Written(s.id, d)));
        return out;
    }

    private BlockListing page(
            FakeSnapshot s, TreeMap<Integer, String> tokens, int from, int maxResults) {
        int limit = Math.max(1, maxResults);
        List<ListedBlock> blocks = new ArrayList<>();
        String next = null;
        for (Map.Entry<Integer, String> e : tokens.tailMap(from).entrySet()) {
            if (blocks.size() == limit) {
                next = pageToken(s.id, e.getKey());
                break;
            }
            blocks.add(new ListedBlock(e.getKey(), e.getValue()));
        }
        return new BlockListing(blocks, next, s.volumeSizeGib, Instant.now().plus(BLOCK_TOKEN_TTL));
    }

    private int resume(EbsOperation op, String snapshotId, int startingBlockIndex, String token) {
        if (token == null) {
            return Math.max(0, startingBlockIndex);
        }
        String prefix = "p" + tokenGeneration + "x" + snapshotId + "x";
        if (!token.startsWith(prefix)) {
            throw new EbsProxyException(
                    Kind.INVALID_TOKEN,
                    "ValidationException",
                    "INVALID_PAGE_TOKEN",
                    region,
                    snapshotId,
                    null,
                    op.apiName()
                            + " failed in "
                            + region
                            + " for "
                            + snapshotId
                            + ": the page token is invalid or expired",
                    null);
        }
        return Integer.parseInt(token.substring(prefix.length()));
    }

    private String pageToken(String snapshotId, int nextIndex) {
        return "p" + tokenGeneration + "x" + snapshotId + "x" + nextIndex;
    }

    private String blockToken(String snapshotId, int index) {
        return "b" + tokenGeneration + "x" + snapshotId + "x" + index;
    }

    private void call(EbsOperation op, Object... args) {
        calls.add(new Call(op.apiName(), Arrays.asList(args)));
        Deque<Supplier<? extends RuntimeException>> queued = nextFailures.get(op.apiName());
        Supplier<? extends RuntimeException> failure =
                queued == null || queued.isEmpty() ? null : queued.poll();
        if (failure == null) {
            failure = alwaysFailures.get(op.apiName());
        }
        if (failure != null) {
            throw failure.get();
        }
    }

    private FakeSnapshot require(String snapshotId) {
        FakeSnapshot s = snapshots.get(snapshotId);
        if (s == null) {
            throw new IllegalArgumentException("No snapshot " + snapshotId + " in " + region);
        }
        return s;
    }

    private FakeSnapshot existing(EbsOperation op, String snapshotId) {
        FakeSnapshot s = snapshots.get(snapshotId);
        if (s == null) {
            throw fatal(
                    op,
                    "ResourceNotFoundException",
                    "SNAPSHOT_NOT_FOUND",
                    snapshotId,
                    null,
                    "The snapshot does not exist");
        }
        return s;
    }

    private FakeSnapshot readable(EbsOperation op, String snapshotId) {
        FakeSnapshot s = existing(op, snapshotId);
        if (!"completed".equals(s.status)) {
            throw validation(op, null, snapshotId, null);
        }
        return s;
    }

    private FakeSnapshot writable(EbsOperation op, String snapshotId) {
        FakeSnapshot s = existing(op, snapshotId);
        if (!"pending".equals(s.status) || s.completion != null) {
            throw validation(op, null, snapshotId, null);
        }
        return s;
    }

    private EbsProxyException validation(
            EbsOperation op, String reason, String snapshotId, Integer blockIndex) {
        return fatal(
                op,
                "ValidationException",
                reason,
                snapshotId,
                blockIndex,
                reason == null ? "The snapshot is not in the right state" : reason);
    }

    private EbsProxyException fatal(
            EbsOperation op,
            String code,
            String reason,
            String snapshotId,
            Integer blockIndex,
            String detail) {
        return new EbsProxyException(
                Kind.FATAL,
                code,
                reason,
                region,
                snapshotId,
                blockIndex,
                op.apiName()
                        + " failed in "
                        + region
                        + (snapshotId == null ? "" : " for " + snapshotId)
                        + (blockIndex == null ? "" : " block " + blockIndex)
                        + " (FATAL): "
                        + code
                        + (reason == null ? "" : "/" + reason)
                        + ": "
                        + detail
                        + " (fake)",
                null);
    }

    private static byte[] digest(byte[] data) {
        return sha256Digest().digest(data);
    }

    private static MessageDigest sha256Digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
