package io.ebsreplicator.local.http;

import io.ebsreplicator.local.auth.SigV4Verifier;
import io.ebsreplicator.local.service.Digest;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

/**
 * One received request: the raw path and query as sent (the signature covers them), decoded
 * parameters, headers, and the body copied out once, with its SHA-256 computed at most once for
 * both the signature and the block checksum.
 */
final class HttpRequestView implements SigV4Verifier.SignedRequest {

    private final HttpRequest request;
    private final ByteBuf content;
    private final String rawPath;
    private final List<Map.Entry<String, String>> query;
    private final List<Map.Entry<String, String>> rawQuery;
    private byte[] body;
    private Digest bodyDigest;

    HttpRequestView(FullHttpRequest request) {
        this(request, request.content());
    }

    /** The head of a request whose body has not arrived: body methods must not be called. */
    HttpRequestView(HttpRequest head) {
        this(head, null);
    }

    private HttpRequestView(HttpRequest request, ByteBuf content) {
        this.request = request;
        this.content = content;
        String uri = request.uri();
        int q = uri.indexOf('?');
        this.rawPath = q < 0 ? uri : uri.substring(0, q);
        this.rawQuery = q < 0 ? List.of() : splitQuery(uri.substring(q + 1));
        List<Map.Entry<String, String>> decoded = new ArrayList<>(rawQuery.size());
        for (Map.Entry<String, String> e : rawQuery) {
            decoded.add(
                    new AbstractMap.SimpleImmutableEntry<>(
                            percentDecode(e.getKey(), false), percentDecode(e.getValue(), false)));
        }
        this.query = decoded;
    }

    @Override
    public List<Map.Entry<String, String>> rawQueryParameters() {
        return rawQuery;
    }

    @Override
    public Collection<String> headerNames() {
        return request.headers().names();
    }

    @Override
    public String method() {
        return request.method().name();
    }

    @Override
    public String rawPath() {
        return rawPath;
    }

    @Override
    public List<Map.Entry<String, String>> queryParameters() {
        return query;
    }

    @Override
    public List<String> headerValues(String name) {
        return request.headers().getAll(name);
    }

    String header(String name) {
        return request.headers().get(name);
    }

    String queryParameter(String name) {
        for (Map.Entry<String, String> e : query) {
            if (e.getKey().equals(name)) {
                return e.getValue();
            }
        }
        return null;
    }

    /** Path segments, percent-decoded. */
    List<String> pathSegments() {
        List<String> out = new ArrayList<>();
        for (String seg : rawPath.split("/")) {
            if (!seg.isEmpty()) {
                out.add(percentDecode(seg, false));
            }
        }
        return out;
    }

    byte[] body() {
        if (body == null) {
            body = new byte[content.readableBytes()];
            content.getBytes(content.readerIndex(), body);
        }
        return body;
    }

    /** The body as it sits in the network buffers, without copying it. */
    ByteBuffer[] bodyBuffers() {
        return content.nioBuffers(content.readerIndex(), content.readableBytes());
    }

    int bodyLength() {
        return content.readableBytes();
    }

    /** SHA-256 of the body, computed once for both the signature and the block checksum. */
    Digest bodyDigest() {
        if (bodyDigest == null) {
            MessageDigest md = Digest.newSha256();
            if (body != null) {
                md.update(body);
            } else {
                for (ByteBuffer b : bodyBuffers()) {
                    md.update(b.duplicate());
                }
            }
            bodyDigest = Digest.of(md.digest());
        }
        return bodyDigest;
    }

    String bodySha256Hex() {
        return bodyDigest().hex();
    }

    /** Parses {@code a=b&c=d}; form encoding also turns '+' into a space, query strings do not. */
    static List<Map.Entry<String, String>> parseQuery(String s, boolean form) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        for (Map.Entry<String, String> e : splitQuery(s)) {
            out.add(
                    new AbstractMap.SimpleImmutableEntry<>(
                            percentDecode(e.getKey(), form), percentDecode(e.getValue(), form)));
        }
        return out;
    }

    /** Splits {@code a=b&c=d} into its pairs without decoding them. */
    private static List<Map.Entry<String, String>> splitQuery(String s) {
        List<Map.Entry<String, String>> out = new ArrayList<>();
        if (s.isEmpty()) {
            return out;
        }
        for (String pair : s.split("&")) {
            if (pair.isEmpty()) {
                continue;
            }
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            String v = eq < 0 ? "" : pair.substring(eq + 1);
            out.add(new AbstractMap.SimpleImmutableEntry<>(k, v));
        }
        return out;
    }

    static String percentDecode(String s, boolean plusIsSpace) {
        if (s.indexOf('%') < 0 && !(plusIsSpace && s.indexOf('+') >= 0)) {
            return s;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%' && i + 2 < s.length()) {
                int hi = Character.digit(s.charAt(i + 1), 16);
                int lo = Character.digit(s.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    out.write(hi * 16 + lo);
                    i += 2;
                    continue;
                }
            }
            if (c == '+' && plusIsSpace) {
                out.write(' ');
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                out.write(b, 0, b.length);
            }
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
