package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.metrics.EbsCompletionMetrics;
import io.ebsreplicator.connector.ebs.model.BlockCopied;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.proxy.DescribeBatcher;
import io.ebsreplicator.connector.ebs.proxy.EbsOperation;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.NewSnapshotAware;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;

import org.apache.flink.annotation.VisibleForTesting;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.AbstractRichFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Completion, keyed by request and target region: keeps the digest of every block written (keyed
 * state, so it survives failover), counts blocks per split against each split's end marker, and
 * when every split is accounted for computes the LINEAR aggregate, calls CompleteSnapshot, and
 * watches the target with DescribeSnapshots until it is {@code completed} (optionally reading the
 * written blocks back) before it emits one result. A failure of the request for this target emits
 * one failure result and drops the rest.
 *
 * <p>A target that EBS cancelled ({@code error}, its Timeout passed during an outage) is not a
 * failure of the request: the source starts a replacement target (the next generation) and copies
 * the blocks again, so completion drops what it kept for the cancelled one, ignores that target's
 * late events, and follows the new one. If no replacement arrives within the target timeout (or
 * before a bounded input ends), the request fails for this target with the reason. A failure event
 * is therefore checked with DescribeSnapshots before it is reported.
 *
 * <p>Threads: every method runs on the task thread of its subtask, inside {@link
 * CompletionOperator}, with the key set: for a record, for a timer, or for the answer of a remote
 * call. The calls (CompleteSnapshot; DescribeSnapshots through one {@link DescribeBatcher} per
 * region; the read-back's ListSnapshotBlocks and GetSnapshotBlock, hashed there) are futures that
 * the proxy answers on its own threads, and each answer comes back as a mail ({@link
 * KeyedMailbox}). Nothing here waits for EBS: a checkpoint, other keys' records and timers go on
 * while a call is out. A key has at most one call in flight; a timer that fires meanwhile re-arms.
 *
 * <p>Processing-time timers are the durable schedule: a timer is set whenever a call is due, so
 * after a restore, with no call in flight, the timer sends it again (CompleteSnapshot with the same
 * count and checksum is idempotent; DescribeSnapshots and the reads are reads). Flink drops pending
 * timers when a bounded input ends, so then {@link CompletionOperator} drains: {@link #drain}
 * starts what each key still needs, and a wait between attempts is a {@link
 * CompletionContext#later} step, never a sleep.
 */
public class ReplicationCompletionFunction extends AbstractRichFunction {

    private static final long serialVersionUID = 1L;

    private static final Logger LOG = LoggerFactory.getLogger(ReplicationCompletionFunction.class);

    private static final int BLOCK_SIZE = 512 * 1024;

    /** Blocks written to targets, all subtasks and targets together; read by the command line. */
    public static final String BLOCKS_WRITTEN_ACCUMULATOR = "ebs-blocks-written";

    /**
     * CompleteSnapshot attempts after the input ended before the target fails as unavailable: with
     * waits growing by one poll interval each, ten attempts span 45 intervals, long enough to ride
     * out throttling and short enough that a bounded run ends.
     */
    static final int DRAIN_COMPLETE_ATTEMPTS = 10;

    /**
     * Blocks listed per ListSnapshotBlocks page while reading a target back: one page of tokens
     * (about 100 bytes each) is all that is held of the listing, and one List call per 500 MiB read
     * stays far below a region's List budget.
     */
    static final int READ_BACK_PAGE = 1000;

    /**
     * Blocks of one target read back at once: at most 4 MiB of block data in memory per target
     * being verified, and enough reads at once to keep a cross-region round trip busy.
     */
    static final int READ_BACK_WINDOW = 8;

    private final EbsProxyFactory proxyFactory;
    private final long pollMillis;
    private final long firstPollMillis;
    private final long sealTimeoutMillis;
    private final boolean verify;
    private int readBackPage = READ_BACK_PAGE;
    private int readBackWindow = READ_BACK_WINDOW;

    private transient CompletionState state;
    private transient RegionClients clients;
    private transient ReadBack readBack;
    private transient EbsCompletionMetrics metrics;
    private transient LongCounter blocksWrittenTotal;

    /** CompleteSnapshot attempts that failed transiently after the input ended, per key. */
    private transient Map<String, Integer> drainAttempts;

    /**
     * @param pollInterval the longest wait between two seal polls of a target
     * @param firstPoll how soon after CompleteSnapshot a target is first checked; the waits then
     *     grow with the time it has been sealing, up to {@code pollInterval}
     */
    public ReplicationCompletionFunction(
            EbsProxyFactory proxyFactory,
            Duration pollInterval,
            Duration firstPoll,
            Duration sealTimeout,
            boolean verify) {
        this.proxyFactory = proxyFactory;
        this.pollMillis = Math.max(10, pollInterval.toMillis());
        this.firstPollMillis = Math.min(pollMillis, Math.max(10, firstPoll.toMillis()));
        this.sealTimeoutMillis = sealTimeout.toMillis();
        this.verify = verify;
    }

    /** Smaller read-back pages and windows, so that a test pages through a handful of blocks. */
    @VisibleForTesting
    ReplicationCompletionFunction readBackWindows(int pageSize, int blocksAtOnce) {
        this.readBackPage = pageSize;
        this.readBackWindow = blocksAtOnce;
        return this;
    }

    @Override
    public void open(OpenContext openContext) {
        state = new CompletionState(getRuntimeContext());
        metrics = new EbsCompletionMetrics(getRuntimeContext().getMetricGroup());
        clients = new RegionClients(proxyFactory, metrics);
        readBack =
                new ReadBack(
                        new ReadBackOwner(), state, clients, metrics, readBackPage, readBackWindow);
        drainAttempts = new HashMap<>();
        // Accumulators reach the client while the job runs: the command line shows progress.
        blocksWrittenTotal = new LongCounter();
        getRuntimeContext().addAccumulator(BLOCKS_WRITTEN_ACCUMULATOR, blocksWrittenTotal);
    }

    // ------------------------------------------------------------------ records and timers

    /** One event of the copier for the current key. */
    void processElement(BlockCopied input, CompletionContext ctx) throws Exception {
        BlockCopied e = input.upgraded();
        CompletionInfo i = state.info();
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
            startGeneration(i, e.generation(), e.targetSnapshotId(), ctx);
        } else if (i.cancelledMillis > 0) {
            return; // the cancelled target's own failures, while its replacement starts
        }
        if (i.targetSnapshotId == null && present(e.targetSnapshotId())) {
            i.targetSnapshotId = e.targetSnapshotId();
        }
        if (e.copyDetails() != null) {
            i.copyDetails = e.copyDetails();
        }
        if (i.heldError != null && e.kind() != BlockCopied.Kind.BLOCK) {
            // The end (or failure) of a split brings the copy info the held failure waited for.
            fail(i, i.heldError, ctx);
            return;
        }
        switch (e.kind()) {
            case FAILED -> {
                failed(i, e, ctx);
                return;
            }
            case BLOCK -> {
                blocksWrittenTotal.add(1);
                // Once CompleteSnapshot is accepted the count is final and a block is a replay;
                // its digest must not come back while the read-back drops the digests it checked.
                if (i.phase == CompletionInfo.COPYING
                        && state.addBlock(e.splitId(), e.blockIndex(), e.digest())) {
                    metrics.blockReceived(trackingKey(i));
                }
            }
            case SPLIT_END -> {
                if (i.phase == CompletionInfo.COPYING) {
                    state.endSplit(e.splitId(), e.emittedBlocks());
                    i.totalSplits = e.totalSplits();
                }
            }
            default -> throw new IllegalStateException("Unknown event " + e);
        }
        state.update(i);
        if (i.phase == CompletionInfo.COPYING
                && i.pendingError == null
                && !ctx.inFlight()
                && state.allBlocksArrived(i)) {
            long now = ctx.now();
            complete(i, now, ctx);
            // The first seal poll; also tries again if CompleteSnapshot fails transiently (no
            // further event may come for this target), or sends it again after a restore.
            ctx.registerTimer(now + firstPollMillis);
        }
    }

    /** A timer of the current key: sends the call the target waits for, then re-arms. */
    void onTimer(long timestamp, CompletionContext ctx) throws Exception {
        CompletionInfo i = state.info();
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
                        ctx);
            }
            return; // a replacement generation resets the target; its own timers follow
        }
        // Re-armed while a call is out or was sent: it may be lost with a restore, or fail.
        if (ctx.inFlight()) {
            // Soon if it is the CompleteSnapshot that the first seal poll waits for.
            ctx.registerTimer(timestamp + (sealDue(i) ? firstPollMillis : pollWait(i, timestamp)));
        } else if (advance(i, timestamp, ctx)) {
            ctx.registerTimer(timestamp + pollWait(i, timestamp));
        }
    }

    /**
     * Sends the call the current key's target waits for, if any: DescribeSnapshots for a failure
     * that waits to be told from a cancellation, CompleteSnapshot once every block arrived, a seal
     * poll while sealing. Only when no call is in flight; returns whether it sent one.
     */
    private boolean advance(CompletionInfo i, long now, CompletionContext ctx) throws Exception {
        if (i.pendingError != null) {
            askAboutFailure(i, ctx);
        } else if (i.phase == CompletionInfo.COPYING
                && i.heldError == null
                && state.allBlocksArrived(i)) {
            complete(i, now, ctx);
        } else if (i.phase == CompletionInfo.SEALING) {
            poll(i, ctx);
        } else {
            return false; // blocks are still to come, or the copy details for a held failure
        }
        return true;
    }

    // ------------------------------------------------------------------ failures

    /** A failure event of the current target; asked about first, unless there is no target. */
    private void failed(CompletionInfo i, BlockCopied e, CompletionContext ctx) throws Exception {
        boolean mayWait = e.blockIndex() >= 0;
        if (!present(e.targetSnapshotId()) || !present(i.targetSnapshotId)) {
            settle(i, e.error(), mayWait, ctx);
            return;
        }
        if (i.pendingError != null) {
            // The first failure is the one reported; with a second one it waits for nothing more.
            i.pendingErrorMayWait = false;
            state.update(i);
            return;
        }
        // A target EBS cancelled fails every write: then this is not a failure of the request.
        i.pendingError = e.error();
        i.pendingErrorMayWait = mayWait;
        state.update(i);
        if (!ctx.inFlight()) {
            askAboutFailure(i, ctx);
        }
        ctx.registerTimer(ctx.now() + pollMillis);
    }

    private void askAboutFailure(CompletionInfo i, CompletionContext ctx) {
        send(
                ctx,
                EbsOperation.DESCRIBE_SNAPSHOTS,
                describe(i),
                (j, d, error) -> failureAnswered(j, error == null ? d : null, ctx));
    }

    /**
     * What DescribeSnapshots says about the target of a pending failure ({@code null}: unknown, so
     * the failure stands): a cancelled target waits for its replacement, otherwise the failure is
     * settled.
     */
    private void failureAnswered(CompletionInfo i, SnapshotDescription d, CompletionContext ctx)
            throws Exception {
        Failure failure = i.pendingError;
        boolean mayWait = i.pendingErrorMayWait;
        i.pendingError = null;
        i.pendingErrorMayWait = false;
        if (d != null && d.failed()) {
            cancel(i, ctx.now(), d, ctx);
        } else {
            settle(i, failure, mayWait, ctx);
        }
    }

    /** A failure that stands: reported now, or held until the copy details arrive. */
    private void settle(CompletionInfo i, Failure failure, boolean mayWait, CompletionContext ctx)
            throws Exception {
        if (mayWait && i.copyDetails == null && i.totalSplits < 0 && !ctx.draining()) {
            // Blocks travel without the copy info (mode, attributes) to stay small; the failed
            // block's split end follows with it, and the failure is reported then. Once a split
            // end came without copy info (a split from a checkpoint older than copy info), none
            // will bring it: fail at once, never hold.
            i.heldError = failure;
            state.update(i);
        } else {
            fail(i, failure, ctx);
        }
    }

    // ------------------------------------------------------------------ CompleteSnapshot

    /** Computes the aggregate and sends CompleteSnapshot; once accepted the target is sealing. */
    private void complete(CompletionInfo i, long now, CompletionContext ctx) throws Exception {
        LinearChecksum linear = state.linear();
        i.changedBlocks = linear.count();
        i.checksum = linear.value();
        state.update(i);
        EbsProxy target = clients.proxy(i.targetRegion, i.targetRole());
        NewSnapshotAware.tell(target, i.targetSnapshotId, Instant.ofEpochMilli(now));
        send(
                ctx,
                EbsOperation.COMPLETE_SNAPSHOT,
                target.completeSnapshotAsync(i.targetSnapshotId, i.changedBlocks, i.checksum),
                (j, status, error) -> completeAnswered(j, status, error, now, ctx));
    }

    private void completeAnswered(
            CompletionInfo i, String status, Throwable error, long sent, CompletionContext ctx)
            throws Exception {
        if (error == null) {
            LOG.info(
                    "CompleteSnapshot {} in {} accepted ({} blocks): {}",
                    i.targetSnapshotId,
                    i.targetRegion,
                    i.changedBlocks,
                    status);
            seal(i, sent);
            return;
        }
        EbsProxyException ex = classify(error, EbsOperation.COMPLETE_SNAPSHOT, i);
        if (ex.kind() == EbsProxyException.Kind.FATAL) {
            send(
                    ctx,
                    EbsOperation.DESCRIBE_SNAPSHOTS,
                    describe(i),
                    (j, d, e) -> rejectionAnswered(j, e == null ? d : null, ex, sent, ctx));
        } else {
            // Still copying as far as state goes; the timer (or the drain) tries again.
            LOG.warn(
                    "CompleteSnapshot {} failed transiently: {}",
                    i.targetSnapshotId,
                    ex.getMessage());
            if (ctx.draining()) {
                drainAttempts.merge(ctx.key(), 1, Integer::sum);
            }
        }
    }

    /** What DescribeSnapshots says about a target whose CompleteSnapshot was refused. */
    private void rejectionAnswered(
            CompletionInfo i,
            SnapshotDescription d,
            EbsProxyException rejection,
            long sent,
            CompletionContext ctx)
            throws Exception {
        if (d != null && d.completed()) {
            // Completed by an earlier attempt whose result was not committed (a restore replays
            // what came after the checkpoint): the same blocks, count and checksum, so it is this
            // completion.
            LOG.info(
                    "Target {} of request {} was already completed; awaiting nothing more",
                    i.targetSnapshotId,
                    i.requestId);
            seal(i, sent);
        } else if (d != null && d.failed()) {
            cancel(i, ctx.now(), d, ctx);
        } else {
            fail(i, Failure.of(rejection), ctx);
        }
    }

    private void seal(CompletionInfo i, long since) throws Exception {
        i.phase = CompletionInfo.SEALING;
        i.sealStartedMillis = since;
        state.update(i);
    }

    // ------------------------------------------------------------------ sealing

    private void poll(CompletionInfo i, CompletionContext ctx) {
        send(
                ctx,
                EbsOperation.DESCRIBE_SNAPSHOTS,
                describe(i),
                (j, d, error) -> pollAnswered(j, d, error, ctx));
    }

    private void pollAnswered(
            CompletionInfo i, SnapshotDescription d, Throwable error, CompletionContext ctx)
            throws Exception {
        if (i.pendingError != null) {
            // A failure came while the poll was out: this answer tells whether it is a
            // cancellation, as the failure's own question would.
            failureAnswered(i, error == null ? d : null, ctx);
            return;
        }
        if (error != null) {
            EbsProxyException ex = classify(error, EbsOperation.DESCRIBE_SNAPSHOTS, i);
            if (ex.kind() == EbsProxyException.Kind.FATAL) {
                fail(i, Failure.of(ex), ctx);
            }
            return; // transient: the next poll asks again
        }
        long now = ctx.now();
        if (d != null && d.completed()) {
            if (verify) {
                readBack.start(i, ctx);
            } else {
                succeed(i, now, ctx);
            }
        } else if (d != null && d.failed()) {
            // Cancelled while sealing: the source replaces it like one cancelled mid-copy.
            cancel(i, now, d, ctx);
        } else if (sealTimeoutMillis > 0 && now - i.sealStartedMillis > sealTimeoutMillis) {
            fail(
                    i,
                    Failure.of(
                            FailureReason.TARGET_FAILED,
                            "Target "
                                    + i.targetSnapshotId
                                    + " was not completed within "
                                    + Duration.ofMillis(sealTimeoutMillis)),
                    ctx);
        }
    }

    // ------------------------------------------------------------------ end of input

    /**
     * The input ended: fails the current key's target if it can no longer complete, otherwise
     * starts what it still needs. Returns whether it is still in progress; {@link #afterAnswer}
     * then takes it on, with {@link CompletionContext#later} steps for the waits.
     */
    boolean drain(CompletionContext ctx) throws Exception {
        CompletionInfo i = state.info();
        if (i == null || i.phase == CompletionInfo.DONE) {
            return false;
        }
        track(i);
        if (i.cancelledMillis > 0) {
            fail(i, cancelled(i, " and the input ended before a replacement started"), ctx);
            return false;
        }
        if (i.heldError != null) {
            fail(i, i.heldError, ctx);
            return false;
        }
        if (i.pendingError == null
                && i.phase == CompletionInfo.COPYING
                && !state.allBlocksArrived(i)) {
            fail(
                    i,
                    Failure.of(
                            FailureReason.TARGET_FAILED,
                            "The input ended before every block of the target arrived ("
                                    + state.progress(i)
                                    + ")"),
                    ctx);
            return false;
        }
        if (!ctx.inFlight()) {
            advance(i, ctx.now(), ctx);
        }
        return true;
    }

    /** A wait of the drain is over: the next attempt. */
    void onDrainStep(CompletionContext ctx) throws Exception {
        CompletionInfo i = state.info();
        if (i != null
                && i.phase != CompletionInfo.DONE
                && i.cancelledMillis == 0
                && !ctx.inFlight()) {
            advance(i, ctx.now(), ctx);
        }
    }

    /** Whether the current key has its result (or has no state). */
    boolean settled() throws Exception {
        CompletionInfo i = state.info();
        return i == null || i.phase == CompletionInfo.DONE;
    }

    /** While draining, what a key that is neither done nor waiting for a call does next. */
    private void drainNext(CompletionInfo i, CompletionContext ctx) throws Exception {
        if (i.cancelledMillis > 0) {
            fail(i, cancelled(i, " as the input ended"), ctx);
        } else if (i.phase == CompletionInfo.COPYING) {
            // CompleteSnapshot failed transiently.
            int attempts = drainAttempts.getOrDefault(ctx.key(), 0);
            if (attempts >= DRAIN_COMPLETE_ATTEMPTS) {
                fail(
                        i,
                        Failure.of(
                                FailureReason.EBS_UNAVAILABLE,
                                "CompleteSnapshot of "
                                        + i.targetSnapshotId
                                        + " kept failing transiently as the input ended"),
                        ctx);
            } else {
                ctx.later(pollMillis * Math.max(1, attempts));
            }
        } else {
            // Sealing, or a read-back stopped by a transient failure: poll again.
            ctx.later(pollWait(i, ctx.now()));
        }
    }

    // ------------------------------------------------------------------ calls

    /** What to do with the answer of a call, given the current key's state. */
    @FunctionalInterface
    interface Step<T> {
        void on(CompletionInfo i, T value, Throwable error) throws Exception;
    }

    /**
     * Sends a call of the current key; its answer is handed to {@code step} on the task thread with
     * the key's state (unless the key has its result by then), and {@link #afterAnswer} follows.
     */
    private <T> void send(
            CompletionContext ctx,
            EbsOperation operation,
            CompletableFuture<T> call,
            Step<T> step) {
        ctx.send(
                operation.apiName(),
                call,
                (value, error) -> {
                    CompletionInfo i = state.info();
                    if (i != null && i.phase != CompletionInfo.DONE) {
                        step.on(i, value, error);
                        afterAnswer(ctx);
                    }
                });
    }

    /**
     * After an answer, unless another call went out: a failure that came meanwhile is asked about;
     * while draining, the next attempt is scheduled.
     */
    private void afterAnswer(CompletionContext ctx) throws Exception {
        CompletionInfo i = state.info();
        if (i == null || i.phase == CompletionInfo.DONE || ctx.inFlight()) {
            return;
        }
        if (i.pendingError != null) {
            askAboutFailure(i, ctx);
        } else if (ctx.draining()) {
            drainNext(i, ctx);
        }
    }

    /**
     * The wait before the next call of a target: while it seals, half as long as it has been
     * sealing (at least the first poll, at most the poll interval), so that a seal EBS finishes in
     * a second is seen within a quarter of one, and a long one costs a poll per interval; the poll
     * interval otherwise.
     */
    private long pollWait(CompletionInfo i, long now) {
        if (i.phase != CompletionInfo.SEALING) {
            return pollMillis;
        }
        return Math.max(firstPollMillis, Math.min(pollMillis, (now - i.sealStartedMillis) / 2));
    }

    /** Whether the target's blocks are all in, so that its seal is what comes next. */
    private boolean sealDue(CompletionInfo i) throws Exception {
        return i.phase == CompletionInfo.COPYING
                && i.pendingError == null
                && state.allBlocksArrived(i);
    }

    /** The current target as DescribeSnapshots sees it, asked with the region's other targets. */
    private CompletableFuture<SnapshotDescription> describe(CompletionInfo i) {
        return clients.describe(i.targetRegion, i.targetRole(), i.targetSnapshotId);
    }

    /** The failure of a call, as the proxy classified it. */
    static EbsProxyException classify(Throwable error, EbsOperation operation, CompletionInfo i) {
        return EbsErrorClassifier.classify(
                error, operation.apiName(), i.targetRegion, i.targetSnapshotId, null, false);
    }

    // ------------------------------------------------------------------ target

    /** The target was found cancelled by EBS: wait for its replacement, for a while. */
    private void cancel(CompletionInfo i, long now, SnapshotDescription d, CompletionContext ctx)
            throws Exception {
        LOG.warn(
                "Target {} of request {} in {} was cancelled ({}); waiting for its replacement",
                i.targetSnapshotId,
                i.requestId,
                i.targetRegion,
                d.stateMessage());
        i.cancelledMillis = Math.max(1, now);
        i.cancelReason = d.stateMessage();
        i.phase = CompletionInfo.COPYING;
        i.pendingError = null;
        i.pendingErrorMayWait = false;
        i.verifiedBelow = 0;
        state.update(i);
        state.clearBlocks();
        ctx.forget();
        if (sealTimeoutMillis > 0) {
            ctx.registerTimer(now + sealTimeoutMillis);
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
    private void startGeneration(
            CompletionInfo i, int generation, String target, CompletionContext ctx)
            throws Exception {
        LOG.info(
                "Request {} in {}: target generation {} ({}) replaces {}",
                i.requestId,
                i.targetRegion,
                generation,
                target,
                i.targetSnapshotId);
        metrics.replaced(trackingKey(i));
        i.generation = generation;
        i.targetSnapshotId = present(target) ? target : null;
        i.cancelledMillis = 0;
        i.cancelReason = null;
        i.heldError = null;
        i.pendingError = null;
        i.pendingErrorMayWait = false;
        i.phase = CompletionInfo.COPYING;
        i.totalSplits = -1;
        i.changedBlocks = 0;
        i.checksum = null;
        i.verifiedBelow = 0;
        state.clearBlocks();
        ctx.forget();
    }

    // ------------------------------------------------------------------ results

    private void succeed(CompletionInfo i, long now, CompletionContext ctx) throws Exception {
        ctx.emit(result(i, ReplicationResult.COMPLETED, i.changedBlocks, i.checksum, now, null));
        metrics.done(trackingKey(i), true);
        finish(i, ctx);
    }

    private void fail(CompletionInfo i, Failure failure, CompletionContext ctx) throws Exception {
        ctx.emit(result(i, ReplicationResult.FAILED, 0, null, ctx.now(), failure));
        metrics.done(trackingKey(i), false);
        finish(i, ctx);
    }

    /**
     * The result of the target of {@code i}, with how it was copied (from its split ends), decided
     * at {@code decidedMillis}: when the target was seen completed, or the copy failed.
     */
    private static ReplicationResult result(
            CompletionInfo i,
            String status,
            int blocks,
            String checksum,
            long decidedMillis,
            Failure error) {
        CopyInfo c = i.copyDetails;
        return new ReplicationResult(
                i.requestId,
                i.sourceRegion,
                i.sourceSnapshotId,
                i.targetRegion,
                present(i.targetSnapshotId) ? i.targetSnapshotId : null,
                status,
                blocks,
                (long) blocks * BLOCK_SIZE,
                checksum,
                Math.max(0, decidedMillis - i.requestStartMillis),
                error,
                c == null || c.incremental() == null
                        ? null
                        : c.incremental() ? ReplicationResult.INCREMENTAL : ReplicationResult.FULL,
                c == null ? null : c.baseSnapshotId(),
                c == null ? null : c.parents().get(i.targetRegion),
                c == null ? null : c.fallbackReason(),
                c == null ? null : c.attributes(),
                decidedMillis);
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
    private void finish(CompletionInfo i, CompletionContext ctx) throws Exception {
        i.phase = CompletionInfo.DONE;
        state.update(i);
        state.clearBlocks();
        ctx.forget();
        drainAttempts.remove(ctx.key());
    }

    private static boolean present(String snapshotId) {
        return snapshotId != null && !snapshotId.isEmpty();
    }

    private int subtask() {
        return getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    }

    /** The read-back's way to this function's calls and results. */
    private final class ReadBackOwner implements ReadBack.Owner {

        @Override
        public <T> void send(
                CompletionContext ctx,
                EbsOperation operation,
                CompletableFuture<T> call,
                Step<T> step) {
            ReplicationCompletionFunction.this.send(ctx, operation, call, step);
        }

        @Override
        public void verified(CompletionInfo i, CompletionContext ctx) throws Exception {
            succeed(i, ctx.now(), ctx);
        }

        @Override
        public void failed(CompletionInfo i, Failure failure, CompletionContext ctx)
                throws Exception {
            fail(i, failure, ctx);
        }
    }

    @Override
    public void close() {
        if (clients != null) {
            clients.close();
        }
    }
}
