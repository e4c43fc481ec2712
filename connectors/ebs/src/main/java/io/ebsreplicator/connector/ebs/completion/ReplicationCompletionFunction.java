package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.metrics.EbsCompletionMetrics;
import io.ebsreplicator.connector.ebs.model.BlockCopied;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.pipeline.PipelineHook;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.FetchedBlock;
import io.ebsreplicator.connector.ebs.proxy.ListedBlock;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;

import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Completion, keyed by request and target region, on the task thread of its subtask: keeps the
 * digest of every block written (keyed state, so it survives failover), counts blocks per split
 * against each split's end marker, and when every split is accounted for computes the LINEAR
 * aggregate, calls CompleteSnapshot, and watches the target with DescribeSnapshots until it is
 * {@code completed} (optionally reading the written blocks back first) before it emits one result.
 * A failure of the request for this target emits one failure result and drops the rest.
 *
 * <p>A target that EBS cancelled ({@code error}, its Timeout passed during an outage) is not a
 * failure of the request: the source starts a replacement target (the next generation) and copies
 * the blocks again, so completion drops what it kept for the cancelled one, ignores that target's
 * late events, and follows the new one. If no replacement arrives within the target timeout (or
 * before a bounded input ends), the request fails for this target with the reason.
 *
 * <p>Waiting uses processing-time timers; at the end of a bounded input, {@link CompletionOperator}
 * drains what is still sealing, since Flink drops pending processing-time timers when a bounded job
 * finishes.
 */
