package io.ebsreplicator.local;

import io.ebsreplicator.local.ErrorReasonsTest.RawResponse;
import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Quotas;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.ebs.EbsClient;

import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Clients that do not play by the rules, on raw sockets: slow and idle connections, too many
 * connections, unauthenticated bodies, malformed framing, values the SDKs never send. Each is
 * answered with a status and the EBS error shape, and none keeps the server from serving others.
 */
class HostileHttpTest {

    private static final String REGION = "us-east-1";

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(
                            b ->
                                    b.sealDelay(Duration.ZERO)
                                            .quotas(Quotas.unlimited())
                                            .headerTimeout(Duration.ofMillis(800))
                                            .idleTimeout(Duration.ofMillis(800))
                                            .maxUnauthenticatedBytes(1024 * 1024))
                    .build();

    private static URI endpoint() {
        return EBS.endpoint();
    }

    private static AccessKey key() {
        return EBS.accessKey();
    }

    private static String newSnapshot() {
        try (EbsClient ebs = EbsClients.ebs(EBS.server(), REGION)) {
            return EbsClients.start(ebs, 1, null).snapshotId();
        }
    }

    private static void assertErrorShape(RawResponse r, int status, String type) {
        assertThat(r.status()).as("status of %s", r.body()).isEqualTo(status);
        assertThat(r.header("x-amzn-ErrorType")).as("error type header").isEqualTo(type);
        assertThat(r.body()).as("JSON error body").contains("\"__type\":\"" + type + "\"");
        assertThat(r.body()).as("a message for the client").contains("\"message\":\"");
    }

    // ================================================================ time limits

    @Test
    void aHeadTricklingInALineAtATimeIsAnswered408AndClosed() throws Exception {
        try (Socket s = RawHttp.open(endpoint())) {
            long t0 = System.nanoTime();
            RawHttp.write(s, "GET /snapshots/snap-0/blocks HTTP/1.1\r\nHost: x\r\n");
            OutputStream out = s.getOutputStream();
            Thread writer =
                    new Thread(
                            () -> {
                                try {
                                    for (int i = 0; i < 20; i++) {
                                        Thread.sleep(200);
                                        out.write(("X-Slow-" + i + ": y\r\n").getBytes());
                                        out.flush();
                                    }
                                } catch (Exception e) {
                                    // the server closed the connection, as it should
                                }
                            });
            writer.start();
            RawResponse r = ErrorReasonsTest.readResponse(s.getInputStream());
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertErrorShape(r, 408, "RequestTimeoutException");
            assertThat(ms).as("answered at the header timeout, not later").isBetween(700L, 5000L);
            assertThat(r.header("connection")).isEqualTo("close");
            assertThat(RawHttp.closedByServer(s)).as("connection closed").isTrue();
            writer.join();
        }
    }

    @Test
    void idleConnectionsAreClosedAndKeptAliveOnesServeUntilThen() throws Exception {
        String id = newSnapshot();
        try (Socket silent = RawHttp.open(endpoint());
                Socket kept = RawHttp.open(endpoint())) {
            // A kept-alive connection serves a request, then is closed once idle.
            RawHttp.Request get = new RawHttp.Request("GET", "/snapshots/" + id + "/blocks", null);
            kept.getOutputStream().write(get.signed(endpoint(), key()));
            RawResponse r = ErrorReasonsTest.readResponse(kept.getInputStream());
            assertThat(r.status()).as("a request on the connection is served").isEqualTo(400);
            long t0 = System.nanoTime();
            assertThat(RawHttp.closedByServer(kept)).as("idle connection closed").isTrue();
            assertThat(RawHttp.closedByServer(silent)).as("silent connection closed").isTrue();
            assertThat((System.nanoTime() - t0) / 1_000_000)
                    .as("within a few idle timeouts")
                    .isLessThan(8000);
        }
    }

