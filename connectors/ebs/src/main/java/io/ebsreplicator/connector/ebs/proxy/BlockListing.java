package io.ebsreplicator.connector.ebs.proxy;

import java.time.Instant;
import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * One page of a block listing. A page may be empty while {@code nextToken} is set: follow it until
 * it is {@code null}.
 */
public record BlockListing(
        List<ListedBlock> blocks, String nextToken, long volumeSizeGib, Instant expiryTime) {

    /** The largest page ListSnapshotBlocks returns. */
    public static final int MAX_PAGE = 10_000;

    public BlockListing {
        blocks = List.copyOf(blocks);
    }

    /**
     * Every block of a snapshot, index to block token, page after page until the listing ends: for
     * tools and checks that compare whole snapshots (the job's {@code --verify}, the benchmarks).
     * Holds the whole listing, about 100 bytes a block (2,048 blocks a GiB of volume), so the
     * pipeline itself reads pages as it goes instead. Waits on the calling thread.
     */
    public static SortedMap<Integer, String> allBlocks(EbsProxy proxy, String snapshotId) {
        SortedMap<Integer, String> out = new TreeMap<>();
        int start = 0;
        String next = null;
        do {
            BlockListing page = proxy.listSnapshotBlocks(snapshotId, start, next, MAX_PAGE);
            for (ListedBlock b : page.blocks()) {
                out.put(b.blockIndex(), b.blockToken());
                start = b.blockIndex() + 1;
            }
            next = page.nextToken();
        } while (next != null);
        return out;
    }
}
