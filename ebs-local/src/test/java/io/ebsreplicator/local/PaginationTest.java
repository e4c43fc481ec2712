package io.ebsreplicator.local;

import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Quotas;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.Block;
import software.amazon.awssdk.services.ebs.model.ChangedBlock;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.ebs.model.ListChangedBlocksResponse;
import software.amazon.awssdk.services.ebs.model.ListSnapshotBlocksResponse;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.services.ebs.model.ValidationExceptionReason;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.IntUnaryOperator;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * ListSnapshotBlocks and ListChangedBlocks paging: page boundaries at 100 and 10,000 entries,
 * NextToken presence, empty pages, StartingBlockIndex and page-token validation.
 */
class PaginationTest {

    private static final String REGION = "us-east-1";

    /** Shared, read-only lineage: an empty 5 GiB root and children with 100..10,001 blocks. */
    @RegisterExtension
    static final EbsLocalExtension SHARED =
            EbsLocalExtension.builder()
                    .configure(b -> b.sealDelay(Duration.ZERO).quotas(Quotas.unlimited()))
                    .build();

    /** A fresh server per test, for tests that move the clock or inject faults. */
    @RegisterExtension
    final EbsLocalExtension own =
            EbsLocalExtension.builder()
                    .configure(b -> b.sealDelay(Duration.ZERO).quotas(Quotas.unlimited()))
                    .build();

    /** Few distinct contents: the store deduplicates, so 10,000 blocks stay cheap. */
    private static final byte[][] CONTENTS = {
        EbsClients.block(11), EbsClients.block(12), EbsClients.block(13), EbsClients.block(14)
    };

    private static final String[] CHECKSUMS = {
        EbsClients.sha256(CONTENTS[0]),
        EbsClients.sha256(CONTENTS[1]),
        EbsClients.sha256(CONTENTS[2]),
        EbsClients.sha256(CONTENTS[3])
    };

    private static EbsClient ebs;
    private static String root; // empty, 5 GiB
    private static String s100; // blocks 0..99
    private static String s101; // child of s100, adds block 100
    private static String s10000; // child of root, blocks 0..9999
    private static String s10001; // child of s10000, adds block 10000
    private static String sparse; // blocks 0, 10, ..., 1490 (150 blocks)

    @BeforeAll
    static void buildLineage() throws Exception {
        ebs = EbsClients.ebs(SHARED.server(), REGION);
        root = startAndWrite(ebs, null, 0, i -> i);
        s100 = startAndWrite(ebs, root, 100, i -> i);
        s101 = startAndWrite(ebs, s100, 1, i -> 100 + i);
        s10000 = startAndWrite(ebs, root, 10_000, i -> i);
        s10001 = startAndWrite(ebs, s10000, 1, i -> 10_000 + i);
        sparse = startAndWrite(ebs, root, 150, i -> i * 10);
    }

    @AfterAll
    static void closeClient() {
        if (ebs != null) {
            ebs.close();
        }
    }

    private static int content(int blockIndex) {
        return Math.floorMod(blockIndex * 7 + 3, CONTENTS.length);
    }

