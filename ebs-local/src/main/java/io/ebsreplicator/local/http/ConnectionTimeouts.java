package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.LastHttpContent;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The time limits of one connection, by what it is doing:
 *
 * <ul>
 *   <li>idle between requests: closed without a word after the idle timeout, as HTTP servers do
 *       with kept-alive connections;
 *   <li>sending a request head (and a new connection until its first byte): answered 408 and closed
 *       when the head is not complete within the header timeout, however slowly it trickles in;
 *   <li>sending a body: answered ValidationException(WRITE_REQUEST_TIMEOUT) and closed when no byte
 *       arrives for the write timeout, as EBS does for a stalled block upload;
 *   <li>waiting for the response: no limit here; the server answers.
 * </ul>
 *
 * One per connection, on its I/O thread: {@link #bytesSeen()} goes in front of the HTTP codec to
 * see a head begin, this handler behind it to see heads, bodies and responses.
 */
public final class ConnectionTimeouts extends ChannelDuplexHandler {

    private enum Phase {
        IDLE,
        HEAD,
        BODY,
        SERVING
    }

    private final long idleNanos;
    private final long headerNanos;
    private final long bodyNanos;
    private Phase phase = Phase.HEAD;
    private boolean served;
    private long since = System.nanoTime();
    private ScheduledFuture<?> timer;
    private long timerDue;

    public ConnectionTimeouts(Duration idle, Duration header, Duration body) {
        this.idleNanos = idle.toNanos();
        this.headerNanos = header.toNanos();
        this.bodyNanos = body.toNanos();
    }

    /**
     * The handler that goes in front of the HTTP codec: a byte on an idle connection starts a head.
     */
    public ChannelInboundHandlerAdapter bytesSeen() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                if (msg instanceof ByteBuf b && b.isReadable() && phase == Phase.IDLE) {
                    enter(ctx.pipeline().context(ConnectionTimeouts.this), Phase.HEAD);
                }
                ctx.fireChannelRead(msg);
            }
        };
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        if (ctx.channel().isActive()) {
            enter(ctx, Phase.HEAD);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        enter(ctx, Phase.HEAD);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest) {
            enter(ctx, msg instanceof FullHttpMessage ? Phase.SERVING : Phase.BODY);
        } else if (msg instanceof LastHttpContent) {
            enter(ctx, Phase.SERVING);
        } else if (msg instanceof HttpContent && phase == Phase.BODY) {
            since = System.nanoTime(); // the body is still arriving
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        boolean interim =
                msg instanceof HttpResponse r && r.status().equals(HttpResponseStatus.CONTINUE);
        if (!interim && (msg instanceof LastHttpContent || msg instanceof FullHttpMessage)) {
            served = true;
            if (phase == Phase.SERVING) {
                enter(ctx, Phase.IDLE);
            }
        }
        ctx.write(msg, promise);
    }

    private void enter(ChannelHandlerContext ctx, Phase next) {
        phase = next;
        since = System.nanoTime();
        long limit = limit();
        if (limit > 0) {
            schedule(ctx, since + limit);
        }
    }

    /** The limit of the current phase; a new connection waits for its first head as for a head. */
    private long limit() {
        return switch (phase) {
            case IDLE -> served ? idleNanos : headerNanos;
            case HEAD -> headerNanos;
            case BODY -> bodyNanos;
            case SERVING -> 0;
        };
    }

    private void schedule(ChannelHandlerContext ctx, long due) {
        if (timer != null && timerDue <= due) {
            return; // the earlier timer checks and moves itself on
        }
        if (timer != null) {
            timer.cancel(false);
        }
        timerDue = due;
        timer =
                ctx.executor()
                        .schedule(
                                () -> check(ctx),
                                Math.max(0, due - System.nanoTime()),
                                TimeUnit.NANOSECONDS);
    }

    private void check(ChannelHandlerContext ctx) {
        timer = null;
        if (!ctx.channel().isActive()) {
            return;
        }
        long limit = limit();
        if (limit == 0) {
            return;
        }
        long due = since + limit;
        if (System.nanoTime() < due) {
            schedule(ctx, due);
            return;
        }
        switch (phase) {
            case IDLE -> ctx.close();
            case HEAD ->
                    refuse(
                            ctx,
                            new EbsError(
                                    408,
                                    "RequestTimeoutException",
                                    "The request head did not arrive within "
                                            + TimeUnit.NANOSECONDS.toMillis(headerNanos)
                                            + " ms.",
                                    null));
            case BODY ->
                    refuse(
                            ctx,
                            EbsError.validation(
                                    "WRITE_REQUEST_TIMEOUT",
                                    "The request body did not arrive within "
                                            + TimeUnit.NANOSECONDS.toMillis(bodyNanos)
                                            + " ms."));
            default -> {}
        }
    }

    private static void refuse(ChannelHandlerContext ctx, EbsError error) {
        Refusal.answerAndClose(ctx, error);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        ctx.fireChannelInactive();
    }
}
