package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException.Kind;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.fault.FaultInjector.Disruption;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Quotas;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.Tag;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.lang.ref.WeakReference;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * {@link SdkEbsProxy} with the real AWS SDK over HTTP against an in-process ebs-local (one server
 * for the class, one more with tight quotas for the throttling test). Runs in the test JVM.
 */
class SdkEbsProxyTest {

    private static final String REGION = "us-east-1";
    private static final int BLOCK = 512 * 1024;
    private static final AccessKey OTHER =
            new AccessKey("AKIAOTHER00000000000", "other-secret", "444455556666");

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(
                            b -> b.sealDelay(Duration.ZERO).addKey(AccessKey.DEFAULT).addKey(OTHER))
                    .build();

    /** PutSnapshotBlock at 20/s per account and per snapshot, so that 100 puts must be paced. */
    @RegisterExtension
    static final EbsLocalExtension TIGHT =
            EbsLocalExtension.builder()
                    .configure(
                            b ->
                                    b.sealDelay(Duration.ZERO)
                                            .quotas(
                                                    new Quotas(
                                                            true, 1000, 1000, 20, 20, 50, 50, 10,
                                                            10, 100)))
                    .build();

    /** No quotas: room for more pending snapshots than one account may hold. */
    @RegisterExtension
    static final EbsLocalExtension MANY =
            EbsLocalExtension.builder()
                    .configure(b -> b.sealDelay(Duration.ZERO).quotas(Quotas.unlimited()))
                    .build();

    // ------------------------------------------------------------------ round trips

    @Test
    void everyOperationRoundTrips() throws Exception {
        try (SdkEbsProxy proxy = proxy(EBS, config(EBS)).build()) {
            StartSnapshotSpec spec =
                    new StartSnapshotSpec(
                            1,
                            null,
                            UUID.randomUUID().toString(),
                            "copy of snap-1",
                            Map.of("team", "storage", "copy-of", "snap-1"),
                            null,
                            null,
                            30);
            StartedSnapshot started = proxy.startSnapshot(spec);
            assertThat(started.snapshotId()).startsWith("snap-");
            assertThat(started.status()).isEqualTo("pending");
            assertThat(started.volumeSizeGib()).isEqualTo(1);
            Snapshot stored = EBS.service().snapshot(REGION, started.snapshotId());
            assertThat(stored.description()).isEqualTo("copy of snap-1");
            assertThat(stored.tags())
                    .containsExactlyInAnyOrder(
                            new Tag("team", "storage"), new Tag("copy-of", "snap-1"));
            assertThat(stored.encrypted()).isFalse();

            TreeMap<Integer, byte[]> blocks = new TreeMap<>();
            for (int index : new int[] {0, 5, 2047}) {
                blocks.put(index, block(index));
            }
            writeAndComplete(proxy, started.snapshotId(), blocks);
            SnapshotDescription described = awaitCompleted(proxy, started.snapshotId());
            assertThat(described.volumeSizeGib()).isEqualTo(1);

            BlockListing listing = proxy.listSnapshotBlocks(started.snapshotId(), 0, null, 100);
            assertThat(listing.blocks())
                    .extracting(ListedBlock::blockIndex)
                    .containsExactly(0, 5, 2047);
            assertThat(listing.nextToken()).isNull();
            assertThat(listing.volumeSizeGib()).isEqualTo(1);
            assertThat(listing.expiryTime()).isAfter(Instant.now());
            for (ListedBlock listed : listing.blocks()) {
                FetchedBlock fetched =
                        proxy.getBlock(
                                        started.snapshotId(),
                                        listed.blockIndex(),
                                        listed.blockToken())
                                .get(10, TimeUnit.SECONDS);
                byte[] expected = blocks.get(listed.blockIndex());
                assertThat(fetched.data().toArray()).isEqualTo(expected);
                // Read into 128 KiB chunks, never one 512 KiB array.
                assertThat(fetched.data().chunkCount()).isEqualTo(4);
                assertThat(fetched.checksumBase64()).isEqualTo(sha256(expected));
            }

            // An incremental child: ListChangedBlocks gives the child's tokens for what differs.
            StartedSnapshot child =
                    proxy.startSnapshot(
                            new StartSnapshotSpec(
                                    1,
                                    started.snapshotId(),
                                    UUID.randomUUID().toString(),
                                    null,
                                    Map.of(),
                                    null,
                                    null,
                                    30));
            TreeMap<Integer, byte[]> changes = new TreeMap<>();
            changes.put(5, block(500));
            changes.put(7, block(7));
            writeAndComplete(proxy, child.snapshotId(), changes);
            awaitCompleted(proxy, child.snapshotId());
            BlockListing changed =
                    proxy.listChangedBlocks(started.snapshotId(), child.snapshotId(), 0, null, 100);
            assertThat(changed.blocks()).extracting(ListedBlock::blockIndex).containsExactly(5, 7);
            FetchedBlock five =
                    proxy.getBlock(child.snapshotId(), 5, changed.blocks().get(0).blockToken())
                            .get(10, TimeUnit.SECONDS);
            assertThat(five.data().toArray()).isEqualTo(changes.get(5));
        }
    }