    /**
     * Starts a 5 GiB snapshot, writes {@code count} blocks at {@code index(i)} and completes it.
     */
    static String startAndWrite(EbsClient client, String parent, int count, IntUnaryOperator index)
            throws Exception {
        String id =
                client.startSnapshot(r -> r.volumeSize(5L).parentSnapshotId(parent).timeout(60))
                        .snapshotId();
        if (count > 0) {
            ExecutorService pool = Executors.newFixedThreadPool(16);
            try {
                List<Future<?>> futures = new ArrayList<>();
                int perTask = Math.max(1, count / 64);
                for (int from = 0; from < count; from += perTask) {
                    int lo = from;
                    int hi = Math.min(count, from + perTask);
                    futures.add(
                            pool.submit(
                                    () -> {
                                        for (int i = lo; i < hi; i++) {
                                            int idx = index.applyAsInt(i);
                                            int c = content(idx);
                                            client.putSnapshotBlock(
                                                    r ->
                                                            r.snapshotId(id)
                                                                    .blockIndex(idx)
                                                                    .dataLength(EbsClients.BLOCK)
                                                                    .checksum(CHECKSUMS[c])
                                                                    .checksumAlgorithm(
                                                                            ChecksumAlgorithm
                                                                                    .SHA256),
                                                    RequestBody.fromBytes(CONTENTS[c]));
                                        }
                                        return null;
                                    }));
                }
                for (Future<?> f : futures) {
                    f.get();
                }
            } finally {
                pool.shutdownNow();
            }
        }
        var status = client.completeSnapshot(r -> r.snapshotId(id).changedBlocksCount(count));
        assertThat(status.statusAsString()).isIn("pending", "completed");
        return id;
    }

    private static List<Integer> indexes(ListSnapshotBlocksResponse page) {
        return page.blocks().stream().map(Block::blockIndex).toList();
    }

    private static List<Integer> changedIndexes(ListChangedBlocksResponse page) {
        return page.changedBlocks().stream().map(ChangedBlock::blockIndex).toList();
    }

    private static List<Integer> range(int from, int toExclusive) {
        return IntStream.range(from, toExclusive).boxed().toList();
    }

    private static ValidationException validation(Runnable call) {
        try {
            call.run();
        } catch (ValidationException e) {
            return e;
        }
        throw new AssertionError("expected a ValidationException");
    }

    // ------------------------------------------------------------------ page boundaries

    @Test
    void exactlyOneHundredBlocksListedOneHundredAtATimeIsOnePage() {
        var page = ebs.listSnapshotBlocks(r -> r.snapshotId(s100).maxResults(100));
        assertThat(indexes(page)).isEqualTo(range(0, 100));
        assertThat(page.nextToken()).isNull();
        assertThat(page.volumeSize()).isEqualTo(5L);
        assertThat(page.blockSize()).isEqualTo(EbsClients.BLOCK);

        var changed =
                ebs.listChangedBlocks(
                        r -> r.firstSnapshotId(root).secondSnapshotId(s100).maxResults(100));
        assertThat(changedIndexes(changed)).isEqualTo(range(0, 100));
        assertThat(changed.nextToken()).isNull();

        var all = ebs.listChangedBlocks(r -> r.secondSnapshotId(s100).maxResults(100));
        assertThat(changedIndexes(all)).isEqualTo(range(0, 100));
        assertThat(all.nextToken()).isNull();
    }

    @Test
    void oneHundredAndOneBlocksAreTwoPages() {
        var first = ebs.listSnapshotBlocks(r -> r.snapshotId(s101).maxResults(100));
        assertThat(indexes(first)).isEqualTo(range(0, 100));
        assertThat(first.nextToken()).isNotNull();
        var second =
                ebs.listSnapshotBlocks(
                        r -> r.snapshotId(s101).maxResults(100).nextToken(first.nextToken()));
        assertThat(indexes(second)).containsExactly(100);
        assertThat(second.nextToken()).isNull();

        var c1 =
                ebs.listChangedBlocks(
                        r -> r.firstSnapshotId(root).secondSnapshotId(s101).maxResults(100));
        assertThat(changedIndexes(c1)).isEqualTo(range(0, 100));
        assertThat(c1.nextToken()).isNotNull();
        var c2 =
                ebs.listChangedBlocks(
                        r ->
                                r.firstSnapshotId(root)
                                        .secondSnapshotId(s101)
                                        .maxResults(100)
                                        .nextToken(c1.nextToken()));
        assertThat(changedIndexes(c2)).containsExactly(100);
        assertThat(c2.nextToken()).isNull();

        var a1 = ebs.listChangedBlocks(r -> r.secondSnapshotId(s101).maxResults(100));
        assertThat(changedIndexes(a1)).isEqualTo(range(0, 100));
        assertThat(a1.nextToken()).isNotNull();
        var a2 =
                ebs.listChangedBlocks(
                        r -> r.secondSnapshotId(s101).maxResults(100).nextToken(a1.nextToken()));
        assertThat(changedIndexes(a2)).containsExactly(100);
        assertThat(a2.nextToken()).isNull();
    }

