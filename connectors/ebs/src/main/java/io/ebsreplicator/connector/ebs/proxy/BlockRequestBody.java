package io.ebsreplicator.connector.ebs.proxy;

import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import software.amazon.awssdk.core.async.AsyncRequestBody;

import java.nio.ByteBuffer;
import java.util.Optional;

/**
 * A block as the body of one PutSnapshotBlock attempt: read-only views of its chunks, uncopied, one
 * buffer per chunk, that nothing here refers to any more once the attempt is over.
 *
 * <p>Why not {@link AsyncRequestBody#fromByteBuffersUnsafe}: the SDK's Netty client leaves the last
 * request's context (request, body, handlers) on a connection it returns to the pool, until the
 * connection's next request. The body is sent as given (unsigned, see {@link UnsignedBodySigner}),
 * so every idle connection would keep its last block alive: 512 KiB per connection, about one per
 * block in flight. This body lets go of the block in both places the SDK keeps: the body itself
 * after {@link #release()}, and each subscription as soon as it has sent its last buffer, failed or
 * was cancelled.
 *
 * <p>It can be read more than once until released (each subscription sends every chunk in order,
 * through its own views, as demand allows); after {@link #release()} a new subscription fails.
 */
final class BlockRequestBody implements AsyncRequestBody {

    private final long length;
    private volatile BlockBytes data;

    BlockRequestBody(BlockBytes data) {
        this.data = data;
        this.length = data.length();
    }

    @Override
    public Optional<Long> contentLength() {
        return Optional.of(length);
    }

    @Override
    public void subscribe(Subscriber<? super ByteBuffer> subscriber) {
        BlockBytes d = data;
        if (d == null) {
            subscriber.onSubscribe(
                    new Subscription() {
                        @Override
                        public void request(long n) {}

                        @Override
                        public void cancel() {}
                    });
            subscriber.onError(
                    new IllegalStateException("The block was released: its put is over"));
            return;
        }
        subscriber.onSubscribe(new Sending(subscriber, d.buffers()));
    }

    /** Forgets the block; called when the attempt that sends this body is over. */
    void release() {
        data = null;
    }

    /** Whether the block is still referenced (tests). */
    boolean holdsBlock() {
        return data != null;
    }

    /**
     * Sends the views in order as demand allows. Signals go out one at a time, from whichever
     * thread requested (a request made from inside {@code onNext} is served by the loop already
     * running, not recursively).
     */
    static final class Sending implements Subscription {
        private final Subscriber<? super ByteBuffer> subscriber;

        /** What is left to send; {@code null} once all was sent, or cancelled, or failed. */
        private ByteBuffer[] buffers;

        private int next;
        private long demand;
        private boolean emitting;

        Sending(Subscriber<? super ByteBuffer> subscriber, ByteBuffer[] buffers) {
            this.subscriber = subscriber;
            this.buffers = buffers;
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                synchronized (this) {
                    if (buffers == null) {
                        return;
                    }
                    buffers = null;
                }
                subscriber.onError(
                        new IllegalArgumentException(
                                "Rule 3.9: request a positive number of buffers, not " + n));
                return;
            }
            synchronized (this) {
                if (buffers == null) {
                    return;
                }
                demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
                if (emitting) {
                    return; // the loop already running sends it
                }
                emitting = true;
            }
            emit();
        }

        private void emit() {
            while (true) {
                ByteBuffer b = null;
                boolean done;
                synchronized (this) {
                    if (buffers == null) {
                        emitting = false;
                        return; // cancelled while sending
                    }
                    if (next < buffers.length) {
                        if (demand == 0) {
                            emitting = false;
                            return;
                        }
                        b = buffers[next];
                        buffers[next++] = null;
                        demand--;
                    }
                    done = next == buffers.length;
                    if (done) {
                        buffers = null;
                        emitting = false;
                    }
                }
                if (b != null) {
                    subscriber.onNext(b);
                }
                if (done) {
                    subscriber.onComplete();
                    return;
                }
            }
        }

        @Override
        public void cancel() {
            synchronized (this) {
                buffers = null;
            }
        }
    }
}
