package io.ebsreplicator.connector.ebs.proxy;

import java.time.Instant;
import java.util.List;

/**
 * One page of a block listing. A page may be empty while {@code nextToken} is set: follow it until
 * it is {@code null}.
 */
public record BlockListing(
        List<ListedBlock> blocks, String nextToken, long volumeSizeGib, Instant expiryTime) {

    public BlockListing {
        blocks = List.copyOf(blocks);
    }
}