    @Test
    void maxResultsBelowOneHundredIsRaisedToOneHundred() {
        var page = ebs.listSnapshotBlocks(r -> r.snapshotId(s101).maxResults(5));
        assertThat(indexes(page)).isEqualTo(range(0, 100));
        assertThat(page.nextToken()).isNotNull();
        var changed = ebs.listChangedBlocks(r -> r.secondSnapshotId(s101).maxResults(1));
        assertThat(changedIndexes(changed)).isEqualTo(range(0, 100));
        assertThat(changed.nextToken()).isNotNull();
    }

    @Test
    void maxResultsAboveTenThousandIsRejected() {
        var e =
                validation(
                        () -> ebs.listSnapshotBlocks(r -> r.snapshotId(s100).maxResults(10_001)));
        assertThat(e.statusCode()).isEqualTo(400);
        assertThat(e.reason()).isEqualTo(ValidationExceptionReason.INVALID_PARAMETER_VALUE);
    }

    @Test
    void exactlyTenThousandBlocksAreOnePageWithMaxResultsAndByDefault() {
        for (Integer max : new Integer[] {10_000, null}) {
            var page = ebs.listSnapshotBlocks(r -> r.snapshotId(s10000).maxResults(max));
            assertThat(indexes(page)).as("maxResults=%s", max).isEqualTo(range(0, 10_000));
            assertThat(page.nextToken()).as("maxResults=%s", max).isNull();

            var changed =
                    ebs.listChangedBlocks(
                            r -> r.firstSnapshotId(root).secondSnapshotId(s10000).maxResults(max));
            assertThat(changedIndexes(changed))
                    .as("maxResults=%s", max)
                    .isEqualTo(range(0, 10_000));
            assertThat(changed.nextToken()).as("maxResults=%s", max).isNull();

            var all = ebs.listChangedBlocks(r -> r.secondSnapshotId(s10000).maxResults(max));
            assertThat(changedIndexes(all)).as("maxResults=%s", max).isEqualTo(range(0, 10_000));
            assertThat(all.nextToken()).as("maxResults=%s", max).isNull();
        }
        // Cross-check against the service: the listing is the snapshot's full block set.
        assertThat(SHARED.service().blocksOf(REGION, s10000).keySet())
                .isEqualTo(Set.copyOf(range(0, 10_000)));
    }

    @Test
    void tenThousandAndOneBlocksAreTwoPages() {
        for (Integer max : new Integer[] {10_000, null}) {
            var p1 = ebs.listSnapshotBlocks(r -> r.snapshotId(s10001).maxResults(max));
            assertThat(indexes(p1)).as("maxResults=%s", max).isEqualTo(range(0, 10_000));
            assertThat(p1.nextToken()).as("maxResults=%s", max).isNotNull();
            var p2 =
                    ebs.listSnapshotBlocks(
                            r -> r.snapshotId(s10001).maxResults(max).nextToken(p1.nextToken()));
            assertThat(indexes(p2)).as("maxResults=%s", max).containsExactly(10_000);
            assertThat(p2.nextToken()).as("maxResults=%s", max).isNull();

            var c1 =
                    ebs.listChangedBlocks(
                            r -> r.firstSnapshotId(root).secondSnapshotId(s10001).maxResults(max));
            assertThat(changedIndexes(c1)).as("maxResults=%s", max).isEqualTo(range(0, 10_000));
            assertThat(c1.nextToken()).as("maxResults=%s", max).isNotNull();
            var c2 =
                    ebs.listChangedBlocks(
                            r ->
                                    r.firstSnapshotId(root)
                                            .secondSnapshotId(s10001)
                                            .maxResults(max)
                                            .nextToken(c1.nextToken()));
            assertThat(changedIndexes(c2)).as("maxResults=%s", max).containsExactly(10_000);
            assertThat(c2.nextToken()).as("maxResults=%s", max).isNull();
        }
        // Between the parent and its child only the one new block changed.
        var delta = ebs.listChangedBlocks(r -> r.firstSnapshotId(s10000).secondSnapshotId(s10001));
        assertThat(changedIndexes(delta)).containsExactly(10_000);
        assertThat(delta.changedBlocks().get(0).firstBlockToken()).isNull();
        assertThat(delta.changedBlocks().get(0).secondBlockToken()).isNotNull();
        assertThat(delta.nextToken()).isNull();
    }

