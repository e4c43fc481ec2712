package io.ebsreplicator.connector.ebs.proxy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.http.TlsTrustManagersProvider;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsAsyncClient;
import software.amazon.awssdk.services.ec2.Ec2AsyncClient;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * The SDK clients of one region, as one role: an {@link EbsAsyncClient} and an {@link
 * Ec2AsyncClient} (DescribeSnapshots, DeleteSnapshot), each on its own Netty connection pool over
 * the JVM's shared event loops ({@link SharedEventLoops}), with the credentials of {@link
 * EbsCredentials} (the job's own, or an {@link AssumedRoles assumed role}) and the trust of {@link
 * TrustBundle} when a CA bundle is configured. Built with its {@link SdkEbsProxy} wherever that is
 * built (JobManager or TaskManager) and closed with it; never serialized.
 *
 * <p>The SDK's own retries are off: every retry goes through the proxy's {@link RetryingCaller}, so
 * that a retry spends the request budget and is counted like the first attempt.
 *
 * <p>Each client is built at its first call: a block copier never calls EC2, a split reader only
 * lists, and building an SDK client costs a cold process a noticeable part of its start.
 */
final class EbsClients implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(EbsClients.class);

    /**
     * Connections of the EC2 client: DescribeSnapshots is asked a few ids at a time by the
     * enumerator and by completion, never hundreds of calls at once.
     */
    private static final int EC2_MAX_CONCURRENCY = 16;

    /**
     * Connecting is quick or not at all; a black-holed connect should not eat the whole attempt.
     */
    private static final Duration MAX_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final AwsCredentialsProvider credentials;
    private final SdkEventLoopGroup eventLoops;
    private final Lazy<EbsAsyncClient> ebs;
    private final Lazy<Ec2AsyncClient> ec2;

    /**
     * The clients that call {@code region} as {@code roleArn}, assumed through STS with the job's
     * credentials ({@code null}: the job's credentials themselves).
     */
    static EbsClients create(EbsProxyConfig config, String region, String roleArn) {
        return new EbsClients(config, region, roleArn);
    }

    private EbsClients(EbsProxyConfig config, String region, String roleArn) {
        this.credentials = EbsCredentials.provider(config, region, roleArn);
        Region sdkRegion = Region.of(region);
        URI endpoint = config.endpoint(region);
        Duration attempt = config.attemptTimeout();
        Duration connect = min(attempt, MAX_CONNECT_TIMEOUT);
        TlsTrustManagersProvider trust =
                config.caBundle() == null ? null : TrustBundle.provider(Path.of(config.caBundle()));
        // One event loop group per JVM (see SharedEventLoops); the SDK's own would make close()
        // wait out a 2 s quiet period.
        this.eventLoops = SharedEventLoops.acquire();
        var ebsBuilder =
                EbsAsyncClient.builder()
                        .region(sdkRegion)
                        .credentialsProvider(credentials)
                        .httpClientBuilder(http(trust, connect, attempt, config.maxConcurrency()))
                        // PutSnapshotBlock's body unsigned over HTTP too (see UnsignedBodySigner).
                        .putAuthScheme(UnsignedBodySigner.scheme())
                        .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()));
        var ec2Builder =
                Ec2AsyncClient.builder()
                        .region(sdkRegion)
                        .credentialsProvider(credentials)
                        .httpClientBuilder(http(trust, connect, attempt, EC2_MAX_CONCURRENCY))
                        .overrideConfiguration(o -> o.retryStrategy(AwsRetryStrategy.doNotRetry()));
        if (endpoint != null) {
            ebsBuilder.endpointOverride(endpoint);
            ec2Builder.endpointOverride(endpoint);
        }
        this.ebs = new Lazy<>(ebsBuilder::build);
        this.ec2 = new Lazy<>(ec2Builder::build);
    }

    /** A Netty client on the shared event loops; the attempt timeout is the real bound. */
    private NettyNioAsyncHttpClient.Builder http(
            TlsTrustManagersProvider trust, Duration connect, Duration attempt, int connections) {
        return NettyNioAsyncHttpClient.builder()
                .tlsTrustManagersProvider(trust)
                .eventLoopGroup(eventLoops)
                .maxConcurrency(connections)
                .connectionTimeout(connect)
                .connectionAcquisitionTimeout(attempt)
                .readTimeout(attempt)
                .writeTimeout(attempt)
                .tcpKeepAlive(true);
    }

    EbsAsyncClient ebs() {
        return ebs.get();
    }

    Ec2AsyncClient ec2() {
        return ec2.get();
    }

    /**
     * Closes the clients that were built, lets go of the event loops, and closes an assumed role's
     * refresher.
     */
    @Override
    public void close() {
        ebs.close();
        ec2.close();
        SharedEventLoops.release(eventLoops);
        if (credentials instanceof AutoCloseable c) {
            closeQuietly(c);
        }
    }

    /** A client built by the first caller that needs it, on that caller's thread. */
    private static final class Lazy<T extends AutoCloseable> {
        private final Supplier<T> build;
        private volatile T client;
        private boolean closed;

        Lazy(Supplier<T> build) {
            this.build = build;
        }

        T get() {
            T c = client;
            return c != null ? c : build();
        }

        private synchronized T build() {
            if (closed) {
                throw new IllegalStateException("The SDK clients are closed");
            }
            if (client == null) {
                client = build.get();
            }
            return client;
        }

        synchronized void close() {
            closed = true;
            if (client != null) {
                closeQuietly(client);
            }
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception e) {
            LOG.warn("Failed to close {}", c, e);
        }
    }
}
