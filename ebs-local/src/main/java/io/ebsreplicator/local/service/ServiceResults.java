package io.ebsreplicator.local.service;

import java.time.Instant;
import java.util.List;

/** What the operations return, before the HTTP layer renders them. */
public final class ServiceResults {

    private ServiceResults() {}

    /** A listed block. */
    public record ListedBlock(int blockIndex, String blockToken) {}

    /** A changed block; either token may be absent. */
    public record ListedChange(int blockIndex, String firstBlockToken, String secondBlockToken) {}

    /** One page of ListSnapshotBlocks. */
    public record BlockPage(
            List<ListedBlock> blocks, Instant expiryTime, long volumeSizeGib, String nextToken) {}

    /** One page of ListChangedBlocks. */
    public record ChangePage(
            List<ListedChange> changes, Instant expiryTime, long volumeSizeGib, String nextToken) {}
}
