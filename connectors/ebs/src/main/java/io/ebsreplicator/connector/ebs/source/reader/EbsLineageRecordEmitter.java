package io.ebsreplicator.connector.ebs.source.reader;

import io.ebsreplicator.connector.ebs.metrics.EbsSourceReaderMetrics;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.pipeline.PipelineHook;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplitState;

import org.apache.flink.api.connector.source.SourceOutput;
import org.apache.flink.connector.base.source.reader.RecordEmitter;

/**
 * Turns listed records into {@link BlockTask}s and advances the split's checkpointed progress as
 * each block goes out, on the task thread. The end marker carries the number of blocks the split
 * emitted in all, counted across restores.
 */
public final class EbsLineageRecordEmitter
        implements RecordEmitter<ListedRecord, BlockTask, BlockRangeSplitState> {

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
            ListedRecord record, SourceOutput<BlockTask> output, BlockRangeSplitState state) {
        hook.onRecord(PipelineHook.SOURCE, subtask);
        BlockRangeSplit s = state.split();
        switch (record.kind()) {
            case BLOCK -> {
                if (record.blockIndex() < state.nextIndex()) {
                    return; // emitted before a restore
                }
                output.collect(
                        task(
                                s,
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
                                    s,
                                    BlockTask.Kind.SPLIT_END,
                                    -1,
                                    null,
                                    state.emittedBlocks(),
                                    null));
            case FAILED ->
                    output.collect(
                            task(s, BlockTask.Kind.REQUEST_FAILED, -1, null, 0, record.failure()));
            case DEAD_LETTER ->
                    output.collect(BlockTask.deadLetter(s.requestId(), record.deadLetter()));
            default -> throw new IllegalStateException("Unknown record " + record);
        }
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
                s.targets(),
                failure,
                s.requestStartMillis(),
                s.generation(),
                null,
                kind == BlockTask.Kind.BLOCK ? null : s.copyInfo());
    }
}
