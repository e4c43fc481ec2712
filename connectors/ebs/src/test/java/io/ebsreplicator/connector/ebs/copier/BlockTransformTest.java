package io.ebsreplicator.connector.ebs.copier;

import io.ebsreplicator.connector.ebs.copier.BlockCopyFunction.Verified;
import io.ebsreplicator.connector.ebs.proxy.BlockBytes;
import io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * How the copier applies a {@link BlockTransform} ({@link BlockCopyFunction#transformed}): the
 * identity passes the block through untouched, other transforms see one array, and only changed
 * bytes are hashed again.
 */
class BlockTransformTest {

    private static final Verified SOURCE = source(FakeEbsProxy.block(42));

    @Test
    void theIdentityPassesTheBlockThroughAsRead() {
        assertThat(BlockCopyFunction.transformed(BlockTransform.IDENTITY, 3, SOURCE))
                .isSameAs(SOURCE);
    }

    @Test
    void theIdentityIsStillTheIdentityAfterFlinkSerializesIt() throws Exception {
        // The copier is serialized to its tasks; only the one instance is recognised.
        assertThat(roundTrip(BlockTransform.IDENTITY)).isSameAs(BlockTransform.IDENTITY);
        BlockTransform copied = roundTrip(BlockTransform.IDENTITY);
        assertThat(BlockCopyFunction.transformed(copied, 3, SOURCE)).isSameAs(SOURCE);
    }

    @Test
    void aTransformThatChangesNothingWritesTheBlockAsReadWithItsDigest() {
        List<byte[]> seen = new ArrayList<>();
        BlockTransform look =
                (index, data) -> {
                    seen.add(data);
                    return data;
                };
        Verified out = BlockCopyFunction.transformed(look, 3, SOURCE);
        // The block's own chunks and digest: nothing hashed again, the one-array copy dropped.
        assertThat(out).isSameAs(SOURCE);
        assertThat(seen).hasSize(1);
        assertThat(seen.get(0)).isEqualTo(SOURCE.data().toArray());
    }

    @Test
    void aTransformThatChangesTheBytesIsWrittenWithTheirOwnDigest() throws Exception {
        BlockTransform flip =
                (index, data) -> {
                    byte[] out = data.clone();
                    out[index] ^= (byte) 0xff;
                    return out;
                };
        Verified out = BlockCopyFunction.transformed(flip, 7, SOURCE);
        byte[] expected = SOURCE.data().toArray();
        expected[7] ^= (byte) 0xff;
        assertThat(out.data().contentEquals(expected)).isTrue();
        assertThat(out.digest()).isEqualTo(sha256(expected)).isNotEqualTo(SOURCE.digest());
        // The source is as it was.
        assertThat(SOURCE.data().contentEquals(FakeEbsProxy.block(42))).isTrue();
    }

    @Test
    void theZeroBlockCanBeTransformedToo() throws Exception {
        Verified zero = new Verified(BlockBytes.ZERO_BLOCK, BlockBytes.ZERO_BLOCK.sha256());
        Verified out =
                BlockCopyFunction.transformed(
                        (index, data) -> {
                            byte[] b = data.clone();
                            b[0] = 1;
                            return b;
                        },
                        0,
                        zero);
        assertThat(out.data().get(0)).isEqualTo((byte) 1);
        assertThat(out.digest()).isEqualTo(sha256(out.data().toArray()));
        assertThat(BlockBytes.ZERO_BLOCK.get(0)).isZero();
    }

    private static Verified source(byte[] data) {
        BlockBytes b = BlockBytes.copyOf(data);
        return new Verified(b, b.sha256());
    }

    private static BlockTransform roundTrip(BlockTransform t) throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(t);
        }
        try (ObjectInputStream in =
                new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (BlockTransform) in.readObject();
        }
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }
}
