package io.ebsreplicator.connector.ebs.pipeline;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;

/**
 * Runs a {@link PipelineHook} for the records on their way into one operator: each record, each
 * checkpoint barrier and each completed checkpoint. {@link EbsReplicationPipeline} puts one in
 * front of the source's output, the copier and completion only when a pipeline is built with a hook
 * (failover tests, benchmarks), chained into the operator's task, so the operators themselves know
 * nothing of it and a production job has none. Passes every record on unchanged.
 */
final class PipelineHookFunction<T> extends RichMapFunction<T, T>
        implements CheckpointedFunction, CheckpointListener {

    private static final long serialVersionUID = 1L;

    private final PipelineHook hook;
    private final String operator;
    private transient int subtask;

    PipelineHookFunction(PipelineHook hook, String operator) {
        this.hook = hook;
        this.operator = operator;
    }

    @Override
    public void open(OpenContext openContext) {
        subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    }

    @Override
    public T map(T value) {
        hook.onRecord(operator, subtask);
        return value;
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) {
        hook.onSnapshot(operator, subtask, context.getCheckpointId());
    }

    @Override
    public void initializeState(FunctionInitializationContext context) {}

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
        hook.onCheckpointComplete(operator, subtask, checkpointId);
    }
}
