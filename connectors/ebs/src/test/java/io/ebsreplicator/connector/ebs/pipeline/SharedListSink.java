package io.ebsreplicator.connector.ebs.pipeline;

import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.testutils.junit.SharedReference;

import java.util.Queue;

/**
 * Appends every record it receives to a queue shared with the test, across jobs (a job stopped with
 * a savepoint and the job restored from it) and attempts. At-least-once: a record emitted after the
 * last checkpoint of a failed attempt shows up twice, which the savepoint tests rely on not
 * happening (nothing runs after a stop-with-savepoint).
 */
final class SharedListSink<T> implements Sink<T> {

    private static final long serialVersionUID = 1L;

    private final SharedReference<Queue<T>> out;

    SharedListSink(SharedReference<Queue<T>> out) {
        this.out = out;
    }

    @Override
    public SinkWriter<T> createWriter(WriterInitContext context) {
        return new SinkWriter<>() {
            @Override
            public void write(T element, Context context) {
                out.get().add(element);
            }

            @Override
            public void flush(boolean endOfInput) {}

            @Override
            public void close() {}
        };
    }
}
