package io.ebsreplicator.connector.ebs.completion;

import org.junit.jupiter.api.Test;

import java.security.MessageDigest;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LinearChecksumTest {

    private static byte[] sha256(byte[] data) throws Exception {
        return MessageDigest.getInstance("SHA-256").digest(data);
    }

    /** Vectors computed independently (Python hashlib): a block of zeros, then a block of ones. */
    @Test
    void matchesAKnownVector() throws Exception {
        byte[] zeros = new byte[512 * 1024];
        byte[] ones = new byte[512 * 1024];
        Arrays.fill(ones, (byte) 1);
        LinearChecksum l = new LinearChecksum().add(sha256(zeros)).add(sha256(ones));
        assertThat(l.count()).isEqualTo(2);
        assertThat(l.value()).isEqualTo("HFRGTdrSd+vfQo2s4W+AwgFjuBSYcNtoI3LPFCEQbPw=");
    }

    @Test
    void dependsOnTheOrderAndIsTheEmptyHashForNoBlocks() throws Exception {
        byte[] zeros = new byte[512 * 1024];
        byte[] ones = new byte[512 * 1024];
        Arrays.fill(ones, (byte) 1);
        assertThat(new LinearChecksum().add(sha256(ones)).add(sha256(zeros)).value())
                .isNotEqualTo("HFRGTdrSd+vfQo2s4W+AwgFjuBSYcNtoI3LPFCEQbPw=");
        // SHA-256 of nothing: an empty change set completes with this aggregate.
        assertThat(new LinearChecksum().value())
                .isEqualTo("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    @Test
    void refusesSomethingThatIsNotARawDigest() {
        assertThatThrownBy(() -> new LinearChecksum().add(new byte[44]))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
