package io.ebsreplicator.connector.ebs.proxy;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;

import static io.ebsreplicator.connector.ebs.proxy.BlockBytes.BLOCK_SIZE;
import static io.ebsreplicator.connector.ebs.proxy.BlockBytes.CHUNK_SIZE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link BlockBytes}: chunking, hashing, views, copies and equality, built both ways it is. */
class BlockBytesTest {

    /** Lengths around every place a chunk boundary can go wrong. */
    private static final int[] LENGTHS = {
        0,
        1,
        CHUNK_SIZE - 1,
        CHUNK_SIZE,
        CHUNK_SIZE + 1,
        3 * CHUNK_SIZE + 7,
        BLOCK_SIZE,
        BLOCK_SIZE + 12345,
        2 * BLOCK_SIZE
    };

    @Test
    void aChunkIsFarBelowG1sHumongousThreshold() {
        // G1's smallest region is 1 MiB; an object of half a region or more is humongous.
        assertThat(CHUNK_SIZE + 16).isLessThan(512 * 1024);
        assertThat(BLOCK_SIZE % CHUNK_SIZE).isZero();
    }

    @Test
    void ofWrapsAnArrayInChunkViewsWithoutCopying() {
        byte[] data = random(BLOCK_SIZE, 1);
        BlockBytes b = BlockBytes.of(data);
        assertThat(b.length()).isEqualTo(BLOCK_SIZE);
        assertThat(b.chunkCount()).isEqualTo(4);
        for (int i = 0; i < 4; i++) {
            assertThat(b.backingArray(i)).isSameAs(data);
        }
        assertThat(b.toArray()).isEqualTo(data).isNotSameAs(data);
        assertThat(b.contentEquals(data)).isTrue();
    }

    @Test
    void everyLengthHashesCopiesAndReadsBackTheSameBytesBothWays() throws Exception {
        for (int length : LENGTHS) {
            byte[] data = random(length, length);
            for (BlockBytes b : new BlockBytes[] {BlockBytes.of(data), chunked(data)}) {
                String as = length + " bytes, " + b;
                assertThat(b.length()).as(as).isEqualTo(length);
                assertThat(b.chunkCount()).as(as).isEqualTo((length + CHUNK_SIZE - 1) / CHUNK_SIZE);
                assertThat(b.sha256()).as(as).isEqualTo(sha256(data));
                assertThat(b.toArray()).as(as).isEqualTo(data);
                assertThat(concat(b.buffers())).as(as).isEqualTo(data);
                assertThat(b.contentEquals(data)).as(as).isTrue();
                byte[] into = new byte[length + 9];
                b.copyTo(into, 4);
                assertThat(Arrays.copyOfRange(into, 4, 4 + length)).as(as).isEqualTo(data);
                if (length > 0) {
                    assertThat(b.get(0)).isEqualTo(data[0]);
                    assertThat(b.get(length - 1)).isEqualTo(data[length - 1]);
                    assertThat(b.get(length / 2)).isEqualTo(data[length / 2]);
                }
            }
        }
    }

    @Test
    void copyOfCopies() {
        byte[] data = random(BLOCK_SIZE, 6);
        BlockBytes b = BlockBytes.copyOf(data);
        data[0] ^= 1;
        assertThat(b.get(0)).isNotEqualTo(data[0]);
        assertThat(BlockBytes.copyOf(new byte[0])).isSameAs(BlockBytes.EMPTY);
    }

    @Test
    void updateFeedsADigestThatAlreadyHasInput() throws Exception {
        byte[] data = random(BLOCK_SIZE, 2);
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update((byte) 7);
        chunked(data).update(md);
        MessageDigest expected = MessageDigest.getInstance("SHA-256");
        expected.update((byte) 7);
        expected.update(data);
        assertThat(md.digest()).isEqualTo(expected.digest());
    }

    @Test
    void theZeroBlockIs512KiBOfZerosWithTheirDigestInOneSharedChunk() throws Exception {
        BlockBytes zero = BlockBytes.ZERO_BLOCK;
        assertThat(zero.length()).isEqualTo(512 * 1024);
        assertThat(zero.toArray()).isEqualTo(new byte[512 * 1024]);
        assertThat(zero.sha256()).isEqualTo(sha256(new byte[512 * 1024]));
        // Computed elsewhere (sha256sum of 512 KiB from /dev/zero).
        assertThat(HexFormat.of().formatHex(zero.sha256()))
                .isEqualTo("07854d2fef297a06ba81685e660c332de36d5d18d546927d30daad6d7fda1541");
        assertThat(zero).isEqualTo(BlockBytes.of(new byte[512 * 1024]));
        // 128 KiB of memory, not 512.
        for (int i = 0; i < 4; i++) {
            assertThat(zero.backingArray(i)).hasSize(CHUNK_SIZE).isSameAs(zero.backingArray(0));
        }
    }

