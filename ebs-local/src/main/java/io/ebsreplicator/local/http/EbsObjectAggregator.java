package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.ReferenceCountUtil;

/**
 * Netty's aggregator, but a request larger than any request needs is answered 413 in the EBS error
 * shape (Netty's own 413 has an empty body and no {@code x-amzn-ErrorType}), and the connection is
 * closed. One per connection, on its I/O thread.
 */
public final class EbsObjectAggregator extends HttpObjectAggregator {

    public EbsObjectAggregator(int maxContentLength) {
        super(maxContentLength);
    }

    private EbsError tooLarge() {
        return new EbsError(
                413,
                "RequestEntityTooLargeException",
                "The request body is larger than the "
                        + maxContentLength()
                        + " bytes that any request of this API needs.",
                null);
    }

    @Override
    protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized)
            throws Exception {
        if (oversized instanceof HttpRequest) {
            Refusal.answerAndClose(ctx, tooLarge());
        } else {
            super.handleOversizedMessage(ctx, oversized);
        }
    }

    /** With {@code Expect: 100-continue} the refusal comes before the body; it says why, too. */
    @Override
    protected Object newContinueResponse(
            HttpMessage start, int maxContentLength, ChannelPipeline pipeline) {
        Object response = super.newContinueResponse(start, maxContentLength, pipeline);
        if (response instanceof FullHttpResponse r
                && r.status().equals(HttpResponseStatus.REQUEST_ENTITY_TOO_LARGE)) {
            ReferenceCountUtil.release(r);
            return Responses.jsonError(tooLarge());
        }
        return response;
    }
}
