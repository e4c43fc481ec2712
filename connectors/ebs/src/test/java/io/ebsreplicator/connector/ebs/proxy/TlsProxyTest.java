package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** HTTPS to an endpoint with its own certificate: trusted through ebs.tls.ca-bundle only. */
class TlsProxyTest {

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(b -> b.tls(true).sealDelay(Duration.ZERO))
                    .build();

    private static EbsProxyConfig.Builder config() {
        return EbsProxyConfig.builder()
                .endpoint("us-east-1", EBS.endpoint().toString())
                .credentials(EBS.accessKey().accessKeyId(), EBS.accessKey().secretAccessKey())
                .attemptTimeout(Duration.ofSeconds(5))
                .totalTimeout(Duration.ofSeconds(2))
                .baseBackoff(Duration.ofMillis(10))
                .maxBackoff(Duration.ofMillis(50));
    }

    @Test
    void trustsTheEndpointThroughTheCaBundle() {
        assertThat(EBS.endpoint().getScheme()).isEqualTo("https");
        EbsProxyConfig c = config().caBundle(EBS.server().certificatePem().toString()).build();
        try (EbsProxy p = new SdkEbsProxyFactory(c).create("us-east-1")) {
            StartedSnapshot s =
                    p.startSnapshot(
                            new StartSnapshotSpec(
                                    1, null, "tls-1", null, Map.of(), null, null, 60));
            assertThat(s.snapshotId()).startsWith("snap-");
            assertThat(p.describeSnapshot(s.snapshotId()).status()).isEqualTo("pending");
        }
    }

    @Test
    void finishedReadsAndWritesLeaveNoBlockBehind() throws Exception {
        // A put's body is sent as given, over HTTPS as over HTTP, so a connection back in its
        // pool would keep the caller's block if the body held it.
        EbsProxyConfig c =
                config().caBundle(EBS.server().certificatePem().toString())
                        .totalTimeout(Duration.ofSeconds(20))
                        .build();
        try (EbsProxy p = new SdkEbsProxyFactory(c).create("us-east-1")) {
            SdkEbsProxyTest.assertFinishedRequestsLeaveNoBlockBehind(p);
        }
    }

    @Test
    void refusesTheEndpointWithoutIt() {
        try (EbsProxy p = new SdkEbsProxyFactory(config().build()).create("us-east-1")) {
            assertThatThrownBy(
                            () ->
                                    p.startSnapshot(
                                            new StartSnapshotSpec(
                                                    1, null, "tls-2", null, Map.of(), null, null,
                                                    60)))
                    .isInstanceOfSatisfying(
                            EbsProxyException.class,
                            e ->
                                    assertThat(e.kind())
                                            .as("an untrusted certificate is not worth a retry")
                                            .isEqualTo(EbsProxyException.Kind.FATAL))
                    .hasStackTraceContaining("PKIX");
        }
    }
}
