package io.ebsreplicator.benchmarks.jmh;

import io.ebsreplicator.connector.ebs.completion.LinearChecksum;
import io.ebsreplicator.connector.ebs.copier.BlockCopyFunction;
import io.ebsreplicator.connector.ebs.model.BlockCopied;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;
import io.ebsreplicator.connector.ebs.proxy.BlockBytes;
import io.ebsreplicator.connector.ebs.proxy.BlockListing;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.FetchedBlock;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.connector.ebs.proxy.StartedSnapshot;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplitSerializer;

import org.apache.flink.api.common.ExecutionConfig;
import org.apache.flink.api.common.TaskInfoImpl;
import org.apache.flink.api.common.functions.DefaultOpenContext;
import org.apache.flink.api.common.functions.util.RuntimeUDFContext;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.GenericTypeInfo;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.streaming.api.functions.async.CollectionSupplier;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.io.IOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * JMH micro-benchmarks of the work the job does per 512 KiB block apart from network I/O: the
 * SHA-256 check of a block read, the LINEAR aggregate, the serialization of the block descriptor
 * between the source and the copier, and the copier's own per-block work. Runs in a forked JVM
 * started by {@code org.openjdk.jmh.Main} (see {@code benchmarks/run-jmh.sh}); single-threaded.
 *
 * <p>Every score is in operations per second, and one operation is one block (or, for {@link
 * #splitSerializerRoundTrip}, one split), so blocks/s = ops/s and MiB/s = ops/s / 2.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@State(Scope.Thread)
public class BlockHotPathBenchmark {

    /** The EBS block size. */
    static final int BLOCK_SIZE = 512 * 1024;

    /**
     * Distinct blocks cycled through (8 MiB): more than the L2 and most of the L3 of this machine,
     * so the hashed bytes come mostly from memory, as a block just received from the network does.
     */
    static final int BLOCKS = 16;

    /** Digests per LINEAR aggregate: the blocks of a 4 GiB copy. */
    static final int DIGESTS = 8192;

    /** Two target regions, as in a copy to a DR region plus a second one. */
    static final TargetSnapshots TARGETS =
            TargetSnapshots.of(
                    linkedMap(
                            "us-west-2", "snap-0e0420b105a9aa039",
                            "eu-west-1", "snap-07020c215a98c9649"));

    /** Fixed seed: every run hashes and serializes the same bytes. */
    private static final long SEED = 20261127L;

    private byte[][] blocks;

    /** The same blocks as the proxy reads them: in chunks of their own. */
    private BlockBytes[] chunked;

    private String[] checksums;
    private byte[][] digests;
    private BlockTask[] tasks;
    private int next;

    private MessageDigest sha256;
    private TypeSerializer<BlockTask> taskSerializer;
    private DataOutputSerializer out;
    private DataInputDeserializer in;
    private BlockRangeSplit split;

    private BlockCopyFunction copier;
    private Collector collector;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Random random = new Random(SEED);
        blocks = new byte[BLOCKS][BLOCK_SIZE];
        chunked = new BlockBytes[BLOCKS];
        checksums = new String[BLOCKS];
        tasks = new BlockTask[BLOCKS];
        for (int i = 0; i < BLOCKS; i++) {
            random.nextBytes(blocks[i]);
            chunked[i] = BlockBytes.copyOf(blocks[i]);
            checksums[i] = Base64.getEncoder().encodeToString(newSha256().digest(blocks[i]));
            tasks[i] = blockTask(i, random);
        }
        digests = new byte[DIGESTS][32];
        for (byte[] d : digests) {
            random.nextBytes(d);
        }
        sha256 = newSha256();

        // The job must not fall back to Kryo for its busiest record, nor for any of its fields.
        TypeInformation<BlockTask> type = TypeInformation.of(BlockTask.class);
        if (!(type instanceof PojoTypeInfo<BlockTask> pojo)) {
            throw new IllegalStateException("BlockTask is not a Flink POJO type: " + type);
        }
        for (int f = 0; f < pojo.getArity(); f++) {
            if (pojo.getTypeAt(f) instanceof GenericTypeInfo) {
                throw new IllegalStateException("A BlockTask field goes through Kryo: " + type);
            }
        }
        taskSerializer = type.createSerializer(new SerializerConfigImpl());
        out = new DataOutputSerializer(512);
        in = new DataInputDeserializer();
        taskSerializer.serialize(tasks[0], out);
        System.out.printf(
                "BlockTask: %s, %s, %d bytes serialized%n",
                type.getClass().getSimpleName(), taskSerializer.getClass().getName(), out.length());
        out.clear();

        split =
                BlockRangeSplit.builder()
                        .requestId("req-7c1e2f64-3b0a-4d5e-9f21-8a6b4c2d1e0f")
                        .split(3, 16)
                        .source("us-east-1", "snap-0f0a5138781aaa575")
                        .base("snap-0108d2039e263a57d")
                        .targets(TARGETS)
                        .range(3 * 65_536, 4 * 65_536)
                        .progress(3 * 65_536 + 12_345, 4_321)
                        .requestStartMillis(1_795_000_000_000L)
                        .build();
        System.out.printf(
                "BlockRangeSplit: %d bytes serialized%n",
                LineageSplitSerializer.INSTANCE.serialize(split).length);

        copier = new BlockCopyFunction(region -> new InMemoryProxy(region), null, 3);
        copier.setRuntimeContext(
                new RuntimeUDFContext(
                        new TaskInfoImpl("copier", 1, 0, 1, 0),
                        getClass().getClassLoader(),
                        new ExecutionConfig(),
                        new HashMap<>(),
                        new HashMap<>(),
                        UnregisteredMetricsGroup.createOperatorMetricGroup()));
        copier.open(DefaultOpenContext.INSTANCE);
        collector = new Collector();
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        copier.close();
    }

    /** Baseline: SHA-256 of one 512 KiB block with a reused MessageDigest, nothing else. */
    @Benchmark
    public byte[] sha256Only() {
        return sha256.digest(blocks[nextBlock()]);
    }

    /**
     * The check of a block read, as the copier does it: a new MessageDigest, SHA-256 of the block
     * over its chunks, base64 of the digest, compared with the checksum GetSnapshotBlock sent.
     */
    @Benchmark
    public boolean sha256Verify() {
        int i = nextBlock();
        byte[] digest = chunked[i].sha256();
        return Base64.getEncoder().encodeToString(digest).equals(checksums[i]);
    }

    /**
     * The LINEAR aggregate of a 4 GiB copy (8,192 digests), reported per digest, that is per block
     * written; completion computes it once per target snapshot.
     */
    @Benchmark
    @OperationsPerInvocation(DIGESTS)
    public String linearAggregate() {
        LinearChecksum linear = new LinearChecksum();
        for (byte[] d : digests) {
            linear.add(d);
        }
        return linear.value();
    }

    /**
     * The block descriptor through Flink's serializer for it, as on the network between the source
     * and the copier (keyBy): serialize into a reused buffer and read it back.
     */
    @Benchmark
    public BlockTask blockTaskSerializeRoundTrip() throws IOException {
        out.clear();
        taskSerializer.serialize(tasks[nextBlock()], out);
        in.setBuffer(out.getSharedBuffer(), 0, out.length());
        return taskSerializer.deserialize(in);
    }

    /** A split through its versioned serializer, as at every checkpoint and split assignment. */
    @Benchmark
    public LineageSplit splitSerializerRoundTrip() throws IOException {
        LineageSplitSerializer s = LineageSplitSerializer.INSTANCE;
        return s.deserialize(s.getVersion(), s.serialize(split));
    }

    /**
     * The copier's per-block work besides I/O, replayed step by step from {@link BlockCopyFunction}
     * (whose steps are private): decode the targets, SHA-256 of the block read (in chunks) with a
     * new MessageDigest, base64 and compare, the identity transform (which passes the block
     * through: no copy, no second hash), base64 of the digest for the puts, and one {@link
     * BlockCopied} per target (2 targets) with its own digest copy. Leaves out the futures, metrics
     * and proxy lookups; {@link #copierAsyncInvoke} has them.
     */
    @Benchmark
    public List<BlockCopied> copierPerBlockOverhead(Blackhole bh) {
        int i = nextBlock();
        BlockTask task = tasks[i];
        FetchedBlock block = new FetchedBlock(chunked[i], checksums[i]);

        Map<String, String> targets = task.targetSnapshots().snapshotByRegion();
        byte[] digest = block.data().sha256();
        if (!Base64.getEncoder().encodeToString(digest).equals(block.checksumBase64())) {
            throw new IllegalStateException("Checksum mismatch on block " + i);
        }
        // The identity transform: the block as read, with the digest of the check.
        BlockBytes data = block.data();
        byte[] written = digest;
        String checksum = Base64.getEncoder().encodeToString(written);
        List<String> regions = new ArrayList<>(targets.keySet());
        List<BlockCopied> copied = new ArrayList<>(regions.size());
        for (String region : regions) {
            bh.consume(data); // what each PutSnapshotBlock would send
            bh.consume(checksum);
            copied.add(BlockCopied.block(task, region, targets.get(region), written));
        }
        return copied;
    }

    /**
     * The real {@link BlockCopyFunction#asyncInvoke} of one block to 2 targets, against in-memory
     * proxies whose GetSnapshotBlock and PutSnapshotBlock complete at once: the replayed steps of
     * {@link #copierPerBlockOverhead} plus the futures, metrics and proxy lookups, still no I/O.
     */
    @Benchmark
    public void copierAsyncInvoke(Blackhole bh) throws Exception {
        collector.result = null;
        copier.asyncInvoke(tasks[nextBlock()], collector);
        if (collector.result == null || collector.result.size() != 2) {
            throw new IllegalStateException("Copier did not complete inline: " + collector.result);
        }
        bh.consume(collector.result);
    }

    private int nextBlock() {
        int i = next;
        next = (i + 1) % BLOCKS;
        return i;
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A descriptor as the source emits it; the token has the length of a real EBS block token. */
    private static BlockTask blockTask(int blockIndex, Random random) {
        byte[] token = new byte[57];
        random.nextBytes(token);
        return BlockTask.block(
                new BlockTask.Origin(
                        "req-7c1e2f64-3b0a-4d5e-9f21-8a6b4c2d1e0f",
                        3,
                        16,
                        "us-east-1",
                        "snap-0f0a5138781aaa575",
                        TARGETS,
                        1_795_000_000_000L,
                        0,
                        null),
                blockIndex,
                Base64.getEncoder().encodeToString(token));
    }

    private static Map<String, String> linkedMap(String k1, String v1, String k2, String v2) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(k1, v1);
        m.put(k2, v2);
        return m;
    }

    /** Holds what the copier completes with; the futures complete on the calling thread. */
    private static final class Collector implements ResultFuture<BlockCopied> {
        Collection<BlockCopied> result;

        @Override
        public void complete(Collection<BlockCopied> result) {
            this.result = result;
        }

        @Override
        public void completeExceptionally(Throwable error) {
            throw new IllegalStateException(error);
        }

        @Override
        public void complete(CollectionSupplier<BlockCopied> supplier) {
            try {
                this.result = supplier.get();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    /**
     * An EBS of one region in memory for the copier: GetSnapshotBlock returns one of the fixed
     * blocks (by index) with its checksum, PutSnapshotBlock accepts and drops the block. Both
     * return completed futures, so the copier runs inline on the benchmark thread.
     */
    private final class InMemoryProxy implements EbsProxy {
        private final String region;

        InMemoryProxy(String region) {
            this.region = region;
        }

        @Override
        public String region() {
            return region;
        }

        @Override
        public CompletableFuture<FetchedBlock> getBlock(
                String snapshotId, int blockIndex, String blockToken) {
            int i = blockIndex % BLOCKS;
            return CompletableFuture.completedFuture(new FetchedBlock(chunked[i], checksums[i]));
        }

        @Override
        public CompletableFuture<Void> putBlock(
                String snapshotId, int blockIndex, BlockBytes data, String checksumBase64) {
            return CompletableFuture.completedFuture(null);
        }

        @Override
        public CompletableFuture<StartedSnapshot> startSnapshotAsync(StartSnapshotSpec spec) {
            return notUsed();
        }

        @Override
        public CompletableFuture<BlockListing> listSnapshotBlocksAsync(
                String snapshotId, int startingBlockIndex, String nextToken, int maxResults) {
            return notUsed();
        }

        @Override
        public CompletableFuture<BlockListing> listChangedBlocksAsync(
                String firstSnapshotId,
                String secondSnapshotId,
                int startingBlockIndex,
                String nextToken,
                int maxResults) {
            return notUsed();
        }

        @Override
        public CompletableFuture<String> completeSnapshotAsync(
                String snapshotId, int changedBlocksCount, String linearChecksumBase64) {
            return notUsed();
        }

        @Override
        public CompletableFuture<java.util.Map<String, SnapshotDescription>> describeSnapshotsAsync(
                java.util.Collection<String> snapshotIds) {
            return notUsed();
        }

        @Override
        public CompletableFuture<java.util.List<SnapshotDescription>> describeSnapshotsByTagAsync(
                String key, String value, int limit) {
            return notUsed();
        }

        @Override
        public CompletableFuture<io.ebsreplicator.connector.ebs.proxy.SnapshotDeletion>
                deleteSnapshotAsync(String snapshotId) {
            return notUsed();
        }

        /** The copier's hot path makes no control-plane call. */
        private <T> CompletableFuture<T> notUsed() {
            return CompletableFuture.failedFuture(
                    new IllegalStateException("not used by the block hot path"));
        }

        @Override
        public void close() {}
    }
}
