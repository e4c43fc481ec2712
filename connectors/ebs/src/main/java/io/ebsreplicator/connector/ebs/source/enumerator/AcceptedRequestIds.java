package io.ebsreplicator.connector.ebs.source.enumerator;

import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The request ids the intake accepted recently, so that a replayed or duplicated request is
 * replicated once. Each id is kept as a 128-bit fingerprint (the first half of its SHA-256) with
 * the second it was accepted, oldest first, and forgotten once older than the retention.
 *
 * <p>Why fingerprints: a fleet of 10,000 volumes snapshotted hourly accepts about 1.7 million ids
 * in the default retention of 7 days, and the JobManager checkpoints this memory whole. As strings
 * that is ~150 bytes of heap and ~50 bytes of checkpoint per id; as fingerprints in primitive
 * arrays it is ~30 bytes of heap and ~17 bytes of checkpoint. Two different ids share a fingerprint
 * with a probability of about n²/2¹²⁹ (~1e-27 for 1.7 million ids), far below the odds of a
 * hardware fault, so a new request is never taken for a duplicate in practice.
 *
 * <p>Layout: a ring of entries in acceptance order (fingerprint halves and the accepted second) and
 * an open-addressing index (linear probing) from fingerprint to ring position. Adding is O(1);
 * forgetting the oldest is O(1) amortized (backward-shift deletion keeps probe chains intact).
 *
 * <p>Used on the enumerator's coordinator thread only; not thread-safe. Stored in enumerator state
 * through {@link #writeTo} / {@link #readFrom}.
 */
public final class AcceptedRequestIds {

    /** Bytes per entry in {@link #writeTo}: two longs and a small delta of seconds. */
    static final int APPROX_BYTES_PER_ID = 17;

    private static final int MIN_CAPACITY = 16;

    // The ring: entries [head, head + size) modulo the capacity, oldest first.
    private long[] hi = new long[MIN_CAPACITY];
    private long[] lo = new long[MIN_CAPACITY];
    private long[] acceptedSecond = new long[MIN_CAPACITY];
    private int head;
    private int size;

    /** Ring position + 1 of each fingerprint, 0 for an empty slot; twice the ring capacity. */
    private int[] index = new int[2 * MIN_CAPACITY];

    private final MessageDigest sha256;

    public AcceptedRequestIds() {
        try {
            this.sha256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** How many ids are remembered. */
    public int size() {
        return size;
    }

    /** Whether {@code requestId} was accepted and is not forgotten yet. */
    public boolean contains(String requestId) {
        long[] f = fingerprint(requestId);
        return find(f[0], f[1]) >= 0;
    }

    /**
     * Remembers {@code requestId} as accepted at {@code nowMillis}; {@code false} (and nothing
     * changes) if it is remembered already.
     */
    public boolean add(String requestId, long nowMillis) {
        long[] f = fingerprint(requestId);
        if (find(f[0], f[1]) >= 0) {
            return false;
        }
        append(f[0], f[1], nowMillis / 1000);
        return true;
    }

    /** Forgets the ids accepted before {@code oldestKeptMillis}; returns how many. */
    public int forgetBefore(long oldestKeptMillis) {
        long oldestSecond = Math.floorDiv(oldestKeptMillis, 1000);
        int forgotten = 0;
        while (size > 0 && acceptedSecond[head] < oldestSecond) {
            removeFromIndex(head);
            head = (head + 1) % hi.length;
            size--;
            forgotten++;
        }
        return forgotten;
    }

    // ------------------------------------------------------------------ state

    /**
     * Writes every entry, oldest first: the count, then per entry the fingerprint halves and the
     * accepted second as a variable-length delta from the entry before (seconds only grow, but a
     * clock stepped back is written as a zero-based absolute value after a marker).
     */
    public void writeTo(DataOutputSerializer out) throws IOException {
        out.writeInt(size);
        long previous = 0;
        for (int i = 0; i < size; i++) {
            int p = (head + i) % hi.length;
            out.writeLong(hi[p]);
            out.writeLong(lo[p]);
            long s = acceptedSecond[p];
            if (s >= previous) {
                writeVarLong(out, (s - previous) << 1);
            } else {
                writeVarLong(out, (s << 1) | 1);
            }
            previous = s;
        }
    }

    /** The inverse of {@link #writeTo}. */
    public static AcceptedRequestIds readFrom(DataInputDeserializer in) throws IOException {
        int n = in.readInt();
        if (n < 0) {
            throw new IOException("Corrupt accepted ids: count " + n);
        }
        AcceptedRequestIds ids = new AcceptedRequestIds();
        ids.ensureCapacity(n);
        long previous = 0;
        for (int i = 0; i < n; i++) {
            long h = in.readLong();
            long l = in.readLong();
            long v = readVarLong(in);
            long s = (v & 1) == 0 ? previous + (v >>> 1) : v >>> 1;
            if (ids.find(h, l) < 0) {
                ids.append(h, l, s);
            }
            previous = s;
        }
        return ids;
    }

    /** The same ids accepted in the same order at the same seconds (state equality). */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof AcceptedRequestIds other) || other.size != size) {
            return false;
        }
        for (int i = 0; i < size; i++) {
            int p = (head + i) % hi.length;
            int q = (other.head + i) % other.hi.length;
            if (hi[p] != other.hi[q]
                    || lo[p] != other.lo[q]
                    || acceptedSecond[p] != other.acceptedSecond[q]) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        long h = size;
        for (int i = 0; i < size; i++) {
            int p = (head + i) % hi.length;
            h = 31 * h + (hi[p] ^ lo[p] ^ acceptedSecond[p]);
        }
        return Long.hashCode(h);
    }

    @Override
    public String toString() {
        return "AcceptedRequestIds{" + size + " ids}";
    }

    // ------------------------------------------------------------------ internals

    private long[] fingerprint(String requestId) {
        byte[] d = sha256.digest(requestId.getBytes(StandardCharsets.UTF_8));
        ByteBuffer b = ByteBuffer.wrap(d);
        return new long[] {b.getLong(), b.getLong()};
    }

    private void append(long h, long l, long second) {
        ensureCapacity(size + 1);
        int p = (head + size) % hi.length;
        hi[p] = h;
        lo[p] = l;
        acceptedSecond[p] = second;
        size++;
        insertIntoIndex(p);
    }

    private void ensureCapacity(int wanted) {
        if (wanted <= hi.length) {
            return;
        }
        int capacity = hi.length;
        while (capacity < wanted) {
            capacity *= 2;
        }
        long[] nh = new long[capacity];
        long[] nl = new long[capacity];
        long[] ns = new long[capacity];
        for (int i = 0; i < size; i++) {
            int p = (head + i) % hi.length;
            nh[i] = hi[p];
            nl[i] = lo[p];
            ns[i] = acceptedSecond[p];
        }
        hi = nh;
        lo = nl;
        acceptedSecond = ns;
        head = 0;
        index = new int[2 * capacity];
        for (int i = 0; i < size; i++) {
            insertIntoIndex(i);
        }
    }

    private int slot(long h, long l) {
        long x = h ^ Long.rotateLeft(l, 32);
        x ^= x >>> 33;
        x *= 0xff51afd7ed558ccdL;
        x ^= x >>> 33;
        return (int) x & (index.length - 1);
    }

    /** The ring position of a fingerprint, or -1. */
    private int find(long h, long l) {
        int mask = index.length - 1;
        for (int s = slot(h, l); ; s = (s + 1) & mask) {
            int e = index[s];
            if (e == 0) {
                return -1;
            }
            if (hi[e - 1] == h && lo[e - 1] == l) {
                return e - 1;
            }
        }
    }

    private void insertIntoIndex(int position) {
        int mask = index.length - 1;
        int s = slot(hi[position], lo[position]);
        while (index[s] != 0) {
            s = (s + 1) & mask;
        }
        index[s] = position + 1;
    }

    /** Removes a ring position from the index, shifting later entries of its probe chain back. */
    private void removeFromIndex(int position) {
        int mask = index.length - 1;
        int s = slot(hi[position], lo[position]);
        while (index[s] != position + 1) {
            s = (s + 1) & mask;
        }
        int gap = s;
        for (int next = (gap + 1) & mask; index[next] != 0; next = (next + 1) & mask) {
            int e = index[next] - 1;
            int home = slot(hi[e], lo[e]);
            // Move the entry into the gap unless its home lies cyclically in (gap, next].
            boolean homeBetween =
                    gap <= next ? gap < home && home <= next : gap < home || home <= next;
            if (!homeBetween) {
                index[gap] = index[next];
                gap = next;
            }
        }
        index[gap] = 0;
    }

    private static void writeVarLong(DataOutputSerializer out, long v) throws IOException {
        while ((v & ~0x7FL) != 0) {
            out.writeByte((int) ((v & 0x7F) | 0x80));
            v >>>= 7;
        }
        out.writeByte((int) v);
    }

    private static long readVarLong(DataInputDeserializer in) throws IOException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            byte b = in.readByte();
            v |= (long) (b & 0x7F) << shift;
            if ((b & 0x80) == 0) {
                return v;
            }
        }
        throw new IOException("Corrupt accepted ids: a variable-length number is too long");
    }
}
