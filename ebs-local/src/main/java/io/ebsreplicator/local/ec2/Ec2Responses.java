package io.ebsreplicator.local.ec2;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.auth.SigV4Verifier;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * What the EC2 Query actions ebs-local serves ({@link DescribeSnapshots}, {@link DeleteSnapshot})
 * share: the XML namespace, responses and the EC2 error document, and the snapshot-id check EC2
 * makes before it looks anything up. Stateless; runs on the server's worker threads.
 */
public final class Ec2Responses {

    /** The namespace of the EC2 API version the SDKs speak. */
    static final String NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/";

    private static final Pattern SNAPSHOT_ID = Pattern.compile("^snap-[0-9a-f]+$");

    private Ec2Responses() {}

    /**
     * A client error (HTTP 400) with an EC2 error code such as {@code InvalidSnapshot.NotFound}.
     */
    static EbsError clientError(String code, String message) {
        return new EbsError(400, code, message, null);
    }

    /** Refuses a snapshot id that is not {@code snap-} and hex digits, as EC2 does. */
    static void requireSnapshotId(String id) {
        if (id == null || id.length() > 64 || !SNAPSHOT_ID.matcher(id).matches()) {
            String shown = id == null ? "" : id.length() <= 64 ? id : id.substring(0, 64) + "...";
            throw clientError(
                    "InvalidSnapshotID.Malformed",
                    "Invalid id: \"" + shown + "\" (expecting \"snap-...\")");
        }
    }

    /** A fresh request id for a response. */
    static String requestId() {
        return UUID.randomUUID().toString();
    }

    /** Renders any error of an EC2 Query request in the EC2 error format. */
    public static FullHttpResponse render(EbsError e) {
        String code = e.type();
        if (code.equals(SigV4Verifier.EXPIRED_TOKEN)) {
            // The one authentication failure EC2 names apart (403, as its API reference lists it),
            // so that clients can tell credentials to renew from credentials that are wrong.
            return xml(403, errorXml(code, e.getMessage()));
        }
        if (e.status() == 403) {
            code = "AuthFailure";
        } else if (e.status() >= 500) {
            code = "InternalError";
        } else if (e.type().equals("RequestThrottledException")) {
            code = "RequestLimitExceeded";
        }
        int status =
                e.status() == 403
                        ? 401
                        : e.status() >= 500 ? 500 : e.status() == 404 ? 400 : e.status();
        if (code.equals("RequestLimitExceeded")) {
            status = 503;
        }
        return xml(status, errorXml(code, e.getMessage()));
    }

    private static String errorXml(String code, String message) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>"
                + escape(code)
                + "</Code><Message>"
                + escape(message)
                + "</Message></Error></Errors><RequestID>"
                + requestId()
                + "</RequestID></Response>";
    }

    /** An XML response of the Query APIs (EC2, STS) with this status and body. */
    public static FullHttpResponse xml(int status, String xml) {
        byte[] bytes = xml.getBytes(StandardCharsets.UTF_8);
        FullHttpResponse r =
                new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1,
                        HttpResponseStatus.valueOf(status),
                        Unpooled.wrappedBuffer(bytes));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/xml;charset=UTF-8");
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, bytes.length);
        return r;
    }

    /** {@code s} as XML text ({@code ""} for null). */
    public static String escape(String s) {
        if (s == null) {
            return "";
        }
        return s.replace("&", "&amp;")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replace("\"", "&quot;");
    }
}
