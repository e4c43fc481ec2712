package io.ebsreplicator.local.ec2;

import org.junit.jupiter.api.Test;

import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** EC2 filter wildcards: the same answers as a regular expression, in linear time. */
class WildcardTest {

    @Test
    void matchesAsEc2FiltersDo() {
        assertThat(Wildcard.of("web-*").matches("web-1")).isTrue();
        assertThat(Wildcard.of("web-*").matches("db-1")).isFalse();
        assertThat(Wildcard.of("??-1").matches("db-1")).isTrue();
        assertThat(Wildcard.of("??-1").matches("web-1")).isFalse();
        assertThat(Wildcard.of("*").matches("")).isTrue();
        assertThat(Wildcard.of("").matches("")).isTrue();
        assertThat(Wildcard.of("").matches("a")).isFalse();
        assertThat(Wildcard.of("a*b*c").matches("aXbYbZc")).isTrue();
        assertThat(Wildcard.of("a*b*c").matches("aXbYbZ")).isFalse();
        assertThat(Wildcard.of("*.*").matches("a.b")).isTrue();
        assertThat(Wildcard.of("a.b").matches("aXb")).as("'.' is literal").isFalse();
    }

    @Test
    void agreesWithARegularExpressionOnManyPatterns() {
        java.util.Random random = new java.util.Random(7);
        String alphabet = "ab*?";
        for (int n = 0; n < 20_000; n++) {
            String pattern = randomString(random, alphabet, random.nextInt(8));
            String value = randomString(random, "ab", random.nextInt(8));
            String regex = pattern.replace("?", ".").replace("*", ".*");
            assertThat(Wildcard.of(pattern).matches(value))
                    .as("'%s' against '%s'", pattern, value)
                    .isEqualTo(Pattern.matches(regex, value));
        }
        // Across the 64-bit word boundary of the state set.
        String longPattern = "a".repeat(70) + "*" + "b".repeat(70);
        assertThat(Wildcard.of(longPattern).matches("a".repeat(70) + "xyz" + "b".repeat(70)))
                .isTrue();
        assertThat(Wildcard.of(longPattern).matches("a".repeat(70) + "b".repeat(69))).isFalse();
    }

    @Test
    void patternsThatMakeRegularExpressionsBacktrackAreFast() {
        String value = "snap-" + "a".repeat(250);
        long t0 = System.nanoTime();
        for (int k = 1; k <= 200; k++) {
            assertThat(Wildcard.of("*".repeat(k) + "z").matches(value)).isFalse();
            assertThat(Wildcard.of("*a".repeat(k) + "z").matches(value)).isFalse();
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(ms).as("400 adversarial matches").isLessThan(2000);
    }

    private static String randomString(java.util.Random r, String alphabet, int length) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < length; i++) {
            sb.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return sb.toString();
    }
}
