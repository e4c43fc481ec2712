package io.ebsreplicator.local.store;

import java.util.List;

/**
 * What a read of a journal found: every intact record with its offset, the damaged stretches that
 * intact records follow (damage in the middle), and the torn tail, if any.
 *
 * <p>A torn tail is what a crash in the middle of an append leaves: an incomplete or unreadable
 * last stretch with no intact record after it. It was never acknowledged and is cut. Damage is a
 * bad length or checksum with intact records after it: acknowledged data may be in it, so it is
 * never cut silently.
 *
 * @param records the intact records, in file order
 * @param damaged unreadable stretches followed by intact records
 * @param tornTailOffset where the torn tail starts, or -1 when the journal ends cleanly
 * @param size the file's size when it was read
 */
public record JournalContents(
        List<Entry> records, List<Damage> damaged, long tornTailOffset, long size) {

    /** One intact record and the offset of its length field. */
    public record Entry(long offset, byte[] bytes) {}

    /** An unreadable stretch of {@code length} bytes at {@code offset}. */
    public record Damage(long offset, long length) {}

    /** The journal of the in-memory mode, and of a new data directory. */
    public static JournalContents empty() {
        return new JournalContents(List.of(), List.of(), -1, 0);
    }

    public JournalContents {
        records = List.copyOf(records);
        damaged = List.copyOf(damaged);
    }

    /** Where appending continues: the end of the last intact record. */
    public long end() {
        return tornTailOffset >= 0 ? tornTailOffset : size;
    }
}
