package io.ebsreplicator.connector.ebs.completion;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.metrics.EbsCompletionMetrics;
import io.ebsreplicator.connector.ebs.proxy.BlockListing;
import io.ebsreplicator.connector.ebs.proxy.EbsOperation;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.ListedBlock;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.CompletableFuture;

/**
 * The verification pass of completion: reads a completed target back and compares every block it
 * wrote with the digest kept in state, in bounded windows. It lists a page of the target from the
 * block index reached, reads a window of that page's blocks at once, drops the digests found equal,
 * reads the next window, and so on; a digest still kept when the listing ends is a block the target
 * lacks. Only one page of tokens and one window of blocks are held at a time, and the index reached
 * is kept in state ({@link CompletionInfo#verifiedBelow}), so a restore reads on from there.
 *
 * <p>Threads: the steps run on the task thread with the key set, as answers of the calls that
 * {@link Owner#send} sends; the reads, and the hashing of what they return, run on the proxy's
 * threads. A call that fails transiently stops the pass: the next seal poll finds the target
 * completed and starts it again from the index reached. One per completion subtask.
 */
final class ReadBack {

    private static final Logger LOG = LoggerFactory.getLogger(ReadBack.class);

    /** What the read-back asks of completion, for the current key. */
    interface Owner {
        /** Sends a call of the current key; {@code step} gets its answer with the key's state. */
        <T> void send(
                CompletionContext ctx,
                EbsOperation operation,
                CompletableFuture<T> call,
                ReplicationCompletionFunction.Step<T> step);

        /** Every block of the target read back equal to its source. */
        void verified(CompletionInfo i, CompletionContext ctx) throws Exception;

        /** The read-back failed the request for the target. */
        void failed(CompletionInfo i, Failure failure, CompletionContext ctx) throws Exception;
    }

    /** A block to read back: where it is, the token to read it with, and its source digest. */
    record Expected(int blockIndex, String blockToken, byte[] digest) {}

    private final Owner owner;
    private final CompletionState state;
    private final RegionClients clients;
    private final EbsCompletionMetrics metrics;
    private final int pageSize;
    private final int window;

    ReadBack(
            Owner owner,
            CompletionState state,
            RegionClients clients,
            EbsCompletionMetrics metrics,
            int pageSize,
            int window) {
        this.owner = owner;
        this.state = state;
        this.clients = clients;
        this.metrics = metrics;
        this.pageSize = pageSize;
        this.window = window;
    }

    /** Starts (or resumes) reading back the current key's completed target. */
    void start(CompletionInfo i, CompletionContext ctx) {
        listFrom(i, null, ctx);
    }

    /**
     * Lists the next page from the block index reached; {@code pageToken} continues a listing
     * within one pass, and is never kept in state.
     */
    private void listFrom(CompletionInfo i, String pageToken, CompletionContext ctx) {
        EbsProxy target = clients.proxy(i.targetRegion, i.targetRole());
        owner.send(
                ctx,
                EbsOperation.LIST_SNAPSHOT_BLOCKS,
                target.listSnapshotBlocksAsync(
                        i.targetSnapshotId, i.verifiedBelow, pageToken, pageSize),
                (j, page, error) -> listed(j, page, error, ctx));
    }

    /** Picks the listed blocks this copy wrote, with their digests, and reads them in windows. */
    private void listed(CompletionInfo i, BlockListing page, Throwable error, CompletionContext ctx)
            throws Exception {
        if (error != null) {
            stopped(i, error, EbsOperation.LIST_SNAPSHOT_BLOCKS, ctx);
            return;
        }
        List<Expected> written = new ArrayList<>();
        int end = i.verifiedBelow;
        for (ListedBlock b : page.blocks()) {
            end = Math.max(end, b.blockIndex() + 1);
            byte[] digest = state.digest(b.blockIndex());
            if (digest == null) {
                continue; // the parent's block (incremental), or one checked before a restore
            }
            if (b.blockToken() == null) {
                owner.failed(i, missing(i, b.blockIndex()), ctx);
                return;
            }
            written.add(new Expected(b.blockIndex(), b.blockToken(), digest));
        }
        read(i, new Page(written, end, page.nextToken()), 0, ctx);
    }

