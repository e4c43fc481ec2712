package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.completion.LinearChecksum;
import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;

import org.apache.flink.configuration.Configuration;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

/**
 * {@code demo}: the whole product on one machine. Starts ebs-local in process with two regions,
 * builds a realistic lineage in the source region (a sparse multi-GiB volume, a first snapshot with
 * about 1 GiB written, a second that changes about 10% of it, some blocks overwritten with zeros),
 * replicates the first in full and the second incrementally onto the first's copy on an embedded
 * MiniCluster with checkpointing, verifies both targets block by block, and prints a summary.
 */
final class DemoCommand {

    static final String USAGE =
            String.join(
                    "\n",
                    "Usage: demo [--blocks N] [--volume-gib G] [--change-percent P] [--parallelism N]",
                    "",
                    "Runs everything in this process: ebs-local (us-east-1 -> us-west-2), a lineage of two",
                    "snapshots (N blocks written, default 2048 = 1 GiB, then P% changed, default 10), a full",
                    "and an incremental replication on an embedded Flink, and a block-by-block check.");

    static final String SOURCE = "us-east-1";
    static final String TARGET = "us-west-2";
    private static final int BLOCK = 512 * 1024;

    private static final Set<String> WITH_VALUE =
            Set.of("--blocks", "--volume-gib", "--change-percent", "--parallelism");

