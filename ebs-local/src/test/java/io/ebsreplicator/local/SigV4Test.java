package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.http.ContentStreamProvider;
import software.amazon.awssdk.http.SdkHttpFullRequest;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.EbsException;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * SigV4 header authentication as the AWS front end applies it, checked with the SDK's own clients
 * and with requests signed by the SDK's {@link AwsV4HttpSigner} and then sent (possibly altered)
 * over a raw {@link HttpClient}.
 */
class SigV4Test {

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder().configure(b -> b.sealDelay(Duration.ZERO)).build();

    private static final HttpClient HTTP =
            HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(Duration.ofSeconds(10))
                    .build();

    private static final String START_BODY = "{\"VolumeSize\":1,\"Timeout\":60}";

    // ------------------------------------------------------------ SDK clients with bad keys

    @Test
    void wrongSecretIsInvalidSignature() {
        AccessKey good = EBS.accessKey();
        AccessKey wrong =
                new AccessKey(good.accessKeyId(), good.secretAccessKey() + "x", good.accountId());
        try (EbsClient ebs = EbsClients.ebs(EBS.endpoint(), wrong, "us-east-1", false)) {
            EbsException e =
                    catchThrowableOfType(EbsException.class, () -> EbsClients.start(ebs, 1, null));
            assertThat(e).isNotNull();
            assertThat(e.statusCode()).isEqualTo(403);
            assertThat(e.awsErrorDetails().errorCode()).isEqualTo("InvalidSignatureException");
        }
        // The same call with the right secret goes through: the secret alone made the difference.
        try (EbsClient ebs = EbsClients.ebs(EBS.server(), "us-east-1")) {
            assertThat(EbsClients.start(ebs, 1, null).snapshotId()).startsWith("snap-");
        }
    }

    @Test
    void unknownAccessKeyIsUnrecognizedClient() {
        AccessKey unknown =
                new AccessKey(
                        "AKIAUNKNOWN000000000",
                        EBS.accessKey().secretAccessKey(),
                        EBS.accessKey().accountId());
        try (EbsClient ebs = EbsClients.ebs(EBS.endpoint(), unknown, "us-east-1", false)) {
            EbsException e =
                    catchThrowableOfType(EbsException.class, () -> EbsClients.start(ebs, 1, null));
            assertThat(e).isNotNull();
            assertThat(e.statusCode()).isEqualTo(403);
            assertThat(e.awsErrorDetails().errorCode()).isEqualTo("UnrecognizedClientException");
        }
    }

    @Test
    void noAuthorizationHeaderIsMissingAuthenticationToken() throws Exception {
        HttpResponse<String> r =
                HTTP.send(
                        HttpRequest.newBuilder(EBS.endpoint().resolve("/snapshots"))
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(START_BODY))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(errorType(r)).isEqualTo("MissingAuthenticationTokenException");
    }

    // ------------------------------------------------------------ requests signed by hand

    @Test
    void signedRequestPassesAsControl() throws Exception {
        Signed s = sign(SdkHttpMethod.POST, "/snapshots", Map.of(), bytes(START_BODY), opts());
        HttpResponse<String> r = send(s, bytes(START_BODY));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(r.body()).contains("\"SnapshotId\":\"snap-");
    }

    @Test
    void signingNameEc2AgainstEbsPathIsRefused() throws Exception {
        Signed s =
                sign(
                        SdkHttpMethod.POST,
                        "/snapshots",
                        Map.of(),
                        bytes(START_BODY),
                        opts().service("ec2"));
        HttpResponse<String> r = send(s, bytes(START_BODY));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
        assertThat(errorType(r)).isEqualTo("InvalidSignatureException");
    }

    @Test
    void bodyAlteredAfterSigningIsRefused() throws Exception {
        byte[] signedBody = bytes(START_BODY);
        Signed s = sign(SdkHttpMethod.POST, "/snapshots", Map.of(), signedBody, opts());
        assertThat(s.request.firstMatchingHeader("x-amz-content-sha256"))
                .hasValueSatisfying(v -> assertThat(v).hasSize(64));

        byte[] altered = bytes("{\"VolumeSize\":2,\"Timeout\":60}");
        HttpResponse<String> r = send(s, altered);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
        assertThat(errorType(r)).isEqualTo("InvalidSignatureException");

        // The untouched body with the very same signature headers is accepted.
        HttpResponse<String> ok = send(s, signedBody);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(201);
    }

