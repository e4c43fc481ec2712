package io.ebsreplicator.connector.ebs.source.reader;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.metrics.EbsSourceReaderMetrics;
import io.ebsreplicator.connector.ebs.model.CopyDeletion;
import io.ebsreplicator.connector.ebs.proxy.BlockListing;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.ListedBlock;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDeletion;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.CopyDeletionSplit;
import io.ebsreplicator.connector.ebs.source.split.DeadLetterSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.apache.flink.connector.base.source.reader.RecordsBySplits;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitReader;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsChange;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Lists the blocks of its block-range splits, one page per {@link #fetch()}, on the reader's
 * fetcher thread; a failure or dead-letter split is handed to the emitter at once and finished; a
 * copy-deletion split runs its EC2 DeleteSnapshot (in the copy's region, as the role that writes
 * targets there; with the control-plane timeouts) and hands what became of it to the emitter. A
 * range split is listed from its checkpointed block index with {@code StartingBlockIndex};
 * NextTokens are followed only within this reader's lifetime and dropped when EBS refuses one
 * (expired or invalid), after which listing resumes from the block index. A split ends when a page
 * reaches its range end or the listing ends. Transient failures back off here, on the fetcher
 * thread, waking early if the reader is closed.
 */
public final class BlockRangeSplitReader implements SplitReader<ListedRecord, LineageSplit> {

    private static final Logger LOG = LoggerFactory.getLogger(BlockRangeSplitReader.class);

    /** Backoff after a listing failed transiently even after the proxy's own retries. */
    private static final long BACKOFF_MILLIS = 2_000;

    private final EbsProxyFactory proxyFactory;
    private final int pageSize;
    private final EbsSourceReaderMetrics metrics;
    private final Deque<Cursor> splits = new ArrayDeque<>();
    private final Map<String, EbsProxy> proxies = new HashMap<>();
    private final Object sleeper = new Object();
    private volatile boolean wakeUp;

    public BlockRangeSplitReader(EbsProxyFactory proxyFactory, int pageSize) {
        this(proxyFactory, pageSize, EbsSourceReaderMetrics.unregistered());
    }

    /** A split reader that counts its pages and proxy calls in {@code metrics}. */
    public BlockRangeSplitReader(
            EbsProxyFactory proxyFactory, int pageSize, EbsSourceReaderMetrics metrics) {
        this.proxyFactory = proxyFactory;
        this.pageSize = pageSize;
        this.metrics = metrics;
    }

    /** A split to read and, for a block range, where its listing stands. */
    private static final class Cursor {
        final LineageSplit split;
        int nextIndex;
        String nextToken;

        Cursor(LineageSplit split) {
            this.split = split;
            this.nextIndex = split instanceof BlockRangeSplit range ? range.nextIndex() : 0;
        }
    }

    @Override
    public RecordsWithSplitIds<ListedRecord> fetch() {
        Cursor c = splits.peekFirst();
        if (c == null) {
            return new RecordsBySplits<>(Map.of(), Set.of());
        }
        String id = c.split.splitId();
        if (c.split instanceof DeadLetterSplit d) {
            splits.pollFirst();
            return finished(id, List.of(ListedRecord.deadLetter(d.record())));
        }
        if (c.split instanceof FailedRequestSplit f) {
            splits.pollFirst();
            return finished(id, List.of(ListedRecord.failed(f.failure())));
        }
        if (c.split instanceof CopyDeletionSplit d) {
            splits.pollFirst();
            return finished(id, List.of(ListedRecord.deleted(delete(d))));
        }
        BlockRangeSplit range = (BlockRangeSplit) c.split;
        if (c.nextIndex >= range.rangeEnd()) {
            splits.pollFirst();
            return finished(id, List.of(ListedRecord.end()));
        }
        BlockListing page;
        try {
            page = list(range, c);
        } catch (EbsProxyException e) {
            switch (e.kind()) {
                case INVALID_TOKEN -> {
                    // An expired or invalid NextToken: list again from the block index.
                    c.nextToken = null;
                    return new RecordsBySplits<>(Map.of(), Set.of());
                }
                case RETRYABLE -> {
                    LOG.warn("Listing {} failed transiently; backing off: {}", id, e.getMessage());
                    backOff();
                    return new RecordsBySplits<>(Map.of(), Set.of());
                }
                default -> {
                    splits.pollFirst();
                    return finished(id, List.of(ListedRecord.failed(Failure.of(e))));
                }
            }
        }
        metrics.listPage();
        List<ListedRecord> records = new ArrayList<>(page.blocks().size() + 1);
        boolean reachedEnd = false;
        for (ListedBlock b : page.blocks()) {
            if (b.blockIndex() >= range.rangeEnd()) {
                reachedEnd = true;
                break;
            }
            if (b.blockIndex() < c.nextIndex) {
                continue; // already emitted (a page that overlaps the resume point)
            }
            if (b.blockToken() != null) {
                records.add(ListedRecord.block(b.blockIndex(), b.blockToken()));
            } else if (range.baseSnapshotId() != null) {
                // Changed, but not in the source (only the base has it): the target must read
                // zeros there, as the source does. The copier writes a zero block.
                records.add(ListedRecord.block(b.blockIndex(), null));
            }
            c.nextIndex = b.blockIndex() + 1;
        }
        if (reachedEnd || page.nextToken() == null) {
            splits.pollFirst();
            records.add(ListedRecord.end());
            return finished(id, records);
        }
        c.nextToken = page.nextToken();
        return new RecordsBySplits<>(Map.of(id, records), Set.of());
    }

    private BlockListing list(BlockRangeSplit s, Cursor c) {
        EbsProxy proxy = proxy(s.sourceRegion(), proxyFactory.sourceRoleArn());
        return s.baseSnapshotId() == null
                ? proxy.listSnapshotBlocks(s.sourceSnapshotId(), c.nextIndex, c.nextToken, pageSize)
                : proxy.listChangedBlocks(
                        s.baseSnapshotId(),
                        s.sourceSnapshotId(),
                        c.nextIndex,
                        c.nextToken,
                        pageSize);
    }

    /**
     * Deletes the copy, or in a dry run only says it would. A copy already gone is done (an attempt
     * before a restore may have deleted it); a failure is reported, and the lineage's next
     * retention pass decides again.
     */
    private CopyDeletion delete(CopyDeletionSplit d) {
        CopyDeletion.Outcome outcome;
        Failure failure = null;
        if (d.dryRun()) {
            outcome = CopyDeletion.Outcome.DRY_RUN;
            LOG.info(
                    "Retention (dry run) of lineage {} in {} would delete {} (started {})",
                    d.lineage(),
                    d.region(),
                    d.snapshotId(),
                    Instant.ofEpochMilli(d.copyStartMillis()));
        } else {
            try {
                SnapshotDeletion done =
                        proxy(d.region(), d.roleArn()).deleteSnapshot(d.snapshotId());
                outcome =
                        done == SnapshotDeletion.DELETED
                                ? CopyDeletion.Outcome.DELETED
                                : CopyDeletion.Outcome.ALREADY_GONE;
                metrics.copyDeleted();
                LOG.info(
                        "Retention of lineage {} in {}: {} (started {}) {}",
                        d.lineage(),
                        d.region(),
                        d.snapshotId(),
                        Instant.ofEpochMilli(d.copyStartMillis()),
                        outcome == CopyDeletion.Outcome.DELETED ? "deleted" : "was already gone");
            } catch (RuntimeException e) {
                outcome = CopyDeletion.Outcome.FAILED;
                failure = Failure.of(e);
                metrics.copyDeletionFailed();
                LOG.warn(
                        "Retention of lineage {} in {}: deleting {} failed; the lineage's next"
                                + " pass tries again: {}",
                        d.lineage(),
                        d.region(),
                        d.snapshotId(),
                        failure);
            }
        }
        return new CopyDeletion(
                d.splitId(),
                d.rule(),
                d.sourceRegion(),
                d.lineage(),
                d.region(),
                d.snapshotId(),
                d.copyStartMillis(),
                d.decidedMillis(),
                System.currentTimeMillis(),
                outcome,
                failure);
    }

    private EbsProxy proxy(String region, String role) {
        return proxies.computeIfAbsent(
                EbsProxyFactory.key(region, role),
                k -> proxyFactory.create(region, role, metrics.proxyListener(region)));
    }

    private static RecordsWithSplitIds<ListedRecord> finished(
            String id, Collection<ListedRecord> records) {
        return new RecordsBySplits<>(Map.of(id, records), Set.of(id));
    }

    private void backOff() {
        synchronized (sleeper) {
            if (wakeUp) {
                wakeUp = false;
                return;
            }
            try {
                sleeper.wait(BACKOFF_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            wakeUp = false;
        }
    }

    @Override
    public void handleSplitsChanges(SplitsChange<LineageSplit> splitsChanges) {
        if (!(splitsChanges instanceof SplitsAddition)) {
            throw new UnsupportedOperationException(
                    "Unsupported split change " + splitsChanges.getClass().getSimpleName());
        }
        for (LineageSplit s : splitsChanges.splits()) {
            splits.addLast(new Cursor(s));
        }
    }

    @Override
    public void wakeUp() {
        synchronized (sleeper) {
            wakeUp = true;
            sleeper.notifyAll();
        }
    }

    @Override
    public void close() {
        for (EbsProxy p : proxies.values()) {
            p.close();
        }
        proxies.clear();
    }
}