public class ReplicationCompletionFunction
        extends KeyedProcessFunction<String, BlockCopied, ReplicationResult>
        implements CheckpointListener {

    private static final long serialVersionUID = 1L;

    private static final Logger LOG = LoggerFactory.getLogger(ReplicationCompletionFunction.class);

    static final ValueStateDescriptor<CompletionInfo> INFO =
            new ValueStateDescriptor<>("completion-info", CompletionInfo.class);

    private static final int BLOCK_SIZE = 512 * 1024;

    /** Blocks written to targets, all subtasks and targets together; read by the command line. */
    public static final String BLOCKS_WRITTEN_ACCUMULATOR = "ebs-blocks-written";

    private final EbsProxyFactory proxyFactory;
    private final long pollMillis;
    private final long sealTimeoutMillis;
    private final boolean verify;
    private final PipelineHook hook;

    private transient ValueState<CompletionInfo> info;
    private transient MapState<Integer, byte[]> digests;
    private transient MapState<Integer, Long> expected;
    private transient MapState<Integer, Long> received;
    private transient Map<String, EbsProxy> proxies;
    private transient EbsCompletionMetrics metrics;
    private transient LongCounter blocksWrittenTotal;

    public ReplicationCompletionFunction(
            EbsProxyFactory proxyFactory,
            Duration pollInterval,
            Duration sealTimeout,
            boolean verify) {
        this(proxyFactory, pollInterval, sealTimeout, verify, PipelineHook.NONE);
    }

    public ReplicationCompletionFunction(
            EbsProxyFactory proxyFactory,
            Duration pollInterval,
            Duration sealTimeout,
            boolean verify,
            PipelineHook hook) {
        this.hook = hook == null ? PipelineHook.NONE : hook;
        this.proxyFactory = proxyFactory;
        this.pollMillis = Math.max(10, pollInterval.toMillis());
        this.sealTimeoutMillis = sealTimeout.toMillis();
        this.verify = verify;
    }

    @Override
    public void open(OpenContext openContext) {
        info = getRuntimeContext().getState(INFO);
        digests =
                getRuntimeContext()
                        .getMapState(
                                new MapStateDescriptor<Integer, byte[]>(
                                        "block-digests",
                                        Types.INT,
                                        PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        expected =
                getRuntimeContext()
                        .getMapState(
                                new MapStateDescriptor<>("split-expected", Types.INT, Types.LONG));
        received =
                getRuntimeContext()
                        .getMapState(
                                new MapStateDescriptor<>("split-received", Types.INT, Types.LONG));
        proxies = new HashMap<>();
        metrics = new EbsCompletionMetrics(getRuntimeContext().getMetricGroup());
        // Accumulators reach the client while the job runs: the command line shows progress.
        blocksWrittenTotal = new LongCounter();
        getRuntimeContext().addAccumulator(BLOCKS_WRITTEN_ACCUMULATOR, blocksWrittenTotal);
    }

    private EbsProxy proxy(String region) {
        return proxies.computeIfAbsent(
                region, r -> proxyFactory.create(r, metrics.proxyListener(r)));
    }

    @Override
    public void processElement(BlockCopied input, Context ctx, Collector<ReplicationResult> out)
            throws Exception {
        hook.onRecord(
                PipelineHook.COMPLETION, getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
        BlockCopied e = input.upgraded();
        CompletionInfo i = state();
        if (i == null) {
            i = new CompletionInfo();
            i.generation = e.generation();
            i.requestId = e.requestId();
            i.sourceRegion = e.sourceRegion();
            i.sourceSnapshotId = e.sourceSnapshotId();
            i.targetRegion = e.targetRegion();
            i.requestStartMillis = e.requestStartMillis();
        }
        if (i.phase == CompletionInfo.DONE) {
            return; // a late event of a request already reported
        }
        if (e.generation() < i.generation) {
            return; // a late event of a target that was replaced
        }
        track(i);
        if (e.generation() > i.generation) {
            startGeneration(i, e.generation(), e.targetSnapshotId());
        } else if (i.cancelledMillis > 0) {
            return; // the cancelled target's own failures, while its replacement starts
        }
        if (i.targetSnapshotId == null
                && e.targetSnapshotId() != null
                && !e.targetSnapshotId().isEmpty()) {
            i.targetSnapshotId = e.targetSnapshotId();
        }
        if (e.copyDetails() != null) {
            i.copyDetails = e.copyDetails();
        }
        if (i.heldError != null && e.kind() != BlockCopied.Kind.BLOCK) {
            // The end (or failure) of a split brings the copy info the held failure waited for.
            fail(i, i.heldError, out);
            return;
        }
        switch (e.kind()) {
            case FAILED -> {
                long now = ctx.timerService().currentProcessingTime();
                if (e.targetSnapshotId() != null
                        && !e.targetSnapshotId().isEmpty()
                        && cancelled(i, now)) {
                    awaitReplacement(ctx, now);
                } else if (i.copyDetails == null && i.totalSplits < 0 && e.blockIndex() >= 0) {
                    // Blocks travel without the copy info (mode, attributes) to stay small; the
                    // failed block's split end follows with it, and the failure is reported then.
                    // Once a split end came without copy info (a split from a checkpoint older
                    // than copy info), none will bring it: fail at once, never hold.
                    i.heldError = e.error();
                    info.update(i);
                } else {
                    fail(i, e.error(), out);
                }
                return;
            }
            case BLOCK -> {
                blocksWrittenTotal.add(1);
                if (!digests.contains(e.blockIndex())) {
                    Long n = received.get(e.splitId());
                    received.put(e.splitId(), n == null ? 1 : n + 1);
                    metrics.blockReceived(trackingKey(i));
                }
                digests.put(e.blockIndex(), e.digest());
            }
            case SPLIT_END -> {
                expected.put(e.splitId(), e.emittedBlocks());
                i.totalSplits = e.totalSplits();
            }
            default -> throw new IllegalStateException("Unknown event " + e);
        }
        info.update(i);
        if (i.phase == CompletionInfo.COPYING && allBlocksArrived(i)) {
            startCompletion(i, ctx.timerService().currentProcessingTime(), out);
            // SEALING: poll the seal. COPYING: CompleteSnapshot failed transiently and no
            // further event may come for this target, so the timer tries again.
            if (i.cancelledMillis > 0) {
                awaitReplacement(ctx, ctx.timerService().currentProcessingTime());
            } else if (i.phase != CompletionInfo.DONE) {
                ctx.timerService()
                        .registerProcessingTimeTimer(
                                ctx.timerService().currentProcessingTime() + pollMillis);
            }
        }
    }

    /** This key's state, in this version's form (see {@link CompletionInfo#upgrade()}). */
    private CompletionInfo state() throws Exception {
        CompletionInfo i = info.value();
        if (i != null && i.upgrade()) {
            info.update(i);
        }
        return i;
    }

    private boolean allBlocksArrived(CompletionInfo i) throws Exception {
        if (i.totalSplits <= 0) {
            return false;
        }
        int ended = 0;
        for (Map.Entry<Integer, Long> s : expected.entries()) {
            ended++;
            Long got = received.get(s.getKey());
            if ((got == null ? 0 : got) != s.getValue()) {
                return false;
            }
        }
        return ended == i.totalSplits;
    }

    /** Computes the aggregate and calls CompleteSnapshot; on success the target is sealing. */
    private void startCompletion(CompletionInfo i, long now, Collector<ReplicationResult> out)
            throws Exception {
        List<Integer> indexes = new ArrayList<>();
        for (Integer k : digests.keys()) {
            indexes.add(k);
        }
        Collections.sort(indexes);
        LinearChecksum linear = new LinearChecksum();
        for (Integer k : indexes) {
            linear.add(digests.get(k));
        }
        i.changedBlocks = linear.count();
        i.checksum = linear.value();
        try {
            EbsProxy target = proxy(i.targetRegion);
            target.markNew(i.targetSnapshotId, java.time.Instant.ofEpochMilli(now));
            String status =
                    target.completeSnapshot(i.targetSnapshotId, i.changedBlocks, i.checksum);
            LOG.info(
                    "CompleteSnapshot {} in {} accepted ({} blocks): {}",
                    i.targetSnapshotId,
                    i.targetRegion,
                    i.changedBlocks,
                    status);
            i.phase = CompletionInfo.SEALING;
            i.sealStartedMillis = now;
            info.update(i);
        } catch (EbsProxyException ex) {
            if (ex.kind() == EbsProxyException.Kind.FATAL) {
                SnapshotDescription d = describeQuietly(i);
                if (d != null && d.completed()) {
                    // Completed by an earlier attempt whose result was not committed (a restore
                    // replays what came after the checkpoint): the same blocks, count and
                    // checksum, so it is this completion.
                    LOG.info(
                            "Target {} of request {} was already completed; awaiting nothing more",
                            i.targetSnapshotId,
                            i.requestId);
                    i.phase = CompletionInfo.SEALING;
                    i.sealStartedMillis = now;
                    info.update(i);
                } else if (d != null && d.failed()) {
                    markCancelled(i, now, d);
                } else {
                    fail(i, Failure.of(ex), out);
                }
            } else {
                // Still copying as far as state goes; the next event or the drain tries again.
                LOG.warn(
                        "CompleteSnapshot {} failed transiently: {}",
                        i.targetSnapshotId,
                        ex.getMessage());
                info.update(i);
            }
        }
    }

    @Override
    public void onTimer(long timestamp, OnTimerContext ctx, Collector<ReplicationResult> out)
            throws Exception {
        CompletionInfo i = state();
        if (i == null || i.phase == CompletionInfo.DONE) {
            return;
        }
        track(i);
        if (i.cancelledMillis > 0) {
            if (sealTimeoutMillis > 0 && timestamp - i.cancelledMillis >= sealTimeoutMillis) {
                fail(
                        i,
                        cancelled(
                                i,
                                " and no replacement started within "
                                        + Duration.ofMillis(sealTimeoutMillis)),
                        out);
            }
            return; // a replacement generation resets the target; its own timers follow
        }
        if (i.phase == CompletionInfo.COPYING && allBlocksArrived(i)) {
            startCompletion(i, timestamp, out);
        }
        if (i.cancelledMillis > 0) {
            awaitReplacement(ctx, timestamp);
            return;
        }
        if (i.phase == CompletionInfo.SEALING && !checkSealed(i, timestamp, out)) {
            ctx.timerService().registerProcessingTimeTimer(timestamp + pollMillis);
        } else if (i.cancelledMillis > 0) {
            awaitReplacement(ctx, timestamp); // cancelled while sealing
        } else if (i.phase == CompletionInfo.COPYING) {
            ctx.timerService().registerProcessingTimeTimer(timestamp + pollMillis);
        }
    }

    /** Checks a sealing target once; emits its result and returns {@code true} when it is done. */
    boolean checkSealed(CompletionInfo i, long now, Collector<ReplicationResult> out)
            throws Exception {
        SnapshotDescription d;
        try {
            d = proxy(i.targetRegion).describeSnapshot(i.targetSnapshotId);
        } catch (EbsProxyException ex) {
            if (ex.kind() == EbsProxyException.Kind.FATAL) {
                fail(i, Failure.of(ex), out);
                return true;
            }
            return false;
        }
        if (d != null && d.completed()) {
            Failure problem = verify ? verifyTarget(i) : null;
            if (problem != null) {
                fail(i, problem, out);
            } else {
                succeed(i, now, out);
            }
            return true;
        }
        if (d != null && d.failed()) {
            // Cancelled while sealing: the source replaces it like one cancelled mid-copy.
            markCancelled(i, now, d);
            return true;
        }
        if (sealTimeoutMillis > 0 && now - i.sealStartedMillis > sealTimeoutMillis) {
            fail(
                    i,
                    Failure.of(
                            FailureReason.TARGET_FAILED,
                            "Target "
                                    + i.targetSnapshotId
                                    + " was not completed within "
                                    + Duration.ofMillis(sealTimeoutMillis)),
                    out);
            return true;
        }
        return false;
    }

    /**
     * Drains this key at the end of a bounded input: completes it if every block arrived and waits
     * for the seal, blocking, polling at the configured interval. Called by {@link
     * CompletionOperator} with the key set.
     */
    void drain(Collector<ReplicationResult> out) throws Exception {
        CompletionInfo i = state();
        if (i == null || i.phase == CompletionInfo.DONE) {
            return;
        }
        track(i);
        if (i.cancelledMillis > 0) {
            fail(i, cancelled(i, " and the input ended before a replacement started"), out);
            return;
        }
        if (i.heldError != null) {
            fail(i, i.heldError, out);
            return;
        }
        long now = System.currentTimeMillis();
        if (i.phase == CompletionInfo.COPYING) {
            if (!allBlocksArrived(i)) {
                fail(
                        i,
                        Failure.of(
                                FailureReason.TARGET_FAILED,
                                "The input ended before every block of the target arrived ("
                                        + describeProgress(i)
                                        + ")"),
                        out);
                return;
            }
            for (int attempt = 0; i.phase == CompletionInfo.COPYING && attempt < 10; attempt++) {
                startCompletion(i, now, out);
                if (i.cancelledMillis > 0) {
                    fail(i, cancelled(i, " as the input ended"), out);
                    return;
                }
                if (i.phase == CompletionInfo.COPYING) {
                    Thread.sleep(pollMillis * (attempt + 1));
                }
            }
            if (i.phase == CompletionInfo.COPYING) {
                fail(
                        i,
                        Failure.of(
                                FailureReason.EBS_UNAVAILABLE,
                                "CompleteSnapshot of "
                                        + i.targetSnapshotId
                                        + " kept failing transiently as the input ended"),
                        out);
                return;
            }
        }
        while (i.phase == CompletionInfo.SEALING
                && !checkSealed(i, System.currentTimeMillis(), out)) {
            Thread.sleep(pollMillis);
        }
        if (i.phase != CompletionInfo.DONE && i.cancelledMillis > 0) {
            fail(i, cancelled(i, " as the input ended"), out);
        }
    }

    /**
     * Whether the current target was cancelled by EBS (DescribeSnapshots says {@code error}); if so
     * it is marked so and completion waits for its replacement.
     */
    private boolean cancelled(CompletionInfo i, long now) throws Exception {
        SnapshotDescription d = describeQuietly(i);
        if (d == null || !d.failed()) {
            return false;
        }
        markCancelled(i, now, d);
        return true;
    }

    /** The current target as DescribeSnapshots sees it; {@code null} if unknown. */
    private SnapshotDescription describeQuietly(CompletionInfo i) {
        if (i.targetSnapshotId == null || i.targetSnapshotId.isEmpty()) {
            return null;
        }
        try {
            return proxy(i.targetRegion).describeSnapshot(i.targetSnapshotId);
        } catch (EbsProxyException ex) {
            return null; // unknown: a failure stands
        }
    }

    private void markCancelled(CompletionInfo i, long now, SnapshotDescription d) throws Exception {
        LOG.warn(
                "Target {} of request {} in {} was cancelled ({}); waiting for its replacement",
                i.targetSnapshotId,
                i.requestId,
                i.targetRegion,
                d.stateMessage());
        i.cancelledMillis = Math.max(1, now);
        i.cancelReason = d.stateMessage();
        i.phase = CompletionInfo.COPYING;
        info.update(i);
        digests.clear();
        expected.clear();
        received.clear();
    }

    private void awaitReplacement(Context ctx, long now) {
        if (sealTimeoutMillis > 0) {
            ctx.timerService().registerProcessingTimeTimer(now + sealTimeoutMillis);
        }
    }

    /** The failure of a target that EBS cancelled and that no replacement took over. */
    private static Failure cancelled(CompletionInfo i, String why) {
        return Failure.of(
                FailureReason.TARGET_CANCELLED,
                "Target "
                        + i.targetSnapshotId
                        + " was cancelled by EBS ("
                        + i.cancelReason
                        + ")"
                        + why);
    }

    /** Follows the replacement of a cancelled target: what was kept for the old one goes. */
    private void startGeneration(CompletionInfo i, int generation, String target) throws Exception {
        LOG.info(
                "Request {} in {}: target generation {} ({}) replaces {}",
                i.requestId,
                i.targetRegion,
                generation,
                target,
                i.targetSnapshotId);
        metrics.replaced(trackingKey(i));
        i.generation = generation;
        i.targetSnapshotId = target == null || target.isEmpty() ? null : target;
        i.cancelledMillis = 0;
        i.cancelReason = null;
        i.heldError = null;
        i.phase = CompletionInfo.COPYING;
        i.totalSplits = -1;
        i.changedBlocks = 0;
        i.checksum = null;
        digests.clear();
        expected.clear();
        received.clear();
    }

    private String describeProgress(CompletionInfo i) throws Exception {
        int ended = 0;
        for (Integer ignored : expected.keys()) {
            ended++;
        }
        int blocks = 0;
        for (Integer ignored : digests.keys()) {
            blocks++;
        }
        return ended + " of " + i.totalSplits + " splits ended, " + blocks + " blocks";
    }

    /** Reads every written block back from the target and compares it with the digest kept. */
    private Failure verifyTarget(CompletionInfo i) throws Exception {
        EbsProxy target = proxy(i.targetRegion);
        Map<Integer, String> tokens = new HashMap<>();
        int start = 0;
        String next = null;
        do {
            var page = target.listSnapshotBlocks(i.targetSnapshotId, start, next, 10000);
            for (ListedBlock b : page.blocks()) {
                tokens.put(b.blockIndex(), b.blockToken());
                start = b.blockIndex() + 1;
            }
            next = page.nextToken();
        } while (next != null);
        for (Map.Entry<Integer, byte[]> e : digests.entries()) {
            String token = tokens.get(e.getKey());
            if (token == null) {
                return Failure.of(
                        FailureReason.VERIFICATION_FAILED,
                        "Verification: block "
                                + e.getKey()
                                + " is missing from "
                                + i.targetSnapshotId);
            }
            FetchedBlock b = target.getBlock(i.targetSnapshotId, e.getKey(), token).join();
            byte[] actual = b.data().sha256();
            if (!Arrays.equals(actual, e.getValue())) {
                return Failure.of(
                        FailureReason.VERIFICATION_FAILED,
                        "Verification: block "
                                + e.getKey()
                                + " of "
                                + i.targetSnapshotId
                                + " differs from the source");
            }
            metrics.blockVerified();
        }
        return null;
    }

    private void succeed(CompletionInfo i, long now, Collector<ReplicationResult> out)
            throws Exception {
        out.collect(
                result(
                        i,
                        ReplicationResult.COMPLETED,
                        i.changedBlocks,
                        i.checksum,
                        Math.max(0, now - i.requestStartMillis),
                        null));
        metrics.done(trackingKey(i), true);
        finish(i);
    }

    private void fail(CompletionInfo i, Failure failure, Collector<ReplicationResult> out)
            throws Exception {
        out.collect(
                result(
                        i,
                        ReplicationResult.FAILED,
                        0,
                        null,
                        Math.max(0, System.currentTimeMillis() - i.requestStartMillis),
                        failure));
        metrics.done(trackingKey(i), false);
        finish(i);
    }

    /** The result of the target of {@code i}, with how it was copied (from its split ends). */
    private static ReplicationResult result(
            CompletionInfo i,
            String status,
            int blocks,
            String checksum,
            long durationMs,
            Failure error) {
        CopyInfo c = i.copyDetails;
        return new ReplicationResult(
                i.requestId,
                i.sourceRegion,
                i.sourceSnapshotId,
                i.targetRegion,
                i.targetSnapshotId == null || i.targetSnapshotId.isEmpty()
                        ? null
                        : i.targetSnapshotId,
                status,
                blocks,
                (long) blocks * BLOCK_SIZE,
                checksum,
                durationMs,
                error,
                c == null || c.incremental() == null
                        ? null
                        : c.incremental() ? ReplicationResult.INCREMENTAL : ReplicationResult.FULL,
                c == null ? null : c.baseSnapshotId(),
                c == null ? null : c.parents().get(i.targetRegion),
                c == null ? null : c.fallbackReason(),
                c == null ? null : c.attributes());
    }

    /** Counts the target of {@code i} as in progress on this subtask (metrics only). */
    private void track(CompletionInfo i) {
        metrics.active(trackingKey(i), i.requestId, i.targetRegion, i.requestStartMillis);
    }

    /** The target's identity in the metrics: the key of this function, request and region. */
    private static String trackingKey(CompletionInfo i) {
        return i.requestId + '/' + i.targetRegion;
    }

    /** Keeps only the small record that the request is done, so late events are ignored. */
    private void finish(CompletionInfo i) throws Exception {
        i.phase = CompletionInfo.DONE;
        info.update(i);
        digests.clear();
        expected.clear();
        received.clear();
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        hook.onCheckpointComplete(
                PipelineHook.COMPLETION,
                getRuntimeContext().getTaskInfo().getIndexOfThisSubtask(),
                checkpointId);
    }

    @Override
    public void close() {
        if (proxies != null) {
            proxies.values().forEach(EbsProxy::close);
            proxies.clear();
        }
    }
}
