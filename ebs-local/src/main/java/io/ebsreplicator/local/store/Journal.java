package io.ebsreplicator.local.store;

import java.io.Closeable;
import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;

/**
 * The metadata log: every state change of every snapshot is one record, appended before the change
 * is acknowledged, and replayed in order on start. Thread-safe.
 */
public interface Journal extends Closeable {

    /** Appends one record; when this returns the record survives a crash of the process. */
    void append(byte[] record) throws IOException;

    /**
     * Replays every intact record in order; a torn tail is cut off. Damage in the middle (intact
     * records after a bad one) fails with an {@link IOException} that names its offset.
     */
    void replay(Consumer<byte[]> consumer) throws IOException;

    /** Reads every intact record with its offset, and where the journal is damaged or torn. */
    default JournalContents read() throws IOException {
        java.util.ArrayList<JournalContents.Entry> out = new java.util.ArrayList<>();
        replay(b -> out.add(new JournalContents.Entry(-1, b)));
        return new JournalContents(out, List.of(), -1, 0);
    }

    /** After {@link #read}: cuts the torn tail, if any, and appends after the last record. */
    default void openForAppend(JournalContents contents) throws IOException {}

    /**
     * Replaces the whole journal by {@code records} (the current state), atomically: after a crash
     * at any moment the journal is either the old one or the new one, both complete.
     */
    default void rewrite(List<byte[]> records) throws IOException {}

    /**
     * Keeps the damaged journal under another name and replaces it by {@code records} (what could
     * be recovered from it), atomically; returns where the damaged one was kept.
     */
    default String salvage(List<byte[]> records) throws IOException {
        rewrite(records);
        return null;
    }

    /** The journal's size in bytes; 0 when it keeps nothing. */
    default long size() {
        return 0;
    }

    /** A journal that keeps nothing: the in-memory mode. */
    static Journal none() {
        return new Journal() {
            @Override
            public void append(byte[] record) {}

            @Override
            public void replay(Consumer<byte[]> consumer) {}

            @Override
            public JournalContents read() {
                return JournalContents.empty();
            }

            @Override
            public void close() {}
        };
    }
}
