package io.ebsreplicator.local.http;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.AttributeKey;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Marks a PutSnapshotBlock as in progress from the moment its head arrives until its response is
 * written or its connection closes, so that a second put of the same block meanwhile answers
 * CONFLICTING_BLOCK_UPDATE. One per connection, in front of the aggregator.
 */
public final class UploadTracker extends ChannelDuplexHandler {

    /** Set on a connection whose current PutSnapshotBlock overlaps another upload of its block. */
    public static final AttributeKey<Boolean> CONFLICT = AttributeKey.valueOf("ebs.uploadConflict");

    private static final Pattern PUT_BLOCK =
            Pattern.compile("^/snapshots/([^/?]+)/blocks/([^/?]+)");

    private final ConcurrentMap<String, UploadTracker> uploads;
    private String held;

    public UploadTracker(ConcurrentMap<String, UploadTracker> uploads) {
        this.uploads = uploads;
    }

    public static ConcurrentMap<String, UploadTracker> newRegistry() {
        return new ConcurrentHashMap<>();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) throws Exception {
        if (msg instanceof HttpRequest req) {
            release();
            boolean conflict = false;
            Matcher m = PUT_BLOCK.matcher(req.uri());
            if (req.method().equals(HttpMethod.PUT) && m.find()) {
                String key = m.group(1) + "/" + m.group(2);
                if (uploads.putIfAbsent(key, this) == null) {
                    held = key;
                } else {
                    conflict = true;
                }
            }
            ctx.channel().attr(CONFLICT).set(conflict);
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise)
            throws Exception {
        // A "100 Continue" interim response does not end the upload; the final response does.
        if (msg instanceof HttpResponse r
                && !r.status().equals(io.netty.handler.codec.http.HttpResponseStatus.CONTINUE)) {
            release();
        }
        ctx.write(msg, promise);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) throws Exception {
        release();
        ctx.fireChannelInactive();
    }

    private void release() {
        if (held != null) {
            uploads.remove(held, this);
            held = null;
        }
    }
}
