package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.model.BlockCopied;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;

import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.BoundedOneInput;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.api.operators.TimestampedCollector;

import java.util.ArrayList;
import java.util.List;

/**
 * The completion operator: {@link ReplicationCompletionFunction} plus a drain at the end of a
 * bounded input. Flink drops pending processing-time timers when a bounded job finishes, so every
 * target still copying or sealing is completed and waited for here, key by key.
 */
public final class CompletionOperator
        extends KeyedProcessOperator<String, BlockCopied, ReplicationResult>
        implements BoundedOneInput {

    private static final long serialVersionUID = 1L;

    private final ReplicationCompletionFunction function;

    public CompletionOperator(ReplicationCompletionFunction function) {
        super(function);
        this.function = function;
    }

    @Override
    public void endInput() throws Exception {
        List<String> keys = new ArrayList<>();
        this.<String>getKeyedStateBackend()
                .applyToAllKeys(
                        VoidNamespace.INSTANCE,
                        VoidNamespaceSerializer.INSTANCE,
                        ReplicationCompletionFunction.INFO,
                        (key, state) -> keys.add(key));
        TimestampedCollector<ReplicationResult> out = new TimestampedCollector<>(output);
        out.eraseTimestamp();
        for (String key : keys) {
            setCurrentKey(key);
            function.drain(out);
        }
    }
}
