package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Digest;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.async.AsyncRequestBody;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignRequest;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsAsyncClient;
import software.amazon.awssdk.services.ebs.model.ValidationException;
import software.amazon.awssdk.utils.http.SdkHttpUtils;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * PutSnapshotBlock over plain HTTP goes UNSIGNED-PAYLOAD, signed as over HTTPS, and ebs-local
 * (which checks the body against the signed x-amz-Checksum) accepts it; everything else is signed
 * as the SDK signs it.
 */
class UnsignedBodySignerTest {

    @RegisterExtension static final EbsLocalExtension EBS = EbsLocalExtension.builder().build();

    private static final AwsCredentialsIdentity KEY =
            AwsCredentialsIdentity.create(
                    "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");

    private static final Clock CLOCK =
            Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);

    private static final byte[] BODY = "a block".getBytes(StandardCharsets.US_ASCII);

    private final AwsV4HttpSigner sdk = AwsV4HttpSigner.create();
    private final UnsignedBodySigner signer = new UnsignedBodySigner(sdk);

    @Test
    void anUnsignedBodyOverHttpIsSignedExactlyAsOverHttps() {
        AsyncSignedRequest http = signer.signAsync(put("http", false)).join();
        AsyncSignedRequest https = sdk.signAsync(put("https", false)).join();

        assertThat(http.request().protocol()).isEqualTo("http");
        assertThat(http.request().firstMatchingHeader("x-amz-content-sha256"))
                .hasValue("UNSIGNED-PAYLOAD");
        assertThat(http.request().firstMatchingHeader("Authorization"))
                .isPresent()
                .isEqualTo(https.request().firstMatchingHeader("Authorization"));
        assertThat(http.request().firstMatchingHeader("Authorization").orElseThrow())
                .as("the block's checksum is a signed header")
                .contains("x-amz-checksum");
    }

    @Test
    void theSignedHostHeaderIsTheOneTheHttpClientSends() {
        for (int port : new int[] {80, 9555}) {
            SdkHttpRequest signed = signer.signAsync(put("http", port, false)).join().request();
            assertThat(signed.protocol()).isEqualTo("http");
            assertThat(signed.port()).isEqualTo(port);
            assertThat(signed.firstMatchingHeader("x-amz-content-sha256"))
                    .hasValue("UNSIGNED-PAYLOAD");
            // The Netty client writes Host from the protocol and port, the port only when it is
            // not the protocol's standard one.
            assertThat(signed.firstMatchingHeader("Host"))
                    .as("port %d", port)
                    .hasValue(
                            SdkHttpUtils.isUsingStandardPort("http", port)
                                    ? signed.host()
                                    : signed.host() + ":" + port);
        }
        SdkHttpRequest to443 = signer.signAsync(put("http", 443, false)).join().request();
        assertThat(to443.firstMatchingHeader("x-amz-content-sha256"))
                .as("plain HTTP to port 443 cannot be signed as HTTPS: signed as the SDK does")
                .hasValue(HexFormat.of().formatHex(Digest.newSha256().digest(BODY)));
        assertThat(to443.firstMatchingHeader("Host")).hasValue(to443.host() + ":443");
    }

    @Test
    void aBodyTheOperationSignsIsStillHashedIntoTheSignature() {
        AsyncSignedRequest signed = signer.signAsync(put("http", null)).join();
        assertThat(signed.request().firstMatchingHeader("x-amz-content-sha256"))
                .hasValue(HexFormat.of().formatHex(Digest.newSha256().digest(BODY)));
        assertThat(signed.request().firstMatchingHeader("Authorization"))
                .isEqualTo(
                        sdk.signAsync(put("http", null))
                                .join()
                                .request()
                                .firstMatchingHeader("Authorization"));
    }

    @Test
    void theSdksOwnSignerHashesAnUnsignedBodyOverHttp() {
        // What this class exists for: without it, every put over HTTP is hashed once more.
        assertThat(
                        sdk.signAsync(put("http", false))
                                .join()
                                .request()
                                .firstMatchingHeader("x-amz-content-sha256"))
                .hasValue(HexFormat.of().formatHex(Digest.newSha256().digest(BODY)));
    }

    @Test
    void ebsLocalAcceptsAnUnsignedPutOverHttpAndStillChecksTheBody() {
        assertThat(EBS.endpoint().getScheme()).isEqualTo("http");
        List<SdkHttpRequest> sent = new CopyOnWriteArrayList<>();
        try (EbsAsyncClient ebs = client(sent)) {
            String id = ebs.startSnapshot(b -> b.volumeSize(1L).timeout(60)).join().snapshotId();
            byte[] block = new byte[BlockBytes.BLOCK_SIZE];
            block[7] = 7;
            ebs.putSnapshotBlock(
                            b ->
                                    b.snapshotId(id)
                                            .blockIndex(0)
                                            .dataLength(block.length)
                                            .checksum(FakeEbsProxy.sha256(block))
                                            .checksumAlgorithm("SHA256"),
                            AsyncRequestBody.fromBytes(block))
                    .join();
            SdkHttpRequest put = sent.get(sent.size() - 1);
            assertThat(put.encodedPath()).endsWith("/blocks/0");
            assertThat(put.firstMatchingHeader("x-amz-content-sha256"))
                    .hasValue("UNSIGNED-PAYLOAD");
            assertThat(accepted(id)).isEqualTo(1);

            byte[] other = block.clone();
            other[8] = 8;
            assertThatThrownBy(
                            () ->
                                    ebs.putSnapshotBlock(
                                                    b ->
                                                            b.snapshotId(id)
                                                                    .blockIndex(1)
                                                                    .dataLength(other.length)
                                                                    .checksum(
                                                                            FakeEbsProxy.sha256(
                                                                                    block))
                                                                    .checksumAlgorithm("SHA256"),
                                                    AsyncRequestBody.fromBytes(other))
                                            .join())
                    .as("a body that does not match its signed checksum")
                    .isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(ValidationException.class);
            assertThat(accepted(id)).as("the refused put stored nothing").isEqualTo(1);
        }
    }

    private static long accepted(String id) {
        return EBS.service().snapshots("us-east-1").stream()
                .filter(s -> s.id().equals(id))
                .findFirst()
                .orElseThrow()
                .putRequestsAccepted();
    }

    /** An EBS client with this scheme, as the proxy builds it, recording what it sends. */
    private static EbsAsyncClient client(List<SdkHttpRequest> sent) {
        return EbsAsyncClient.builder()
                .region(Region.US_EAST_1)
                .endpointOverride(URI.create(EBS.endpoint().toString()))
                .credentialsProvider(
                        StaticCredentialsProvider.create(
                                AwsBasicCredentials.create(
                                        EBS.accessKey().accessKeyId(),
                                        EBS.accessKey().secretAccessKey())))
                .overrideConfiguration(
                        o ->
                                o.addExecutionInterceptor(
                                        new ExecutionInterceptor() {
                                            @Override
                                            public void beforeTransmission(
                                                    Context.BeforeTransmission context,
                                                    ExecutionAttributes attributes) {
                                                sent.add(context.httpRequest());
                                            }
                                        }))
                .putAuthScheme(UnsignedBodySigner.scheme())
                .build();
    }

    /** A PutSnapshotBlock-like request; {@code payloadSigning} as the operation's auth sets it. */
    private static AsyncSignRequest<AwsCredentialsIdentity> put(
            String protocol, Boolean payloadSigning) {
        return put(protocol, 9555, payloadSigning);
    }

    private static AsyncSignRequest<AwsCredentialsIdentity> put(
            String protocol, int port, Boolean payloadSigning) {
        SdkHttpRequest request =
                SdkHttpRequest.builder()
                        .method(SdkHttpMethod.PUT)
                        .protocol(protocol)
                        .host("ebs.us-east-1.amazonaws.com")
                        .port(port)
                        .encodedPath("/snapshots/snap-1/blocks/0")
                        .putHeader("x-amz-Checksum", FakeEbsProxy.sha256(BODY))
                        .putHeader("x-amz-Data-Length", Integer.toString(BODY.length))
                        .build();
        var b =
                AsyncSignRequest.builder(KEY)
                        .request(request)
                        .payload(AsyncRequestBody.fromBytes(BODY))
                        .putProperty(AwsV4HttpSigner.REGION_NAME, "us-east-1")
                        .putProperty(AwsV4HttpSigner.SERVICE_SIGNING_NAME, "ebs")
                        .putProperty(AwsV4HttpSigner.SIGNING_CLOCK, CLOCK);
        if (payloadSigning != null) {
            b.putProperty(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED, payloadSigning);
        }
        return b.build();
    }
}