    // ------------------------------------------------------------------ empty pages, paginator

    @Test
    void emptyPagesCarryANextTokenAndFollowingThemYieldsEveryBlockOnce() throws Exception {
        try (EbsClient client = EbsClients.ebs(own.server(), REGION)) {
            String id = startAndWrite(client, null, 250, i -> i * 3);
            List<Integer> expected = IntStream.range(0, 250).map(i -> i * 3).boxed().toList();
            own.setFaults(FaultProfile.builder().emptyPageRate(0.5).seed(1).build());

            List<Integer> listed = new ArrayList<>();
            int emptyPages = 0;
            int pages = 0;
            String next = null;
            do {
                String token = next;
                var page =
                        client.listSnapshotBlocks(
                                r -> r.snapshotId(id).maxResults(100).nextToken(token));
                if (page.blocks().isEmpty()) {
                    emptyPages++;
                    assertThat(page.nextToken())
                            .as("an empty page carries a NextToken")
                            .isNotNull();
                }
                listed.addAll(indexes(page));
                next = page.nextToken();
                assertThat(++pages).as("pages").isLessThan(200);
            } while (next != null);
            assertThat(listed).isEqualTo(expected);
            assertThat(emptyPages).isGreaterThanOrEqualTo(1);

            List<Integer> changed = new ArrayList<>();
            int emptyChanged = 0;
            pages = 0;
            next = null;
            do {
                String token = next;
                var page =
                        client.listChangedBlocks(
                                r -> r.secondSnapshotId(id).maxResults(100).nextToken(token));
                if (page.changedBlocks().isEmpty()) {
                    emptyChanged++;
                    assertThat(page.nextToken()).isNotNull();
                }
                changed.addAll(changedIndexes(page));
                next = page.nextToken();
                assertThat(++pages).as("pages").isLessThan(200);
            } while (next != null);
            assertThat(changed).isEqualTo(expected);
            assertThat(emptyChanged).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void sdkPaginatorCollectsAllBlocksAlsoOverEmptyPages() throws Exception {
        assertThat(
                        ebs
                                .listSnapshotBlocksPaginator(
                                        r -> r.snapshotId(s101).maxResults(100))
                                .stream()
                                .flatMap(p -> p.blocks().stream())
                                .map(Block::blockIndex)
                                .toList())
                .isEqualTo(range(0, 101));

        try (EbsClient client = EbsClients.ebs(own.server(), REGION)) {
            String id = startAndWrite(client, null, 250, i -> i * 3);
            own.setFaults(FaultProfile.builder().emptyPageRate(0.5).seed(1).build());
            List<Integer> viaPaginator =
                    client
                            .listSnapshotBlocksPaginator(r -> r.snapshotId(id).maxResults(100))
                            .stream()
                            .flatMap(p -> p.blocks().stream())
                            .map(Block::blockIndex)
                            .toList();
            assertThat(viaPaginator)
                    .isEqualTo(IntStream.range(0, 250).map(i -> i * 3).boxed().toList());
            List<Integer> changedViaPaginator =
                    client
                            .listChangedBlocksPaginator(r -> r.secondSnapshotId(id).maxResults(100))
                            .stream()
                            .flatMap(p -> p.changedBlocks().stream())
                            .map(ChangedBlock::blockIndex)
                            .toList();
            assertThat(changedViaPaginator)
                    .isEqualTo(IntStream.range(0, 250).map(i -> i * 3).boxed().toList());
        }
    }

    // ------------------------------------------------------------------ StartingBlockIndex, tokens

    @Test
    void startingBlockIndexStartsAtThatIndexOrTheNextWithData() {
        var exact = ebs.listSnapshotBlocks(r -> r.snapshotId(sparse).startingBlockIndex(20));
        assertThat(indexes(exact).get(0)).isEqualTo(20);
        assertThat(indexes(exact)).hasSize(148);

        var between = ebs.listSnapshotBlocks(r -> r.snapshotId(sparse).startingBlockIndex(21));
        assertThat(indexes(between).get(0)).isEqualTo(30);
        assertThat(indexes(between)).hasSize(147);

        var pastEnd = ebs.listSnapshotBlocks(r -> r.snapshotId(sparse).startingBlockIndex(1491));
        assertThat(pastEnd.blocks()).isEmpty();
        assertThat(pastEnd.nextToken()).isNull();

        var changedExact =
                ebs.listChangedBlocks(
                        r ->
                                r.firstSnapshotId(root)
                                        .secondSnapshotId(sparse)
                                        .startingBlockIndex(20));
        assertThat(changedIndexes(changedExact).get(0)).isEqualTo(20);
        assertThat(changedIndexes(changedExact)).hasSize(148);

        var changedBetween =
                ebs.listChangedBlocks(r -> r.secondSnapshotId(sparse).startingBlockIndex(1481));
        assertThat(changedIndexes(changedBetween)).containsExactly(1490);

        // Paging from a StartingBlockIndex: the second page follows on from the first.
        var p1 =
                ebs.listSnapshotBlocks(
                        r -> r.snapshotId(sparse).startingBlockIndex(5).maxResults(100));
        assertThat(indexes(p1))
                .isEqualTo(IntStream.range(1, 101).map(i -> i * 10).boxed().toList());
        var p2 =
                ebs.listSnapshotBlocks(
                        r -> r.snapshotId(sparse).maxResults(100).nextToken(p1.nextToken()));
        assertThat(indexes(p2))
                .isEqualTo(IntStream.range(101, 150).map(i -> i * 10).boxed().toList());
        assertThat(p2.nextToken()).isNull();
    }

    @Test
    void pageTokenWinsOverStartingBlockIndex() {
        var p1 = ebs.listSnapshotBlocks(r -> r.snapshotId(sparse).maxResults(100));
        assertThat(indexes(p1)).hasSize(100).endsWith(990);
        var p2 =
                ebs.listSnapshotBlocks(
                        r ->
                                r.snapshotId(sparse)
                                        .maxResults(100)
                                        .startingBlockIndex(0)
                                        .nextToken(p1.nextToken()));
        assertThat(indexes(p2).get(0)).isEqualTo(1000);
        assertThat(indexes(p2)).hasSize(50);
        var p3 =
                ebs.listSnapshotBlocks(
                        r ->
                                r.snapshotId(sparse)
                                        .maxResults(100)
                                        .startingBlockIndex(1490)
                                        .nextToken(p1.nextToken()));
        assertThat(indexes(p3)).isEqualTo(indexes(p2));

        var c1 = ebs.listChangedBlocks(r -> r.secondSnapshotId(sparse).maxResults(100));
        var c2 =
                ebs.listChangedBlocks(
                        r ->
                                r.secondSnapshotId(sparse)
                                        .maxResults(100)
                                        .startingBlockIndex(0)
                                        .nextToken(c1.nextToken()));
        assertThat(changedIndexes(c2).get(0)).isEqualTo(1000);
        assertThat(changedIndexes(c2)).hasSize(50);
    }

    @Test
    void pageTokenOfAnotherSnapshotIsInvalid() {
        String token = ebs.listSnapshotBlocks(r -> r.snapshotId(s101).maxResults(100)).nextToken();
        assertThat(token).isNotNull();
        // Valid on its own snapshot...
        assertThat(indexes(ebs.listSnapshotBlocks(r -> r.snapshotId(s101).nextToken(token))))
                .containsExactly(100);
        // ...not on another one.
        var e =
                validation(
                        () -> ebs.listSnapshotBlocks(r -> r.snapshotId(s10001).nextToken(token)));
        assertThat(e.statusCode()).isEqualTo(400);
        assertThat(e.reason()).isEqualTo(ValidationExceptionReason.INVALID_PAGE_TOKEN);

        // Nor for another operation, or another snapshot pair, of ListChangedBlocks.
        var op =
                validation(
                        () ->
                                ebs.listChangedBlocks(
                                        r -> r.secondSnapshotId(s101).nextToken(token)));
        assertThat(op.reason()).isEqualTo(ValidationExceptionReason.INVALID_PAGE_TOKEN);

        String changedToken =
                ebs.listChangedBlocks(
                                r -> r.firstSnapshotId(root).secondSnapshotId(s101).maxResults(100))
                        .nextToken();
        assertThat(changedToken).isNotNull();
        var pair =
                validation(
                        () ->
                                ebs.listChangedBlocks(
                                        r ->
                                                r.firstSnapshotId(s100)
                                                        .secondSnapshotId(s101)
                                                        .nextToken(changedToken)));
        assertThat(pair.statusCode()).isEqualTo(400);
        assertThat(pair.reason()).isEqualTo(ValidationExceptionReason.INVALID_PAGE_TOKEN);

        var garbage =
                validation(() -> ebs.listSnapshotBlocks(r -> r.snapshotId(s101).nextToken("AAAA")));
        assertThat(garbage.reason()).isEqualTo(ValidationExceptionReason.INVALID_PAGE_TOKEN);
    }

    @Test
    void expiredPageTokenIsInvalid() throws Exception {
        try (EbsClient client = EbsClients.ebs(own.server(), REGION)) {
            String id = startAndWrite(client, null, 101, i -> i);
            String token =
                    client.listSnapshotBlocks(r -> r.snapshotId(id).maxResults(100)).nextToken();
            String changedToken =
                    client.listChangedBlocks(r -> r.secondSnapshotId(id).maxResults(100))
                            .nextToken();
            assertThat(token).isNotNull();
            assertThat(changedToken).isNotNull();

            own.clock().advance(Duration.ofHours(2));

            var e =
                    validation(
                            () ->
                                    client.listSnapshotBlocks(
                                            r -> r.snapshotId(id).nextToken(token)));
            assertThat(e.statusCode()).isEqualTo(400);
            assertThat(e.reason()).isEqualTo(ValidationExceptionReason.INVALID_PAGE_TOKEN);
            var c =
                    validation(
                            () ->
                                    client.listChangedBlocks(
                                            r -> r.secondSnapshotId(id).nextToken(changedToken)));
            assertThat(c.reason()).isEqualTo(ValidationExceptionReason.INVALID_PAGE_TOKEN);

            // Listing again from a StartingBlockIndex still works, with fresh tokens.
            var again = client.listSnapshotBlocks(r -> r.snapshotId(id).startingBlockIndex(100));
            assertThat(indexes(again)).containsExactly(100);
        }
    }

    @Test
    void everyListedIndexIsDistinctAcrossPages() {
        Set<Integer> seen = new HashSet<>();
        for (int[] i : EbsClients.listAllIndexes(ebs, s10001, 3000)) {
            assertThat(seen.add(i[0])).as("index %d listed once", i[0]).isTrue();
        }
        assertThat(seen).hasSize(10_001);
    }
}