    @Test
    void tamperedQueryParameterIsRefused() throws Exception {
        String id;
        try (EbsClient ebs = EbsClients.ebs(EBS.server(), "us-east-1")) {
            id = EbsClients.start(ebs, 1, null).snapshotId();
            byte[] a = EbsClients.block(11);
            EbsClients.put(ebs, id, 0, a);
            EbsClients.complete(ebs, id, List.of(a));
            try (var ec2 = EbsClients.ec2(EBS.server(), "us-east-1")) {
                EbsClients.awaitCompleted(ec2, id);
            }
        }
        String path = "/snapshots/" + id + "/blocks";
        Signed s = sign(SdkHttpMethod.GET, path, Map.of("maxResults", "100"), null, opts());

        URI tampered = URI.create(s.sendUri.toString().replace("maxResults=100", "maxResults=200"));
        assertThat(tampered).isNotEqualTo(s.sendUri);
        HttpResponse<String> r = send(s.request, tampered, null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
        assertThat(errorType(r)).isEqualTo("InvalidSignatureException");

        URI added = URI.create(s.sendUri + "&startingBlockIndex=0");
        HttpResponse<String> r2 = send(s.request, added, null);
        assertThat(r2.statusCode()).as(r2.body()).isEqualTo(403);

        HttpResponse<String> ok = send(s, null);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(200);
        assertThat(ok.body()).contains("\"BlockIndex\":0");
    }

    @Test
    void signatureOlderThanFifteenMinutesIsExpired() throws Exception {
        Clock twentyMinutesAgo =
                Clock.fixed(Instant.now().minus(Duration.ofMinutes(20)), ZoneOffset.UTC);
        Signed old =
                sign(
                        SdkHttpMethod.POST,
                        "/snapshots",
                        Map.of(),
                        bytes(START_BODY),
                        opts().clock(twentyMinutesAgo));
        HttpResponse<String> r = send(old, bytes(START_BODY));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(403);
        assertThat(errorType(r)).isEqualTo("InvalidSignatureException");
        assertThat(r.body()).contains("Signature expired");

        // Within the 15-minute skew a signature from the past is still good.
        Clock tenMinutesAgo =
                Clock.fixed(Instant.now().minus(Duration.ofMinutes(10)), ZoneOffset.UTC);
        Signed recent =
                sign(
                        SdkHttpMethod.POST,
                        "/snapshots",
                        Map.of(),
                        bytes(START_BODY),
                        opts().clock(tenMinutesAgo));
        HttpResponse<String> ok = send(recent, bytes(START_BODY));
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(201);
    }

    @Test
    void unsignedPayloadIsAcceptedForPutSnapshotBlockOverHttp() throws Exception {
        String id;
        try (EbsClient ebs = EbsClients.ebs(EBS.server(), "us-east-1")) {
            id = EbsClients.start(ebs, 1, null).snapshotId();
        }
        byte[] data = EbsClients.block(21);
        String path = "/snapshots/" + id + "/blocks/3";
        Map<String, String> headers =
                Map.of(
                        "x-amz-Data-Length",
                        String.valueOf(data.length),
                        "x-amz-Checksum",
                        EbsClients.sha256(data),
                        "x-amz-Checksum-Algorithm",
                        "SHA256",
                        "Content-Type",
                        "application/octet-stream");
        Signed s =
                sign(
                        SdkHttpMethod.PUT,
                        path,
                        Map.of(),
                        data,
                        opts().payloadSigning(false).headers(headers));
        assertThat(s.request.firstMatchingHeader("x-amz-content-sha256"))
                .hasValue("UNSIGNED-PAYLOAD");
        assertThat(s.sendUri.getScheme()).isEqualTo("http");

        HttpResponse<String> r = send(s, data);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        assertThat(r.headers().firstValue("x-amz-Checksum")).hasValue(EbsClients.sha256(data));

        // Checksum still protects the unsigned body: a different body with the same signed
        // headers is refused by the checksum check (not by the signature).
        byte[] other = EbsClients.block(22);
        HttpResponse<String> bad = send(s, other);
        assertThat(bad.statusCode()).as(bad.body()).isEqualTo(400);
        assertThat(errorType(bad)).isEqualTo("ValidationException");
    }

    @Test
    void percentEncodedQueryAndPathVerify() throws Exception {
        String id;
        String token = null;
        int tokenIndex = -1;
        byte[][] data = new byte[8][];
        try (EbsClient ebs = EbsClients.ebs(EBS.server(), "us-east-1")) {
            id = EbsClients.start(ebs, 1, null).snapshotId();
            for (int i = 0; i < data.length; i++) {
                data[i] = EbsClients.block(100 + i);
                EbsClients.put(ebs, id, i, data[i]);
            }
            EbsClients.complete(ebs, id, List.of(data));
            try (var ec2 = EbsClients.ec2(EBS.server(), "us-east-1")) {
                EbsClients.awaitCompleted(ec2, id);
            }
            String sid = id;
            var page = ebs.listSnapshotBlocks(r -> r.snapshotId(sid));
            for (var b : page.blocks()) {
                String t = b.blockToken();
                if ((t.contains("+") || t.contains("/"))) {
                    token = t;
                    tokenIndex = b.blockIndex();
                    if (t.contains("+") && t.contains("/")) {
                        break;
                    }
                }
            }
        }
        assertThat(token).as("a block token with '+' or '/' among 8 tokens").isNotNull();

        String path = "/snapshots/" + id + "/blocks/" + tokenIndex;
        Signed s = sign(SdkHttpMethod.GET, path, Map.of("blockToken", token), null, opts());
        assertThat(s.sendUri.getRawQuery()).contains("%2").doesNotContain("+");
        HttpResponse<byte[]> r =
                HTTP.send(
                        builder(s.request, s.sendUri).GET().build(),
                        HttpResponse.BodyHandlers.ofByteArray());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.body()).isEqualTo(data[tokenIndex]);

        // A forged token full of reserved characters still passes the signature check and is
        // refused by the token check (400), not by authentication (403).
        Signed forged =
                sign(
                        SdkHttpMethod.GET,
                        path,
                        Map.of("blockToken", "AAAA+/+/BBBB==="),
                        null,
                        opts());
        HttpResponse<String> fr = send(forged, null);
        assertThat(fr.statusCode()).as(fr.body()).isEqualTo(400);
        assertThat(fr.body()).contains("INVALID_BLOCK_TOKEN");

        // A path segment that needs percent-encoding (double-encoded in the canonical URI) also
        // verifies, and then fails validation of the snapshot id.
        Signed odd =
                sign(SdkHttpMethod.GET, "/snapshots/snap%20x%2By/blocks", Map.of(), null, opts());
        HttpResponse<String> or = send(odd, null);
        assertThat(or.statusCode()).as(or.body()).isEqualTo(400);
        assertThat(or.body()).contains("INVALID_SNAPSHOT_ID");
    }