    @Test
    void finishedReadsAndWritesLeaveNoBlockBehind() throws Exception {
        try (SdkEbsProxy proxy = proxy(EBS, config(EBS)).build()) {
            assertFinishedRequestsLeaveNoBlockBehind(proxy);
        }
    }

    /**
     * Writes and reads 8 blocks at once, then checks that nothing the proxy keeps (it and its
     * pooled connections are still open) holds any of them. A pooled connection keeps what it knows
     * of its last request until its next one: that must not include the block, or every idle
     * connection holds 512 KiB. Also run over HTTPS by {@link TlsProxyTest}.
     */
    static void assertFinishedRequestsLeaveNoBlockBehind(EbsProxy proxy) throws Exception {
        String id = proxy.startSnapshot(spec(1, null)).snapshotId();
        TreeMap<Integer, byte[]> blocks = new TreeMap<>();
        for (int i = 0; i < 8; i++) {
            blocks.put(i, block(2000 + i));
        }
        // Checked before reading: the reads would reuse the connections and so drop what they
        // kept of the writes.
        List<WeakReference<Object>> written = writeWeakly(proxy, id, blocks);
        awaitCleared(written);
        assertThat(written).as("blocks written").allMatch(r -> r.get() == null);

        proxy.completeSnapshot(id, blocks.size(), linear(new ArrayList<>(blocks.values())));
        awaitCompleted(proxy, id);
        List<WeakReference<Object>> read = readWeakly(proxy, id, blocks);
        awaitCleared(read);
        assertThat(read).as("blocks read").allMatch(r -> r.get() == null);
    }

    private static void awaitCleared(List<WeakReference<Object>> refs) throws InterruptedException {
        for (int i = 0; i < 20 && refs.stream().anyMatch(r -> r.get() != null); i++) {
            System.gc();
            Thread.sleep(50);
        }
    }

    /** Weak references to a block and to each array it is held in. */
    static List<WeakReference<Object>> weakly(BlockBytes b) {
        List<WeakReference<Object>> out = new ArrayList<>();
        out.add(new WeakReference<>(b));
        for (int i = 0; i < b.chunkCount(); i++) {
            out.add(new WeakReference<>(b.backingArray(i)));
        }
        return out;
    }

    /** Puts each block, all at once, and returns weak references to what was put. */
    private static List<WeakReference<Object>> writeWeakly(
            EbsProxy proxy, String id, TreeMap<Integer, byte[]> blocks) throws Exception {
        List<WeakReference<Object>> out = new ArrayList<>();
        List<CompletableFuture<Void>> puts = new ArrayList<>();
        blocks.forEach(
                (index, data) -> {
                    BlockBytes b = BlockBytes.copyOf(data);
                    out.addAll(weakly(b));
                    puts.add(proxy.putBlock(id, index, b, sha256(data)));
                });
        CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        return out;
    }

    /** Gets each block, all at once, checks it and returns weak references to what was read. */
    private static List<WeakReference<Object>> readWeakly(
            EbsProxy proxy, String id, TreeMap<Integer, byte[]> blocks) throws Exception {
        Map<Integer, CompletableFuture<FetchedBlock>> gets = new TreeMap<>();
        for (ListedBlock b : proxy.listSnapshotBlocks(id, 0, null, 100).blocks()) {
            gets.put(b.blockIndex(), proxy.getBlock(id, b.blockIndex(), b.blockToken()));
        }
        assertThat(gets.keySet()).isEqualTo(blocks.keySet());
        List<WeakReference<Object>> out = new ArrayList<>();
        for (Map.Entry<Integer, CompletableFuture<FetchedBlock>> e : gets.entrySet()) {
            BlockBytes data = e.getValue().get(30, TimeUnit.SECONDS).data();
            assertThat(data.contentEquals(blocks.get(e.getKey()))).isTrue();
            out.addAll(weakly(data));
        }
        return out;
    }

