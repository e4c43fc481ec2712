package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.auth.SigV4Verifier;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.FullHttpMessage;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What a request head must pass before its body is buffered: it must be well-formed HTTP (else 400,
 * 414 or 431, and the connection is closed, because the rest of the stream cannot be trusted to
 * frame the next request); it must carry a valid signature when its head alone can show one (else
 * 403 before a byte of the body is read); and a body that can only be authenticated once it has
 * arrived must fit in the server-wide budget of unauthenticated bytes (else 503). One per
 * connection, on its I/O thread, between the HTTP codec and the aggregator.
 */
public final class RequestGate extends ChannelDuplexHandler {

    private final SigV4Verifier verifier;
    private final AtomicLong unauthenticated;
    private final long budget;

    /** Bytes of the current request counted against the budget, until its response is written. */
    private long held;

    private boolean counting;
    private boolean refused;

    /**
     * @param unauthenticated the server-wide count of body bytes held before authentication
     * @param budget the most that count may reach
     */
    public RequestGate(SigV4Verifier verifier, AtomicLong unauthenticated, long budget) {
        this.verifier = verifier;
        this.unauthenticated = unauthenticated;
        this.budget = budget;
    }

    /** A fresh counter for {@link #RequestGate}, one per server. */
    public static AtomicLong newBudget() {
        return new AtomicLong();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg); // the rest of a refused request
            return;
        }
        if (msg instanceof HttpObject o && o.decoderResult().isFailure()) {
            ReferenceCountUtil.release(msg);
            refuse(ctx, malformed(o.decoderResult()));
            return;
        }
        if (msg instanceof HttpRequest head && !(msg instanceof FullHttpMessage)) {
            release();
            counting = false;
            if (hasBody(head)) {
                EbsError denied = admit(head);
                if (denied != null) {
                    ReferenceCountUtil.release(msg);
                    refuse(ctx, head, denied);
                    return;
                }
            }
        } else if (msg instanceof HttpContent c && counting) {
            long n = c.content().readableBytes();
            held += n;
            if (unauthenticated.addAndGet(n) > budget) {
                ReferenceCountUtil.release(msg);
                refuse(
                        ctx,
                        new EbsError(
                                503,
                                "ServiceUnavailableException",
                                "Too many request bodies are waiting to be authenticated; retry"
                                        + " later, or sign X-Amz-Content-SHA256.",
                                null));
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    private static boolean hasBody(HttpRequest head) {
        return HttpUtil.isTransferEncodingChunked(head) || HttpUtil.getContentLength(head, 0L) > 0;
    }

    /**
     * Verifies the head when it can; otherwise its body counts against the budget until the request
     * is answered. Returns the refusal, or {@code null}.
     */
    private EbsError admit(HttpRequest head) {
        try {
            if (verifier.verifyHead(new HttpRequestView(head)) == null) {
                counting = true;
            }
            return null;
        } catch (EbsError e) {
            return e;
        }
    }

    private static EbsError malformed(DecoderResult result) {
        Throwable cause = result.cause();
        if (cause instanceof TooLongHttpLineException) {
            return new EbsError(
                    414, "RequestURITooLongException", "The request line is too long.", null);
        }
        if (cause instanceof TooLongHttpHeaderException) {
            return new EbsError(
                    431,
                    "RequestHeaderFieldsTooLargeException",
                    "The request headers are too large.",
                    null);
        }
        if (cause instanceof TooLongFrameException) {
            return new EbsError(
                    413, "RequestEntityTooLargeException", "The request is too large.", null);
        }
        return EbsError.invalidParameter(
                "The HTTP request is malformed: "
                        + (cause == null ? "unreadable" : cause.getMessage()));
    }

    private void refuse(ChannelHandlerContext ctx, EbsError error) {
        refuse(ctx, null, error);
    }

    /** Answers and closes: a body left unread cannot be told from the next request. */
    private void refuse(ChannelHandlerContext ctx, HttpRequest head, EbsError error) {
        refused = true;
        release();
        Operation.Api format =
                head != null && isQuery(head.uri())
                        ? Route.queryFormat(null, head.headers().get("Authorization"))
                        : Operation.Api.EBS;
        Refusal.answerAndClose(ctx, Responses.error(format, error));
    }

    /** A request to {@code /}: an EC2 or STS Query request. */
    private static boolean isQuery(String uri) {
        return uri.isEmpty() || uri.equals("/") || uri.startsWith("/?");
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        boolean interim =
                msg instanceof HttpResponse r && r.status().equals(HttpResponseStatus.CONTINUE);
        if (!interim && (msg instanceof LastHttpContent || msg instanceof FullHttpMessage)) {
            release(); // the request is answered: its body is no longer held
            counting = false;
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        release();
        ctx.fireChannelInactive();
    }

    private void release() {
        if (held > 0) {
            unauthenticated.addAndGet(-held);
            held = 0;
        }
    }
}
