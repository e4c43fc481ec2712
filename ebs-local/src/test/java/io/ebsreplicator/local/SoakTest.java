package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ValidationException;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A bounded soak against a real server process: 500 idle kept-alive connections, 50 clients that
 * send a request head one line a second, and 20 that stream oversized bodies (half with a length
 * far over the limit, half chunked without one, none signed), all at once and reconnecting when cut
 * off, while a well-behaved SDK client copies 200 blocks from one snapshot to another. The copy
 * finishes, the server's resident memory stays under {@link #RSS_BOUND}, and it serves normally
 * afterwards.
 */
class SoakTest {

    private static final String REGION = "us-east-1";

    /**
     * The server runs with a 256 MiB heap and at most 256 MiB of direct memory. Its bounds (64 MiB
     * of unauthenticated bodies, 2 MiB per request, answered-and-drained refusals) keep what these
     * clients make it hold far below that sum: it peaks near 250 MiB here, and 512 MiB leaves room
     * for code, metaspace and thread stacks, but not for the hundreds of MiB that unbounded
     * buffering before authentication used to take.
     */
    private static final long RSS_BOUND = 512L << 20;

    private static final int IDLE = 500;
    private static final int SLOW_HEADERS = 50;
    private static final int OVERSIZED = 20;
    private static final int BLOCKS = 200;

    @TempDir Path dataDir;

    @Test
    void hostileClientsDoNotStopAWellBehavedCopy() throws Exception {
        ServerProcess server =
                ServerProcess.start(
                        List.of("-Xmx256m", "-XX:MaxDirectMemorySize=256m"),
                        dataDir,
                        "--header-timeout",
                        "3s");
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong maxRss = new AtomicLong();
        ConcurrentLinkedQueue<Socket> sockets = new ConcurrentLinkedQueue<>();
        ScheduledExecutorService ticker = Executors.newScheduledThreadPool(2);
        ExecutorService streamers = Executors.newFixedThreadPool(OVERSIZED);
        try (EbsClient ebs = EbsClients.ebs(server.endpoint, AccessKey.DEFAULT, REGION, false)) {
            String source = writeSource(ebs);
            ServerProcess s = server;
            ticker.scheduleAtFixedRate(
                    () -> {
                        try {
                            maxRss.accumulateAndGet(s.rssBytes(), Math::max);
                        } catch (IOException e) {
                            // the process is gone; the assertions below say so
                        }
                    },
                    0,
                    100,
                    TimeUnit.MILLISECONDS);

            openIdleConnections(server, sockets);
            startSlowHeaders(server, sockets, ticker, stop);
            for (int i = 0; i < OVERSIZED; i++) {
                boolean chunked = i % 2 == 0;
                streamers.submit(() -> streamOversized(server, chunked, stop));
            }
            Thread.sleep(1000); // let the hostile load build up before the copy starts

            long t0 = System.nanoTime();
            String target = copy(ebs, source);
            long copyMs = (System.nanoTime() - t0) / 1_000_000;
            Thread.sleep(Math.max(0, 10_000 - copyMs)); // keep the load on for 10 s at least
            stop.set(true);

            assertThat(server.process.isAlive()).as("the server survived").isTrue();
            assertThat(maxRss.get())
                    .as("peak resident memory of the server (copy took %d ms)", copyMs)
                    .isLessThan(RSS_BOUND);
            System.out.printf(
                    "soak: copy of %d blocks took %d ms, server peak RSS %d MiB (bound %d MiB)%n",
                    BLOCKS, copyMs, maxRss.get() >> 20, RSS_BOUND >> 20);
            assertThat(readAll(ebs, target))
                    .as("the copy is exact")
                    .isEqualTo(readAll(ebs, source));

            // Serves normally afterwards: a fresh round trip.
            String after = EbsClients.start(ebs, 1, null).snapshotId();
            EbsClients.put(ebs, after, 0, EbsClients.block(-3));
            EbsClients.complete(ebs, after, List.of(EbsClients.block(-3)));
            awaitCompleted(ebs, after);
            assertThat(readAll(ebs, after))
                    .containsExactly(Map.entry(0, EbsClients.sha256(EbsClients.block(-3))));
        } finally {
            stop.set(true);
            ticker.shutdownNow();
            streamers.shutdownNow();
            for (Socket s : sockets) {
                s.close();
            }
            server.kill();
        }
    }

    private static String writeSource(EbsClient ebs) throws InterruptedException {
        String id = EbsClients.start(ebs, 1, null).snapshotId();
        List<byte[]> written = new ArrayList<>();
        for (int i = 0; i < BLOCKS; i++) {
            byte[] b = EbsClients.block(10_000 + i);
            EbsClients.put(ebs, id, i, b);
            written.add(b);
        }
        EbsClients.complete(ebs, id, written);
        awaitCompleted(ebs, id);
        return id;
    }

