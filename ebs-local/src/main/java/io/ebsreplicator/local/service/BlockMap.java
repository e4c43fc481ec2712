package io.ebsreplicator.local.service;

import java.util.Arrays;
import java.util.Map;
import java.util.NavigableMap;

/**
 * The sorted, immutable block set of a completed snapshot: what it inherits from its parent,
 * overlaid with its own writes. Lookups and "from index i" scans are binary searches, so listing
 * costs follow the written blocks, not the volume size.
 */
final class BlockMap {

    static final BlockMap EMPTY = new BlockMap(new int[0], new Digest[0]);

    private final int[] indexes;
    private final Digest[] digests;

    private BlockMap(int[] indexes, Digest[] digests) {
        this.indexes = indexes;
        this.digests = digests;
    }

    /** {@code base} overlaid with {@code own}. */
    static BlockMap overlay(BlockMap base, NavigableMap<Integer, Digest> own) {
        if (own.isEmpty()) {
            return base;
        }
        int[] idx = new int[base.indexes.length + own.size()];
        Digest[] dig = new Digest[idx.length];
        int n = 0;
        int i = 0;
        for (Map.Entry<Integer, Digest> e : own.entrySet()) {
            int k = e.getKey();
            while (i < base.indexes.length && base.indexes[i] < k) {
                idx[n] = base.indexes[i];
                dig[n++] = base.digests[i++];
            }
            if (i < base.indexes.length && base.indexes[i] == k) {
                i++; // overwritten by this snapshot
            }
            idx[n] = k;
            dig[n++] = e.getValue();
        }
        while (i < base.indexes.length) {
            idx[n] = base.indexes[i];
            dig[n++] = base.digests[i++];
        }
        return new BlockMap(Arrays.copyOf(idx, n), Arrays.copyOf(dig, n));
    }

    int size() {
        return indexes.length;
    }

    Digest get(int blockIndex) {
        int pos = Arrays.binarySearch(indexes, blockIndex);
        return pos >= 0 ? digests[pos] : null;
    }

    /** Position of the first block with index >= {@code blockIndex}. */
    int ceilingPosition(int blockIndex) {
        int pos = Arrays.binarySearch(indexes, blockIndex);
        return pos >= 0 ? pos : -pos - 1;
    }

    int indexAt(int position) {
        return indexes[position];
    }

    Digest digestAt(int position) {
        return digests[position];
    }
}
