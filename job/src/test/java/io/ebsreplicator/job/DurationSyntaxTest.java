package io.ebsreplicator.job;

import io.ebsreplicator.local.Durations;

import org.apache.flink.util.TimeUtils;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * One duration syntax everywhere: every command's duration flags (through {@link Flags#duration})
 * and ebs-local's options ({@link Durations}, which cannot use Flink) read a text as Flink's {@code
 * TimeUtils} does.
 */
class DurationSyntaxTest {

    @ParameterizedTest
    @ValueSource(
            strings = {
                "2min",
                "2 min",
                "120s",
                "120 s",
                "2m",
                "500ms",
                "500",
                "1h",
                "7d",
                "2 MIN",
                " 30s ",
                "3 minutes",
                "10 seconds",
                "250 millis",
                "1 day"
            })
    void everyEntryPointReadsADurationAsFlinkDoes(String text) {
        Duration flink = TimeUtils.parseDuration(text);

        assertThat(Durations.parse(text)).as("ebs-local").isEqualTo(flink);
        Flags flags =
                Flags.parse(
                        new String[] {"--checkpoint-interval", text},
                        Set.of("--checkpoint-interval"),
                        Set.of());
        assertThat(flags.duration("--checkpoint-interval", null)).as("commands").isEqualTo(flink);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "min", "2 fortnights", "-5s", "1.5h", "99999999999999999999d"})
    void everyEntryPointRefusesWhatFlinkRefuses(String text) {
        assertThatThrownBy(() -> TimeUtils.parseDuration(text))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Durations.parse(text))
                .isInstanceOf(IllegalArgumentException.class);
        Flags flags = Flags.parse(new String[] {"--timeout", text}, Set.of("--timeout"), Set.of());
        assertThatThrownBy(() -> flags.duration("--timeout", null))
                .isInstanceOf(Flags.UsageException.class)
                .hasMessageContaining("--timeout needs a duration");
    }
}
