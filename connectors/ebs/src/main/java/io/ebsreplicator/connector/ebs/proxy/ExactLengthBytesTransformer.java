package io.ebsreplicator.connector.ebs.proxy;

import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.SdkResponse;
import software.amazon.awssdk.core.async.AsyncResponseTransformer;
import software.amazon.awssdk.core.async.SdkPublisher;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Reads a response body into a {@link BlockBytes} of exactly the size the response declares in its
 * {@code Content-Length}, filled in place from the body's buffers: chunks of {@link
 * BlockBytes#CHUNK_SIZE} bytes, each allocated when the first byte for it arrives and sized to what
 * the declared length leaves for it; no growing buffer and no final copy, unlike {@link
 * AsyncResponseTransformer#toBytes()} (a {@code ByteArrayOutputStream} that doubles from 32 bytes,
 * so a 512 KiB block passes through 15 arrays and ends in one of 512 KiB while one of 256 KiB is
 * still referenced). No array of a block is large enough for G1 to treat it as humongous (see
 * {@link BlockBytes}).
 *
 * <p>Without a usable {@code Content-Length} (absent, or not a number) the body goes into full
 * chunks, added as bytes arrive, and only the last one is trimmed (one copy of at most a chunk) if
 * it is not full.
 *
 * <p>Fails the result with an {@link IOException} (and cancels the body) when more bytes arrive
 * than were declared, when the body ends short of the declared length, or when the length is
 * negative or above {@code maxLength}: a wrong body is never returned padded or cut. One instance
 * serves one request at a time; {@link #prepare()} starts over.
 */
final class ExactLengthBytesTransformer<R extends SdkResponse>
        implements AsyncResponseTransformer<R, ExactLengthBytesTransformer.Body<R>> {

    /**
     * A response and its body, which belongs to the caller alone: {@link #take()} hands the body
     * over once and forgets it. What the SDK keeps of a finished request (a pooled connection keeps
     * the last request's context, and through it the result, until its next request) then no longer
     * holds the block.
     */
    static final class Body<R> {
        private final R response;
        private BlockBytes bytes;

        Body(R response, BlockBytes bytes) {
            this.response = response;
            this.bytes = bytes;
        }

        R response() {
            return response;
        }

        /**
         * The body, handed over: a second call fails.
         *
         * @throws IllegalStateException if the body was already taken
         */
        synchronized BlockBytes take() {
            BlockBytes b = bytes;
            if (b == null) {
                throw new IllegalStateException("The body was already taken");
            }
            bytes = null;
            return b;
        }
    }

    private final int maxLength;

    private volatile CompletableFuture<Body<R>> result;
    private volatile R response;

    /**
     * @param maxLength largest body accepted, declared or received
     */
    ExactLengthBytesTransformer(int maxLength) {
        if (maxLength < 0) {
            throw new IllegalArgumentException("Need 0 <= maxLength, got " + maxLength);
        }
        this.maxLength = maxLength;
    }

    @Override
    public CompletableFuture<Body<R>> prepare() {
        CompletableFuture<Body<R>> f = new CompletableFuture<>();
        result = f;
        response = null;
        return f;
    }

    @Override
    public void onResponse(R response) {
        this.response = response;
    }

    @Override
    public void onStream(SdkPublisher<ByteBuffer> publisher) {
        CompletableFuture<Body<R>> f = result;
        R r = response;
        long declared;
        try {
            declared = declaredLength(r);
        } catch (IOException e) {
            f.completeExceptionally(e);
            // Still subscribe, to cancel the body instead of leaving the connection hanging.
            publisher.subscribe(new Cancelling());
            return;
        }
        publisher.subscribe(new Filler(f, r, declared));
    }

    @Override
    public void exceptionOccurred(Throwable error) {
        CompletableFuture<Body<R>> f = result;
        if (f != null) {
            f.completeExceptionally(error);
        }
    }

    @Override
    public String name() {
        return "ExactLengthBytes";
    }

    /**
     * The declared Content-Length, or -1 when there is none usable.
     *
     * @throws IOException if it is negative or above {@code maxLength}
     */
    private long declaredLength(R r) throws IOException {
        if (r == null || r.sdkHttpResponse() == null) {
            return -1;
        }
        Optional<String> header = r.sdkHttpResponse().firstMatchingHeader("Content-Length");
        if (header.isEmpty()) {
            return -1;
        }
        long length;
        try {
            length = Long.parseLong(header.get().trim());
        } catch (NumberFormatException e) {
            return -1;
        }
        if (length < 0 || length > maxLength) {
            throw new IOException(
                    "Response declares a body of "
                            + length
                            + " bytes (Content-Length); at most "
                            + maxLength
                            + " are accepted");
        }
        return length;
    }

    /** Fills chunks from the body's buffers, in order; reactive signals arrive one at a time. */
    private final class Filler implements Subscriber<ByteBuffer> {
        private final CompletableFuture<Body<R>> future;
        private final R response;
        private final long declared;

        /** The body's chunks, each allocated when its first byte arrives. */
        private byte[][] chunks;

        private int filled;
        private volatile Subscription subscription;

        Filler(CompletableFuture<Body<R>> future, R response, long declared) {
            this.future = future;
            this.response = response;
            this.declared = declared;
            // Room for the references only; at most a few, as the length is bounded.
            this.chunks =
                    new byte[BlockBytes.chunksFor(declared >= 0 ? (int) declared : maxLength)][];
        }

        @Override
        public void onSubscribe(Subscription s) {
            if (subscription != null) {
                s.cancel(); // rule 2.5: one subscription only
                return;
            }
            subscription = s;
            // A caller that gave up (cancelled, timed out, failed elsewhere) stops the body. Only
            // then: cancelling a body that completed could cost the connection its keep-alive.
            future.whenComplete(
                    (v, e) -> {
                        if (e != null) {
                            s.cancel();
                        }
                    });
            if (!future.isDone()) {
                s.request(Long.MAX_VALUE);
            }
        }

        @Override
        public void onNext(ByteBuffer buffer) {
            if (future.isDone()) {
                return; // failed or cancelled: drop what is still in flight
            }
            int n = buffer.remaining();
            long needed = (long) filled + n;
            if (declared >= 0 && needed > declared) {
                fail(
                        "Response body is longer than its Content-Length of "
                                + declared
                                + " bytes: "
                                + needed
                                + " bytes received so far");
                return;
            }
            if (needed > maxLength) {
                fail(
                        "Response body without Content-Length exceeds "
                                + maxLength
                                + " bytes: "
                                + needed
                                + " bytes received so far");
                return;
            }
            // Reads through a duplicate: the publisher's buffer keeps its position.
            ByteBuffer from = buffer.duplicate();
            while (from.hasRemaining()) {
                int i = filled / BlockBytes.CHUNK_SIZE;
                int at = filled % BlockBytes.CHUNK_SIZE;
                byte[] chunk = chunks[i];
                if (chunk == null) {
                    chunk =
                            new byte
                                    [declared >= 0
                                            ? BlockBytes.chunkLength(i, (int) declared)
                                            : BlockBytes.CHUNK_SIZE];
                    chunks[i] = chunk;
                }
                int k = Math.min(from.remaining(), chunk.length - at);
                from.get(chunk, at, k);
                filled += k;
            }
        }

        @Override
        public void onError(Throwable t) {
            chunks = null;
            future.completeExceptionally(t);
        }

        @Override
        public void onComplete() {
            if (future.isDone()) {
                return;
            }
            if (declared >= 0 && filled != declared) {
                chunks = null;
                future.completeExceptionally(
                        new IOException(
                                "Response body ended after "
                                        + filled
                                        + " of the "
                                        + declared
                                        + " bytes its Content-Length declared"));
                return;
            }
            byte[][] used = chunks;
            chunks = null;
            int count = BlockBytes.chunksFor(filled);
            if (used.length != count) {
                used = Arrays.copyOf(used, count);
            }
            if (count > 0) {
                int last = BlockBytes.chunkLength(count - 1, filled);
                if (used[count - 1].length != last) {
                    used[count - 1] = Arrays.copyOf(used[count - 1], last);
                }
            }
            future.complete(new Body<>(response, BlockBytes.ofChunks(used, filled)));
        }

        private void fail(String message) {
            chunks = null;
            future.completeExceptionally(new IOException(message));
            Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
        }
    }

    /** Takes a body only to cancel it (the result has already failed). */
    private static final class Cancelling implements Subscriber<ByteBuffer> {
        @Override
        public void onSubscribe(Subscription s) {
            s.cancel();
        }

        @Override
        public void onNext(ByteBuffer buffer) {}

        @Override
        public void onError(Throwable t) {}

        @Override
        public void onComplete() {}
    }
}
