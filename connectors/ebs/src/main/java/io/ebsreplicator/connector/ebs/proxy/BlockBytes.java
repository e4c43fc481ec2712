package io.ebsreplicator.connector.ebs.proxy;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The bytes of a block, immutable, held as chunks of at most {@link #CHUNK_SIZE} bytes instead of
 * one 512 KiB array.
 *
 * <p>Why: below 4 GiB of heap G1 uses 1 MiB regions, and an object of half a region or more is
 * <em>humongous</em> and takes whole regions for itself. A 512 KiB block in one {@code byte[]}
 * (524,304 bytes with its header) is just over that line and occupies a full 1 MiB region, half of
 * it filler, for as long as the block is in flight. Chunks of {@value #CHUNK_SIZE} bytes are
 * ordinary objects, allocated in eden like any other, whatever the region size (G1's smallest
 * region is 1 MiB, so a chunk is at most an eighth of one).
 *
 * <p>Chunk boundaries are at multiples of {@link #CHUNK_SIZE} from the start; every chunk but the
 * last is full. A chunk is a range of a backing array: a block read from the network owns one array
 * per chunk, exactly sized; {@link #of(byte[])} wraps one array in views without copying it; the
 * {@link #ZERO_BLOCK} shares one array of zeros between its chunks.
 *
 * <p>Nothing changes the bytes once a {@code BlockBytes} exists: it never writes to its arrays,
 * hands out only read-only views, and whoever built it gives its arrays up (see {@link #of}).
 * Equality is by content.
 */
public final class BlockBytes {

    /** A block of EBS: 512 KiB. */
    public static final int BLOCK_SIZE = 512 * 1024;

    /**
     * Bytes per chunk. A quarter of a block: far below G1's humongous threshold of 512 KiB (half
     * its smallest region), so a chunk never takes a region of its own and wastes at most a few per
     * cent of a region's tail; large enough that a block is four arrays and four request-body
     * buffers, not dozens. The same size as the pieces PutSnapshotBlock bodies were already sent
     * in.
     */
    public static final int CHUNK_SIZE = 128 * 1024;

    /** One chunk of zeros, shared by every chunk of {@link #ZERO_BLOCK}; never written. */
    private static final byte[] ZERO_CHUNK = new byte[CHUNK_SIZE];

    /**
     * 512 KiB of zeros, what a snapshot reads where it has no block. Its four chunks share one 128
     * KiB array.
     */
    public static final BlockBytes ZERO_BLOCK =
            new BlockBytes(
                    new byte[][] {ZERO_CHUNK, ZERO_CHUNK, ZERO_CHUNK, ZERO_CHUNK},
                    new int[4],
                    BLOCK_SIZE);

    /** No bytes. */
    public static final BlockBytes EMPTY = new BlockBytes(new byte[0][], new int[0], 0);

    /** Backing array of each chunk. */
    private final byte[][] arrays;

    /** Where each chunk starts in its backing array. */
    private final int[] offsets;

    private final int length;

    private BlockBytes(byte[][] arrays, int[] offsets, int length) {
        this.arrays = arrays;
        this.offsets = offsets;
        this.length = length;
    }

    /**
     * The bytes of {@code data}, without copying them: the chunks are views of {@code data}. The
     * caller hands the array over and must not change it afterwards.
     */
    public static BlockBytes of(byte[] data) {
        int chunks = chunksFor(data.length);
        if (chunks == 0) {
            return EMPTY;
        }
        byte[][] arrays = new byte[chunks][];
        int[] offsets = new int[chunks];
        for (int i = 0; i < chunks; i++) {
            arrays[i] = data;
            offsets[i] = i * CHUNK_SIZE;
        }
        return new BlockBytes(arrays, offsets, data.length);
    }

    /**
     * A copy of {@code data} in chunks of its own, as a block read from EBS is held: for callers
     * that build a block in one array and keep it (the array can then go).
     */
    public static BlockBytes copyOf(byte[] data) {
        byte[][] chunks = new byte[chunksFor(data.length)][];
        for (int i = 0; i < chunks.length; i++) {
            int from = i * CHUNK_SIZE;
            chunks[i] = Arrays.copyOfRange(data, from, from + chunkLength(i, data.length));
        }
        return ofChunks(chunks, data.length);
    }

    /**
     * The bytes of chunks filled by the caller, which hands them over: each of {@link #CHUNK_SIZE}
     * bytes or more except the last, which holds at least what is left of {@code length}.
     */
    static BlockBytes ofChunks(byte[][] chunks, int length) {
        if (chunks.length != chunksFor(length)) {
            throw new IllegalArgumentException(
                    chunks.length + " chunks for " + length + " bytes; need " + chunksFor(length));
        }
        for (int i = 0; i < chunks.length; i++) {
            if (chunks[i].length < chunkLength(i, length)) {
                throw new IllegalArgumentException(
                        "Chunk " + i + " holds " + chunks[i].length + " bytes, too few");
            }
        }
        return chunks.length == 0 ? EMPTY : new BlockBytes(chunks, new int[chunks.length], length);
    }

    /** How many chunks hold {@code length} bytes. */
    static int chunksFor(int length) {
        if (length < 0) {
            throw new IllegalArgumentException("Negative length " + length);
        }
        return (int) (((long) length + CHUNK_SIZE - 1) / CHUNK_SIZE);
    }

    /** Size of chunk {@code i} of {@code length} bytes. */
    static int chunkLength(int i, int length) {
        return Math.min(CHUNK_SIZE, length - i * CHUNK_SIZE);
    }

    public int length() {
        return length;
    }

    /** How many chunks hold the bytes. */
    public int chunkCount() {
        return arrays.length;
    }

    /** The array behind chunk {@code i}, for tests that check what a block is made of. */
    byte[] backingArray(int i) {
        return arrays[i];
    }

    /** Feeds every byte to {@code digest}, chunk by chunk, in one pass and without a copy. */
    public void update(MessageDigest digest) {
        for (int i = 0; i < arrays.length; i++) {
            digest.update(arrays[i], offsets[i], chunkLength(i, length));
        }
    }

    /** The SHA-256 of the bytes: one pass over the chunks. */
    public byte[] sha256() {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        update(md);
        return md.digest();
    }

    /**
     * The chunks as read-only buffers, in order, without a copy: one per chunk, or none when there
     * are no bytes. New buffers on every call, so each reader has its own positions.
     */
    public ByteBuffer[] buffers() {
        ByteBuffer[] out = new ByteBuffer[arrays.length];
        for (int i = 0; i < arrays.length; i++) {
            out[i] =
                    ByteBuffer.wrap(arrays[i], offsets[i], chunkLength(i, length))
                            .slice()
                            .asReadOnlyBuffer();
        }
        return out;
    }

    /**
     * The bytes in one new array, for callers that need one (a {@code BlockTransform}, tests).
     * Costs a copy, and for a whole block an array that G1 treats as humongous.
     */
    public byte[] toArray() {
        byte[] out = new byte[length];
        copyTo(out, 0);
        return out;
    }

    /** Copies every byte into {@code dest} from {@code at}. */
    public void copyTo(byte[] dest, int at) {
        if (at < 0 || dest.length - at < length) {
            throw new IndexOutOfBoundsException(
                    length + " bytes do not fit at " + at + " in " + dest.length);
        }
        for (int i = 0; i < arrays.length; i++) {
            int n = chunkLength(i, length);
            System.arraycopy(arrays[i], offsets[i], dest, at + i * CHUNK_SIZE, n);
        }
    }

    /** The byte at {@code index}. */
    public byte get(int index) {
        if (index < 0 || index >= length) {
            throw new IndexOutOfBoundsException(index + " of " + length);
        }
        int i = index / CHUNK_SIZE;
        return arrays[i][offsets[i] + index % CHUNK_SIZE];
    }

    /** Whether these are exactly the bytes of {@code other}. */
    public boolean contentEquals(byte[] other) {
        if (other == null || other.length != length) {
            return false;
        }
        for (int i = 0; i < arrays.length; i++) {
            int from = i * CHUNK_SIZE;
            int n = chunkLength(i, length);
            if (!Arrays.equals(arrays[i], offsets[i], offsets[i] + n, other, from, from + n)) {
                return false;
            }
        }
        return true;
    }

    /** Equal when the bytes are, however they are chunked or backed. */
    @Override
    public boolean equals(Object o) {
        if (this == o) {
            return true;
        }
        if (!(o instanceof BlockBytes b) || b.length != length) {
            return false;
        }
        // Chunk boundaries are at the same places in both.
        for (int i = 0; i < arrays.length; i++) {
            int n = chunkLength(i, length);
            if (!Arrays.equals(
                    arrays[i],
                    offsets[i],
                    offsets[i] + n,
                    b.arrays[i],
                    b.offsets[i],
                    b.offsets[i] + n)) {
                return false;
            }
        }
        return true;
    }

    /** The same as {@link Arrays#hashCode(byte[])} of {@link #toArray()}, without the copy. */
    @Override
    public int hashCode() {
        int h = 1;
        for (int i = 0; i < arrays.length; i++) {
            byte[] a = arrays[i];
            for (int j = offsets[i], end = j + chunkLength(i, length); j < end; j++) {
                h = 31 * h + a[j];
            }
        }
        return h;
    }

    @Override
    public String toString() {
        return "BlockBytes[" + length + " bytes in " + arrays.length + " chunks]";
    }
}
