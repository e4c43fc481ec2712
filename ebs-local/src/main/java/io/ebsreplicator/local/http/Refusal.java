package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.ReferenceCountUtil;

import java.util.concurrent.TimeUnit;

/**
 * Answers a request that cannot be read to its end, and closes its connection so that the client
 * still reads the answer. Closing a socket whose client is still sending makes the kernel reset the
 * connection, and a reset can destroy the answer before the client reads it; so the answer is
 * followed by a half-close, what the client still sends is dropped unread (up to {@link
 * #DRAIN_BYTES}, then the connection is no longer read at all), and the connection is closed once
 * the client closes its side, or after {@link #LINGER_MILLIS}.
 */
final class Refusal {

    /**
     * Long enough for a client to read an answer over loopback or a LAN and close; short enough
     * that a client which keeps sending cannot hold the connection.
     */
    static final long LINGER_MILLIS = 2000;

    /**
     * What is drained after an answer: any body this API takes (2 MiB) twice over, so that a client
     * that writes its whole request before it reads the answer gets to read it; beyond that a
     * client streaming without end would only cost CPU, so it is left to block.
     */
    static final long DRAIN_BYTES = 4L << 20;

    private Refusal() {}

    /** Drops what arrives, in front of the HTTP codec so it is not even decoded. */
    private static final class Drain extends ChannelInboundHandlerAdapter {
        private long drained;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof ByteBuf b) {
                drained += b.readableBytes();
            }
            ReferenceCountUtil.release(msg);
            if (drained > DRAIN_BYTES) {
                ctx.channel().config().setAutoRead(false);
            }
        }
    }

    private static void drain(Channel ch) {
        ChannelPipeline p = ch.pipeline();
        if (p.get(Drain.class) != null) {
            return;
        }
        SslHandler ssl = p.get(SslHandler.class);
        if (ssl != null) {
            p.addAfter(p.context(ssl).name(), null, new Drain());
        } else {
            p.addFirst(new Drain());
        }
    }

    /** Answers {@code error} in the EBS error shape and closes. */
    static void answerAndClose(ChannelHandlerContext ctx, EbsError error) {
        answerAndClose(ctx, Responses.jsonError(error));
    }

    static void answerAndClose(ChannelHandlerContext ctx, FullHttpResponse response) {
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        Channel ch = ctx.channel();
        drain(ch);
        ctx.writeAndFlush(response)
                .addListener(
                        f -> {
                            if (!f.isSuccess() || !(ch instanceof DuplexChannel d)) {
                                ch.close();
                                return;
                            }
                            d.shutdownOutput();
                            ch.eventLoop()
                                    .schedule(
                                            () -> ch.close(), LINGER_MILLIS, TimeUnit.MILLISECONDS);
                        });
    }
}
