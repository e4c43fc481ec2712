package io.ebsreplicator.connector.ebs.source.reader;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.model.CopyDeletion;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;
import io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.CopyDeletionSplit;
import io.ebsreplicator.connector.ebs.source.split.DeadLetterSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplitState;

import org.apache.flink.api.connector.source.ReaderOutput;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.source.reader.RecordsWithSplitIds;
import org.apache.flink.connector.base.source.reader.splitreader.SplitsAddition;
import org.apache.flink.connector.testutils.source.reader.TestingReaderContext;
import org.apache.flink.connector.testutils.source.reader.TestingReaderOutput;
import org.apache.flink.core.io.InputStatus;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Tests {@link BlockRangeSplitReader} (one fetch at a time, against {@link FakeEbsProxy} with a
 * small page size), {@link EbsLineageRecordEmitter} and, end to end on a fetcher thread, {@link
 * EbsLineageSourceReader}.
 */
class BlockRangeSplitReaderTest {

    private static final String REGION = "us-east-1";
    private static final TargetSnapshots TARGETS =
            TargetSnapshots.of(Map.of("eu-west-1", "snap-0aaa"));
    private static final int PAGE = 3;

    /** Indexes with data in the source snapshot (1 GiB: block indexes 0..2047). */
    private static final int[] BLOCKS = {0, 1, 2, 5, 8, 9, 10, 600, 700, 2047};

    private String name;
    private FakeEbsProxy.Factory factory;
    private FakeEbsProxy source;
    private String snapshot;
    private BlockRangeSplitReader reader;

    @BeforeEach
    void setUp() {
        name = "split-reader-test-" + UUID.randomUUID();
        factory = FakeEbsProxy.register(name);
        source = factory.proxy(REGION);
        Map<Integer, byte[]> blocks = new TreeMap<>();
        for (int i : BLOCKS) {
            blocks.put(i, FakeEbsProxy.block(i));
        }
        snapshot = source.createSnapshot(1, null, blocks);
        reader = new BlockRangeSplitReader(factory, PAGE);
    }

    @AfterEach
    void tearDown() {
        reader.close();
        FakeEbsProxy.unregister(name);
    }

    // ------------------------------------------------------------------ listing

