package io.ebsreplicator.local.store;

import java.io.Closeable;
import java.io.IOException;
import java.util.function.Consumer;

/**
 * The metadata log: every state change of every snapshot is one record, appended before the change
 * is acknowledged, and replayed in order on start. Thread-safe.
 */
public interface Journal extends Closeable {

    /** Appends one record; when this returns the record survives a crash of the process. */
    void append(byte[] record) throws IOException;

    /** Replays every intact record in order; a torn tail is cut off. */
    void replay(Consumer<byte[]> consumer) throws IOException;

    /** A journal that keeps nothing: the in-memory mode. */
    static Journal none() {
        return new Journal() {
            @Override
            public void append(byte[] record) {}

            @Override
            public void replay(Consumer<byte[]> consumer) {}

            @Override
            public void close() {}
        };
    }
}
