package io.ebsreplicator.local;

import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Digest;
import io.ebsreplicator.local.service.Quotas;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.Block;
import software.amazon.awssdk.services.ebs.model.ChangedBlock;
import software.amazon.awssdk.services.ebs.model.ListChangedBlocksResponse;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.services.ebs.model.ValidationExceptionReason;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A four-generation lineage (a full snapshot and three incremental children, one of them writing a
 * zero-filled block over data), a sibling branch and an unrelated lineage. Every generation must
 * read back exactly the modelled volume, and ListChangedBlocks between any two of them must report
 * exactly the writes on the path between them.
 */
class LineageTest {

    private static final String REGION = "us-east-1";

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(b -> b.sealDelay(Duration.ZERO).quotas(Quotas.unlimited()))
                    .build();

    private static final byte[] ZERO = new byte[EbsClients.BLOCK];

    private static EbsClient ebs;

    /** Snapshot ids of generations 0..3. */
    private static final List<String> gen = new ArrayList<>();

    /** Expected full volume content of each generation. */
    private static final List<Map<Integer, byte[]>> volume = new ArrayList<>();

    /** Indexes written by each generation itself. */
    private static final List<Set<Integer>> writes = new ArrayList<>();

    private static String sibling; // second child of generation 1
    private static Map<Integer, byte[]> siblingVolume;
    private static Set<Integer> siblingWrites;

    private static String otherRoot; // an unrelated lineage
    private static String otherChild;

    /** Every content written to this server, by checksum; and how many PutSnapshotBlocks. */
    private static final Set<String> distinctContents = new HashSet<>();

    private static int puts;

    @BeforeAll
    static void buildLineages() {
        ebs = EbsClients.ebs(EBS.server(), REGION);

        // Generation 0: a full snapshot of blocks 0..39.
        Map<Integer, byte[]> w0 = new TreeMap<>();
        for (int i = 0; i < 40; i++) {
            w0.put(i, EbsClients.block(1000 + i));
        }
        addGeneration(null, w0);

        // Generation 1: overwrite 0..9, add 100..109.
        Map<Integer, byte[]> w1 = new TreeMap<>();
        for (int i = 0; i < 10; i++) {
            w1.put(i, EbsClients.block(2000 + i));
        }
        for (int i = 100; i < 110; i++) {
            w1.put(i, EbsClients.block(2000 + i));
        }
        addGeneration(gen.get(0), w1);

        // Generation 2: overwrite 5..14 (half of them gen 1's), zero-fill block 20 (gen 0 data),
        // add 200..204.
        Map<Integer, byte[]> w2 = new TreeMap<>();
        for (int i = 5; i < 15; i++) {
            w2.put(i, EbsClients.block(3000 + i));
        }
        w2.put(20, ZERO);
        for (int i = 200; i < 205; i++) {
            w2.put(i, EbsClients.block(3000 + i));
        }
        addGeneration(gen.get(1), w2);

        // Generation 3: overwrite gen 1's new blocks 100..104, rewrite block 30 with the content
        // it already has (still a change), write gen 0's content of block 1 at index 300, add
        // 301 and a zero-filled 302.
        Map<Integer, byte[]> w3 = new TreeMap<>();
        for (int i = 100; i < 105; i++) {
            w3.put(i, EbsClients.block(4000 + i));
        }
        w3.put(30, EbsClients.block(1000 + 30));
        w3.put(300, EbsClients.block(1000 + 1));
        w3.put(301, EbsClients.block(4301));
        w3.put(302, ZERO);
        addGeneration(gen.get(2), w3);

        // A sibling of generation 2: a second child of generation 1.
        Map<Integer, byte[]> ws = new TreeMap<>();
        ws.put(0, EbsClients.block(5000));
        ws.put(6, EbsClients.block(5006));
        ws.put(20, EbsClients.block(5020));
        ws.put(400, EbsClients.block(5400));
        ws.put(401, EbsClients.block(1000 + 2)); // content that exists in generation 0
        siblingVolume = new TreeMap<>(volume.get(1));
        siblingVolume.putAll(ws);
        siblingWrites = new TreeSet<>(ws.keySet());
        sibling = writeAndComplete(gen.get(1), ws);

        // An unrelated lineage whose blocks reuse contents of the first one.
        Map<Integer, byte[]> wo = new TreeMap<>();
        wo.put(0, EbsClients.block(1000));
        wo.put(1, EbsClients.block(2001));
        otherRoot = writeAndComplete(null, wo);
        otherChild = writeAndComplete(otherRoot, Map.of(2, EbsClients.block(6002)));
    }

    @AfterAll
    static void close() {
        if (ebs != null) {
            ebs.close();
        }
    }

