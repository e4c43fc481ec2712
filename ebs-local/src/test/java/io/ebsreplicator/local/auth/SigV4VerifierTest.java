package io.ebsreplicator.local.auth;

import io.ebsreplicator.local.api.EbsError;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.AbstractMap;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** The signing-key cache: filled only by signatures that verify, for served regions, bounded. */
class SigV4VerifierTest {

    private static final String DATE =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
                    .format(ZonedDateTime.now(ZoneOffset.UTC));

    /** A request with the public key id, a bad signature and the given credential region. */
    private static SigV4Verifier.SignedRequest badlySigned(String region) {
        String auth =
                "AWS4-HMAC-SHA256 Credential="
                        + AccessKey.DEFAULT.accessKeyId()
                        + "/"
                        + DATE.substring(0, 8)
                        + "/"
                        + region
                        + "/ebs/aws4_request, SignedHeaders=host;x-amz-date, Signature="
                        + "0".repeat(64);
        Map<String, String> headers =
                Map.of("authorization", auth, "host", "localhost", "x-amz-date", DATE);
        return new SigV4Verifier.SignedRequest() {
            @Override
            public String method() {
                return "GET";
            }

            @Override
            public String rawPath() {
                return "/snapshots/snap-0/blocks";
            }

            @Override
            public List<Map.Entry<String, String>> queryParameters() {
                return List.of(new AbstractMap.SimpleImmutableEntry<>("maxResults", "100"));
            }

            @Override
            public List<String> headerValues(String name) {
                String v = headers.get(name.toLowerCase(java.util.Locale.ROOT));
                return v == null ? List.of() : List.of(v);
            }

            @Override
            public Collection<String> headerNames() {
                return headers.keySet();
            }
        };
    }

    @Test
    void badSignaturesForAnyRegionLeaveTheCacheEmpty() {
        SigV4Verifier verifier =
                new SigV4Verifier(List.of(AccessKey.DEFAULT), Duration.ofMinutes(15));
        for (int i = 0; i < 1500; i++) {
            String region = "r" + i + "-" + "x".repeat(3000);
            EbsError e =
                    catchThrowableOfType(
                            EbsError.class, () -> verifier.verify(badlySigned(region), () -> ""));
            assertThat(e).as("request %d refused", i).isNotNull();
            assertThat(e.status()).isEqualTo(403);
        }
        assertThat(verifier.cachedSigningKeys())
                .as("no key kept for a signature that did not verify")
                .isZero();
    }

    @Test
    void aRegionNotServedIsRefusedBeforeAKeyIsDerived() {
        SigV4Verifier verifier =
                new SigV4Verifier(
                        List.of(AccessKey.DEFAULT),
                        Duration.ofMinutes(15),
                        Set.of("us-east-1"),
                        null);
        EbsError e =
                catchThrowableOfType(
                        EbsError.class,
                        () -> verifier.verify(badlySigned("x".repeat(30_000)), () -> ""));
        assertThat(e.type()).isEqualTo("InvalidSignatureException");
        assertThat(e.getMessage()).contains("valid region").hasSizeLessThan(200);
        assertThat(verifier.cachedSigningKeys()).isZero();
    }

    @Test
    void theCacheHasABound() {
        assertThat(SigV4Verifier.MAX_CACHED_SIGNING_KEYS).isBetween(16, 4096);
    }
}
