package io.ebsreplicator.connector.ebs.proxy;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentials;
import software.amazon.awssdk.auth.credentials.AwsCredentialsProvider;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sts.StsClient;
import software.amazon.awssdk.services.sts.auth.StsAssumeRoleCredentialsProvider;
import software.amazon.awssdk.utils.SdkAutoCloseable;

import java.net.URI;
import java.time.Duration;

/**
 * The credentials of one proxy: the job's own (a static key pair, or the SDK's default chain:
 * environment, profile, container or instance role, web identity / IRSA), or a role assumed with
 * them through STS, refreshed in the background before it expires. Built in each proxy, where it is
 * used (JobManager and TaskManagers), never shipped.
 */
final class EbsCredentials {

    /** An STS call is small; it should not hold a refresh for long. */
    private static final Duration STS_TIMEOUT = Duration.ofSeconds(10);

    private EbsCredentials() {}

    /**
     * The credentials for calls in {@code region} as {@code roleArn} ({@code null}: the job's own).
     * The result may hold an STS client: close it with the proxy.
     */
    static AwsCredentialsProvider provider(EbsProxyConfig config, String region, String roleArn) {
        AwsCredentialsProvider base =
                config.hasStaticCredentials()
                        ? StaticCredentialsProvider.create(
                                AwsBasicCredentials.create(
                                        config.accessKeyId(), config.secretAccessKey()))
                        : DefaultCredentialsProvider.builder().build();
        if (roleArn == null) {
            return base;
        }
        AssumedRoles roles = config.roles();
        var sts =
                StsClient.builder()
                        .region(Region.of(region))
                        .credentialsProvider(base)
                        .httpClientBuilder(
                                ApacheHttpClient.builder()
                                        .connectionTimeout(STS_TIMEOUT)
                                        .socketTimeout(STS_TIMEOUT));
        if (roles.stsEndpoint() != null) {
            sts.endpointOverride(URI.create(roles.stsEndpoint()));
        }
        StsClient client = sts.build();
        Duration ahead = roles.refreshAhead();
        StsAssumeRoleCredentialsProvider assumed =
                StsAssumeRoleCredentialsProvider.builder()
                        .stsClient(client)
                        .refreshRequest(
                                r -> {
                                    r.roleArn(roleArn).roleSessionName(roles.sessionName());
                                    if (roles.externalId() != null) {
                                        r.externalId(roles.externalId());
                                    }
                                })
                        .asyncCredentialUpdateEnabled(true)
                        .prefetchTime(ahead)
                        .staleTime(ahead.dividedBy(5))
                        .build();
        return new Assumed(assumed, client, base, roleArn);
    }

    /** An assumed role's provider that closes its STS client (and the base chain) with it. */
    private record Assumed(
            StsAssumeRoleCredentialsProvider provider,
            StsClient sts,
            AwsCredentialsProvider base,
            String roleArn)
            implements AwsCredentialsProvider, SdkAutoCloseable {

        @Override
        public AwsCredentials resolveCredentials() {
            return provider.resolveCredentials();
        }

        @Override
        public void close() {
            provider.close();
            sts.close();
            if (base instanceof AutoCloseable c) {
                try {
                    c.close();
                } catch (Exception ignored) {
                    // Closing the chain only releases its own clients.
                }
            }
        }

        @Override
        public String toString() {
            return "AssumedRole{" + roleArn + "}";
        }
    }
}
