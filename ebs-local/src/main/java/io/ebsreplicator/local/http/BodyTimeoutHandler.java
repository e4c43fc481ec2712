package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Answers ValidationException(WRITE_REQUEST_TIMEOUT) and closes the connection when a request body
 * stops arriving for longer than the write timeout, as EBS does for a stalled block upload. One per
 * connection, on its I/O thread, in front of the aggregator.
 */
public final class BodyTimeoutHandler extends ChannelInboundHandlerAdapter {

    private final long timeoutNanos;
    private long lastReadNanos;
    private boolean inBody;
    private ScheduledFuture<?> timer;

    public BodyTimeoutHandler(long timeoutMillis) {
        this.timeoutNanos = TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest && !(msg instanceof FullHttpMessage)) {
            inBody = true;
            lastReadNanos = System.nanoTime();
            schedule(ctx, timeoutNanos);
        }
        if (msg instanceof HttpContent) {
            lastReadNanos = System.nanoTime();
            if (msg instanceof LastHttpContent) {
                inBody = false;
                cancel();
            }
        }
        ctx.fireChannelRead(msg);
    }

    private void schedule(ChannelHandlerContext ctx, long delayNanos) {
        cancel();
        timer = ctx.executor().schedule(() -> check(ctx), delayNanos, TimeUnit.NANOSECONDS);
    }

    private void check(ChannelHandlerContext ctx) {
        if (!inBody || !ctx.channel().isActive()) {
            return;
        }
        long idle = System.nanoTime() - lastReadNanos;
        if (idle < timeoutNanos) {
            schedule(ctx, timeoutNanos - idle);
            return;
        }
        inBody = false;
        var response =
                Responses.jsonError(
                        EbsError.validation(
                                "WRITE_REQUEST_TIMEOUT",
                                "The request body did not arrive within "
                                        + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
                                        + " ms."));
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }

    private void cancel() {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        cancel();
        ctx.fireChannelInactive();
    }
}
