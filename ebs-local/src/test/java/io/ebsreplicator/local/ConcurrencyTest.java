package io.ebsreplicator.local;

import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Digest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.services.ebs.EbsAsyncClient;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.Block;
import software.amazon.awssdk.services.ebs.model.ChangedBlock;
import software.amazon.awssdk.services.ebs.model.ChecksumAggregationMethod;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.ebs.model.Status;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** Many concurrent writers on one snapshot, through the sync and the async SDK client. */
class ConcurrencyTest {

    private static final String REGION = "us-east-1";
    private static final int WRITERS = 32;
    private static final int PER_WRITER = 16;
    private static final int BLOCKS = WRITERS * PER_WRITER;

    @RegisterExtension
    final EbsLocalExtension ebsLocal =
            EbsLocalExtension.builder().configure(b -> b.sealDelay(Duration.ZERO)).build();

    private static final byte[] BASE = EbsClients.block(77);

    /** A distinct content per block index (and per variant), cheap to regenerate. */
    private static byte[] content(int index, int variant) {
        byte[] b = BASE.clone();
        ByteBuffer buf = ByteBuffer.wrap(b);
        for (int off = 0; off < b.length; off += 64 * 1024) {
            buf.putInt(off, index);
            buf.putInt(off + 4, variant);
        }
        return b;
    }

    /**
     * Block index of writer {@code w}'s {@code k}-th block: writers interleave across the volume.
     */
    private static int index(int w, int k) {
        return k * WRITERS * 3 + w * 3;
    }

