package io.ebsreplicator.connector.ebs.proxy;

import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

import java.io.ByteArrayOutputStream;
import java.lang.ref.Reference;
import java.lang.ref.WeakReference;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static io.ebsreplicator.connector.ebs.proxy.BlockBytes.BLOCK_SIZE;
import static io.ebsreplicator.connector.ebs.proxy.BlockBytes.CHUNK_SIZE;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link BlockRequestBody} driven by hand: demand, re-entrant requests, cancellation, several
 * readers, and what it still refers to once a put is over. Over HTTP and HTTPS with the SDK in
 * {@link SdkEbsProxyTest} and {@link TlsProxyTest}.
 */
class BlockRequestBodyTest {

    @Test
    void sendsTheChunksInOrderOneAtATimeAsRequested() {
        byte[] data = random(BLOCK_SIZE + 100, 1);
        BlockRequestBody body = new BlockRequestBody(BlockBytes.copyOf(data));
        assertThat(body.contentLength()).contains((long) BLOCK_SIZE + 100);

        Recorder r = new Recorder();
        body.subscribe(r);
        assertThat(r.received).isEmpty(); // nothing before demand
        r.subscription.request(1);
        assertThat(r.received).hasSize(1);
        assertThat(r.received.get(0).remaining()).isEqualTo(CHUNK_SIZE);
        assertThat(r.received.get(0).isReadOnly()).isTrue();
        r.subscription.request(3);
        assertThat(r.received).hasSize(4);
        assertThat(r.completed).isFalse();
        r.subscription.request(Long.MAX_VALUE);
        r.subscription.request(Long.MAX_VALUE); // no overflow, no second completion
        assertThat(r.received).hasSize(5);
        assertThat(r.received.get(4).remaining()).isEqualTo(100);
        assertThat(r.completions).isEqualTo(1);
        assertThat(r.bytes()).isEqualTo(data);
    }

    @Test
    void aRequestFromInsideOnNextIsServedWithoutRecursion() {
        byte[] data = random(BLOCK_SIZE, 2);
        BlockRequestBody body = new BlockRequestBody(BlockBytes.copyOf(data));
        Recorder r =
                new Recorder() {
                    int depth;

                    @Override
                    public void onNext(ByteBuffer b) {
                        depth++;
                        maxDepth = Math.max(maxDepth, depth);
                        super.onNext(b);
                        subscription.request(1);
                        depth--;
                    }
                };
        body.subscribe(r);
        r.subscription.request(1);
        assertThat(r.maxDepth).isEqualTo(1);
        assertThat(r.bytes()).isEqualTo(data);
        assertThat(r.completions).isEqualTo(1);
    }

    @Test
    void everySubscriptionReadsTheWholeBlockThroughItsOwnViews() {
        byte[] data = random(BLOCK_SIZE, 3);
        BlockRequestBody body = new BlockRequestBody(BlockBytes.of(data));
        Recorder first = new Recorder();
        Recorder second = new Recorder();
        body.subscribe(first);
        body.subscribe(second);
        first.subscription.request(2);
        second.subscription.request(Long.MAX_VALUE);
        first.subscription.request(Long.MAX_VALUE);
        assertThat(first.bytes()).isEqualTo(data);
        assertThat(second.bytes()).isEqualTo(data);
    }

    @Test
    void anEmptyBodyCompletesAtOnce() {
        Recorder r = new Recorder();
        new BlockRequestBody(BlockBytes.EMPTY).subscribe(r);
        r.subscription.request(1);
        assertThat(r.received).isEmpty();
        assertThat(r.completions).isEqualTo(1);
    }

    @Test
    void aCancelledSubscriptionSendsNothingMore() {
        BlockRequestBody body = new BlockRequestBody(BlockBytes.copyOf(random(BLOCK_SIZE, 4)));
        Recorder r = new Recorder();
        body.subscribe(r);
        r.subscription.request(1);
        r.subscription.cancel();
        r.subscription.request(10);
        assertThat(r.received).hasSize(1);
        assertThat(r.completions).isZero();
    }

    @Test
    void aNonPositiveRequestFailsTheSubscription() {
        BlockRequestBody body = new BlockRequestBody(BlockBytes.copyOf(random(1000, 5)));
        Recorder r = new Recorder();
        body.subscribe(r);
        r.subscription.request(0);
        assertThat(r.error).isInstanceOf(IllegalArgumentException.class);
        r.subscription.request(1);
        assertThat(r.received).isEmpty();
    }

    @Test
    void onceThePutIsOverNothingHereHoldsTheBlock() throws Exception {
        Recorder done = new Recorder();
        Recorder cancelled = new Recorder();
        Held body = bodyOfAFreshBlock(done, cancelled);
        List<WeakReference<Object>> block = body.weakBlock();
        done.subscription.request(Long.MAX_VALUE);
        cancelled.subscription.request(1);
        cancelled.subscription.cancel();
        done.received.clear(); // what the HTTP client held while it wrote them
        cancelled.received.clear();
        body.body().release();
        assertThat(body.body().holdsBlock()).isFalse();

        // The body and both subscriptions are still referenced, as a pooled connection would.
        for (int i = 0; i < 20 && block.stream().anyMatch(r -> r.get() != null); i++) {
            System.gc();
            Thread.sleep(20);
        }
        // Neither the block nor any array of it.
        assertThat(block).hasSize(5).allMatch(r -> r.get() == null);
        Reference.reachabilityFence(done);
        Reference.reachabilityFence(cancelled);
        Reference.reachabilityFence(body);

        // A released body cannot be sent again.
        Recorder late = new Recorder();
        body.body().subscribe(late);
        assertThat(late.error).isInstanceOf(IllegalStateException.class);
    }

    // ------------------------------------------------------------------ helpers

    private record Held(BlockRequestBody body, List<WeakReference<Object>> weakBlock) {}

    /** A body of a block only it refers to, with two subscriptions. */
    private static Held bodyOfAFreshBlock(Recorder... subscribers) {
        BlockBytes block = BlockBytes.copyOf(random(BLOCK_SIZE, 6));
        BlockRequestBody body = new BlockRequestBody(block);
        for (Recorder r : subscribers) {
            body.subscribe(r);
        }
        return new Held(body, SdkEbsProxyTest.weakly(block));
    }

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Records every signal. */
    private static class Recorder implements Subscriber<ByteBuffer> {
        final List<ByteBuffer> received = new ArrayList<>();
        Subscription subscription;
        int completions;
        boolean completed;
        Throwable error;
        int maxDepth;

        @Override
        public void onSubscribe(Subscription s) {
            subscription = s;
        }

        @Override
        public void onNext(ByteBuffer b) {
            received.add(b);
        }

        @Override
        public void onError(Throwable t) {
            error = t;
        }

        @Override
        public void onComplete() {
            completions++;
            completed = true;
        }

        byte[] bytes() {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            for (ByteBuffer b : received) {
                byte[] c = new byte[b.remaining()];
                b.duplicate().get(c);
                out.write(c, 0, c.length);
            }
            return out.toByteArray();
        }
    }
}
