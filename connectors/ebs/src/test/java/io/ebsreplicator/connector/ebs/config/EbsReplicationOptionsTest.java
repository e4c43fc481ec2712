package io.ebsreplicator.connector.ebs.config;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.description.HtmlFormatter;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** Tests that {@link EbsReplicationOptions} keeps one well-formed, documented key per option. */
class EbsReplicationOptionsTest {

    /** {@code ebs.} then dot-separated kebab-case segments. */
    private static final Pattern KEY = Pattern.compile("^ebs(\\.[a-z0-9]+(-[a-z0-9]+)*)+$");

    @Test
    void everyKeyIsUnique() {
        List<String> keys = EbsReplicationOptions.all().stream().map(ConfigOption::key).toList();

        assertThat(keys).doesNotHaveDuplicates();
    }

    @Test
    void everyOptionIsListedOnce() {
        assertThat(EbsReplicationOptions.all()).doesNotHaveDuplicates();
    }

    @Test
    void everyKeyIsKebabCaseUnderEbs() {
        for (ConfigOption<?> option : EbsReplicationOptions.all()) {
            assertThat(option.key()).as("key of %s", option).matches(KEY);
        }
    }

    @Test
    void everyOptionHasADescription() {
        for (ConfigOption<?> option : EbsReplicationOptions.all()) {
            assertThat(option.description()).as("description of %s", option.key()).isNotNull();
            assertThat(option.description().getBlocks())
                    .as("description of %s", option.key())
                    .isNotEmpty();
            assertThat(new HtmlFormatter().format(option.description()).strip())
                    .as("description of %s", option.key())
                    .isNotEmpty();
        }
    }

    @Test
    void noOptionHasFallbackKeysThatCollideWithAnotherOption() {
        Set<String> keys = new HashSet<>();
        for (ConfigOption<?> option : EbsReplicationOptions.all()) {
            keys.add(option.key());
        }
        for (ConfigOption<?> option : EbsReplicationOptions.all()) {
            option.fallbackKeys()
                    .forEach(
                            k ->
                                    assertThat(keys)
                                            .as("fallback of %s", option.key())
                                            .doesNotContain(k.getKey()));
        }
    }

    @Test
    void allContainsEveryPublicStaticOptionOfTheClass() throws IllegalAccessException {
        List<ConfigOption<?>> declared = new ArrayList<>();
        for (Field f : EbsReplicationOptions.class.getDeclaredFields()) {
            int m = f.getModifiers();
            if (Modifier.isPublic(m)
                    && Modifier.isStatic(m)
                    && ConfigOption.class.isAssignableFrom(f.getType())) {
                declared.add((ConfigOption<?>) f.get(null));
            }
        }

        assertThat(declared).isNotEmpty();
        assertThat(EbsReplicationOptions.all()).containsExactlyInAnyOrderElementsOf(declared);
    }

    @Test
    void everyPublicStaticOptionFieldIsFinal() {
        for (Field f : EbsReplicationOptions.class.getDeclaredFields()) {
            int m = f.getModifiers();
            if (Modifier.isStatic(m) && ConfigOption.class.isAssignableFrom(f.getType())) {
                assertThat(Modifier.isFinal(m)).as("%s is final", f.getName()).isTrue();
                assertThat(Modifier.isPublic(m)).as("%s is public", f.getName()).isTrue();
            }
        }
    }
}
