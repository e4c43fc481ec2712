package io.ebsreplicator.local.service;

import org.junit.jupiter.api.Test;

import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;

import static org.assertj.core.api.Assertions.assertThat;

class BlockMapTest {

    private static Digest d(int i) {
        return Digest.sha256(new byte[] {(byte) i}, 0, 1);
    }

    @Test
    void overlayKeepsInheritedBlocksAndReplacesOverwrittenOnes() {
        ConcurrentSkipListMap<Integer, Digest> base = new ConcurrentSkipListMap<>();
        base.put(1, d(1));
        base.put(5, d(5));
        base.put(9, d(9));
        BlockMap parent = BlockMap.overlay(BlockMap.EMPTY, base);
        TreeMap<Integer, Digest> own = new TreeMap<>();
        own.put(0, d(100));
        own.put(5, d(105));
        own.put(12, d(112));
        BlockMap child = BlockMap.overlay(parent, own);
        assertThat(child.size()).isEqualTo(5);
        int[] idx = new int[child.size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = child.indexAt(i);
        }
        assertThat(idx).containsExactly(0, 1, 5, 9, 12);
        assertThat(child.get(5)).isEqualTo(d(105));
        assertThat(child.get(1)).isEqualTo(d(1));
        assertThat(child.get(2)).isNull();
        assertThat(parent.get(5)).isEqualTo(d(5));
        assertThat(child.ceilingPosition(6)).isEqualTo(3);
        assertThat(child.ceilingPosition(13)).isEqualTo(5);
    }

    /** Vectors computed independently (Python hashlib): zeros then ones, 512 KiB each. */
    @Test
    void linearChecksumMatchesAKnownVector() {
        byte[] zeros = new byte[512 * 1024];
        byte[] ones = new byte[512 * 1024];
        java.util.Arrays.fill(ones, (byte) 1);
        Digest z = Digest.sha256(zeros, 0, zeros.length);
        Digest o = Digest.sha256(ones, 0, ones.length);
        assertThat(z.base64()).isEqualTo("B4VNL+8pega6gWheZgwzLeNtXRjVRpJ9MNqtbX/aFUE=");
        assertThat(EbsService.linearChecksum(java.util.List.of(z, o)))
                .isEqualTo("HFRGTdrSd+vfQo2s4W+AwgFjuBSYcNtoI3LPFCEQbPw=");
        assertThat(EbsService.linearChecksum(java.util.List.of(o, z)))
                .isNotEqualTo("HFRGTdrSd+vfQo2s4W+AwgFjuBSYcNtoI3LPFCEQbPw=");
    }
}