    /** The blocks of one listed page to read back, where the page ends, and what follows it. */
    private record Page(List<Expected> blocks, int end, String nextToken) {}

    /**
     * Reads the blocks of {@code page} from {@code from} on, a window at a time; past the page, the
     * read-back has reached the page's end and goes on with the next page, or ends.
     */
    private void read(CompletionInfo i, Page page, int from, CompletionContext ctx)
            throws Exception {
        if (from == page.blocks().size()) {
            i.verifiedBelow = page.end();
            state.update(i);
            if (page.nextToken() != null) {
                listFrom(i, page.nextToken(), ctx);
            } else {
                listingEnded(i, ctx);
            }
            return;
        }
        List<Expected> blocks =
                page.blocks().subList(from, Math.min(page.blocks().size(), from + window));
        owner.send(
                ctx,
                EbsOperation.GET_SNAPSHOT_BLOCK,
                compare(clients.proxy(i.targetRegion, i.targetRole()), i.targetSnapshotId, blocks),
                (j, differing, error) -> {
                    if (error != null) {
                        stopped(j, error, EbsOperation.GET_SNAPSHOT_BLOCK, ctx);
                    } else if (differing.isPresent()) {
                        owner.failed(j, differs(j, differing.getAsInt()), ctx);
                    } else {
                        for (Expected e : blocks) {
                            state.dropDigest(e.blockIndex());
                            metrics.blockVerified();
                        }
                        read(j, page, from + blocks.size(), ctx);
                    }
                });
    }

    /** The listing ended: a digest still kept is a block the target does not have. */
    private void listingEnded(CompletionInfo i, CompletionContext ctx) throws Exception {
        Integer absent = state.lowestDigest();
        if (absent != null) {
            owner.failed(i, missing(i, absent), ctx);
        } else {
            owner.verified(i, ctx);
        }
    }

    /** A call failed: a fatal error fails the request; otherwise the pass goes on later. */
    private void stopped(
            CompletionInfo i, Throwable error, EbsOperation operation, CompletionContext ctx)
            throws Exception {
        EbsProxyException ex = ReplicationCompletionFunction.classify(error, operation, i);
        if (ex.kind() == EbsProxyException.Kind.FATAL) {
            owner.failed(i, Failure.of(ex), ctx);
        } else {
            LOG.warn(
                    "Reading back {} stopped at block {}; goes on at the next poll: {}",
                    i.targetSnapshotId,
                    i.verifiedBelow,
                    ex.getMessage());
        }
    }

    private static Failure differs(CompletionInfo i, int blockIndex) {
        return Failure.of(
                FailureReason.VERIFICATION_FAILED,
                "Verification: block "
                        + blockIndex
                        + " of "
                        + i.targetSnapshotId
                        + " differs from the source");
    }

    private static Failure missing(CompletionInfo i, int blockIndex) {
        return Failure.of(
                FailureReason.VERIFICATION_FAILED,
                "Verification: block " + blockIndex + " is missing from " + i.targetSnapshotId);
    }

    /**
     * Reads every block of {@code blocks} at once, on the proxy's threads, where each is hashed as
     * it arrives; completes with the lowest index whose data differs from its digest, or empty if
     * all are equal, and fails as a failed read does. A block's data is held only until it is
     * hashed.
     */
    static CompletableFuture<OptionalInt> compare(
            EbsProxy proxy, String snapshotId, List<Expected> blocks) {
        @SuppressWarnings("unchecked")
        CompletableFuture<Boolean>[] reads = new CompletableFuture[blocks.size()];
        for (int k = 0; k < reads.length; k++) {
            Expected e = blocks.get(k);
            reads[k] =
                    proxy.getBlock(snapshotId, e.blockIndex(), e.blockToken())
                            .thenApply(b -> Arrays.equals(b.data().sha256(), e.digest()));
        }
        return CompletableFuture.allOf(reads)
                .thenApply(
                        done -> {
                            int differing = Integer.MAX_VALUE;
                            for (int k = 0; k < reads.length; k++) {
                                if (!reads[k].join()) {
                                    differing = Math.min(differing, blocks.get(k).blockIndex());
                                }
                            }
                            return differing == Integer.MAX_VALUE
                                    ? OptionalInt.empty()
                                    : OptionalInt.of(differing);
                        });
    }
}
