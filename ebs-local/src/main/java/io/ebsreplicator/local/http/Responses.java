package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.ec2.Ec2Responses;
import io.ebsreplicator.local.sts.StsResponses;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.util.UUID;

/**
 * Builds responses in rest-json (EBS), and errors in each of the three wire formats served (EBS
 * rest-json, EC2 Query XML, STS Query XML).
 */
final class Responses {

    static final ObjectMapper JSON = new ObjectMapper();

    private Responses() {}

    static FullHttpResponse json(int status, ObjectNode body) {
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
        return bytes(status, "application/json", Unpooled.wrappedBuffer(bytes));
    }

    static FullHttpResponse empty(int status) {
        return bytes(status, "application/json", Unpooled.EMPTY_BUFFER);
    }

    static FullHttpResponse bytes(int status, String contentType, ByteBuf body) {
        FullHttpResponse r =
                new DefaultFullHttpResponse(
                        HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status), body);
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        r.headers().set("x-amzn-RequestId", UUID.randomUUID().toString());
        return r;
    }

    /**
     * A rest-json error: the shape name in {@code x-amzn-ErrorType} and the body, the message and
     * the modelled {@code Reason} in the body. The AWS SDKs map this to the modelled exception.
     */
    static FullHttpResponse jsonError(EbsError e) {
        ObjectNode body = JSON.createObjectNode();
        body.put("__type", e.type());
        body.put("message", e.getMessage());
        if (e.reason() != null) {
            body.put("Reason", e.reason());
        }
        FullHttpResponse r = json(e.status(), body);
        r.headers().set("x-amzn-ErrorType", e.type());
        return r;
    }

    /** An error in the format of {@code api}. */
    static FullHttpResponse error(Operation.Api api, EbsError e) {
        return switch (api) {
            case EBS -> jsonError(e);
            case EC2 -> Ec2Responses.render(e);
            case STS -> StsResponses.render(e);
        };
    }
}
