package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The most connections a server keeps open at once. A connection over the limit is accepted only to
 * be told so: it is answered 503 ServiceUnavailableException (which SDKs retry) and closed, rather
 * than left to hang in the accept queue or allowed to exhaust file descriptors. One per server;
 * thread-safe.
 */
public final class ConnectionLimit {

    private final int max;
    private final AtomicInteger open = new AtomicInteger();

    public ConnectionLimit(int max) {
        this.max = max;
    }

    public int max() {
        return max;
    }

    /** Connections open now, refused ones included until they close. */
    public int open() {
        return open.get();
    }

    /** Counts a new connection until it closes; returns whether it is within the limit. */
    public boolean admit(Channel ch) {
        int n = open.incrementAndGet();
        ch.closeFuture().addListener(f -> open.decrementAndGet());
        return n <= max;
    }

    /** The handler that answers a connection over the limit; it goes behind the HTTP codec. */
    public ChannelHandler refusal() {
        return new ChannelInboundHandlerAdapter() {
            private boolean answered;

            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                answer(ctx);
                ctx.fireChannelActive();
            }

            @Override
            public void handlerAdded(ChannelHandlerContext ctx) {
                if (ctx.channel().isActive()) {
                    answer(ctx);
                }
            }

            private void answer(ChannelHandlerContext ctx) {
                if (answered) {
                    return;
                }
                answered = true;
                Refusal.answerAndClose(
                        ctx,
                        new EbsError(
                                503,
                                "ServiceUnavailableException",
                                "ebs-local has "
                                        + max
                                        + " connections open, its limit; retry, or reuse"
                                        + " connections.",
                                null));
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                ReferenceCountUtil.release(msg);
            }
        };
    }
}