    @Test
    void buffersAreReadOnlyUncopiedAndIndependentPerCall() {
        byte[] data = random(BLOCK_SIZE, 3);
        BlockBytes b = BlockBytes.of(data);
        ByteBuffer[] first = b.buffers();
        assertThat(first).hasSize(4);
        for (ByteBuffer v : first) {
            assertThat(v.isReadOnly()).isTrue();
            assertThat(v.remaining()).isEqualTo(CHUNK_SIZE);
            assertThat(v.position()).isZero();
        }
        assertThatThrownBy(() -> first[0].put(0, (byte) 1))
                .isInstanceOf(java.nio.ReadOnlyBufferException.class);
        // Reading one call's views leaves another's where they were.
        ByteBuffer[] second = b.buffers();
        first[1].get(new byte[100]);
        assertThat(second[1].position()).isZero();
        assertThat(concat(second)).isEqualTo(data);
        // Views: what the wrapped array holds is what they show (nobody may change it, though).
        data[CHUNK_SIZE + 5] ^= 1;
        assertThat(b.buffers()[1].get(5)).isEqualTo(data[CHUNK_SIZE + 5]);
        assertThat(BlockBytes.EMPTY.buffers()).isEmpty();
    }

    @Test
    void equalityIsByContentWhateverTheChunksAreBackedBy() {
        byte[] data = random(BLOCK_SIZE + 100, 4);
        BlockBytes wrapped = BlockBytes.of(data);
        BlockBytes chunked = chunked(data);
        assertThat(chunked).isEqualTo(wrapped).hasSameHashCodeAs(wrapped);
        assertThat(wrapped.hashCode()).isEqualTo(Arrays.hashCode(data));

        for (int at : new int[] {0, CHUNK_SIZE - 1, CHUNK_SIZE, BLOCK_SIZE + 99}) {
            byte[] other = data.clone();
            other[at] ^= 1;
            assertThat(BlockBytes.of(other)).as("differs at %d", at).isNotEqualTo(chunked);
            assertThat(chunked.contentEquals(other)).as("differs at %d", at).isFalse();
        }
        assertThat(BlockBytes.of(Arrays.copyOf(data, data.length - 1))).isNotEqualTo(wrapped);
        assertThat(wrapped.contentEquals(Arrays.copyOf(data, data.length + 1))).isFalse();
        assertThat(wrapped.contentEquals(null)).isFalse();
        assertThat(wrapped).isNotEqualTo(data);
        assertThat(BlockBytes.of(new byte[0])).isEqualTo(BlockBytes.EMPTY);
    }

    @Test
    void misuseIsRefused() {
        BlockBytes b = BlockBytes.of(random(1000, 5));
        assertThatThrownBy(() -> b.get(1000)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> b.get(-1)).isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> b.copyTo(new byte[1000], 1))
                .isInstanceOf(IndexOutOfBoundsException.class);
        // Chunks that do not fit the length.
        assertThatThrownBy(() -> BlockBytes.ofChunks(new byte[][] {new byte[10]}, CHUNK_SIZE + 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(
                        () ->
                                BlockBytes.ofChunks(
                                        new byte[][] {new byte[CHUNK_SIZE - 1], new byte[1]},
                                        CHUNK_SIZE + 1))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> BlockBytes.chunksFor(-1))
                .isInstanceOf(IllegalArgumentException.class);
    }

    // ------------------------------------------------------------------ helpers

    /** A copy of {@code data} in arrays of their own, the way a block read from EBS is held. */
    private static BlockBytes chunked(byte[] data) {
        BlockBytes b = BlockBytes.copyOf(data);
        for (int i = 0; i < b.chunkCount(); i++) {
            assertThat(b.backingArray(i))
                    .isNotSameAs(data)
                    .hasSize(Math.min(CHUNK_SIZE, data.length - i * CHUNK_SIZE));
        }
        return b;
    }

    private static byte[] concat(ByteBuffer[] buffers) {
        int n = 0;
        for (ByteBuffer b : buffers) {
            n += b.remaining();
        }
        byte[] out = new byte[n];
        int at = 0;
        for (ByteBuffer b : buffers) {
            int k = b.remaining();
            b.duplicate().get(out, at, k);
            at += k;
        }
        return out;
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }
}
