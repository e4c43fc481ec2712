package io.ebsreplicator.connector.ebs.source.reader;

import io.ebsreplicator.connector.ebs.metrics.EbsSourceReaderMetrics;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;
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

    private final EbsSourceReaderMetrics metrics;

    public EbsLineageRecordEmitter() {
        this(EbsSourceReaderMetrics.unregistered());
    }

    /** An emitter that counts the blocks it emits in {@code metrics}. */
    public EbsLineageRecordEmitter(EbsSourceReaderMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void emitRecord(
            ListedRecord record, SourceOutput<BlockTask> output, LineageSplitState state) {
        LineageSplit split = state.split();
        switch (record.kind()) {
            case BLOCK -> {
                if (record.blockIndex() < state.nextIndex()) {
                    return; // emitted before a restore
                }
                output.collect(
                        BlockTask.block(
                                origin((BlockRangeSplit) split),
                                record.blockIndex(),
                                record.blockToken()));
                state.emitted(record.blockIndex());
                metrics.blockListed();
            }
            case END ->
                    output.collect(
                            BlockTask.splitEnd(
                                    origin((BlockRangeSplit) split), state.emittedBlocks()));
            case FAILED -> output.collect(BlockTask.requestFailed(origin(split), record.failure()));
            case COPY_DELETION -> output.collect(BlockTask.copyDeletion(record.deletion()));
            case DEAD_LETTER ->
                    output.collect(
                            BlockTask.deadLetter(
                                    ((DeadLetterSplit) split).id(), record.deadLetter()));
            default -> throw new IllegalStateException("Unknown record " + record);
        }
    }

    /** What the tasks of a block range, or of a request's failure, share. */
    private static BlockTask.Origin origin(LineageSplit split) {
        if (split instanceof BlockRangeSplit s) {
            return new BlockTask.Origin(
                    s.requestId(),
                    s.splitIndex(),
                    s.totalSplits(),
                    s.sourceRegion(),
                    s.sourceSnapshotId(),
                    s.targets(),
                    s.requestStartMillis(),
                    s.generation(),
                    s.copyInfo());
        }
        FailedRequestSplit f = (FailedRequestSplit) split;
        return new BlockTask.Origin(
                f.requestId(),
                0,
                1,
                f.sourceRegion(),
                f.sourceSnapshotId(),
                TargetSnapshots.notStarted(f.targetRegions()),
                f.requestStartMillis(),
                f.generation(),
                f.copyInfo());
    }
}