    private static void addGeneration(String parent, Map<Integer, byte[]> w) {
        Map<Integer, byte[]> v = new TreeMap<>(volume.isEmpty() ? Map.of() : last(volume));
        v.putAll(w);
        volume.add(v);
        writes.add(new TreeSet<>(w.keySet()));
        gen.add(writeAndComplete(parent, w));
    }

    private static <T> T last(List<T> list) {
        return list.get(list.size() - 1);
    }

    /** Starts a 1 GiB snapshot, writes the blocks in descending order, completes with LINEAR. */
    private static String writeAndComplete(String parent, Map<Integer, byte[]> w) {
        String id = EbsClients.start(ebs, 1, parent).snapshotId();
        List<Integer> order = new ArrayList<>(w.keySet());
        java.util.Collections.reverse(order);
        for (int i : order) {
            EbsClients.put(ebs, id, i, w.get(i));
            distinctContents.add(EbsClients.sha256(w.get(i)));
            puts++;
        }
        var status = EbsClients.complete(ebs, id, new ArrayList<>(w.values()));
        assertThat(status.sdkHttpResponse().statusCode()).isEqualTo(202);
        assertThat(status.statusAsString()).isEqualTo("completed"); // seal delay zero
        return id;
    }

    /** The whole volume of a snapshot, read through ListSnapshotBlocks and GetSnapshotBlock. */
    private static Map<Integer, byte[]> readVolume(String snapshotId) {
        Map<Integer, byte[]> out = new TreeMap<>();
        String next = null;
        do {
            String token = next;
            var page = ebs.listSnapshotBlocks(r -> r.snapshotId(snapshotId).nextToken(token));
            for (Block b : page.blocks()) {
                out.put(
                        b.blockIndex(),
                        EbsClients.get(ebs, snapshotId, b.blockIndex(), b.blockToken()));
            }
            next = page.nextToken();
        } while (next != null);
        return out;
    }

    private static List<ChangedBlock> changes(String first, String second) {
        List<ChangedBlock> out = new ArrayList<>();
        String next = null;
        do {
            String token = next;
            ListChangedBlocksResponse page =
                    ebs.listChangedBlocks(
                            r ->
                                    r.firstSnapshotId(first)
                                            .secondSnapshotId(second)
                                            .maxResults(100)
                                            .nextToken(token));
            out.addAll(page.changedBlocks());
            next = page.nextToken();
        } while (next != null);
        return out;
    }

    private static void assertSameVolume(
            Map<Integer, byte[]> actual, Map<Integer, byte[]> expected) {
        assertThat(actual.keySet()).isEqualTo(expected.keySet());
        for (var e : expected.entrySet()) {
            assertThat(actual.get(e.getKey())).as("block %d", e.getKey()).isEqualTo(e.getValue());
        }
    }

    /**
     * Checks one ListChangedBlocks answer: exactly {@code expectedIndexes}, ascending, with tokens
     * exactly where each side has data, and every token reading back that side's content.
     */
    private static void assertChanges(
            String first,
            Map<Integer, byte[]> firstVolume,
            String second,
            Map<Integer, byte[]> secondVolume,
            Set<Integer> expectedIndexes) {
        List<ChangedBlock> changes = changes(first, second);
        assertThat(changes)
                .extracting(ChangedBlock::blockIndex)
                .as("changed blocks %s -> %s", first, second)
                .containsExactlyElementsOf(new TreeSet<>(expectedIndexes));
        for (ChangedBlock c : changes) {
            int i = c.blockIndex();
            if (firstVolume.containsKey(i)) {
                assertThat(c.firstBlockToken()).as("FirstBlockToken of %d", i).isNotNull();
                assertThat(EbsClients.get(ebs, first, i, c.firstBlockToken()))
                        .as("first content of %d", i)
                        .isEqualTo(firstVolume.get(i));
            } else {
                assertThat(c.firstBlockToken()).as("FirstBlockToken of %d", i).isNull();
            }
            if (secondVolume.containsKey(i)) {
                assertThat(c.secondBlockToken()).as("SecondBlockToken of %d", i).isNotNull();
                assertThat(EbsClients.get(ebs, second, i, c.secondBlockToken()))
                        .as("second content of %d", i)
                        .isEqualTo(secondVolume.get(i));
            } else {
                assertThat(c.secondBlockToken()).as("SecondBlockToken of %d", i).isNull();
            }
        }
    }

    // ------------------------------------------------------------------ tests

    @Test
    void everyGenerationReadsBackTheExpectedVolume() {
        for (int g = 0; g < gen.size(); g++) {
            assertSameVolume(readVolume(gen.get(g)), volume.get(g));
        }
        assertSameVolume(readVolume(sibling), siblingVolume);
        // The zero-filled block is data, not a hole: generation 2 lists it and reads zeros.
        assertThat(volume.get(2).get(20)).isEqualTo(ZERO);
        assertThat(volume.get(1).get(20)).isNotEqualTo(ZERO);
    }

