package io.ebsreplicator.connector.ebs.proxy;

import software.amazon.awssdk.http.SdkHttpRequest;
import software.amazon.awssdk.http.auth.aws.scheme.AwsV4AuthScheme;
import software.amazon.awssdk.http.auth.aws.signer.AwsV4HttpSigner;
import software.amazon.awssdk.http.auth.spi.scheme.AuthScheme;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignRequest;
import software.amazon.awssdk.http.auth.spi.signer.AsyncSignedRequest;
import software.amazon.awssdk.http.auth.spi.signer.BaseSignRequest;
import software.amazon.awssdk.http.auth.spi.signer.HttpSigner;
import software.amazon.awssdk.http.auth.spi.signer.SignRequest;
import software.amazon.awssdk.http.auth.spi.signer.SignedRequest;
import software.amazon.awssdk.identity.spi.AwsCredentialsIdentity;
import software.amazon.awssdk.identity.spi.IdentityProvider;
import software.amazon.awssdk.identity.spi.IdentityProviders;

import java.util.concurrent.CompletableFuture;

/**
 * SigV4 that leaves an unsigned body unsigned over plain HTTP too.
 *
 * <p>PutSnapshotBlock is modelled {@code v4-unsigned-body}: the SDK sends {@code
 * X-Amz-Content-SHA256: UNSIGNED-PAYLOAD} over HTTPS, and boto3 does so over HTTP as well. The Java
 * SDK instead hashes the whole body into the signature whenever the endpoint is plain HTTP (a local
 * or test endpoint; AWS is HTTPS only), so every block written was hashed once more on each side,
 * on top of the block's own SHA-256. That second hash protects nothing: {@code x-amz-Checksum}, the
 * block's SHA-256, is a signed header and the service checks the body against it.
 *
 * <p>So a request whose operation has payload signing off ({@link
 * AwsV4HttpSigner#PAYLOAD_SIGNING_ENABLED} false, which the EBS client sets for PutSnapshotBlock
 * only) is signed exactly as it would be over HTTPS; every other request is signed as the SDK signs
 * it. The scheme is a drop-in for the client's SigV4 scheme.
 *
 * <p>The signature covers the {@code Host} header, which the HTTP client writes from the request's
 * protocol and port (the port only when it is not the protocol's standard one). The HTTPS view
 * therefore moves port 80 to 443, so that both name the host alone, and keeps any other port; a
 * request to port 443 over plain HTTP, which the view cannot express, is signed as the SDK signs
 * it.
 */
final class UnsignedBodySigner implements HttpSigner<AwsCredentialsIdentity> {

    private static final int HTTP_PORT = 80;
    private static final int HTTPS_PORT = 443;

    private final HttpSigner<AwsCredentialsIdentity> delegate;

    UnsignedBodySigner(HttpSigner<AwsCredentialsIdentity> delegate) {
        this.delegate = delegate;
    }

    /** The SDK's SigV4 scheme with this signer. */
    static AuthScheme<AwsCredentialsIdentity> scheme() {
        AwsV4AuthScheme sigv4 = AwsV4AuthScheme.create();
        UnsignedBodySigner signer = new UnsignedBodySigner(sigv4.signer());
        return new AuthScheme<>() {
            @Override
            public String schemeId() {
                return sigv4.schemeId();
            }

            @Override
            public IdentityProvider<AwsCredentialsIdentity> identityProvider(
                    IdentityProviders providers) {
                return sigv4.identityProvider(providers);
            }

            @Override
            public HttpSigner<AwsCredentialsIdentity> signer() {
                return signer;
            }
        };
    }

    @Override
    public SignedRequest sign(SignRequest<? extends AwsCredentialsIdentity> request) {
        if (!unsignedOverHttp(request)) {
            return delegate.sign(request);
        }
        SdkHttpRequest http = request.request();
        SignedRequest signed = delegate.sign(request.copy(b -> b.request(asHttps(http))));
        return signed.copy(b -> b.request(asHttp(signed.request(), http)));
    }

    @Override
    public CompletableFuture<AsyncSignedRequest> signAsync(
            AsyncSignRequest<? extends AwsCredentialsIdentity> request) {
        if (!unsignedOverHttp(request)) {
            return delegate.signAsync(request);
        }
        SdkHttpRequest http = request.request();
        return delegate.signAsync(request.copy(b -> b.request(asHttps(http))))
                .thenApply(s -> s.copy(b -> b.request(asHttp(s.request(), http))));
    }

    /** A body the operation leaves unsigned, to go over plain HTTP (not to port 443). */
    private static boolean unsignedOverHttp(BaseSignRequest<?, ?> request) {
        return "http".equals(request.request().protocol())
                && request.request().port() != HTTPS_PORT
                && request.payload().isPresent()
                && Boolean.FALSE.equals(request.property(AwsV4HttpSigner.PAYLOAD_SIGNING_ENABLED));
    }

    /** The request as sent over HTTPS with the same {@code Host} header. */
    private static SdkHttpRequest asHttps(SdkHttpRequest http) {
        int port = http.port() == HTTP_PORT ? HTTPS_PORT : http.port();
        return http.toBuilder().protocol("https").port(port).build();
    }

    /** The signed HTTPS view back on the protocol and port of {@code http}. */
    private static SdkHttpRequest asHttp(SdkHttpRequest signed, SdkHttpRequest http) {
        return signed.toBuilder().protocol(http.protocol()).port(http.port()).build();
    }
}