    @Test
    void connectionsOverTheLimitAreAnswered503UntilOneCloses() throws Exception {
        try (EbsLocalServer server =
                EbsLocalServer.start(EbsLocalConfig.builder().maxConnections(3).build())) {
            List<Socket> held = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    // Served once, so the server has surely counted it before the next opens.
                    Socket s = RawHttp.open(server.endpoint());
                    held.add(s);
                    RawHttp.Request list =
                            new RawHttp.Request("GET", "/snapshots/snap-0" + i + "/blocks", null);
                    s.getOutputStream().write(list.signed(server.endpoint(), key()));
                    assertThat(ErrorReasonsTest.readResponse(s.getInputStream()).status())
                            .isEqualTo(404);
                }
                RawHttp.Request start =
                        new RawHttp.Request("POST", "/snapshots", null)
                                .body("{\"VolumeSize\":1}".getBytes(StandardCharsets.UTF_8));
                RawResponse refused =
                        RawHttp.exchange(server.endpoint(), start.signed(server.endpoint(), key()));
                assertErrorShape(refused, 503, "ServiceUnavailableException");
                assertThat(refused.body()).contains("3 connections");
            } finally {
                for (Socket s : held) {
                    s.close();
                }
            }
            // With the held connections gone, a client is served again.
            long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
            int status;
            do {
                RawHttp.Request start =
                        new RawHttp.Request("POST", "/snapshots", null)
                                .body("{\"VolumeSize\":1}".getBytes(StandardCharsets.UTF_8));
                status =
                        RawHttp.exchange(server.endpoint(), start.signed(server.endpoint(), key()))
                                .status();
            } while (status == 503 && System.nanoTime() < deadline);
            assertThat(status).isEqualTo(201);
        }
    }

    // ================================================================ memory before authentication

    @Test
    void aBadSignatureOnASignedBodyIsRefusedBeforeTheBodyIsSent() throws Exception {
        String id = newSnapshot();
        byte[] data = EbsClients.block(1);
        AccessKey wrong =
                new AccessKey(
                        key().accessKeyId(), key().secretAccessKey() + "x", key().accountId());
        RawHttp.Request put =
                new RawHttp.Request("PUT", "/snapshots/" + id + "/blocks/0", null)
                        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
                        .header("x-amz-data-length", String.valueOf(data.length))
                        .header("x-amz-checksum", EbsClients.sha256(data))
                        .header("x-amz-checksum-algorithm", "SHA256")
                        .body(data);
        byte[] wire = put.signed(endpoint(), wrong);
        try (Socket s = RawHttp.open(endpoint())) {
            // Only the head: the answer must not wait for a body it would have to hold.
            s.getOutputStream().write(wire, 0, wire.length - data.length);
            s.getOutputStream().flush();
            RawResponse r = ErrorReasonsTest.readResponse(s.getInputStream());
            assertErrorShape(r, 403, "InvalidSignatureException");
        }
    }

    @Test
    void unauthenticatedBodiesShareOneBoundedBudget() throws Exception {
        byte[] big = new byte[700 * 1024];
        // No Authorization at all, so each body can only be judged once it has arrived.
        String head =
                "POST /snapshots HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                        + "Content-Length: "
                        + (big.length + 10)
                        + "\r\n\r\n";
        try (Socket held = RawHttp.open(endpoint());
                Socket refused = RawHttp.open(endpoint())) {
            // One body at a time: two arriving together may both find the budget full.
            RawHttp.write(held, head);
            held.getOutputStream().write(big);
            held.getOutputStream().flush();
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (EBS.server().unauthenticatedBytes() < big.length) {
                assertThat(System.nanoTime()).as("the first body held").isLessThan(deadline);
                Thread.sleep(10);
            }
            // 1.4 MiB against a 1 MiB budget: the second body is refused.
            RawHttp.write(refused, head);
            refused.getOutputStream().write(big);
            refused.getOutputStream().flush();
            assertErrorShape(
                    ErrorReasonsTest.readResponse(refused.getInputStream()),
                    503,
                    "ServiceUnavailableException");
            // The held body completes and is judged: no signature.
            held.getOutputStream().write(new byte[10]);
            held.getOutputStream().flush();
            RawResponse denied = ErrorReasonsTest.readResponse(held.getInputStream());
            assertThat(denied.status()).isEqualTo(403);
            assertThat(denied.header("x-amzn-ErrorType"))
                    .isEqualTo("MissingAuthenticationTokenException");
        }
        // Answered requests give their bytes back: a third body fits again.
        try (Socket third = RawHttp.open(endpoint())) {
            RawHttp.write(third, head);
            third.getOutputStream().write(big);
            third.getOutputStream().write(new byte[10]);
            third.getOutputStream().flush();
            assertThat(ErrorReasonsTest.readResponse(third.getInputStream()).status())
                    .as("budget released")
                    .isEqualTo(403);
        }
    }

    // ================================================================ malformed HTTP

    @Test
    void headersLargerThanTheLimitAre431AndClosed() throws Exception {
        try (Socket s = RawHttp.open(endpoint())) {
            StringBuilder head = new StringBuilder("GET /snapshots/snap-0/blocks HTTP/1.1\r\n");
            for (int i = 0; i < 136; i++) {
                head.append("X-Filler-").append(i).append(": ").append("f".repeat(1000));
                head.append("\r\n");
            }
            head.append("\r\n");
            RawHttp.write(s, head.toString());
            RawResponse r = ErrorReasonsTest.readResponse(s.getInputStream());
            assertErrorShape(r, 431, "RequestHeaderFieldsTooLargeException");
            assertThat(RawHttp.closedByServer(s)).isTrue();
        }
    }

    @Test
    void aRequestLineLongerThanTheLimitIs414() throws Exception {
        try (Socket s = RawHttp.open(endpoint())) {
            RawHttp.write(
                    s, "GET /snapshots?" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
            RawResponse r = ErrorReasonsTest.readResponse(s.getInputStream());
            assertErrorShape(r, 414, "RequestURITooLongException");
            assertThat(RawHttp.closedByServer(s)).isTrue();
        }
    }

    @Test
    void twoDifferentContentLengthsAre400AndTheConnectionIsClosed() throws Exception {
        RawHttp.Request start =
                new RawHttp.Request("POST", "/snapshots", null)
                        .body("{\"VolumeSize\":1}".getBytes(StandardCharsets.UTF_8));
        String wire = new String(start.signed(endpoint(), key()), StandardCharsets.ISO_8859_1);
        String smuggled = wire.replaceFirst("\r\n", "\r\nContent-Length: 3\r\n");
        try (Socket s = RawHttp.open(endpoint())) {
            RawHttp.write(s, smuggled);
            RawResponse r = ErrorReasonsTest.readResponse(s.getInputStream());
            assertErrorShape(r, 400, "ValidationException");
            assertThat(r.body()).contains("malformed");
            assertThat(RawHttp.closedByServer(s)).as("not served from partial headers").isTrue();
        }
    }

    @Test
    void anOversizedBodyIs413WithTheErrorShape() throws Exception {
        String id = newSnapshot();
        try (Socket s = RawHttp.open(endpoint())) {
            RawHttp.write(
                    s,
                    "PUT /snapshots/"
                            + id
                            + "/blocks/0 HTTP/1.1\r\nHost: x\r\nContent-Length: "
                            + (3 << 20)
                            + "\r\n\r\n");
            RawResponse r = ErrorReasonsTest.readResponse(s.getInputStream());
            assertErrorShape(r, 413, "RequestEntityTooLargeException");
            assertThat(RawHttp.closedByServer(s)).isTrue();
        }
    }

    // ================================================================ values the SDKs never send

    @Test
    void aPageTokenThatIsNotUtf8IsAValidationErrorNotABadSignature() throws Exception {
        String id;
        try (var ebs = EbsClients.ebs(EBS.server(), REGION);
                var ec2 = EbsClients.ec2(EBS.server(), REGION)) {
            id = ErrorReasonsTest.completed(ebs, ec2, 1, null, 0);
        }
        RawHttp.Request list =
                new RawHttp.Request("GET", "/snapshots/" + id + "/blocks", "pageToken=%FF%FE");
        RawResponse r = RawHttp.exchange(endpoint(), list.signed(endpoint(), key()));
        assertErrorShape(r, 400, "ValidationException");
        assertThat(r.body()).contains("\"Reason\":\"INVALID_PAGE_TOKEN\"");
    }

    @Test
    void aBlockIndexWithASignIsRefused() throws Exception {
        String id = newSnapshot();
        byte[] data = EbsClients.block(2);
        for (String index : List.of("+1", "%2B1", "01x")) {
            RawHttp.Request put =
                    new RawHttp.Request("PUT", "/snapshots/" + id + "/blocks/" + index, null)
                            .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
                            .header("x-amz-data-length", String.valueOf(data.length))
                            .header("x-amz-checksum", EbsClients.sha256(data))
                            .header("x-amz-checksum-algorithm", "SHA256")
                            .body(data);
            RawResponse r = RawHttp.exchange(endpoint(), put.signed(endpoint(), key()));
            assertErrorShape(r, 400, "ValidationException");
            assertThat(r.body()).as(index).contains("\"Reason\":\"INVALID_PARAMETER_VALUE\"");
        }
        assertThat(EBS.service().snapshot(REGION, id).ownBlockCount()).isZero();
    }

    @Test
    void aTimeoutThatOverflowsAnIntIsRefusedNotWrapped() throws Exception {
        for (String timeout : List.of("4294967306", "-4294967286", "99999999999999999999")) {
            RawHttp.Request start =
                    new RawHttp.Request("POST", "/snapshots", null)
                            .header("content-type", "application/json")
                            .body(
                                    ("{\"VolumeSize\":1,\"Timeout\":" + timeout + "}")
                                            .getBytes(StandardCharsets.UTF_8));
            RawResponse r = RawHttp.exchange(endpoint(), start.signed(endpoint(), key()));
            assertThat(r.status()).as("Timeout %s: %s", timeout, r.body()).isEqualTo(400);
        }
        RawHttp.Request ok =
                new RawHttp.Request("POST", "/snapshots", null)
                        .header("content-type", "application/json")
                        .body("{\"VolumeSize\":1,\"Timeout\":10}".getBytes(StandardCharsets.UTF_8));
        assertThat(RawHttp.exchange(endpoint(), ok.signed(endpoint(), key())).status())
                .as("the signer and framing are right")
                .isEqualTo(201);
    }

    @Test
    void signedHeadersMustCoverHostAndEveryAmzHeaderSent() throws Exception {
        byte[] body = "{\"VolumeSize\":1}".getBytes(StandardCharsets.UTF_8);
        // Only x-amz-date signed: host is not.
        RawResponse noHost =
                RawHttp.exchange(
                        endpoint(),
                        new RawHttp.Request("POST", "/snapshots", null)
                                .body(body)
                                .signed(endpoint(), key(), "x-amz-date"));
        assertErrorShape(noHost, 403, "IncompleteSignatureException");
        // An x-amz-* header sent but left out of the signature.
        RawResponse unsignedAmz =
                RawHttp.exchange(
                        endpoint(),
                        new RawHttp.Request("POST", "/snapshots", null)
                                .header("x-amz-target", "anything")
                                .body(body)
                                .signed(endpoint(), key(), "host;x-amz-date"));
        assertErrorShape(unsignedAmz, 403, "IncompleteSignatureException");
        // A signed header that was never sent.
        RawResponse absent =
                RawHttp.exchange(
                        endpoint(),
                        new RawHttp.Request("POST", "/snapshots", null)
                                .body(body)
                                .signed(endpoint(), key(), "host;x-amz-date;x-not-sent"));
        assertErrorShape(absent, 403, "IncompleteSignatureException");
        // The same request with every header signed passes.
        RawResponse ok =
                RawHttp.exchange(
                        endpoint(),
                        new RawHttp.Request("POST", "/snapshots", null)
                                .header("x-amz-target", "anything")
                                .body(body)
                                .signed(endpoint(), key()));
        assertThat(ok.status()).as(ok.body()).isEqualTo(201);
    }
}