    @Test
    void serviceDigestsMatchTheModel() {
        for (int g = 0; g < gen.size(); g++) {
            SortedMap<Integer, Digest> digests = EBS.service().blocksOf(REGION, gen.get(g));
            assertThat(digests.keySet()).isEqualTo(volume.get(g).keySet());
            for (var e : volume.get(g).entrySet()) {
                assertThat(digests.get(e.getKey()).base64())
                        .as("gen %d block %d", g, e.getKey())
                        .isEqualTo(EbsClients.sha256(e.getValue()));
            }
        }
    }

    @Test
    void changedBlocksBetweenEveryPairAreTheWritesInBetween() {
        for (int i = 0; i < gen.size(); i++) {
            for (int j = i + 1; j < gen.size(); j++) {
                Set<Integer> expected = new TreeSet<>();
                for (int k = i + 1; k <= j; k++) {
                    expected.addAll(writes.get(k));
                }
                assertChanges(gen.get(i), volume.get(i), gen.get(j), volume.get(j), expected);
            }
        }
    }

    @Test
    void changedBlocksInReversedOrder() {
        for (int i = 0; i < gen.size(); i++) {
            for (int j = i + 1; j < gen.size(); j++) {
                Set<Integer> expected = new TreeSet<>();
                for (int k = i + 1; k <= j; k++) {
                    expected.addAll(writes.get(k));
                }
                // first is the newer one now
                assertChanges(gen.get(j), volume.get(j), gen.get(i), volume.get(i), expected);
            }
        }
    }

    @Test
    void siblingsListTheUnionOfTheirWrites() {
        Set<Integer> expected = new TreeSet<>(writes.get(2));
        expected.addAll(siblingWrites);
        assertChanges(gen.get(2), volume.get(2), sibling, siblingVolume, expected);
        assertChanges(sibling, siblingVolume, gen.get(2), volume.get(2), expected);

        Set<Integer> toGen3 = new TreeSet<>(expected);
        toGen3.addAll(writes.get(3));
        assertChanges(sibling, siblingVolume, gen.get(3), volume.get(3), toGen3);

        // The parent of both: only the sibling's own writes.
        assertChanges(gen.get(1), volume.get(1), sibling, siblingVolume, siblingWrites);
        // Across the common ancestor's parent: gen 1's and the sibling's writes.
        Set<Integer> fromGen0 = new TreeSet<>(writes.get(1));
        fromGen0.addAll(siblingWrites);
        assertChanges(gen.get(0), volume.get(0), sibling, siblingVolume, fromGen0);
    }

    @Test
    void withoutFirstSnapshotEveryBlockOfTheSecondIsListed() {
        for (int g = 0; g < gen.size(); g++) {
            String id = gen.get(g);
            List<ChangedBlock> all = changes(null, id);
            assertThat(all)
                    .extracting(ChangedBlock::blockIndex)
                    .containsExactlyElementsOf(volume.get(g).keySet());
            for (ChangedBlock c : all) {
                assertThat(c.firstBlockToken()).isNull();
                assertThat(EbsClients.get(ebs, id, c.blockIndex(), c.secondBlockToken()))
                        .as("gen %d block %d", g, c.blockIndex())
                        .isEqualTo(volume.get(g).get(c.blockIndex()));
            }
        }
    }

    @Test
    void aSnapshotOfAnotherLineageIsUnrelated() {
        for (String[] pair :
                new String[][] {
                    {otherRoot, gen.get(3)},
                    {gen.get(0), otherRoot},
                    {otherChild, sibling},
                    {gen.get(2), otherChild}
                }) {
            try {
                ebs.listChangedBlocks(r -> r.firstSnapshotId(pair[0]).secondSnapshotId(pair[1]));
                throw new AssertionError("expected UNRELATED_SNAPSHOTS for " + List.of(pair));
            } catch (ValidationException e) {
                assertThat(e.statusCode()).isEqualTo(400);
                assertThat(e.reason()).isEqualTo(ValidationExceptionReason.UNRELATED_SNAPSHOTS);
            }
        }
        // Within the other lineage it works.
        assertChanges(
                otherRoot,
                Map.of(0, EbsClients.block(1000), 1, EbsClients.block(2001)),
                otherChild,
                Map.of(
                        0,
                        EbsClients.block(1000),
                        1,
                        EbsClients.block(2001),
                        2,
                        EbsClients.block(6002)),
                Set.of(2));
    }

    @Test
    void eachDistinctContentIsStoredOnce() {
        assertThat(puts).isGreaterThan(distinctContents.size());
        assertThat(EBS.service().storedBlockCount()).isEqualTo(distinctContents.size());
        // Every generation still holds all its blocks: the reuse is in the store only.
        assertThat(EBS.service().snapshot(REGION, gen.get(3)).ownBlockCount())
                .isEqualTo(writes.get(3).size());
    }
}
