package io.ebsreplicator.connector.ebs.proxy;

import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.async.SdkPublisher;
import software.amazon.awssdk.http.SdkHttpResponse;
import software.amazon.awssdk.services.ebs.model.GetSnapshotBlockResponse;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link ExactLengthBytesTransformer} driven the way the SDK drives it (prepare, onResponse,
 * onStream, then the body's buffers), with a hand-made publisher that honours demand and records
 * cancellation; and {@link SdkEbsProxy#putBody}. The real thing over HTTP is in {@link
 * SdkEbsProxyTest}.
 */
class ExactLengthBytesTransformerTest {

    private static final int BLOCK = SdkEbsProxy.BLOCK_SIZE;

    private static final int CHUNK = BlockBytes.CHUNK_SIZE;

    @Test
    void aDeclaredBodyInOneBufferComesBackInChunksOfThatLength() throws Exception {
        byte[] data = random(BLOCK, 1);
        Run run = run(String.valueOf(BLOCK), List.of(ByteBuffer.wrap(data.clone())));
        run.publisher.complete();

        ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse> body = run.result();
        BlockBytes bytes = body.take();
        assertThat(bytes.length()).isEqualTo(BLOCK);
        assertThat(bytes.toArray()).isEqualTo(data);
        assertExactChunks(bytes);
        assertThat(body.response().checksum()).isEqualTo("c2hh");
        assertThat(run.publisher.cancelled).isFalse();
    }

    @Test
    void piecesStraddlingChunkBoundariesLandInTheRightChunks() throws Exception {
        byte[] data = random(BLOCK, 21);
        // One byte short of a boundary, across it by one, a piece spanning a whole chunk and more,
        // single bytes at a boundary, then the rest.
        int[] sizes = {CHUNK - 1, 2, CHUNK + 5, 1, 1, CHUNK - 9, 3, 7};
        List<ByteBuffer> pieces = new ArrayList<>();
        int at = 0;
        for (int i = 0; at < data.length; i++) {
            int n = i < sizes.length ? sizes[i] : data.length - at;
            pieces.add(buffer(data, at, n, i % 4));
            at += n;
        }
        Run run = run(String.valueOf(BLOCK), pieces);
        run.publisher.complete();

        BlockBytes bytes = run.bytes();
        assertThat(bytes.toArray()).isEqualTo(data);
        assertExactChunks(bytes);
        for (int i = 0; i < 4; i++) { // each chunk holds its own quarter, boundary bytes included
            assertThat(bytes.backingArray(i))
                    .isEqualTo(Arrays.copyOfRange(data, i * CHUNK, (i + 1) * CHUNK));
        }
        assertThat(bytes.sha256()).isEqualTo(sha256(data));
    }

    @Test
    void aDeclaredLengthThatIsNoMultipleOfAChunkEndsInAnExactlySizedShortChunk() throws Exception {
        for (int length : new int[] {1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 37, 2 * BLOCK}) {
            byte[] data = random(length, length);
            Run run = run(String.valueOf(length), chunks(data, 8191));
            run.publisher.complete();
            BlockBytes bytes = run.bytes();
            assertThat(bytes.toArray()).as("length %d", length).isEqualTo(data);
            assertThat(bytes.chunkCount()).isEqualTo((length + CHUNK - 1) / CHUNK);
            assertExactChunks(bytes);
        }
    }

    @Test
    void theBodyIsHandedOverOnceAndThenForgotten() throws Exception {
        byte[] data = random(1000, 24);
        Run run = run("1000", chunks(data, 300));
        run.publisher.complete();
        ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse> body = run.result();
        assertThat(body.take().toArray()).isEqualTo(data);
        // Whatever still holds the finished request's result holds no block.
        assertThatThrownBy(body::take)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already taken");
        assertThat(body.response().checksum()).isEqualTo("c2hh");
    }

    @Test
    void aPieceRunningPastTheDeclaredLengthFailsTheBodyFromInsideAChunk() {
        // 2 chunks declared; the third piece runs from inside the second chunk to past its end.
        byte[] data = random(2 * CHUNK + 10, 22);
        Run run =
                run(
                        String.valueOf(2 * CHUNK),
                        List.of(
                                ByteBuffer.wrap(data, 0, CHUNK + 100).slice(),
                                ByteBuffer.wrap(data, CHUNK + 100, CHUNK - 200).slice(),
                                ByteBuffer.wrap(data, 2 * CHUNK - 100, 110).slice()));
        assertIoFailure(
                run,
                "longer than its Content-Length of "
                        + (2 * CHUNK)
                        + " bytes: "
                        + (2 * CHUNK + 10)
                        + " bytes received so far");
        assertThat(run.publisher.cancelled).isTrue();
    }

    @Test
    void aBodyShorterThanDeclaredFailsEvenWhenItEndsOnAChunkBoundary() {
        Run run = run(String.valueOf(BLOCK), chunks(random(2 * CHUNK, 23), 5000));
        run.publisher.complete();
        assertIoFailure(run, "ended after " + (2 * CHUNK) + " of the " + BLOCK + " bytes");
    }

    @Test
    void aBodyInManySmallBuffersOfEveryKindIsReassembledInOrder() throws Exception {
        byte[] data = random(BLOCK, 2);
        Random sizes = new Random(7);
        List<ByteBuffer> pieces = new ArrayList<>();
        int at = 0;
        int kind = 0;
        while (at < data.length) {
            int n = Math.min(data.length - at, 1 + sizes.nextInt(9000));
            pieces.add(buffer(data, at, n, kind++ % 4));
            at += n;
        }
        assertThat(pieces.size()).isGreaterThan(100);
        Run run = run(String.valueOf(BLOCK), pieces);
        run.publisher.complete();

        assertThat(run.bytes().toArray()).hasSize(BLOCK).isEqualTo(data);
        // The publisher's buffers are read, not consumed.
        assertThat(pieces.get(0).position()).isZero();
    }

    @Test
    void anEmptyDeclaredBodyHasNoBytes() throws Exception {
        Run run = run("0", List.of());
        run.publisher.complete();
        assertThat(run.bytes().length()).isZero();
        assertThat(run.bytes().chunkCount()).isZero();
        // Empty buffers allocate nothing either.
        Run empties = run("0", List.of(ByteBuffer.allocate(0), ByteBuffer.allocate(0)));
        empties.publisher.complete();
        assertThat(empties.bytes().chunkCount()).isZero();
    }

    @Test
    void withoutContentLengthTheBodyStillArrives() throws Exception {
        // The usual block: full chunks, filled in place.
        byte[] block = random(BLOCK, 3);
        Run exact = run(null, chunks(block, 8192));
        exact.publisher.complete();
        assertThat(exact.bytes().toArray()).hasSize(BLOCK).isEqualTo(block);
        assertExactChunks(exact.bytes());

        // Shorter: the last chunk is trimmed to what arrived.
        byte[] small = random(1000, 4);
        Run shorter = run(null, chunks(small, 333));
        shorter.publisher.complete();
        assertThat(shorter.bytes().toArray()).isEqualTo(small);
        assertExactChunks(shorter.bytes());

        // Longer than a block but within the limit: one more chunk, trimmed.
        byte[] large = random(BLOCK + 12345, 5);
        Run longer = run(null, chunks(large, 65536 + 3));
        longer.publisher.complete();
        assertThat(longer.bytes().toArray()).isEqualTo(large);
        assertThat(longer.bytes().chunkCount()).isEqualTo(5);
        assertExactChunks(longer.bytes());

        // Exactly the limit.
        byte[] most = random(2 * BLOCK, 19);
        Run limit = run(null, chunks(most, 100_000));
        limit.publisher.complete();
        assertThat(limit.bytes().toArray()).isEqualTo(most);

        // A header that is not a number counts as none.
        Run garbled = run("lots", chunks(small, 100));
        garbled.publisher.complete();
        assertThat(garbled.bytes().toArray()).isEqualTo(small);
    }

    @Test
    void withoutContentLengthMoreThanTheLimitFailsAndCancels() {
        Run run = run(null, chunks(random(2 * BLOCK + 1, 6), 65536));
        assertIoFailure(run, "exceeds " + (2 * BLOCK));
        assertThat(run.publisher.cancelled).isTrue();
    }

    @Test
    void moreBytesThanDeclaredFailAndCancelTheBody() {
        Run run = run("100", chunks(random(150, 8), 40));
        assertIoFailure(run, "longer than its Content-Length of 100 bytes: 120 bytes");
        assertThat(run.publisher.cancelled).isTrue();
        // Whatever the publisher still sends is ignored.
        run.publisher.complete();
        assertIoFailure(run, "longer than its Content-Length");
    }

    @Test
    void fewerBytesThanDeclaredFail() {
        Run run = run("100", chunks(random(60, 9), 25));
        run.publisher.complete();
        assertIoFailure(run, "ended after 60 of the 100 bytes");
    }

    @Test
    void aDeclaredLengthAboveTheLimitOrNegativeFailsBeforeAllocating() {
        for (String length : List.of(String.valueOf(2L * BLOCK + 1), "99999999999", "-1")) {
            Run run = run(length, chunks(random(10, 10), 10));
            assertIoFailure(run, "declares a body of " + length + " bytes");
            assertThat(run.publisher.cancelled).as(length).isTrue();
            assertThat(run.publisher.sent).as(length).isZero();
        }
    }

    @Test
    void aFailingBodyFailsTheResultWithItsError() {
        Run run = run(String.valueOf(BLOCK), chunks(random(1000, 11), 100));
        IOException reset = new IOException("Connection reset");
        run.publisher.fail(reset);
        assertThatThrownBy(() -> run.future.get(5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .hasCause(reset);
    }

    @Test
    void anSdkFailureBeforeTheBodyFailsTheResult() {
        ExactLengthBytesTransformer<GetSnapshotBlockResponse> t = transformer();
        CompletableFuture<ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse>> f =
                t.prepare();
        RuntimeException timeout = new RuntimeException("attempt timed out");
        t.exceptionOccurred(timeout);
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).hasCause(timeout);
    }

    @Test
    void anSdkFailureDuringTheBodyFailsTheResultAndCancelsTheBody() {
        TestPublisher publisher = new TestPublisher(chunks(random(100, 12), 10), 3);
        ExactLengthBytesTransformer<GetSnapshotBlockResponse> t = transformer();
        CompletableFuture<ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse>> f =
                t.prepare();
        t.onResponse(response("100"));
        t.onStream(SdkPublisher.adapt(publisher));
        assertThat(publisher.sent).isEqualTo(3);
        RuntimeException e = new RuntimeException("stream broke");
        t.exceptionOccurred(e);
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS)).hasCause(e);
        assertThat(publisher.cancelled).isTrue();
    }

    @Test
    void aCallerThatCancelsStopsTheBody() {
        TestPublisher publisher = new TestPublisher(chunks(random(100, 13), 10), 2);
        ExactLengthBytesTransformer<GetSnapshotBlockResponse> t = transformer();
        CompletableFuture<ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse>> f =
                t.prepare();
        t.onResponse(response("100"));
        t.onStream(SdkPublisher.adapt(publisher));
        f.cancel(true);
        assertThat(publisher.cancelled).isTrue();
        publisher.sendRest();
        publisher.complete();
        assertThatThrownBy(() -> f.get(5, TimeUnit.SECONDS))
                .isInstanceOf(CancellationException.class);
    }

    @Test
    void prepareStartsOver() throws Exception {
        ExactLengthBytesTransformer<GetSnapshotBlockResponse> t = transformer();
        CompletableFuture<ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse>> first =
                t.prepare();
        t.onResponse(response("10"));
        TestPublisher broken = new TestPublisher(chunks(random(4, 14), 4), Integer.MAX_VALUE);
        t.onStream(SdkPublisher.adapt(broken));
        broken.fail(new IOException("reset"));
        assertThat(first).isCompletedExceptionally();

        byte[] data = random(10, 15);
        CompletableFuture<ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse>> second =
                t.prepare();
        t.onResponse(response("10"));
        TestPublisher ok = new TestPublisher(chunks(data, 3), Integer.MAX_VALUE);
        t.onStream(SdkPublisher.adapt(ok));
        ok.complete();
        assertThat(second.get(5, TimeUnit.SECONDS).take().toArray()).isEqualTo(data);
    }

    @Test
    void aPutBodyIsTheCallersArrayInPiecesWithoutACopy() throws Exception {
        byte[] data = random(BLOCK, 16);
        AsyncRequestBody body = SdkEbsProxy.putBody(BlockBytes.of(data));
        assertThat(body.contentLength()).contains((long) BLOCK);
        for (int round = 0; round < 2; round++) { // a body can be read again (a second target)
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            List<Integer> sizes = new ArrayList<>();
            body.subscribe(
                            b -> {
                                sizes.add(b.remaining());
                                byte[] copy = new byte[b.remaining()];
                                b.get(copy);
                                out.write(copy, 0, copy.length);
                            })
                    .get(5, TimeUnit.SECONDS);
            assertThat(out.toByteArray()).isEqualTo(data);
            assertThat(sizes).hasSize(BLOCK / SdkEbsProxy.PUT_PIECE);
            assertThat(sizes).allMatch(n -> n == SdkEbsProxy.PUT_PIECE);
        }
        // Views, not a copy: a change to the array (which nobody may make) shows.
        data[BLOCK - 1] ^= 1;
        ByteArrayOutputStream after = new ByteArrayOutputStream();
        body.subscribe(
                        b -> {
                            byte[] c = new byte[b.remaining()];
                            b.get(c);
                            after.write(c, 0, c.length);
                        })
                .get(5, TimeUnit.SECONDS);
        assertThat(after.toByteArray()).isEqualTo(data);
        assertThat(SdkEbsProxy.putBody(BlockBytes.EMPTY).contentLength()).contains(0L);
        assertThat(read(SdkEbsProxy.putBody(BlockBytes.EMPTY))).isEmpty();
        byte[] odd = random(1000, 17);
        assertThat(read(SdkEbsProxy.putBody(BlockBytes.of(odd)))).isEqualTo(odd);
    }

    @Test
    void aPutBodyOfAReadBlockIsItsChunks() throws Exception {
        byte[] data = random(BLOCK, 18);
        Run run = run(String.valueOf(BLOCK), chunks(data, 16384));
        run.publisher.complete();
        BlockBytes block = run.bytes();
        AsyncRequestBody body = SdkEbsProxy.putBody(block);
        assertThat(body.contentLength()).contains((long) BLOCK);
        assertThat(read(body)).isEqualTo(data);
        // Twice, as for a second target region; the zero block too.
        assertThat(read(body)).isEqualTo(data);
        assertThat(read(SdkEbsProxy.putBody(BlockBytes.ZERO_BLOCK))).isEqualTo(new byte[BLOCK]);
    }

    // ------------------------------------------------------------------ helpers

    private static ExactLengthBytesTransformer<GetSnapshotBlockResponse> transformer() {
        return new ExactLengthBytesTransformer<>(2 * BLOCK);
    }

    /**
     * Every chunk is its own array of exactly its size (no slack, no array shared), and none is
     * large enough for G1 to treat it as humongous.
     */
    private static void assertExactChunks(BlockBytes bytes) {
        java.util.Set<byte[]> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        for (int i = 0; i < bytes.chunkCount(); i++) {
            byte[] a = bytes.backingArray(i);
            assertThat(a.length)
                    .as("chunk %d", i)
                    .isEqualTo(Math.min(CHUNK, bytes.length() - i * CHUNK))
                    .isLessThanOrEqualTo(CHUNK);
            assertThat(seen.add(a)).as("chunk %d has an array of its own", i).isTrue();
        }
    }

    /** Everything a request body sends, in order. */
    private static byte[] read(AsyncRequestBody body) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        body.subscribe(
                        b -> {
                            byte[] c = new byte[b.remaining()];
                            b.get(c);
                            out.write(c, 0, c.length);
                        })
                .get(5, TimeUnit.SECONDS);
        return out.toByteArray();
    }

    private static byte[] sha256(byte[] data) throws Exception {
        return java.security.MessageDigest.getInstance("SHA-256").digest(data);
    }

    /** A transformer through prepare, onResponse and onStream, with every buffer sent. */
    private static Run run(String contentLength, List<ByteBuffer> buffers) {
        ExactLengthBytesTransformer<GetSnapshotBlockResponse> t = transformer();
        CompletableFuture<ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse>> f =
                t.prepare();
        t.onResponse(response(contentLength));
        TestPublisher publisher = new TestPublisher(buffers, Integer.MAX_VALUE);
        t.onStream(SdkPublisher.adapt(publisher));
        return new Run(f, publisher);
    }

    private static final class Run {
        final CompletableFuture<ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse>> future;
        final TestPublisher publisher;
        private BlockBytes bytes;

        Run(
                CompletableFuture<ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse>>
                        future,
                TestPublisher publisher) {
            this.future = future;
            this.publisher = publisher;
        }

        ExactLengthBytesTransformer.Body<GetSnapshotBlockResponse> result() throws Exception {
            return future.get(5, TimeUnit.SECONDS);
        }

        /** The body, taken from the result on the first call. */
        BlockBytes bytes() throws Exception {
            if (bytes == null) {
                bytes = result().take();
            }
            return bytes;
        }
    }

    private static void assertIoFailure(Run run, String message) {
        assertThatThrownBy(() -> run.future.get(5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOf(IOException.class)
                .hasMessageContaining(message);
    }

    private static GetSnapshotBlockResponse response(String contentLength) {
        SdkHttpResponse.Builder http = SdkHttpResponse.builder().statusCode(200);
        if (contentLength != null) {
            http.putHeader("Content-Length", contentLength);
        }
        return (GetSnapshotBlockResponse)
                GetSnapshotBlockResponse.builder()
                        .checksum("c2hh")
                        .sdkHttpResponse(http.build())
                        .build();
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static List<ByteBuffer> chunks(byte[] data, int size) {
        List<ByteBuffer> out = new ArrayList<>();
        for (int at = 0; at < data.length; at += size) {
            out.add(ByteBuffer.wrap(data, at, Math.min(size, data.length - at)).slice());
        }
        return out;
    }

    /** Bytes {@code [at, at + n)} as a heap slice, a buffer with an offset, direct or read-only. */
    private static ByteBuffer buffer(byte[] data, int at, int n, int kind) {
        return switch (kind) {
            case 0 -> ByteBuffer.wrap(data, at, n).slice();
            case 1 -> {
                // Position and array offset both non-zero.
                ByteBuffer b = ByteBuffer.allocate(n + 10);
                b.position(3);
                ByteBuffer s = b.slice();
                s.position(2);
                s.put(data, at, n);
                s.position(2);
                s.limit(2 + n);
                yield s;
            }
            case 2 -> {
                ByteBuffer d = ByteBuffer.allocateDirect(n);
                d.put(data, at, n).flip();
                yield d;
            }
            default -> ByteBuffer.wrap(data, at, n).slice().asReadOnlyBuffer();
        };
    }

    /**
     * Sends its buffers as demand allows, the first {@code sendAtOnce} of them as soon as asked;
     * the test completes, fails or sends the rest. Records cancellation.
     */
    private static final class TestPublisher implements org.reactivestreams.Publisher<ByteBuffer> {
        private final List<ByteBuffer> buffers;
        private final int sendAtOnce;
        private Subscriber<? super ByteBuffer> subscriber;
        private long demand;
        volatile boolean cancelled;
        int sent;

        TestPublisher(List<ByteBuffer> buffers, int sendAtOnce) {
            this.buffers = buffers;
            this.sendAtOnce = sendAtOnce;
        }

        @Override
        public void subscribe(Subscriber<? super ByteBuffer> s) {
            subscriber = s;
            s.onSubscribe(
                    new Subscription() {
                        @Override
                        public void request(long n) {
                            demand = n == Long.MAX_VALUE ? n : demand + n;
                            send(sendAtOnce);
                        }

                        @Override
                        public void cancel() {
                            cancelled = true;
                        }
                    });
        }

        void sendRest() {
            send(Integer.MAX_VALUE);
        }

        private void send(int upTo) {
            while (!cancelled && sent < buffers.size() && sent < upTo && demand > 0) {
                if (demand != Long.MAX_VALUE) {
                    demand--;
                }
                subscriber.onNext(buffers.get(sent++));
            }
        }

        void complete() {
            subscriber.onComplete();
        }

        void fail(Throwable t) {
            subscriber.onError(t);
        }
    }
}