    /** Lists the source, reads each block and writes it to a new snapshot, then completes it. */
    private static String copy(EbsClient ebs, String source) throws InterruptedException {
        String target = EbsClients.start(ebs, 1, null).snapshotId();
        List<byte[]> written = new ArrayList<>();
        String next = null;
        do {
            String token = next;
            var page = ebs.listSnapshotBlocks(r -> r.snapshotId(source).nextToken(token));
            for (var b : page.blocks()) {
                byte[] data = EbsClients.get(ebs, source, b.blockIndex(), b.blockToken());
                assertThat(data)
                        .as("block %d read under load", b.blockIndex())
                        .isEqualTo(EbsClients.block(10_000 + b.blockIndex()));
                EbsClients.put(ebs, target, b.blockIndex(), data);
                written.add(data);
            }
            next = page.nextToken();
        } while (next != null);
        // Accepted only if the server stored exactly these 200 blocks.
        EbsClients.complete(ebs, target, written);
        awaitCompleted(ebs, target);
        return target;
    }

    /** Index -> checksum of every block, read back through the API. */
    private static Map<Integer, String> readAll(EbsClient ebs, String id) {
        Map<Integer, String> out = new TreeMap<>();
        for (var b : ebs.listSnapshotBlocks(r -> r.snapshotId(id)).blocks()) {
            out.put(
                    b.blockIndex(),
                    EbsClients.sha256(EbsClients.get(ebs, id, b.blockIndex(), b.blockToken())));
        }
        return out;
    }

    private static void awaitCompleted(EbsClient ebs, String id) throws InterruptedException {
        for (int i = 0; i < 500; i++) {
            try {
                ebs.listSnapshotBlocks(r -> r.snapshotId(id).maxResults(100));
                return;
            } catch (ValidationException e) {
                Thread.sleep(20);
            }
        }
        throw new AssertionError(id + " did not complete");
    }

    /** Connections that made one request and now sit idle, kept alive, as pooled ones do. */
    private static void openIdleConnections(ServerProcess server, ConcurrentLinkedQueue<Socket> out)
            throws IOException {
        for (int i = 0; i < IDLE; i++) {
            Socket s = RawHttp.open(server.endpoint);
            RawHttp.Request list =
                    new RawHttp.Request("GET", "/snapshots/snap-0" + i + "/blocks", null);
            s.getOutputStream().write(list.signed(server.endpoint, AccessKey.DEFAULT));
            assertThat(ErrorReasonsTest.readResponse(s.getInputStream()).status()).isEqualTo(404);
            out.add(s);
        }
    }

    /** Clients that send a request head one line a second, and start again when cut off. */
    private static void startSlowHeaders(
            ServerProcess server,
            ConcurrentLinkedQueue<Socket> all,
            ScheduledExecutorService ticker,
            AtomicBoolean stop) {
        for (int i = 0; i < SLOW_HEADERS; i++) {
            Socket[] current = new Socket[1];
            int[] line = new int[1];
            ticker.scheduleAtFixedRate(
                    () -> {
                        if (stop.get()) {
                            return;
                        }
                        try {
                            if (current[0] == null) {
                                current[0] = RawHttp.open(server.endpoint);
                                all.add(current[0]);
                                RawHttp.write(current[0], "GET /snapshots HTTP/1.1\r\n");
                            }
                            RawHttp.write(current[0], "X-Slow-" + line[0]++ + ": y\r\n");
                        } catch (IOException e) {
                            current[0] = null; // cut off by the header timeout: start again
                        }
                    },
                    i * 20L,
                    1000,
                    TimeUnit.MILLISECONDS);
        }
    }

    /** Streams an unsigned body far over the limit until cut off; then again, until stopped. */
    private static Void streamOversized(ServerProcess server, boolean chunked, AtomicBoolean stop) {
        byte[] piece = new byte[64 * 1024];
        while (!stop.get()) {
            try (Socket s = RawHttp.open(server.endpoint)) {
                OutputStream out = s.getOutputStream();
                String head =
                        "POST /snapshots HTTP/1.1\r\nHost: x\r\n"
                                + (chunked
                                        ? "Transfer-Encoding: chunked\r\n\r\n"
                                        : "Content-Length: " + (100L << 20) + "\r\n\r\n");
                out.write(head.getBytes(StandardCharsets.US_ASCII));
                for (int i = 0; i < 1600 && !stop.get(); i++) {
                    if (chunked) {
                        out.write((Integer.toHexString(piece.length) + "\r\n").getBytes());
                    }
                    out.write(piece);
                    if (chunked) {
                        out.write("\r\n".getBytes());
                    }
                }
            } catch (IOException e) {
                // refused and closed by the server, as it should: start again
            }
        }
        return null;
    }
}
