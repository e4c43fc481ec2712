package io.ebsreplicator.local.auth;

import io.ebsreplicator.local.service.EbsClock;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

class SessionStoreTest {

    private static final Role ROLE =
            Role.parse("arn:aws:iam::222222222222:role/dr-target:222222222222");

    @Test
    void issuedCredentialsLookLikeStsOnesAndExpireAtTheirExpiration() {
        EbsClock clock = new EbsClock();
        SessionStore store = new SessionStore(clock, 10);
        Instant before = Instant.now();
        Session s = store.issue(ROLE, "copy", Duration.ofSeconds(900));
        assertThat(s.key().accessKeyId()).matches("ASIA[A-Z2-7]{16}");
        assertThat(s.key().secretAccessKey()).hasSize(40);
        assertThat(s.key().accountId()).isEqualTo("222222222222");
        assertThat(s.expiration().getNano()).as("whole seconds, as STS answers").isZero();
        assertThat(s.expiration())
                .isBetween(before.plusSeconds(899), Instant.now().plusSeconds(900));
        assertThat(s.assumedRoleArn())
                .isEqualTo("arn:aws:sts::222222222222:assumed-role/dr-target/copy");
        assertThat(s.toString()).doesNotContain(s.sessionToken(), s.key().secretAccessKey());
        assertThat(store.find(s.key().accessKeyId())).isSameAs(s);
        assertThat(SessionStore.tokenMatches(s, s.sessionToken())).isTrue();
        assertThat(SessionStore.tokenMatches(s, s.sessionToken() + "x")).isFalse();
        assertThat(SessionStore.tokenMatches(s, null)).isFalse();

        assertThat(store.expired(s)).isFalse();
        // Whole seconds: the lifetime is between 899 and 900 s.
        clock.advance(Duration.ofSeconds(898));
        assertThat(store.expired(s)).isFalse();
        clock.advance(Duration.ofSeconds(2));
        assertThat(store.expired(s)).as("past its expiration on the service clock").isTrue();
    }

    @Test
    void aFullStoreDropsExpiredSessionsFirstThenTheOldest() {
        EbsClock clock = new EbsClock();
        SessionStore store = new SessionStore(clock, 3);
        Session shortLived = store.issue(ROLE, "a", Duration.ofSeconds(10));
        Session oldest = store.issue(ROLE, "b", Duration.ofHours(1));
        Session middle = store.issue(ROLE, "c", Duration.ofHours(1));
        clock.advance(Duration.ofSeconds(20));

        Session d = store.issue(ROLE, "d", Duration.ofHours(1));
        assertThat(store.size()).isEqualTo(3);
        assertThat(store.find(shortLived.key().accessKeyId())).as("expired: dropped").isNull();
        assertThat(store.find(oldest.key().accessKeyId())).isNotNull();

        Session e = store.issue(ROLE, "e", Duration.ofHours(1));
        assertThat(store.size()).isEqualTo(3);
        assertThat(store.find(oldest.key().accessKeyId()))
                .as("none expired: the oldest goes")
                .isNull();
        assertThat(store.find(middle.key().accessKeyId())).isNotNull();
        assertThat(store.find(d.key().accessKeyId())).isNotNull();
        assertThat(store.find(e.key().accessKeyId())).isNotNull();
    }
}