    @Test
    void bothListingsPageByNextTokenAndByStartingBlockIndex() throws Exception {
        try (SdkEbsProxy proxy = proxy(EBS, config(EBS)).build()) {
            String id = proxy.startSnapshot(spec(1, null)).snapshotId();
            // 130 blocks at every third index: two pages of 100, with gaps to skip.
            byte[] data = block(1);
            TreeMap<Integer, byte[]> blocks = new TreeMap<>();
            for (int i = 0; i < 130; i++) {
                blocks.put(i * 3, data);
            }
            writeAndComplete(proxy, id, blocks);
            awaitCompleted(proxy, id);
            // Empty pages that still carry a NextToken, as EBS gives over sparse ranges.
            EBS.setFaults(
                    FaultProfile.builder()
                            .emptyPageRate(0.3)
                            .seed(11)
                            .operations(
                                    Operation.LIST_SNAPSHOT_BLOCKS, Operation.LIST_CHANGED_BLOCKS)
                            .build());
            int[] emptyPages = {0};

            List<Integer> byToken = new ArrayList<>();
            String token = null;
            int pages = 0;
            do {
                BlockListing page = proxy.listSnapshotBlocks(id, 0, token, 100);
                assertThat(page.blocks().size()).isLessThanOrEqualTo(100);
                page.blocks().forEach(b -> byToken.add(b.blockIndex()));
                emptyPages[0] += page.blocks().isEmpty() ? 1 : 0;
                token = page.nextToken();
                pages++;
            } while (token != null);
            assertThat(byToken).containsExactlyElementsOf(blocks.keySet());
            assertThat(pages).isGreaterThanOrEqualTo(2);

            // 301 holds no data: the listing starts at the next index that does.
            List<Integer> fromIndex = new ArrayList<>();
            token = null;
            do {
                BlockListing page = proxy.listSnapshotBlocks(id, 301, token, 100);
                page.blocks().forEach(b -> fromIndex.add(b.blockIndex()));
                emptyPages[0] += page.blocks().isEmpty() ? 1 : 0;
                token = page.nextToken();
            } while (token != null);
            assertThat(fromIndex).containsExactlyElementsOf(blocks.tailMap(301).keySet());
            assertThat(fromIndex.get(0)).isEqualTo(303);

            // ListChangedBlocks without a first snapshot lists every block of the second.
            List<Integer> changed = new ArrayList<>();
            token = null;
            do {
                BlockListing page = proxy.listChangedBlocks(null, id, 0, token, 100);
                page.blocks().forEach(b -> changed.add(b.blockIndex()));
                assertThat(page.blocks()).allSatisfy(b -> assertThat(b.blockToken()).isNotNull());
                emptyPages[0] += page.blocks().isEmpty() ? 1 : 0;
                token = page.nextToken();
            } while (token != null);
            assertThat(changed).containsExactlyElementsOf(blocks.keySet());

            List<Integer> changedFrom = new ArrayList<>();
            token = null;
            do {
                BlockListing page = proxy.listChangedBlocks(null, id, 100, token, 100);
                page.blocks().forEach(b -> changedFrom.add(b.blockIndex()));
                emptyPages[0] += page.blocks().isEmpty() ? 1 : 0;
                token = page.nextToken();
            } while (token != null);
            assertThat(changedFrom).containsExactlyElementsOf(blocks.tailMap(100).keySet());
            // The loops were exercised across empty pages, not only full ones.
            assertThat(emptyPages[0]).isPositive();
        }
    }

    @Test
    void describeOfAMissingSnapshotIsNull() {
        try (SdkEbsProxy proxy = proxy(EBS, config(EBS)).build()) {
            assertThat(proxy.describeSnapshot("snap-00000000000000abc")).isNull();
            String id = proxy.startSnapshot(spec(1, null)).snapshotId();
            SnapshotDescription d = proxy.describeSnapshot(id);
            assertThat(d.snapshotId()).isEqualTo(id);
            assertThat(d.status()).isEqualTo("pending");
            assertThat(d.completed()).isFalse();
        }
    }

    @Test
    void oneDescribeAnswersForManySnapshotsAndLeavesOutTheMissingOnes() throws Exception {
        // MANY has no quotas: the client need not pace its starts at EBS's 10 per second either.
        try (SdkEbsProxy proxy = proxy(MANY, config(MANY).controlRate(1000)).build()) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < SdkEbsProxy.DESCRIBE_IDS_PER_CALL + 5; i++) {
                ids.add(proxy.startSnapshot(spec(1, null)).snapshotId());
            }
            List<String> asked = new ArrayList<>(ids);
            asked.add("snap-00000000000000abc");
            long describes = MANY.server().stats().requests(Operation.DESCRIBE_SNAPSHOTS);

            Map<String, SnapshotDescription> found =
                    proxy.describeSnapshotsAsync(asked).get(30, TimeUnit.SECONDS);

