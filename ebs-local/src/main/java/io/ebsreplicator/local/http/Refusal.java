package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.DuplexChannel;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;

import java.util.concurrent.TimeUnit;

/**
 * Answers a request that cannot be read to its end, and closes its connection so that the client
 * still reads the answer. Closing a socket whose client is still sending makes the kernel reset the
 * connection, and a reset can destroy the answer before the client reads it; so the answer is
 * followed by a half-close, what the client still sends is dropped, and the connection is closed
 * once the client closes its side, or after {@link #LINGER_MILLIS}.
 */
final class Refusal {

    /**
     * Long enough for a client to read an answer over loopback or a LAN and close; short enough
     * that a client which keeps sending cannot hold the connection.
     */
    static final long LINGER_MILLIS = 2000;

    private Refusal() {}

    /** Answers {@code error} in the EBS error shape and closes. */
    static void answerAndClose(ChannelHandlerContext ctx, EbsError error) {
        answerAndClose(ctx, Responses.jsonError(error));
    }

    static void answerAndClose(ChannelHandlerContext ctx, FullHttpResponse response) {
        response.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        Channel ch = ctx.channel();
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
