package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.model.CopyDeletion;

import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Right after the lineage source, chained to it: sends the dead letters of messages the intake
 * could not accept to a side output (the encoded record, for the dead-letter sink), the copy
 * deletions of a policy's retention to another (for the lifecycle sink), and passes every other
 * task on to the copier.
 */
public final class DeadLetterSplitter extends ProcessFunction<BlockTask, BlockTask> {

    private static final long serialVersionUID = 1L;

    /** The encoded dead-letter records. */
    public static final OutputTag<byte[]> DEAD_LETTERS =
            new OutputTag<>("dead-letters", PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO);

    /** What became of each copy that retention let go. */
    public static final OutputTag<CopyDeletion> COPY_DELETIONS =
            new OutputTag<>("copy-deletions", TypeInformation.of(CopyDeletion.class));

    @Override
    public void processElement(BlockTask task, Context ctx, Collector<BlockTask> out) {
        if (task.kind() == BlockTask.Kind.DEAD_LETTER) {
            ctx.output(DEAD_LETTERS, task.deadLetter());
        } else if (task.kind() == BlockTask.Kind.COPY_DELETION) {
            ctx.output(COPY_DELETIONS, task.deletion());
        } else {
            out.collect(task);
        }
    }
}
