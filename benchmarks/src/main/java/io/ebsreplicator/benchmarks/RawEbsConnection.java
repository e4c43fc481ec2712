package io.ebsreplicator.benchmarks;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.cert.X509Certificate;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Locale;
import java.util.TreeMap;

/**
 * A lean HTTP/1.1 keep-alive connection that signs PutSnapshotBlock and GetSnapshotBlock with SigV4
 * ({@code UNSIGNED-PAYLOAD}, as SDKs sign puts over HTTPS) and moves block bodies with no copies
 * beyond the socket's. It is the load generator for measuring ebs-local's own capacity: an SDK
 * client spends several times the server's CPU per request, which on two shared cores would measure
 * the client. One per load thread; not thread-safe.
 */
final class RawEbsConnection implements AutoCloseable {

    private static final DateTimeFormatter AMZ_DATE =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT);
    private static final String EMPTY_SHA256 =
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    private final URI endpoint;
    private final String host;
    private final String region;
    private final String accessKey;
    private final String secretKey;
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    private final byte[] lineBuf = new byte[8192];

    RawEbsConnection(URI endpoint, String region, String accessKey, String secretKey)
            throws IOException {
        this.endpoint = endpoint;
        this.host = endpoint.getHost() + ":" + endpoint.getPort();
        this.region = region;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        Socket s;
        if (endpoint.getScheme().equals("https")) {
            try {
                SSLContext ctx = SSLContext.getInstance("TLS");
                ctx.init(null, new TrustManager[] {new TrustAll()}, null);
                SSLSocket ssl =
                        (SSLSocket)
                                ctx.getSocketFactory()
                                        .createSocket(endpoint.getHost(), endpoint.getPort());
                ssl.startHandshake();
                s = ssl;
            } catch (GeneralSecurityException e) {
                throw new IOException(e);
            }
        } else {
            s = new Socket(endpoint.getHost(), endpoint.getPort());
        }
        s.setTcpNoDelay(true);
        s.setSendBufferSize(1 << 20);
        s.setReceiveBufferSize(1 << 20);
        this.socket = s;
        this.out = s.getOutputStream();
        this.in = new BufferedInputStream(s.getInputStream(), 1 << 16);
    }

    void put(String snapshotId, int index, byte[] data, String checksum) throws IOException {
        String path = "/snapshots/" + snapshotId + "/blocks/" + index;
        String amzDate = ZonedDateTime.now(ZoneOffset.UTC).format(AMZ_DATE);
        TreeMap<String, String> amz = new TreeMap<>();
        amz.put("x-amz-checksum", checksum);
        amz.put("x-amz-checksum-algorithm", "SHA256");
        amz.put("x-amz-data-length", String.valueOf(data.length));
        String auth = authorization("PUT", path, "", amzDate, "UNSIGNED-PAYLOAD", amz);
        String head =
                "PUT "
                        + path
                        + " HTTP/1.1\r\n"
                        + "Host: "
                        + host
                        + "\r\n"
                        + "X-Amz-Date: "
                        + amzDate
                        + "\r\n"
                        + "X-Amz-Content-SHA256: UNSIGNED-PAYLOAD\r\n"
                        + "x-amz-Data-Length: "
                        + data.length
                        + "\r\n"
                        + "x-amz-Checksum: "
                        + checksum
                        + "\r\n"
                        + "x-amz-Checksum-Algorithm: SHA256\r\n"
                        + "Content-Type: application/octet-stream\r\n"
                        + "Content-Length: "
                        + data.length
                        + "\r\n"
                        + "Authorization: "
                        + auth
                        + "\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.write(data);
        out.flush();
        int status = readResponse(null);
        if (status != 201) {
            throw new IOException("PutSnapshotBlock " + index + " answered " + status);
        }
    }

    /** Reads a block into {@code target}; returns its length. */
    int get(String snapshotId, int index, String token, byte[] target) throws IOException {
        String path = "/snapshots/" + snapshotId + "/blocks/" + index;
        String query = "blockToken=" + encode(token);
        String amzDate = ZonedDateTime.now(ZoneOffset.UTC).format(AMZ_DATE);
        String auth = authorization("GET", path, query, amzDate, EMPTY_SHA256, new TreeMap<>());
        String head =
                "GET "
                        + path
                        + "?"
                        + query
                        + " HTTP/1.1\r\n"
                        + "Host: "
                        + host
                        + "\r\n"
                        + "X-Amz-Date: "
                        + amzDate
                        + "\r\n"
                        + "X-Amz-Content-SHA256: "
                        + EMPTY_SHA256
                        + "\r\n"
                        + "Authorization: "
                        + auth
                        + "\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.US_ASCII));
        out.flush();
        int[] length = new int[1];
        int status = readResponse(new Body(target, length));
        if (status != 200) {
            throw new IOException("GetSnapshotBlock " + index + " answered " + status);
        }
        return length[0];
    }

    private record Body(byte[] target, int[] length) {}

    private int readResponse(Body body) throws IOException {
        String statusLine = readLine();
        int status = Integer.parseInt(statusLine.split(" ")[1]);
        int contentLength = 0;
        String line;
        while (!(line = readLine()).isEmpty()) {
            int colon = line.indexOf(':');
            if (colon > 0 && line.substring(0, colon).equalsIgnoreCase("Content-Length")) {
                contentLength = Integer.parseInt(line.substring(colon + 1).trim());
            }
        }
        if (body != null && status == 200) {
            in.readNBytes(body.target, 0, contentLength);
            body.length[0] = contentLength;
        } else {
            in.skipNBytes(contentLength);
        }
        return status;
    }

    private String readLine() throws IOException {
        int n = 0;
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) {
                throw new IOException("Connection closed by " + endpoint);
            }
            if (c != '\r') {
                lineBuf[n++] = (byte) c;
            }
        }
        return new String(lineBuf, 0, n, StandardCharsets.US_ASCII);
    }

    private String authorization(
            String method,
            String path,
            String query,
            String amzDate,
            String payloadHash,
            TreeMap<String, String> amz) {
        String date = amzDate.substring(0, 8);
        // Every x-amz-* header sent must be signed, as AWS requires.
        amz.put("host", host);
        amz.put("x-amz-content-sha256", payloadHash);
        amz.put("x-amz-date", amzDate);
        String signedHeaders = String.join(";", amz.keySet());
        StringBuilder headers = new StringBuilder();
        amz.forEach((k, v) -> headers.append(k).append(':').append(v).append('\n'));
        String canonical =
                method
                        + "\n"
                        + path
                        + "\n"
                        + query
                        + "\n"
                        + headers
                        + "\n"
                        + signedHeaders
                        + "\n"
                        + payloadHash;
        String scope = date + "/" + region + "/ebs/aws4_request";
        String toSign =
                "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex(sha256(canonical));
        byte[] key = hmac(("AWS4" + secretKey).getBytes(StandardCharsets.UTF_8), date);
        key = hmac(key, region);
        key = hmac(key, "ebs");
        key = hmac(key, "aws4_request");
        return "AWS4-HMAC-SHA256 Credential="
                + accessKey
                + "/"
                + scope
                + ", SignedHeaders="
                + signedHeaders
                + ", Signature="
                + hex(hmac(key, toSign));
    }

    private static String encode(String s) {
        StringBuilder sb = new StringBuilder();
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (Character.isLetterOrDigit(c) || c == '-' || c == '_' || c == '.' || c == '~') {
                sb.append(c);
            } else {
                sb.append(String.format(Locale.ROOT, "%%%02X", (int) c));
            }
        }
        return sb.toString();
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    /** The benchmark talks to its own loopback server with a throwaway certificate. */
    private static final class TrustAll implements X509TrustManager {
        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) {}

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return new X509Certificate[0];
        }
    }
}
