package io.ebsreplicator.local;

import io.ebsreplicator.local.ErrorReasonsTest.RawResponse;
import io.ebsreplicator.local.auth.AccessKey;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Requests written byte by byte on a raw socket, signed here with SigV4 (written from the
 * specification, independently of the server's verifier) so that a test controls what the SDKs
 * never send: a raw query such as {@code %FF%FE}, a path such as {@code /blocks/+1}, the list of
 * signed headers, malformed framing.
 */
final class RawHttp {

    private static final DateTimeFormatter AMZ_DATE =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'");

    private RawHttp() {}

    /** A signed request: method, raw path, raw query (already in canonical order), headers. */
    static final class Request {
        final String method;
        final String path;
        final String query;
        final Map<String, String> headers = new LinkedHashMap<>();
        byte[] body = new byte[0];
        String service = "ebs";
        String region = "us-east-1";

        Request(String method, String path, String query) {
            this.method = method;
            this.path = path;
            this.query = query;
        }

        Request header(String name, String value) {
            headers.put(name.toLowerCase(java.util.Locale.ROOT), value);
            return this;
        }

        Request body(byte[] b) {
            body = b;
            return this;
        }

        Request service(String s) {
            service = s;
            return this;
        }

        /** Signs every header set so far, plus host and x-amz-date. */
        byte[] signed(URI endpoint, AccessKey key) {
            return signed(endpoint, key, null);
        }

        /**
         * Signs with exactly {@code signedHeaders} (';'-separated) when given, else with every
         * header; the request is sent with all its headers either way.
         */
        byte[] signed(URI endpoint, AccessKey key, String signedHeaders) {
            ZonedDateTime now = ZonedDateTime.now(ZoneOffset.UTC);
            String amzDate = AMZ_DATE.format(now);
            String date = amzDate.substring(0, 8);
            header("host", endpoint.getHost() + ":" + endpoint.getPort());
            header("x-amz-date", amzDate);
            header("content-length", String.valueOf(body.length));
            String payloadHash = headers.getOrDefault("x-amz-content-sha256", hex(sha256(body)));
            Map<String, String> sorted = new java.util.TreeMap<>(headers);
            String signed =
                    signedHeaders != null
                            ? signedHeaders
                            : String.join(
                                    ";",
                                    sorted.keySet().stream()
                                            .filter(h -> !h.equals("content-length"))
                                            .toList());
            StringBuilder canonical = new StringBuilder();
            canonical.append(method).append('\n');
            canonical.append(path.replace("%", "%25").replace("+", "%2B")).append('\n');
            canonical.append(query == null ? "" : query).append('\n');
            for (String h : signed.split(";")) {
                canonical.append(h).append(':').append(sorted.getOrDefault(h, "")).append('\n');
            }
            canonical.append('\n').append(signed).append('\n').append(payloadHash);
            String scope = date + "/" + region + "/" + service + "/aws4_request";
            String toSign =
                    "AWS4-HMAC-SHA256\n"
                            + amzDate
                            + "\n"
                            + scope
                            + "\n"
                            + hex(sha256(canonical.toString().getBytes(StandardCharsets.UTF_8)));
            byte[] k =
                    hmac(("AWS4" + key.secretAccessKey()).getBytes(StandardCharsets.UTF_8), date);
            k = hmac(k, region);
            k = hmac(k, service);
            k = hmac(k, "aws4_request");
            String signature = hex(hmac(k, toSign));
            header(
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential="
                            + key.accessKeyId()
                            + "/"
                            + scope
                            + ", SignedHeaders="
                            + signed
                            + ", Signature="
                            + signature);
            return bytes();
        }

        /** The request as it goes on the wire, signed or not. */
        byte[] bytes() {
            StringBuilder head = new StringBuilder();
            head.append(method)
                    .append(' ')
                    .append(path)
                    .append(query == null ? "" : "?" + query)
                    .append(" HTTP/1.1\r\n");
            headers.forEach((n, v) -> head.append(n).append(": ").append(v).append("\r\n"));
            head.append("\r\n");
            byte[] h = head.toString().getBytes(StandardCharsets.ISO_8859_1);
            byte[] out = new byte[h.length + body.length];
            System.arraycopy(h, 0, out, 0, h.length);
            System.arraycopy(body, 0, out, h.length, body.length);
            return out;
        }
    }

    /** Sends {@code request} on a new connection and reads one response. */
    static RawResponse exchange(URI endpoint, byte[] request) throws IOException {
        try (Socket s = open(endpoint)) {
            s.getOutputStream().write(request);
            s.getOutputStream().flush();
            return ErrorReasonsTest.readResponse(s.getInputStream());
        }
    }

    static Socket open(URI endpoint) throws IOException {
        Socket s = new Socket(endpoint.getHost(), endpoint.getPort());
        s.setSoTimeout(20_000);
        return s;
    }

    /** Whether the server closed the connection: the next read sees the end of the stream. */
    static boolean closedByServer(Socket s) throws IOException {
        InputStream in = s.getInputStream();
        try {
            while (true) {
                if (in.read() < 0) {
                    return true;
                }
            }
        } catch (java.net.SocketException e) {
            return true; // reset: closed all the same
        } catch (java.net.SocketTimeoutException e) {
            return false;
        }
    }

    static void write(Socket s, String text) throws IOException {
        OutputStream out = s.getOutputStream();
        out.write(text.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
