package io.ebsreplicator.connector.ebs.source.reader;

import io.ebsreplicator.connector.ebs.metrics.EbsSourceReaderMetrics;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.source.event.SplitsFinishedEvent;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplitState;

import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.SingleThreadMultiplexSourceReaderBase;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * One per source subtask: asks the enumerator for a split whenever it finishes one (pull-based, so
 * a large volume's ranges spread over whichever readers are free), lists it through a {@link
 * BlockRangeSplitReader} on a fetcher thread, and emits {@link BlockTask}s on the task thread.
 */
public final class EbsLineageSourceReader
        extends SingleThreadMultiplexSourceReaderBase<
                ListedRecord, BlockTask, LineageSplit, LineageSplitState> {

    public EbsLineageSourceReader(
            Supplier<SplitReader<ListedRecord, LineageSplit>> splitReader,
            Configuration config,
            SourceReaderContext context) {
        this(splitReader, config, context, EbsSourceReaderMetrics.unregistered());
    }

    /** A reader that counts what it lists and finishes in {@code metrics}. */
    public EbsLineageSourceReader(
            Supplier<SplitReader<ListedRecord, LineageSplit>> splitReader,
            Configuration config,
            SourceReaderContext context,
            EbsSourceReaderMetrics metrics) {
        super(splitReader, new EbsLineageRecordEmitter(metrics), config, context);
        this.metrics = metrics;
    }

    private final EbsSourceReaderMetrics metrics;

    /** Splits this reader holds and has not finished; task thread only. */
    private final Set<String> active = new HashSet<>();

    @Override
    public void addSplits(List<LineageSplit> splits) {
        for (LineageSplit s : splits) {
            active.add(s.splitId());
        }
        super.addSplits(splits);
    }

    @Override
    public void start() {
        super.start();
        // Restored splits are added before start: ask for more only when there are none, so a
        // reader waiting for work is never one still reading (the enumerator relies on it).
        if (active.isEmpty()) {
            context.sendSplitRequest();
        }
    }

    @Override
    protected void onSplitFinished(Map<String, LineageSplitState> finishedSplitIds) {
        active.removeAll(finishedSplitIds.keySet());
        metrics.splitsFinished(finishedSplitIds.size());
        context.sendSourceEventToCoordinator(
                new SplitsFinishedEvent(new ArrayList<>(finishedSplitIds.keySet())));
        if (active.isEmpty()) {
            context.sendSplitRequest();
        }
    }

    @Override
    protected LineageSplitState initializedState(LineageSplit split) {
        return new LineageSplitState(split);
    }

    @Override
    protected LineageSplit toSplitType(String splitId, LineageSplitState state) {
        return state.toSplit();
    }
}