            assertThat(found.keySet())
                    .as("every started snapshot, and not the one that does not exist")
                    .containsExactlyInAnyOrderElementsOf(ids);
            assertThat(found.values()).allMatch(d -> "pending".equals(d.status()));
            assertThat(MANY.server().stats().requests(Operation.DESCRIBE_SNAPSHOTS) - describes)
                    .as("ids are asked %d per call", SdkEbsProxy.DESCRIBE_IDS_PER_CALL)
                    .isEqualTo(2);
            assertThat(proxy.describeSnapshotsAsync(List.of()).get()).isEmpty();
        }
    }

    @Test
    void deleteSnapshotKeepsTheChildReadableAnswersAlreadyGoneAndRefusesAPendingOne()
            throws Exception {
        try (SdkEbsProxy proxy = proxy(EBS, config(EBS)).build()) {
            String parent = completedSnapshot(proxy, 3);
            String child = proxy.startSnapshot(spec(1, parent)).snapshotId();
            TreeMap<Integer, byte[]> own = new TreeMap<>();
            own.put(7, block(7));
            writeAndComplete(proxy, child, own);
            awaitCompleted(proxy, child);
            String pending = proxy.startSnapshot(spec(1, null)).snapshotId();

            assertThat(proxy.deleteSnapshot(parent)).isEqualTo(SnapshotDeletion.DELETED);
            assertThat(proxy.deleteSnapshot(parent))
                    .as("a repeated deletion (after a failover) is not a failure")
                    .isEqualTo(SnapshotDeletion.ALREADY_GONE);
            EbsProxyException refused = failure(proxy.deleteSnapshotAsync(pending));

            assertFatal(refused, "IncorrectState", null);
            assertThat(refused.snapshotId()).isEqualTo(pending);
            assertThat(proxy.describeSnapshot(parent)).isNull();
            assertThat(proxy.describeSnapshot(pending).status()).isEqualTo("pending");
            BlockListing listing = proxy.listSnapshotBlocks(child, 0, null, 100);
            assertThat(listing.blocks())
                    .as("the child still lists the block it inherits from the deleted parent")
                    .extracting(ListedBlock::blockIndex)
                    .containsExactly(3, 7);
            FetchedBlock inherited =
                    proxy.getBlock(child, 3, listing.blocks().get(0).blockToken())
                            .get(30, TimeUnit.SECONDS);
            assertThat(inherited.data().toArray()).isEqualTo(block(3));
        }
    }

    @Test
    void snapshotsAreFoundByTagWithTheirStartTimeVolumeAndDescription() throws Exception {
        try (SdkEbsProxy proxy = proxy(MANY, config(MANY)).build()) {
            String lineage = "vol-" + UUID.randomUUID().toString().substring(0, 8);
            List<String> tagged = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                tagged.add(
                        proxy.startSnapshot(
                                        new StartSnapshotSpec(
                                                1,
                                                null,
                                                UUID.randomUUID().toString(),
                                                "copy " + i,
                                                Map.of("ebs-replicator:lineage", lineage),
                                                null,
                                                null,
                                                30))
                                .snapshotId());
            }
            proxy.startSnapshot(spec(1, null));

            List<SnapshotDescription> found =
                    proxy.describeSnapshotsByTagAsync("ebs-replicator:lineage", lineage, 1000)
                            .get(30, TimeUnit.SECONDS);
            List<SnapshotDescription> two =
                    proxy.describeSnapshotsByTagAsync("ebs-replicator:lineage", lineage, 2)
                            .get(30, TimeUnit.SECONDS);

            assertThat(found)
                    .extracting(SnapshotDescription::snapshotId)
                    .containsExactlyInAnyOrderElementsOf(tagged);
            assertThat(found)
                    .allSatisfy(
                            d -> {
                                assertThat(d.startTime()).isNotNull();
                                assertThat(d.volumeId()).isEqualTo("vol-ffffffff");
                                assertThat(d.description()).startsWith("copy ");
                                assertThat(d.tags())
                                        .containsEntry("ebs-replicator:lineage", lineage);
                            });
            assertThat(two).as("bounded by the limit").hasSize(2);
        }
    }

    @Test
    void controlPlaneCallsGiveUpWithinTheirOwnShorterTimeout() throws Exception {
        EbsProxyConfig config =
                config(EBS)
                        .attemptTimeout(Duration.ofSeconds(30))
                        .totalTimeout(Duration.ofMinutes(10))
                        .controlAttemptTimeout(Duration.ofMillis(300))
                        .controlTotalTimeout(Duration.ofSeconds(2))
                        .build();
        FaultProfile stall =
                FaultProfile.builder()
                        .stall(1.0, 5_000)
                        .operations(Operation.START_SNAPSHOT)
                        .build();
        try (SdkEbsProxy proxy = proxy(EBS, config).build()) {
            EBS.setFaults(stall);
            try {
                long t0 = System.nanoTime();
                EbsProxyException e =
                        failure(proxy.startSnapshotAsync(spec(1, null)).thenApply(s -> null));
                long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertThat(e.kind()).isEqualTo(Kind.RETRYABLE);
                assertThat(e.getMessage()).contains("gave up after").contains("PT2S");
                assertThat(elapsedMs)
                        .as(
                                "the control-plane total timeout (2 s), not the data-plane one (10 min)")
                        .isBetween(900L, 3_500L);
            } finally {
                EBS.setFaults(FaultProfile.none());
            }
        }
    }

    @Test
    void startSnapshotIsIdempotentThroughTheClientToken() {
        try (SdkEbsProxy proxy = proxy(EBS, config(EBS)).build()) {
            StartSnapshotSpec spec = spec(2, null);
            String first = proxy.startSnapshot(spec).snapshotId();
            assertThat(proxy.startSnapshot(spec).snapshotId()).isEqualTo(first);
            // Same token, other parameters: EBS refuses, and that is final.
            StartSnapshotSpec other =
                    new StartSnapshotSpec(
                            3, null, spec.clientToken(), null, Map.of(), null, null, 30);
            EbsProxyException e =
                    catchThrowableOfType(() -> proxy.startSnapshot(other), EbsProxyException.class);
            assertThat(e.kind()).isEqualTo(Kind.FATAL);
            assertThat(e.errorCode()).isEqualTo("ConflictException");
        }
    }

    // ------------------------------------------------------------------ retries

    @Test
    void throttlingServerErrorsAndResetsAreRetriedAway() throws Exception {
        RecordingListener listener = new RecordingListener();
        try (SdkEbsProxy proxy = proxy(EBS, config(EBS)).listener(listener).build()) {
            long throttles = EBS.server().stats().faults(Disruption.THROTTLE);
            long errors = EBS.server().stats().faults(Disruption.SERVER_ERROR);
            long resets = EBS.server().stats().faults(Disruption.RESET);
            EBS.server()
                    .setFaults(
                            FaultProfile.builder()
                                    .throttleRate(0.3)
                                    .serverErrorRate(0.2)
                                    .resetRate(0.05)
                                    .seed(3)
                                    .build());
            String id = proxy.startSnapshot(spec(1, null)).snapshotId();
            TreeMap<Integer, byte[]> blocks = new TreeMap<>();
            for (int i = 0; i < 50; i++) {
                blocks.put(i * 7, block(1000 + i));
            }
            writeAndComplete(proxy, id, blocks);
            awaitCompleted(proxy, id);
            Map<Integer, String> tokens = new TreeMap<>();
            String token = null;
            do {
                BlockListing page = proxy.listSnapshotBlocks(id, 0, token, 100);
                page.blocks().forEach(b -> tokens.put(b.blockIndex(), b.blockToken()));
                token = page.nextToken();
            } while (token != null);
            assertThat(tokens.keySet()).containsExactlyElementsOf(blocks.keySet());
            List<CompletableFuture<FetchedBlock>> gets = new ArrayList<>();
            tokens.forEach((index, t) -> gets.add(proxy.getBlock(id, index, t)));
            int i = 0;
            for (Map.Entry<Integer, byte[]> e : blocks.entrySet()) {
                FetchedBlock fetched = gets.get(i++).get(30, TimeUnit.SECONDS);
                assertThat(fetched.data().toArray()).isEqualTo(e.getValue());
                assertThat(fetched.checksumBase64()).isEqualTo(sha256(e.getValue()));
            }

            // The faults really happened, and the proxy really retried them.
            assertThat(EBS.server().stats().faults(Disruption.THROTTLE)).isGreaterThan(throttles);
            assertThat(EBS.server().stats().faults(Disruption.SERVER_ERROR)).isGreaterThan(errors);
            assertThat(EBS.server().stats().faults(Disruption.RESET)).isGreaterThan(resets);
            assertThat(listener.retries("PutSnapshotBlock")).isPositive();
            assertThat(listener.retries("GetSnapshotBlock")).isPositive();
            assertThat(
                            listener.throttles("PutSnapshotBlock")
                                    + listener.throttles("GetSnapshotBlock"))
                    .isPositive();
            assertThat(listener.requests("PutSnapshotBlock")).isGreaterThan(50);
        }
    }

    @Test
    void aNewSnapshotThatIsNotVisibleYetIsRetriedWithinTheGrace() throws Exception {
        long notFound = EBS.server().stats().errors("ResourceNotFoundException/SNAPSHOT_NOT_FOUND");
        EBS.setFaults(FaultProfile.builder().notFoundAfterStartSeconds(2).build());
        RecordingListener otherListener = new RecordingListener();
        try (SdkEbsProxy starter = proxy(EBS, config(EBS)).build();
                SdkEbsProxy other = proxy(EBS, config(EBS)).listener(otherListener).build()) {
            long t0 = System.nanoTime();
            String id = starter.startSnapshot(spec(1, null)).snapshotId();

            // Another proxy (a copier in another TaskManager) that was not told: final at once.
            EbsProxyException e = failure(other.putBlock(id, 1, block(1), sha256(block(1))));
            assertThat(e.kind()).isEqualTo(Kind.FATAL);
            assertThat(e.reason()).isEqualTo("SNAPSHOT_NOT_FOUND");
            assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.MILLISECONDS.toNanos(1500));

            // The proxy that started it, and one told about it, retry until EBS sees it.
            other.snapshotStarted(id, Instant.now());
            CompletableFuture<Void> byStarter = starter.putBlock(id, 0, block(0), sha256(block(0)));
            CompletableFuture<Void> byOther = other.putBlock(id, 1, block(1), sha256(block(1)));
            byStarter.get(20, TimeUnit.SECONDS);
            byOther.get(20, TimeUnit.SECONDS);
            assertThat(System.nanoTime() - t0).isGreaterThan(TimeUnit.MILLISECONDS.toNanos(1900));
            assertThat(otherListener.retries("PutSnapshotBlock")).isPositive();
            assertThat(starter.completeSnapshot(id, 2, linear(List.of(block(0), block(1)))))
                    .isIn("pending", "completed");
        }
        assertThat(EBS.server().stats().errors("ResourceNotFoundException/SNAPSHOT_NOT_FOUND"))
                .isGreaterThan(notFound + 2);
    }

    @Test
    void aStalledAttemptTimesOutAndIsRetried() throws Exception {
        EbsProxyConfig stalling =
                config(EBS)
                        .attemptTimeout(Duration.ofMillis(300))
                        .totalTimeout(Duration.ofSeconds(2))
                        .build();
        FaultProfile stall =
                FaultProfile.builder()
                        .stall(1.0, 5_000)
                        .operations(Operation.PUT_SNAPSHOT_BLOCK)
                        .build();
        try (SdkEbsProxy proxy = proxy(EBS, stalling).build()) {
            String id = proxy.startSnapshot(spec(1, null)).snapshotId();
            long stalls = EBS.server().stats().faults(Disruption.STALL);
            EBS.setFaults(stall);
            long t0 = System.nanoTime();
            EbsProxyException e = failure(proxy.putBlock(id, 0, block(0), sha256(block(0))));
            long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertThat(e.kind()).isEqualTo(Kind.RETRYABLE);
            assertThat(e.errorCode()).contains("Timeout");
            assertThat(e.getMessage()).contains("gave up after");
            // Retried within the total timeout of 2 s, not beyond it by more than one attempt.
            assertThat(elapsedMs).isBetween(900L, 2_600L);
            assertThat(EBS.server().stats().faults(Disruption.STALL)).isGreaterThan(stalls + 1);
        }
        EbsProxyConfig patient =
                config(EBS)
                        .attemptTimeout(Duration.ofMillis(300))
                        .totalTimeout(Duration.ofSeconds(15))
                        .build();
        try (SdkEbsProxy proxy = proxy(EBS, patient).build()) {
            String id = proxy.startSnapshot(spec(1, null)).snapshotId();
            long stalls = EBS.server().stats().faults(Disruption.STALL);
            EBS.setFaults(stall);
            CompletableFuture<Void> put = proxy.putBlock(id, 0, block(0), sha256(block(0)));
            Thread.sleep(1_000);
            assertThat(put).isNotDone();
            EBS.setFaults(FaultProfile.none());
            put.get(10, TimeUnit.SECONDS);
            assertThat(EBS.server().stats().faults(Disruption.STALL)).isGreaterThan(stalls);
            assertThat(EBS.service().snapshot(REGION, id).ownBlockCount()).isEqualTo(1);
        }
    }

    // ------------------------------------------------------------------ fatal errors and tokens

    @Test
    void fatalErrorsComeOutAtOnce() throws Exception {
        RecordingListener listener = new RecordingListener();
        try (SdkEbsProxy proxy = proxy(EBS, config(EBS)).listener(listener).build();
                SdkEbsProxy stranger = proxy(EBS, config(EBS, OTHER)).build()) {
            String missing = "snap-0123456789abcdef0";
            EbsProxyException notFound =
                    catchThrowableOfType(
                            () -> proxy.listSnapshotBlocks(missing, 0, null, 100),
                            EbsProxyException.class);
            assertFatal(notFound, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND");
            assertThat(notFound.snapshotId()).isEqualTo(missing);
            assertThat(notFound.region()).isEqualTo(REGION);
            EbsProxyException putMissing =
                    failure(proxy.putBlock(missing, 3, block(3), sha256(block(3))));
            assertFatal(putMissing, "ResourceNotFoundException", "SNAPSHOT_NOT_FOUND");
            assertThat(putMissing.blockIndex()).isEqualTo(3);

            String a = completedSnapshot(proxy, 0);
            String b = completedSnapshot(proxy, 1);
            EbsProxyException unrelated =
                    catchThrowableOfType(
                            () -> proxy.listChangedBlocks(a, b, 0, null, 100),
                            EbsProxyException.class);
            assertFatal(unrelated, "ValidationException", "UNRELATED_SNAPSHOTS");

            // A snapshot of another account.
            String foreign = stranger.startSnapshot(spec(1, null)).snapshotId();
            EbsProxyException denied =
                    failure(proxy.putBlock(foreign, 0, block(0), sha256(block(0))));
            assertFatal(denied, "AccessDeniedException", "UNAUTHORIZED_ACCOUNT");

            // One attempt each: nothing fatal was retried.
            assertThat(listener.requests("ListSnapshotBlocks")).isEqualTo(1);
            assertThat(listener.requests("ListChangedBlocks")).isEqualTo(1);
            assertThat(listener.requests("PutSnapshotBlock")).isEqualTo(2 + 2);
            assertThat(listener.retries.values().stream().mapToLong(LongAdder::sum).sum()).isZero();
        }
    }

    @Test
    void expiredTokensAskForANewListing() throws Exception {
        RecordingListener listener = new RecordingListener();
        try (SdkEbsProxy proxy = proxy(EBS, config(EBS)).listener(listener).build()) {
            String id = proxy.startSnapshot(spec(1, null)).snapshotId();
            TreeMap<Integer, byte[]> blocks = new TreeMap<>();
            for (int i = 0; i < 101; i++) {
                blocks.put(i, block(0));
            }
            writeAndComplete(proxy, id, blocks);
            awaitCompleted(proxy, id);
            BlockListing page = proxy.listSnapshotBlocks(id, 0, null, 100);
            assertThat(page.nextToken()).isNotNull();
            EBS.clock().advance(Duration.ofDays(8));
            try {
                EbsProxyException block =
                        failure(proxy.getBlock(id, 0, page.blocks().get(0).blockToken()));
                assertThat(block.kind()).isEqualTo(Kind.INVALID_TOKEN);
                assertThat(block.errorCode()).isEqualTo("ValidationException");
                assertThat(block.reason()).isEqualTo("INVALID_BLOCK_TOKEN");
                EbsProxyException pageToken =
                        catchThrowableOfType(
                                () -> proxy.listSnapshotBlocks(id, 0, page.nextToken(), 100),
                                EbsProxyException.class);
                assertThat(pageToken.kind()).isEqualTo(Kind.INVALID_TOKEN);
                assertThat(pageToken.reason()).isEqualTo("INVALID_PAGE_TOKEN");
                assertThat(listener.requests("GetSnapshotBlock")).isEqualTo(1);
                // Listing again from the block index gives fresh tokens that work.
                BlockListing again = proxy.listSnapshotBlocks(id, 100, null, 100);
                assertThat(again.blocks()).extracting(ListedBlock::blockIndex).containsExactly(100);
                proxy.getBlock(id, 100, again.blocks().get(0).blockToken())
                        .get(10, TimeUnit.SECONDS);
            } finally {
                EBS.clock().advance(Duration.ofDays(-8));
            }
        }
    }

    // ------------------------------------------------------------------ budget under real quotas

    @Test
    void realThrottlingSlowsTheBudgetAndEveryPutSucceeds() throws Exception {
        RecordingListener listener = new RecordingListener();
        try (SdkEbsProxy proxy = proxy(TIGHT, config(TIGHT)).listener(listener).build()) {
            String id = proxy.startSnapshot(spec(1, null)).snapshotId();
            TreeMap<Integer, byte[]> blocks = new TreeMap<>();
            byte[] data = block(42);
            for (int i = 0; i < 100; i++) {
                blocks.put(i, data);
            }
            List<CompletableFuture<Void>> puts = new ArrayList<>();
            blocks.forEach((index, d) -> puts.add(proxy.putBlock(id, index, d, sha256(d))));
            CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new))
                    .get(30, TimeUnit.SECONDS);

            RequestBudget budget = proxy.budget(RequestBudget.Group.PUT);
            assertThat(budget.currentRate()).isLessThan(budget.configuredRate());
            assertThat(budget.throttles()).isPositive();
            assertThat(listener.throttles("PutSnapshotBlock")).isEqualTo(budget.throttles());
            assertThat(TIGHT.server().stats().errors("RequestThrottledException")).isPositive();
            assertThat(TIGHT.service().snapshot(REGION, id).ownBlockCount()).isEqualTo(100);
            assertThat(proxy.completeSnapshot(id, 100, linear(new ArrayList<>(blocks.values()))))
                    .isIn("pending", "completed");
        }
    }

    @Test
    void aClosedProxyFailsPendingAndNewCallsAsRetryable() throws Exception {
        SdkEbsProxy proxy = proxy(EBS, config(EBS).putRate(1)).build();
        String id = proxy.startSnapshot(spec(1, null)).snapshotId();
        proxy.putBlock(id, 0, block(0), sha256(block(0))).get(10, TimeUnit.SECONDS);
        // At 1/s with a burst of one, the next put waits for the budget on the scheduler.
        CompletableFuture<Void> waiting = proxy.putBlock(id, 1, block(1), sha256(block(1)));
        CompletableFuture<Void> alsoWaiting = proxy.putBlock(id, 2, block(2), sha256(block(2)));
        proxy.close();
        assertThat(failure(alsoWaiting).kind()).isEqualTo(Kind.RETRYABLE);
        assertThat(waiting).isDone();
        assertThat(failure(proxy.putBlock(id, 3, block(3), sha256(block(3)))).kind())
                .isEqualTo(Kind.RETRYABLE);
    }

    // ------------------------------------------------------------------ helpers

    private static EbsProxyConfig.Builder config(EbsLocalExtension ebs) {
        return config(ebs, ebs.accessKey());
    }

    private static EbsProxyConfig.Builder config(EbsLocalExtension ebs, AccessKey key) {
        return EbsProxyConfig.builder()
                .endpoint(REGION, ebs.endpoint().toString())
                .credentials(key.accessKeyId(), key.secretAccessKey())
                .attemptTimeout(Duration.ofSeconds(5))
                .totalTimeout(Duration.ofSeconds(20))
                // Short backoffs keep the test quick; the production defaults are 100 ms .. 20 s.
                .baseBackoff(Duration.ofMillis(20))
                .maxBackoff(Duration.ofMillis(500));
    }

    private static ProxyBuilder proxy(EbsLocalExtension ebs, EbsProxyConfig.Builder config) {
        return new ProxyBuilder(config.build());
    }

    private static ProxyBuilder proxy(EbsLocalExtension ebs, EbsProxyConfig config) {
        return new ProxyBuilder(config);
    }

    /** Test-side convenience to attach a listener. */
    private static final class ProxyBuilder {
        private final EbsProxyConfig config;
        private EbsProxyListener listener = EbsProxyListener.NO_OP;

        ProxyBuilder(EbsProxyConfig config) {
            this.config = config;
        }

        ProxyBuilder listener(EbsProxyListener l) {
            listener = l;
            return this;
        }

        SdkEbsProxy build() {
            return new SdkEbsProxyFactory(config).create(REGION, listener);
        }
    }

    private static StartSnapshotSpec spec(long sizeGib, String parent) {
        return new StartSnapshotSpec(
                sizeGib, parent, UUID.randomUUID().toString(), null, Map.of(), null, null, 30);
    }

    private static String completedSnapshot(EbsProxy proxy, int seed) throws Exception {
        String id = proxy.startSnapshot(spec(1, null)).snapshotId();
        TreeMap<Integer, byte[]> blocks = new TreeMap<>();
        blocks.put(seed, block(seed));
        writeAndComplete(proxy, id, blocks);
        awaitCompleted(proxy, id);
        return id;
    }

    private static void writeAndComplete(EbsProxy proxy, String id, TreeMap<Integer, byte[]> blocks)
            throws Exception {
        List<CompletableFuture<Void>> puts = new ArrayList<>();
        blocks.forEach((index, data) -> puts.add(proxy.putBlock(id, index, data, sha256(data))));
        CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
        String status =
                proxy.completeSnapshot(id, blocks.size(), linear(new ArrayList<>(blocks.values())));
        assertThat(status).isIn("pending", "completed");
    }

    private static SnapshotDescription awaitCompleted(EbsProxy proxy, String id)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            SnapshotDescription d = proxy.describeSnapshot(id);
            if (d != null && d.completed()) {
                return d;
            }
            assertThat(System.nanoTime()).as("%s completes", id).isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private static EbsProxyException failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(EbsProxyException.class);
            return (EbsProxyException) e.getCause();
        }
        throw new AssertionError("Expected a failure");
    }

    private static void assertFatal(EbsProxyException e, String code, String reason) {
        assertThat(e).isNotNull();
        assertThat(e.kind()).isEqualTo(Kind.FATAL);
        assertThat(e.errorCode()).isEqualTo(code);
        assertThat(e.reason()).isEqualTo(reason);
    }

    static byte[] block(int seed) {
        byte[] b = new byte[BLOCK];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(byte[] data) {
        return Base64.getEncoder().encodeToString(digest(data));
    }

    /** LINEAR: SHA-256 over the raw block digests in ascending block order. */
    static String linear(List<byte[]> blocksInIndexOrder) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] b : blocksInIndexOrder) {
                md.update(digest(b));
            }
            return Base64.getEncoder().encodeToString(md.digest());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] digest(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Counts what the proxy reports, per operation. */
    static final class RecordingListener implements EbsProxyListener {
        final Map<String, LongAdder> requests = new ConcurrentHashMap<>();
        final Map<String, LongAdder> retries = new ConcurrentHashMap<>();
        final Map<String, LongAdder> throttles = new ConcurrentHashMap<>();

        @Override
        public void onRequest(String operation) {
            requests.computeIfAbsent(operation, k -> new LongAdder()).increment();
        }

        @Override
        public void onRetry(String operation, String errorCode, String reason) {
            retries.computeIfAbsent(operation, k -> new LongAdder()).increment();
        }

        @Override
        public void onThrottle(String operation) {
            throttles.computeIfAbsent(operation, k -> new LongAdder()).increment();
        }

        long requests(String op) {
            LongAdder a = requests.get(op);
            return a == null ? 0 : a.sum();
        }

        long retries(String op) {
            LongAdder a = retries.get(op);
            return a == null ? 0 : a.sum();
        }

        long throttles(String op) {
            LongAdder a = throttles.get(op);
            return a == null ? 0 : a.sum();
        }
    }
}
