package io.ebsreplicator.connector.ebs.source.reader;

import io.ebsreplicator.connector.ebs.metrics.EbsSourceReaderMetrics;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;
import io.ebsreplicator.connector.ebs.pipeline.PipelineHook;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.DeadLetterSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplitState;

import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.connector.base.source.reader.RecordEmitter;

/**
 * Turns listed records into {@link BlockTask}s and advances the split's checkpointed progress as
 * each block goes out, on the task thread. The end marker carries the number of blocks the split
 * emitted in all, counted across restores.
 */
public final class EbsLineageRecordEmitter
        implements RecordEmitter<ListedRecord, BlockTask, LineageSplitState> {

    private final PipelineHook hook;
    private final int subtask;
    private final EbsSourceReaderMetrics metrics;

    public EbsLineageRecordEmitter(PipelineHook hook, int subtask) {
        this(hook, subtask, EbsSourceReaderMetrics.unregistered());
    }

    /** An emitter that counts the blocks it emits in {@code metrics}. */
    public EbsLineageRecordEmitter(PipelineHook hook, int subtask, EbsSourceReaderMetrics metrics) {
        this.hook = hook;
        this.subtask = subtask;
        this.metrics = metrics;
    }

    @Override
    public void emitRecord(
            ListedRecord record, SourceOutput<BlockTask> output, LineageSplitState state) {
        hook.onRecord(PipelineHook.SOURCE, subtask);
        LineageSplit split = state.split();
        switch (record.kind()) {
            case BLOCK -> {
                if (record.blockIndex() < state.nextIndex()) {
                    return; // emitted before a restore
                }
                output.collect(
                        task(
                                (BlockRangeSplit) split,
                                BlockTask.Kind.BLOCK,
                                record.blockIndex(),
                                record.blockToken(),
                                0,
                                null));
                state.emitted(record.blockIndex());
                metrics.blockListed();
            }
            case END ->
                    output.collect(
                            task(
                                    (BlockRangeSplit) split,
                                    BlockTask.Kind.SPLIT_END,
                                    -1,
                                    null,
                                    state.emittedBlocks(),
                                    null));
            case FAILED -> output.collect(failed(split, record.failure()));
            case DEAD_LETTER ->
                    output.collect(
                            BlockTask.deadLetter(
                                    ((DeadLetterSplit) split).id(), record.deadLetter()));
            default -> throw new IllegalStateException("Unknown record " + record);
        }
    }

    /** The failure of the split's request, for every target of the split. */
    private static BlockTask failed(LineageSplit split, String failure) {
        if (split instanceof BlockRangeSplit range) {
            return task(range, BlockTask.Kind.REQUEST_FAILED, -1, null, 0, failure);
        }
        FailedRequestSplit f = (FailedRequestSplit) split;
        return new BlockTask(
                BlockTask.Kind.REQUEST_FAILED,
                f.requestId(),
                0,
                1,
                f.sourceRegion(),
                f.sourceSnapshotId(),
                -1,
                null,
                0,
                TargetSnapshots.notStarted(f.targetRegions()).encode(),
                failure,
                f.requestStartMillis(),
                f.generation(),
                null,
                f.copyInfo() == null ? null : f.copyInfo().encode());
    }

    private static BlockTask task(
            BlockRangeSplit s,
            BlockTask.Kind kind,
            int index,
            String token,
            long emitted,
            String failure) {
        return new BlockTask(
                kind,
                s.requestId(),
                s.splitIndex(),
                s.totalSplits(),
                s.sourceRegion(),
                s.sourceSnapshotId(),
                index,
                token,
                emitted,
                s.targets().encode(),
                failure,
                s.requestStartMillis(),
                s.generation(),
                null,
                kind == BlockTask.Kind.BLOCK || s.copyInfo() == null
                        ? null
                        : s.copyInfo().encode());
    }
}