    private static List<Integer> allIndexes() {
        List<Integer> out = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            for (int k = 0; k < PER_WRITER; k++) {
                out.add(index(w, k));
            }
        }
        Collections.sort(out);
        return out;
    }

    @Test
    void thirtyTwoWritersOnOneSnapshotWithOneSharedClient() throws Exception {
        try (EbsClient ebs = EbsClients.ebs(ebsLocal.server(), REGION)) {
            writeCompleteAndReadBack(ebs, w -> ebs);
        }
    }

    @Test
    void thirtyTwoClientsOnOneSnapshot() throws Exception {
        List<EbsClient> clients = new ArrayList<>();
        try {
            for (int w = 0; w < WRITERS; w++) {
                clients.add(EbsClients.ebs(ebsLocal.server(), REGION));
            }
            writeCompleteAndReadBack(clients.get(0), clients::get);
        } finally {
            clients.forEach(EbsClient::close);
        }
    }

    /**
     * 32 writers start together, each writing 16 distinct blocks interleaved with the others'; then
     * the snapshot is completed with the LINEAR checksum and every block read back.
     */
    private void writeCompleteAndReadBack(EbsClient ebs, IntFunction<EbsClient> clientOfWriter)
            throws Exception {
        String id = EbsClients.start(ebs, 1, null).snapshotId();
        ExecutorService pool = Executors.newFixedThreadPool(WRITERS);
        CountDownLatch go = new CountDownLatch(1);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int w = 0; w < WRITERS; w++) {
                int writer = w;
                EbsClient client = clientOfWriter.apply(w);
                futures.add(
                        pool.submit(
                                () -> {
                                    go.await();
                                    for (int k = 0; k < PER_WRITER; k++) {
                                        int idx = index(writer, k);
                                        byte[] data = content(idx, 0);
                                        var r = EbsClients.put(client, id, idx, data);
                                        assertThat(r.checksum()).isEqualTo(EbsClients.sha256(data));
                                        assertThat(r.checksumAlgorithm())
                                                .isEqualTo(ChecksumAlgorithm.SHA256);
                                    }
                                    return null;
                                }));
            }
            go.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<Integer> indexes = allIndexes();
        assertThat(indexes).hasSize(BLOCKS).doesNotHaveDuplicates();
        assertThat(ebsLocal.service().snapshot(REGION, id).ownBlockCount()).isEqualTo(BLOCKS);
        assertThat(ebsLocal.service().snapshot(REGION, id).putRequestsAccepted()).isEqualTo(BLOCKS);

        var done = EbsClients.complete(ebs, id, indexes.stream().map(i -> content(i, 0)).toList());
        assertThat(done.sdkHttpResponse().statusCode()).isEqualTo(202);
        assertThat(done.status()).isIn(Status.PENDING, Status.COMPLETED);
        try (var ec2 = EbsClients.ec2(ebsLocal.server(), REGION)) {
            EbsClients.awaitCompleted(ec2, id);
        }
        SortedMap<Integer, Digest> digests = ebsLocal.service().blocksOf(REGION, id);
        assertThat(digests.keySet()).containsExactlyElementsOf(indexes);

        // Read every block back, concurrently, byte-identical.
        Map<Integer, String> tokens = new ConcurrentHashMap<>();
        String next = null;
        do {
            String t = next;
            var page = ebs.listSnapshotBlocks(r -> r.snapshotId(id).maxResults(100).nextToken(t));
            page.blocks().forEach(b -> tokens.put(b.blockIndex(), b.blockToken()));
            next = page.nextToken();
        } while (next != null);
        assertThat(tokens.keySet()).containsExactlyInAnyOrderElementsOf(indexes);

        ExecutorService readers = Executors.newFixedThreadPool(16);
        try {
            List<Future<?>> reads = new ArrayList<>();
            for (int i : indexes) {
                reads.add(
                        readers.submit(
                                () -> {
                                    byte[] got = EbsClients.get(ebs, id, i, tokens.get(i));
                                    assertThat(got).as("block %d", i).isEqualTo(content(i, 0));
                                    return null;
                                }));
            }
            for (Future<?> f : reads) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            readers.shutdownNow();
        }
    }

    @Test
    void asyncClientCoversEveryOperation() throws Exception {
        try (EbsAsyncClient async = EbsClients.ebsAsync(ebsLocal.server(), REGION)) {
            // StartSnapshot: a parent, then a child.
            String parent =
                    async.startSnapshot(r -> r.volumeSize(1L).timeout(60))
                            .get(30, TimeUnit.SECONDS)
                            .snapshotId();
            byte[] p0 = content(0, 9);
            async.putSnapshotBlock(
                            r ->
                                    r.snapshotId(parent)
                                            .blockIndex(0)
                                            .dataLength(p0.length)
                                            .checksum(EbsClients.sha256(p0))
                                            .checksumAlgorithm(ChecksumAlgorithm.SHA256),
                            AsyncRequestBody.fromBytes(p0))
                    .get(30, TimeUnit.SECONDS);
            var parentDone =
                    async.completeSnapshot(
                                    r ->
                                            r.snapshotId(parent)
                                                    .changedBlocksCount(1)
                                                    .checksum(EbsClients.linear(List.of(p0)))
                                                    .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                                    .checksumAggregationMethod(
                                                            ChecksumAggregationMethod.LINEAR))
                            .get(30, TimeUnit.SECONDS);
            assertThat(parentDone.status()).isEqualTo(Status.COMPLETED);

            String id =
                    async.startSnapshot(r -> r.volumeSize(1L).parentSnapshotId(parent).timeout(60))
                            .get(30, TimeUnit.SECONDS)
                            .snapshotId();

            // PutSnapshotBlock: 512 blocks from 32 concurrent streams.
            List<Integer> indexes = allIndexes();
            Semaphore inFlight = new Semaphore(WRITERS);
            List<CompletableFuture<?>> puts = new ArrayList<>();
            for (int idx : indexes) {
                byte[] data = content(idx, 1);
                inFlight.acquire();
                puts.add(
                        async.putSnapshotBlock(
                                        r ->
                                                r.snapshotId(id)
                                                        .blockIndex(idx)
                                                        .dataLength(data.length)
                                                        .checksum(EbsClients.sha256(data))
                                                        .checksumAlgorithm(
                                                                ChecksumAlgorithm.SHA256),
                                        AsyncRequestBody.fromBytes(data))
                                .whenComplete((r, e) -> inFlight.release())
                                .thenAccept(
                                        r ->
                                                assertThat(r.checksum())
                                                        .isEqualTo(EbsClients.sha256(data))));
            }
            CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new))
                    .get(60, TimeUnit.SECONDS);

            // CompleteSnapshot with the LINEAR aggregate of the child's own writes.
            var done =
                    async.completeSnapshot(
                                    r ->
                                            r.snapshotId(id)
                                                    .changedBlocksCount(BLOCKS)
                                                    .checksum(
                                                            EbsClients.linear(
                                                                    indexes.stream()
                                                                            .map(i -> content(i, 1))
                                                                            .toList()))
                                                    .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                                    .checksumAggregationMethod(
                                                            ChecksumAggregationMethod.LINEAR))
                            .get(30, TimeUnit.SECONDS);
            assertThat(done.sdkHttpResponse().statusCode()).isEqualTo(202);
            assertThat(done.status()).isEqualTo(Status.COMPLETED);

            // ListSnapshotBlocks: the child's blocks (index 0 overwritten by the child).
            List<Block> blocks = new ArrayList<>();
            String next = null;
            do {
                String t = next;
                var page =
                        async.listSnapshotBlocks(r -> r.snapshotId(id).maxResults(200).nextToken(t))
                                .get(30, TimeUnit.SECONDS);
                blocks.addAll(page.blocks());
                next = page.nextToken();
            } while (next != null);
            assertThat(blocks).extracting(Block::blockIndex).containsExactlyElementsOf(indexes);

            // GetSnapshotBlock: every block, byte-identical, 32 at a time.
            Semaphore reading = new Semaphore(WRITERS);
            List<CompletableFuture<?>> gets = new ArrayList<>();
            for (Block b : blocks) {
                reading.acquire();
                gets.add(
                        async.getSnapshotBlock(
                                        r ->
                                                r.snapshotId(id)
                                                        .blockIndex(b.blockIndex())
                                                        .blockToken(b.blockToken()),
                                        AsyncResponseTransformer.toBytes())
                                .whenComplete((r, e) -> reading.release())
                                .thenAccept(
                                        r -> {
                                            assertThat(r.asByteArray())
                                                    .as("block %d", b.blockIndex())
                                                    .isEqualTo(content(b.blockIndex(), 1));
                                            assertThat(r.response().checksum())
                                                    .isEqualTo(
                                                            EbsClients.sha256(
                                                                    content(b.blockIndex(), 1)));
                                            assertThat(r.response().dataLength())
                                                    .isEqualTo(EbsClients.BLOCK);
                                        }));
            }
            CompletableFuture.allOf(gets.toArray(CompletableFuture[]::new))
                    .get(60, TimeUnit.SECONDS);

            // ListChangedBlocks: parent -> child are the child's writes; block 0 on both sides.
            List<ChangedBlock> changed = new ArrayList<>();
            next = null;
            do {
                String t = next;
                var page =
                        async.listChangedBlocks(
                                        r ->
                                                r.firstSnapshotId(parent)
                                                        .secondSnapshotId(id)
                                                        .nextToken(t))
                                .get(30, TimeUnit.SECONDS);
                changed.addAll(page.changedBlocks());
                next = page.nextToken();
            } while (next != null);
            assertThat(changed)
                    .extracting(ChangedBlock::blockIndex)
                    .containsExactlyElementsOf(indexes);
            ChangedBlock zero = changed.get(0);
            assertThat(zero.blockIndex()).isZero();
            assertThat(zero.firstBlockToken()).isNotNull();
            byte[] old =
                    async.getSnapshotBlock(
                                    r ->
                                            r.snapshotId(parent)
                                                    .blockIndex(0)
                                                    .blockToken(zero.firstBlockToken()),
                                    AsyncResponseTransformer.toBytes())
                            .get(30, TimeUnit.SECONDS)
                            .asByteArray();
            assertThat(old).isEqualTo(p0);
            assertThat(changed.subList(1, changed.size()))
                    .allSatisfy(c -> assertThat(c.firstBlockToken()).isNull());
            assertThat(IntStream.range(0, changed.size()))
                    .allSatisfy(i -> assertThat(changed.get(i).secondBlockToken()).isNotNull());
        }
    }
}