    // ------------------------------------------------------------ helpers

    private record Signed(SdkHttpRequest request, URI sendUri) {}

    private static final class Opts {
        String service = "ebs";
        String region = "us-east-1";
        boolean payloadSigning = true;
        Clock clock;
        Map<String, String> headers = Map.of();

        Opts service(String v) {
            service = v;
            return this;
        }

        Opts payloadSigning(boolean v) {
            payloadSigning = v;
            return this;
        }

        Opts clock(Clock v) {
            clock = v;
            return this;
        }

        Opts headers(Map<String, String> v) {
            headers = v;
            return this;
        }
    }

    private static Opts opts() {
        return new Opts();
    }

    /**
     * Signs a request for the server. Over plain HTTP the SDK signer always hashes the payload; to
     * get {@code UNSIGNED-PAYLOAD} (as the SDK does for PutSnapshotBlock over HTTPS) the request is
     * signed with an {@code https} URI for the same host and port (the scheme is not part of the
     * signature) and then sent over HTTP.
     */
    private static Signed sign(
            SdkHttpMethod method,
            String encodedPath,
            Map<String, String> query,
            byte[] body,
            Opts o) {
        URI endpoint = EBS.endpoint();
        SdkHttpFullRequest.Builder rb =
                SdkHttpFullRequest.builder()
                        .method(method)
                        .protocol(o.payloadSigning ? "http" : "https")
                        .host(endpoint.getHost())
                        .port(endpoint.getPort())
                        .encodedPath(encodedPath);
        query.forEach(rb::putRawQueryParameter);
        o.headers.forEach(rb::putHeader);
        if (body != null && !o.headers.containsKey("Content-Type")) {
            rb.putHeader("Content-Type", "application/json");
        }
        SdkHttpFullRequest request = rb.build();
        AccessKey key = EBS.accessKey();
        var signed =
                AwsV4HttpSigner.create()
                        .sign(
                                r -> {
                                    r.identity(
                                                    AwsCredentialsIdentity.create(
                                                            key.accessKeyId(),
                                                            key.secretAccessKey()))
                                            .request(request)
                                            .payload(
                                                    body == null
                                                            ? null
                                                            : ContentStreamProvider.fromByteArray(
                                                                    body))
                                            .putProperty(
                                                    AwsV4HttpSigner.SERVICE_SIGNING_NAME, o.service)
                                            .putProperty(AwsV4HttpSigner.REGION_NAME, o.region)
                                            .putProperty(
                                                    AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED,
                                                    o.payloadSigning);
                                    if (o.clock != null) {
                                        r.putProperty(AwsV4HttpSigner.SIGNING_CLOCK, o.clock);
                                    }
                                });
        SdkHttpRequest sr = signed.request();
        URI signedUri = sr.getUri();
        URI sendUri =
                URI.create("http" + signedUri.toString().substring(signedUri.getScheme().length()));
        return new Signed(sr, sendUri);
    }

    private static HttpResponse<String> send(Signed s, byte[] body) throws Exception {
        return send(s.request, s.sendUri, body);
    }

    private static HttpResponse<String> send(SdkHttpRequest signed, URI uri, byte[] body)
            throws Exception {
        HttpRequest.Builder b = builder(signed, uri);
        HttpRequest.BodyPublisher p =
                body == null
                        ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofByteArray(body);
        b.method(signed.method().name(), p);
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpRequest.Builder builder(SdkHttpRequest signed, URI uri) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(30));
        signed.forEachHeader(
                (name, values) -> {
                    // Host is restricted in java.net.http and derived from the URI (same value).
                    if (!name.equalsIgnoreCase("Host")) {
                        values.forEach(v -> b.header(name, v));
                    }
                });
        return b;
    }

    private static String errorType(HttpResponse<?> r) {
        return r.headers().firstValue("x-amzn-ErrorType").orElse(null);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