    private DemoCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags flags = Flags.parse(args, WITH_VALUE, Set.of());
        int blocks = flags.intValue("--blocks", 2048);
        int volumeGib = flags.intValue("--volume-gib", 8);
        int changePercent = flags.intValue("--change-percent", 10);
        int parallelism = flags.intValue("--parallelism", 2);
        if (blocks < 1 || (long) blocks * 2 > (long) volumeGib * 2048) {
            throw new Flags.UsageException(
                    "--blocks must fit twice into the volume (" + volumeGib + " GiB)");
        }
        try (EbsLocalServer ebs =
                EbsLocalServer.start(
                        EbsLocalConfig.builder()
                                .regions(SOURCE, TARGET)
                                .sealDelay(Duration.ofMillis(300))
                                .build())) {
            err.println(
                    "ebs-local serving "
                            + ebs.endpoint()
                            + " (regions "
                            + SOURCE
                            + ", "
                            + TARGET
                            + ")");
            Configuration options = new Configuration();
            options.set(
                    EbsReplicationOptions.ENDPOINTS,
                    Map.of(SOURCE, ebs.endpoint().toString(), TARGET, ebs.endpoint().toString()));
            options.set(EbsReplicationOptions.ACCESS_KEY_ID, ebs.accessKey().accessKeyId());
            options.set(EbsReplicationOptions.SECRET_ACCESS_KEY, ebs.accessKey().secretAccessKey());
            options.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(200));
            SdkEbsProxyFactory factory =
                    new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options));

            try (EbsProxy source = factory.create(SOURCE);
                    EbsProxy target = factory.create(TARGET)) {
                err.printf(
                        Locale.ROOT,
                        "Building the source lineage: %d GiB volume, %d blocks, then %d%% changed...%n",
                        volumeGib,
                        blocks,
                        changePercent);
                Random random = new Random(20261127);
                // First snapshot: blocks spread over the volume's first half, every other index.
                Map<Integer, Integer> first = new TreeMap<>();
                for (int i = 0; i < blocks; i++) {
                    first.put(i * 2, random.nextInt());
                }
                String s1 = write(source, volumeGib, null, first);
                // Second: overwrite some, zero some, add some new ones.
                int changes = Math.max(3, blocks * changePercent / 100);
                Map<Integer, Integer> second = new TreeMap<>();
                for (int i = 0; i < changes; i++) {
                    int kind = i % 4;
                    int index =
                            kind == 3
                                    ? blocks * 2 + i // new data beyond the first snapshot's blocks
                                    : random.nextInt(blocks) * 2;
                    second.put(index, kind == 2 ? 0 : random.nextInt() | 1); // seed 0 = zeros
                }
                String s2 = write(source, volumeGib, s1, second);
                err.printf(
                        "Source lineage: %s (%d blocks) -> %s (%d changed)%n",
                        s1, first.size(), s2, second.size());

                Replication.JobSettings settings =
                        new Replication.JobSettings(
                                parallelism, Duration.ofSeconds(1), null, new Configuration());
                long t0 = System.nanoTime();
                List<ReplicationResult> full =
                        Replication.run(
                                List.of(
                                        new ReplicationRequest(
                                                "demo-full",
                                                SOURCE,
                                                s1,
                                                null,
                                                List.of(ReplicationTarget.of(TARGET)),
                                                null,
                                                false,
                                                Map.of(),
                                                ReplicationRequest.NO_DEADLINE,
                                                0)),
                                options,
                                settings,
                                err);
                double fullSeconds = (System.nanoTime() - t0) / 1e9;
                ReplicationResult r1 = single(full);
                long t1 = System.nanoTime();
                List<ReplicationResult> inc =
                        Replication.run(
                                List.of(
                                        new ReplicationRequest(
                                                "demo-incremental",
                                                SOURCE,
                                                s2,
                                                s1,
                                                List.of(
                                                        new ReplicationTarget(
                                                                TARGET,
                                                                r1.targetSnapshotId(),
                                                                null,
                                                                Map.of(),
                                                                null)),
                                                null,
                                                false,
                                                Map.of(),
                                                ReplicationRequest.NO_DEADLINE,
                                                0)),
                                options,
                                settings,
                                err);
                double incSeconds = (System.nanoTime() - t1) / 1e9;
                ReplicationResult r2 = single(inc);

                SnapshotComparison.Report v1 =
                        SnapshotComparison.compare(source, s1, target, r1.targetSnapshotId());
                SnapshotComparison.Report v2 =
                        SnapshotComparison.compare(source, s2, target, r2.targetSnapshotId());

                out.println();
                out.println("ebs-replicator demo: " + SOURCE + " -> " + TARGET);
                out.printf(
                        Locale.ROOT,
                        "%-12s %-22s %-22s %8s %9s %7s %8s  %s%n",
                        "copy",
                        "source",
                        "target",
                        "blocks",
                        "MiB",
                        "s",
                        "MiB/s",
                        "verified");
                row(out, "full", r1, fullSeconds, v1);
                row(out, "incremental", r2, incSeconds, v2);
                out.println();
                out.println("LINEAR checksums accepted by CompleteSnapshot:");
                out.println("  " + r1.targetSnapshotId() + "  " + r1.checksum());
                out.println("  " + r2.targetSnapshotId() + "  " + r2.checksum());
                boolean ok = r1.succeeded() && r2.succeeded() && v1.identical() && v2.identical();
                out.println(
                        ok
                                ? "\nBoth targets are byte-identical to their sources."
                                : "\nDEMO FAILED");
                if (!ok) {
                    out.println(r1.toJson());
                    out.println(r2.toJson());
                    out.println(v1.toJson());
                    out.println(v2.toJson());
                }
                return ok ? 0 : 1;
            }
        }
    }

    private static ReplicationResult single(List<ReplicationResult> results) {
        if (results.size() != 1) {
            throw new IllegalStateException("Expected one result, got " + results);
        }
        return results.get(0);
    }

    private static void row(
            PrintStream out,
            String name,
            ReplicationResult r,
            double seconds,
            SnapshotComparison.Report v) {
        double mib = r.bytesWritten() / (1024.0 * 1024.0);
        out.printf(
                Locale.ROOT,
                "%-12s %-22s %-22s %8d %9.1f %7.1f %8.1f  %s%n",
                name,
                r.sourceSnapshotId(),
                r.targetSnapshotId() == null ? "-" : r.targetSnapshotId(),
                r.blocksWritten(),
                mib,
                seconds,
                seconds > 0 ? mib / seconds : 0,
                v.identical() ? "identical (" + v.sourceBlocks() + " blocks)" : "DIFFERENT");
    }

    /**
     * Writes a snapshot through the EBS API (a block per entry; seed 0 writes zeros) and completes
     * it.
     */
    private static String write(
            EbsProxy ebs, long volumeGib, String parent, Map<Integer, Integer> seeds)
            throws Exception {
        String id =
                ebs.startSnapshot(
                                new io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec(
                                        volumeGib,
                                        parent,
                                        null,
                                        "ebs-replicator demo",
                                        Map.of(),
                                        null,
                                        null,
                                        60))
                        .snapshotId();
        LinearChecksum linear = new LinearChecksum();
        Semaphore inFlight = new Semaphore(16);
        List<CompletableFuture<Void>> puts = new ArrayList<>();
        // LINEAR takes the digests in ascending block index order.
        for (Map.Entry<Integer, Integer> e : new TreeMap<>(seeds).entrySet()) {
            byte[] data = content(e.getValue());
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(data);
            linear.add(digest);
            inFlight.acquire();
            puts.add(
                    ebs.putBlock(id, e.getKey(), data, Base64.getEncoder().encodeToString(digest))
                            .whenComplete((v, x) -> inFlight.release()));
        }
        CompletableFuture.allOf(puts.toArray(new CompletableFuture<?>[0])).join();
        ebs.completeSnapshot(id, linear.count(), linear.value());
        while (!ebs.describeSnapshot(id).completed()) {
            Thread.sleep(50);
        }
        return id;
    }

    private static byte[] content(int seed) {
        byte[] b = new byte[BLOCK];
        if (seed != 0) {
            Random r = new Random(seed);
            ByteBuffer buf = ByteBuffer.wrap(b);
            while (buf.hasRemaining()) {
                buf.putLong(r.nextLong());
            }
        }
        return b;
    }
}
