package io.ebsreplicator.benchmarks;

import io.ebsreplicator.connector.ebs.source.enumerator.AcceptedRequestIds;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorStateSerializer;
import io.ebsreplicator.connector.ebs.source.enumerator.LineageBook;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * What the JobManager checkpoints for a fleet: the enumerator's state with L lineages x C kept
 * copies and N remembered request ids, as the enumerator takes it (its lineage book copied, its
 * accepted ids written in place) and serializes it on the coordinator thread. Reports the bytes of
 * the checkpoint, the time to take it and to restore it (median of several rounds), and the heap
 * each structure holds. Runs as a plain {@code main}.
 *
 * <pre>benchmarks/run-enumerator-state.sh [--lineages 10000] [--copies 8] [--ids 1000000]</pre>
 */
public final class EnumeratorStateBenchmark {

    private static final String SOURCE = "us-east-1";
    private static final String TARGET = "us-west-2";

    private EnumeratorStateBenchmark() {}

    public static void main(String[] args) throws Exception {
        int lineages = 10_000;
        int copies = LineageBook.COPIES_KEPT;
        int ids = 1_000_000;
        int rounds = 7;
        Path out = Path.of("benchmarks/results/enumerator-state.json");
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--lineages" -> lineages = Integer.parseInt(args[i + 1]);
                case "--copies" -> copies = Integer.parseInt(args[i + 1]);
                case "--ids" -> ids = Integer.parseInt(args[i + 1]);
                case "--rounds" -> rounds = Integer.parseInt(args[i + 1]);
                case "--out" -> out = Path.of(args[i + 1]);
                default -> throw new IllegalArgumentException("Unknown argument " + args[i]);
            }
        }
        Random random = new Random(1);
        long heap0 = usedHeap();
        LineageBook book = new LineageBook();
        long start = 1_700_000_000_000L;
        for (int l = 0; l < lineages; l++) {
            String lineage = "vol-" + hex(random, 17);
            for (int c = 0; c < copies; c++) {
                book.record(
                        SOURCE,
                        lineage,
                        TARGET,
                        "snap-" + hex(random, 17),
                        "snap-" + hex(random, 17),
                        start + 3_600_000L * c);
            }
        }
        long heapBook = usedHeap() - heap0;
        AcceptedRequestIds accepted = new AcceptedRequestIds();
        long now = start;
        for (int i = 0; i < ids; i++) {
            // Ids as producers make them: a UUID per request, accepted over a week.
            accepted.add(new java.util.UUID(random.nextLong(), random.nextLong()).toString(), now);
            now += 600;
        }
        long heapIds = usedHeap() - heap0 - heapBook;

        EbsLineageEnumeratorStateSerializer serializer = new EbsLineageEnumeratorStateSerializer();
        List<Long> takeNanos = new ArrayList<>();
        List<Long> restoreNanos = new ArrayList<>();
        int bytes = 0;
        for (int r = 0; r < rounds; r++) {
            long t0 = System.nanoTime();
            // What snapshotState does with these two, then what the coordinator serializes.
            EbsLineageEnumeratorState state =
                    new EbsLineageEnumeratorState(
                            List.of(), List.of(), List.of(), Map.of(), accepted, book.snapshot());
            byte[] serialized = serializer.serialize(state);
            long t1 = System.nanoTime();
            EbsLineageEnumeratorState back =
                    serializer.deserialize(serializer.getVersion(), serialized);
            LineageBook restored = LineageBook.of(back.lineageCopies());
            long t2 = System.nanoTime();
            if (restored.size() != book.size() || back.acceptedIds().size() != accepted.size()) {
                throw new IllegalStateException("The state did not come back whole");
            }
            bytes = serialized.length;
            takeNanos.add(t1 - t0);
            restoreNanos.add(t2 - t1);
        }
        long take = median(takeNanos) / 1_000_000;
        long restore = median(restoreNanos) / 1_000_000;
        long copiesTotal = (long) lineages * copies;
        String json =
                String.format(
                        Locale.ROOT,
                        "{\n  \"lineages\": %d,\n  \"copiesPerLineage\": %d,\n  \"requestIds\": %d,\n"
                                + "  \"checkpointBytes\": %d,\n  \"checkpointMiB\": %.2f,\n"
                                + "  \"takeMsMedian\": %d,\n  \"restoreMsMedian\": %d,\n"
                                + "  \"rounds\": %d,\n  \"heapLineageBookMiB\": %.1f,\n"
                                + "  \"heapAcceptedIdsMiB\": %.1f,\n  \"heapBytesPerCopy\": %.1f,\n"
                                + "  \"heapBytesPerId\": %.1f\n}\n",
                        lineages,
                        copies,
                        ids,
                        bytes,
                        bytes / 1048576.0,
                        take,
                        restore,
                        rounds,
                        heapBook / 1048576.0,
                        heapIds / 1048576.0,
                        copiesTotal == 0 ? 0 : (double) heapBook / copiesTotal,
                        ids == 0 ? 0 : (double) heapIds / ids);
        Files.createDirectories(out.toAbsolutePath().getParent());
        Files.writeString(out, json);
        System.out.printf(
                Locale.ROOT,
                "| lineages x copies | request ids | checkpoint MiB | take ms (median of %d) |"
                        + " restore ms | heap: book / ids MiB |%n"
                        + "| --- | --- | --- | --- | --- | --- |%n"
                        + "| %d x %d | %d | %.1f | %d | %d | %.0f / %.0f |%n",
                rounds,
                lineages,
                copies,
                ids,
                bytes / 1048576.0,
                take,
                restore,
                heapBook / 1048576.0,
                heapIds / 1048576.0);
    }

    private static String hex(Random random, int digits) {
        byte[] b = new byte[(digits + 1) / 2];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b).substring(0, digits);
    }

    private static long usedHeap() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    private static long median(List<Long> values) {
        List<Long> sorted = new ArrayList<>(values);
        sorted.sort(Long::compare);
        return sorted.get(sorted.size() / 2);
    }
}