    @Test
    void listsASplitPageByPageFollowingNextTokensAndStopsAtRangeEnd() {
        BlockRangeSplit split = split(0, 650, 0);
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split)));

        Fetch f1 = fetch();
        assertThat(f1.blockIndexes()).containsExactly(0, 1, 2);
        assertThat(f1.finished).isEmpty();
        Fetch f2 = fetch();
        assertThat(f2.blockIndexes()).containsExactly(5, 8, 9);
        assertThat(f2.finished).isEmpty();
        Fetch f3 = fetch();
        assertThat(f3.blockIndexes()).containsExactly(10, 600);
        assertThat(f3.last().kind()).isEqualTo(ListedRecord.Kind.END);
        assertThat(f3.finished).containsExactly(split.splitId());

        List<FakeEbsProxy.Call> calls = source.calls("ListSnapshotBlocks");
        assertThat(calls).hasSize(3);
        assertThat(calls.get(0).args()).containsExactly(snapshot, 0, null, PAGE);
        // Pages after the first follow the NextToken of the page before.
        assertThat(calls.get(1).args().get(2)).isNotNull();
        assertThat(calls.get(2).args().get(2)).isNotNull().isNotEqualTo(calls.get(1).args().get(2));
        assertThat(calls).allSatisfy(c -> assertThat(c.args().get(3)).isEqualTo(PAGE));

        assertThat(fetch().isEmpty()).as("nothing left").isTrue();
    }

    @Test
    void listsFromRangeStartAndEndsWhenTheListingEnds() {
        BlockRangeSplit split = split(650, 2048, 650);
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split)));

        Fetch f = fetch();

        assertThat(f.blockIndexes()).containsExactly(700, 2047);
        assertThat(f.last().kind()).isEqualTo(ListedRecord.Kind.END);
        assertThat(f.finished).containsExactly(split.splitId());
        assertThat(source.calls("ListSnapshotBlocks").get(0).args().get(1)).isEqualTo(650);
    }

    @Test
    void aBlockAtRangeEndBelongsToTheNextSplit() {
        BlockRangeSplit split = split(0, 600, 0);
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split)));

        List<ListedRecord> all = drain(10);

        assertThat(blockIndexes(all)).containsExactly(0, 1, 2, 5, 8, 9, 10);
        assertThat(all.get(all.size() - 1).kind()).isEqualTo(ListedRecord.Kind.END);
        assertThat(all).filteredOn(r -> r.kind() == ListedRecord.Kind.END).hasSize(1);
    }

    @Test
    void emitsTheBlockTokensOfTheListing() {
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split(600, 2048, 600))));

        List<ListedRecord> all = drain(10);

        assertThat(all.get(0).blockToken()).isNotNull().contains(snapshot);
        assertThat(all.get(0).blockIndex()).isEqualTo(600);
    }

    @Test
    void aSplitRestoredInTheMiddleResumesAtItsNextIndex() {
        BlockRangeSplit restored = split(0, 650, 0).withProgress(6, 4);
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(restored)));

        List<ListedRecord> all = drain(10);

        assertThat(blockIndexes(all)).containsExactly(8, 9, 10, 600);
        assertThat(source.calls("ListSnapshotBlocks").get(0).args().get(1)).isEqualTo(6);
    }

    @Test
    void aSplitAlreadyAtItsRangeEndOnlyEnds() {
        BlockRangeSplit done = split(0, 650, 0).withProgress(650, 11);
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(done)));

        Fetch f = fetch();

        assertThat(f.records).extracting(ListedRecord::kind).containsExactly(ListedRecord.Kind.END);
        assertThat(f.finished).containsExactly(done.splitId());
        assertThat(source.calls()).isEmpty();
    }

    @Test
    void splitsAreListedOneAfterTheOther() {
        BlockRangeSplit a = split(0, 650, 0);
        BlockRangeSplit b = split(650, 2048, 650).toBuilder().split(1, 2).build();
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(a, b)));

        Map<String, List<ListedRecord>> bySplit = new TreeMap<>();
        Set<String> finished = new LinkedHashSet<>();
        for (int i = 0; i < 10 && finished.size() < 2; i++) {
            Fetch f = fetch();
            f.bySplit.forEach(
                    (k, v) -> bySplit.computeIfAbsent(k, x -> new ArrayList<>()).addAll(v));
            finished.addAll(f.finished);
        }

        assertThat(finished).containsExactly(a.splitId(), b.splitId());
        assertThat(blockIndexes(bySplit.get(a.splitId())))
                .containsExactly(0, 1, 2, 5, 8, 9, 10, 600);
        assertThat(blockIndexes(bySplit.get(b.splitId()))).containsExactly(700, 2047);
    }

    @Test
    void anIncrementalSplitListsOnlyTheChangedBlocks() {
        String child =
                source.createSnapshot(
                        1, snapshot, Map.of(5, FakeEbsProxy.block(55), 9, FakeEbsProxy.block(99)));
        BlockRangeSplit split =
                split(0, 2048, 0).toBuilder()
                        .requestId("incr")
                        .split(0, 1)
                        .source(REGION, child)
                        .base(snapshot)
                        .build();
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split)));

        List<ListedRecord> all = drain(10);

        assertThat(blockIndexes(all)).containsExactly(5, 9);
        assertThat(source.calls("ListChangedBlocks").get(0).args())
                .containsExactly(snapshot, child, 0, null, PAGE);
        assertThat(source.calls("ListSnapshotBlocks")).isEmpty();
    }

    // ------------------------------------------------------------------ failures

    @Test
    void anInvalidNextTokenResumesFromTheBlockIndex() {
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split(0, 650, 0))));
        Fetch first = fetch();
        assertThat(first.blockIndexes()).containsExactly(0, 1, 2);
        source.invalidateTokens(); // the NextToken held by the reader has expired

        Fetch refused = fetch();
        assertThat(refused.isEmpty()).isTrue();
        assertThat(refused.finished).isEmpty();
        List<ListedRecord> rest = drain(10);

        List<Integer> all = new ArrayList<>(first.blockIndexes());
        all.addAll(blockIndexes(rest));
        assertThat(all).containsExactly(0, 1, 2, 5, 8, 9, 10, 600);
        List<FakeEbsProxy.Call> calls = source.calls("ListSnapshotBlocks");
        // The call after the refused one lists from the next block index, without a token.
        assertThat(calls.get(1).args().get(2)).isNotNull();
        assertThat(calls.get(2).args()).containsExactly(snapshot, 3, null, PAGE);
    }

    @Test
    void aScriptedInvalidTokenErrorAlsoResumesFromTheBlockIndex() {
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split(0, 650, 0))));
        Fetch first = fetch();
        source.failNext(
                "ListSnapshotBlocks", () -> FakeEbsProxy.invalidToken("INVALID_PAGE_TOKEN"));

        List<ListedRecord> rest = drain(10);

        List<Integer> all = new ArrayList<>(first.blockIndexes());
        all.addAll(blockIndexes(rest));
        assertThat(all).containsExactly(0, 1, 2, 5, 8, 9, 10, 600);
        assertThat(rest).filteredOn(r -> r.kind() == ListedRecord.Kind.FAILED).isEmpty();
    }

    @Test
    void aRetryableFailureBacksOffAndRetriesWithoutLosingOrRepeatingBlocks() throws Exception {
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split(0, 650, 0))));
        Fetch first = fetch();
        source.failNext("ListSnapshotBlocks", FakeEbsProxy::throttled);

        CompletableFuture<Fetch> backingOff = CompletableFuture.supplyAsync(this::fetch);
        // It backs off on the fetcher thread ...
        Thread.sleep(300);
        assertThat(backingOff).as("still backing off").isNotDone();
        // ... and a wake-up (the reader closing, a new split) ends the backoff early.
        reader.wakeUp();
        Fetch failed = backingOff.get(1500, TimeUnit.MILLISECONDS);
        assertThat(failed.isEmpty()).isTrue();
        assertThat(failed.finished).isEmpty();

        List<ListedRecord> rest = drain(10);
        List<Integer> all = new ArrayList<>(first.blockIndexes());
        all.addAll(blockIndexes(rest));
        assertThat(all).containsExactly(0, 1, 2, 5, 8, 9, 10, 600);
        List<FakeEbsProxy.Call> calls = source.calls("ListSnapshotBlocks");
        // The failed call is repeated as it was: same position, same token.
        assertThat(calls.get(2).args()).isEqualTo(calls.get(1).args());
    }

    @Test
    void aFatalListingFailureEmitsAFailedRecordAndFinishesTheSplit() {
        BlockRangeSplit split = split(0, 650, 0);
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split)));
        fetch();
        source.failNext(
                "ListSnapshotBlocks", () -> FakeEbsProxy.fatal("AccessDeniedException", null));

        Fetch f = fetch();

        assertThat(f.records).hasSize(1);
        assertThat(f.last().kind()).isEqualTo(ListedRecord.Kind.FAILED);
        assertThat(f.last().failure().reason()).isEqualTo(FailureReason.ACCESS_DENIED);
        assertThat(f.last().failure().message()).contains("AccessDeniedException");
        assertThat(f.finished).containsExactly(split.splitId());
        assertThat(fetch().isEmpty()).isTrue();
    }

    @Test
    void aMissingSourceSnapshotIsFatal() {
        BlockRangeSplit split =
                split(0, 2048, 0).toBuilder().split(0, 1).source(REGION, "snap-deadbeef").build();
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split)));

        Fetch f = fetch();

        assertThat(f.records)
                .extracting(ListedRecord::kind)
                .containsExactly(ListedRecord.Kind.FAILED);
        assertThat(f.last().failure().reason()).isEqualTo(FailureReason.SNAPSHOT_NOT_FOUND);
        assertThat(f.last().failure().message()).contains("ResourceNotFoundException");
        assertThat(f.finished).containsExactly(split.splitId());
    }

    @Test
    void aFailureSplitEmitsItsFailureWithoutListing() {
        FailedRequestSplit failed = failedSplit(1L);
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(failed)));

        Fetch f = fetch();

        assertThat(f.records).containsExactly(ListedRecord.failed(BROKE));
        assertThat(f.finished).containsExactly(failed.splitId());
        assertThat(source.calls()).isEmpty();
    }

    @Test
    void aDeadLetterSplitHandsOverItsRecordWithoutListing() {
        DeadLetterSplit letter = new DeadLetterSplit("dead-letter:requests-0@3", new byte[] {4, 2});
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(letter)));

        Fetch f = fetch();

        assertThat(f.records).hasSize(1);
        assertThat(f.last().kind()).isEqualTo(ListedRecord.Kind.DEAD_LETTER);
        assertThat(f.last().deadLetter()).containsExactly(4, 2);
        assertThat(f.finished).containsExactly(letter.splitId());
        assertThat(source.calls()).isEmpty();
    }

    // ------------------------------------------------------------------ copy deletions

    private static final String COPIES = "eu-west-1";

    private static CopyDeletionSplit deletion(String copy, boolean dryRun) {
        return new CopyDeletionSplit(
                COPIES,
                null,
                REGION,
                "vol-1",
                "keep2",
                copy,
                1_700_000_000_000L,
                1_700_000_100_000L,
                dryRun);
    }

    private CopyDeletion runDeletion(CopyDeletionSplit split) {
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split)));
        Fetch f = fetch();
        assertThat(f.finished).containsExactly(split.splitId());
        assertThat(f.records).hasSize(1);
        assertThat(f.last().kind()).isEqualTo(ListedRecord.Kind.COPY_DELETION);
        return f.last().deletion();
    }

    @Test
    void aDeletionSplitDeletesItsCopyInItsRegionAndReportsIt() {
        FakeEbsProxy copies = factory.proxy(COPIES);
        String copy = copies.createSnapshot(1, null, Map.of());
        String stays = copies.createSnapshot(1, null, Map.of());

        CopyDeletion d = runDeletion(deletion(copy, false));

        assertThat(copies.deleted()).as("only the split's copy").containsExactly(copy);
        assertThat(copies.status(stays)).isEqualTo("completed");
        assertThat(d.outcome()).isEqualTo(CopyDeletion.Outcome.DELETED);
        assertThat(d.failure()).isNull();
        assertThat(d)
                .extracting(
                        CopyDeletion::id,
                        CopyDeletion::region,
                        CopyDeletion::snapshotId,
                        CopyDeletion::lineage,
                        CopyDeletion::rule,
                        CopyDeletion::copyStartMillis,
                        CopyDeletion::decidedMillis)
                .containsExactly(
                        CopyDeletionSplit.idOf(COPIES, copy),
                        COPIES,
                        copy,
                        "vol-1",
                        "keep2",
                        1_700_000_000_000L,
                        1_700_000_100_000L);
        assertThat(d.doneMillis()).isGreaterThanOrEqualTo(d.decidedMillis());
    }

    @Test
    void aDeletionRunAgainAfterARestoreFindsTheCopyGoneWhichIsDone() {
        FakeEbsProxy copies = factory.proxy(COPIES);
        String copy = copies.createSnapshot(1, null, Map.of());
        runDeletion(deletion(copy, false));

        CopyDeletion again = runDeletion(deletion(copy, false));

        assertThat(again.outcome()).isEqualTo(CopyDeletion.Outcome.ALREADY_GONE);
        assertThat(copies.deleted()).as("deleted once").containsExactly(copy);
    }

    @Test
    void aDryRunDeletionDeletesNothingAndSaysSo() {
        FakeEbsProxy copies = factory.proxy(COPIES);
        String copy = copies.createSnapshot(1, null, Map.of());

        CopyDeletion d = runDeletion(deletion(copy, true));

        assertThat(d.outcome()).isEqualTo(CopyDeletion.Outcome.DRY_RUN);
        assertThat(copies.deleted()).isEmpty();
        assertThat(copies.calls()).as("not even asked").isEmpty();
    }

    @Test
    void aDeletionEC2RefusesIsReportedFailedWithItsReason() {
        FakeEbsProxy copies = factory.proxy(COPIES);
        String copy = copies.createSnapshot(1, null, Map.of());
        copies.setStatus(copy, "pending", null);

        CopyDeletion d = runDeletion(deletion(copy, false));

        assertThat(d.outcome()).isEqualTo(CopyDeletion.Outcome.FAILED);
        assertThat(d.failure()).isNotNull();
        assertThat(d.failure().message()).contains("IncorrectState");
        assertThat(copies.status(copy)).as("still there").isEqualTo("pending");
    }

    @Test
    void theEmitterTurnsADeletionIntoACopyDeletionTask() {
        CopyDeletion d =
                new CopyDeletion(
                        "retention/eu-west-1/snap-1",
                        "keep2",
                        REGION,
                        "vol-1",
                        COPIES,
                        "snap-1",
                        1L,
                        2L,
                        3L,
                        CopyDeletion.Outcome.DELETED,
                        null);
        TestingReaderOutput<BlockTask> out = new TestingReaderOutput<>();
        new EbsLineageRecordEmitter()
                .emitRecord(
                        ListedRecord.deleted(d),
                        out,
                        new LineageSplitState(deletion("snap-1", false)));

        assertThat(out.getEmittedRecords()).hasSize(1);
        BlockTask task = out.getEmittedRecords().get(0);
        assertThat(task.kind()).isEqualTo(BlockTask.Kind.COPY_DELETION);
        assertThat(task.deletion()).isEqualTo(d);
    }

    @Test
    void closeClosesTheProxy() {
        reader.handleSplitsChanges(new SplitsAddition<>(List.of(split(0, 650, 0))));
        fetch();

        reader.close();

        assertThat(source.closeCount()).isEqualTo(1);
    }

    // ------------------------------------------------------------------ record emitter

    @Test
    void theEmitterAdvancesTheSplitStateAndCountsBlocksIntoTheEndMarker() {
        EbsLineageRecordEmitter emitter = new EbsLineageRecordEmitter();
        BlockRangeSplit split = split(0, 650, 0);
        LineageSplitState state = new LineageSplitState(split);
        TestingReaderOutput<BlockTask> out = new TestingReaderOutput<>();

        emitter.emitRecord(ListedRecord.block(2, "tok-2"), out, state);
        emitter.emitRecord(ListedRecord.block(5, "tok-5"), out, state);
        assertThat(state.nextIndex()).isEqualTo(6);
        assertThat(state.emittedBlocks()).isEqualTo(2);
        assertThat(state.toSplit()).isEqualTo(split.withProgress(6, 2));
        emitter.emitRecord(ListedRecord.end(), out, state);

        List<BlockTask> tasks = out.getEmittedRecords();
        assertThat(tasks).hasSize(3);
        BlockTask block = tasks.get(0);
        assertThat(block.kind()).isEqualTo(BlockTask.Kind.BLOCK);
        assertThat(block.blockIndex()).isEqualTo(2);
        assertThat(block.blockToken()).isEqualTo("tok-2");
        assertThat(block.requestId()).isEqualTo("req");
        assertThat(block.splitId()).isEqualTo(0);
        assertThat(block.totalSplits()).isEqualTo(2);
        assertThat(block.sourceRegion()).isEqualTo(REGION);
        assertThat(block.sourceSnapshotId()).isEqualTo(snapshot);
        assertThat(block.targetSnapshots()).isEqualTo(TARGETS);
        assertThat(block.copyDetails()).as("blocks stay small").isNull();
        assertThat(block.requestStartMillis()).isEqualTo(1L);
        BlockTask end = tasks.get(2);
        assertThat(end.kind()).isEqualTo(BlockTask.Kind.SPLIT_END);
        assertThat(end.emittedBlocks()).isEqualTo(2);
        assertThat(end.blockToken()).isNull();
    }

    @Test
    void theEndMarkerCountsBlocksEmittedBeforeARestoreAndSkipsBlocksAlreadyEmitted() {
        EbsLineageRecordEmitter emitter = new EbsLineageRecordEmitter();
        LineageSplitState state = new LineageSplitState(split(0, 650, 0).withProgress(6, 4));
        TestingReaderOutput<BlockTask> out = new TestingReaderOutput<>();

        emitter.emitRecord(ListedRecord.block(5, "tok-5"), out, state); // before the restore point
        emitter.emitRecord(ListedRecord.block(8, "tok-8"), out, state);
        emitter.emitRecord(ListedRecord.end(), out, state);

        assertThat(out.getEmittedRecords())
                .extracting(BlockTask::kind, BlockTask::blockIndex, BlockTask::emittedBlocks)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple(BlockTask.Kind.BLOCK, 8, 0L),
                        org.assertj.core.groups.Tuple.tuple(BlockTask.Kind.SPLIT_END, -1, 5L));
        assertThat(state.nextIndex()).isEqualTo(9);
    }

    @Test
    void theEmitterTurnsAFailureIntoARequestFailedTask() {
        EbsLineageRecordEmitter emitter = new EbsLineageRecordEmitter();
        LineageSplitState state = new LineageSplitState(failedSplit(9L));
        TestingReaderOutput<BlockTask> out = new TestingReaderOutput<>();

        emitter.emitRecord(ListedRecord.failed(BROKE), out, state);

        assertThat(out.getEmittedRecords()).hasSize(1);
        BlockTask t = out.getEmittedRecords().get(0);
        assertThat(t.kind()).isEqualTo(BlockTask.Kind.REQUEST_FAILED);
        assertThat(t.error()).isEqualTo(BROKE);
        assertThat(t.targetSnapshots()).isEqualTo(TargetSnapshots.notStarted(List.of("eu-west-1")));
        assertThat(t.copyDetails()).isEqualTo(failedSplit(9L).copyInfo());
        assertThat(t.requestStartMillis()).isEqualTo(9L);
        assertThat(state.emittedBlocks()).isZero();
    }

    // ------------------------------------------------------------------ the source reader

    @Test
    void theSourceReaderListsItsSplitOnAFetcherThreadAndAsksForMoreWork() throws Exception {
        TestingReaderContext context = new TestingReaderContext();
        BlockRangeSplit split = split(0, 650, 0);
        try (EbsLineageSourceReader sourceReader =
                new EbsLineageSourceReader(
                        () -> new BlockRangeSplitReader(factory, PAGE),
                        new Configuration(),
                        context)) {
            sourceReader.start();
            assertThat(context.getNumSplitRequests()).isEqualTo(1);
            sourceReader.addSplits(List.of(split));
            TestingReaderOutput<BlockTask> out = new TestingReaderOutput<>();

            // Emit four blocks, then checkpoint: the split carries the emitter's progress.
            pollUntil(sourceReader, out, () -> out.getEmittedRecords().size() >= 4);
            List<LineageSplit> checkpoint = sourceReader.snapshotState(1);
            assertThat(checkpoint).containsExactly(split.withProgress(6, 4));

            pollUntil(
                    sourceReader,
                    out,
                    () ->
                            !out.getEmittedRecords().isEmpty()
                                    && out.getEmittedRecords()
                                                    .get(out.getEmittedRecords().size() - 1)
                                                    .kind()
                                            == BlockTask.Kind.SPLIT_END);
            assertThat(out.getEmittedRecords())
                    .filteredOn(t -> t.kind() == BlockTask.Kind.BLOCK)
                    .extracting(BlockTask::blockIndex)
                    .containsExactly(0, 1, 2, 5, 8, 9, 10, 600);
            BlockTask end = out.getEmittedRecords().get(out.getEmittedRecords().size() - 1);
            assertThat(end.emittedBlocks()).isEqualTo(8);
            // A finished split asks the enumerator for the next one.
            pollUntil(sourceReader, out, () -> context.getNumSplitRequests() >= 2);
            assertThat(context.getNumSplitRequests()).isEqualTo(2);
            assertThat(out.getEmittedRecords()).hasSize(9);
            assertThat(sourceReader.snapshotState(2)).isEmpty();

            sourceReader.notifyNoMoreSplits();
            InputStatus status = pollUntil(sourceReader, out, () -> false);
            assertThat(status).isEqualTo(InputStatus.END_OF_INPUT);
        }
    }

    // ------------------------------------------------------------------ helpers

    private BlockRangeSplit split(int start, int end, int next) {
        return BlockRangeSplit.builder()
                .requestId("req")
                .split(0, 2)
                .source(REGION, snapshot)
                .targets(TARGETS)
                .range(start, end)
                .progress(next, 0)
                .requestStartMillis(1L)
                .build();
    }

    private static final Failure BROKE = Failure.of(FailureReason.TARGET_FAILED, "it broke");

    private FailedRequestSplit failedSplit(long acceptedMillis) {
        return new FailedRequestSplit(
                "req",
                REGION,
                snapshot,
                List.of("eu-west-1"),
                BROKE,
                acceptedMillis,
                0,
                new CopyInfo(null, null, null, null, Map.of("ticket", "T-1")));
    }

    /** One fetch, taken apart. */
    private static final class Fetch {
        final List<ListedRecord> records = new ArrayList<>();
        final Map<String, List<ListedRecord>> bySplit = new TreeMap<>();
        final Set<String> finished = new LinkedHashSet<>();

        List<Integer> blockIndexes() {
            return BlockRangeSplitReaderTest.blockIndexes(records);
        }

        ListedRecord last() {
            return records.get(records.size() - 1);
        }

        boolean isEmpty() {
            return records.isEmpty();
        }
    }

    private Fetch fetch() {
        RecordsWithSplitIds<ListedRecord> r = reader.fetch();
        Fetch f = new Fetch();
        String split;
        while ((split = r.nextSplit()) != null) {
            ListedRecord rec;
            while ((rec = r.nextRecordFromSplit()) != null) {
                f.records.add(rec);
                f.bySplit.computeIfAbsent(split, k -> new ArrayList<>()).add(rec);
            }
        }
        f.finished.addAll(r.finishedSplits());
        return f;
    }

    /** Fetches until a split finishes (at most {@code maxFetches}); returns its records. */
    private List<ListedRecord> drain(int maxFetches) {
        List<ListedRecord> all = new ArrayList<>();
        for (int i = 0; i < maxFetches; i++) {
            Fetch f = fetch();
            all.addAll(f.records);
            if (!f.finished.isEmpty()) {
                return all;
            }
        }
        throw new AssertionError("No split finished within " + maxFetches + " fetches: " + all);
    }

    private static List<Integer> blockIndexes(List<ListedRecord> records) {
        return records.stream()
                .filter(r -> r.kind() == ListedRecord.Kind.BLOCK)
                .map(ListedRecord::blockIndex)
                .toList();
    }

    private static InputStatus pollUntil(
            EbsLineageSourceReader reader,
            ReaderOutput<BlockTask> out,
            java.util.function.BooleanSupplier done)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        InputStatus status = InputStatus.NOTHING_AVAILABLE;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(
                        "Timed out polling the reader (last status " + status + ")");
            }
            status = reader.pollNext(out);
            if (status == InputStatus.END_OF_INPUT) {
                return status;
            }
            if (status == InputStatus.NOTHING_AVAILABLE) {
                try {
                    reader.isAvailable().get(100, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    // poll again until the deadline
                }
            }
        }
        return status;
    }
}
