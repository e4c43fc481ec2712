package io.ebsreplicator.connector.ebs.policy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Loading and reloading a policy file on disk. Runs in the test JVM. */
class PolicyFileTest {

    @TempDir Path dir;

    @Test
    void aChangedFileIsReloadedWithItsChangesAndAnInvalidOneKeepsThePolicyInUse() throws Exception {
        Path file = dir.resolve("policy.json");
        Files.writeString(file, PolicyParserTest.TWO_RULES);
        PolicyFile source = new PolicyFile(file.toString());
        PolicyFile.Loaded first = source.load();

        assertThat(source.reload(first)).as("unchanged content").isNull();

        Files.writeString(
                file, PolicyParserTest.TWO_RULES.replace("\"rpo\": \"1h\"", "\"rpo\": \"2h\""));
        PolicyFile.Reload changed = source.reload(first);
        assertThat(changed).isInstanceOf(PolicyFile.Reload.Changed.class);
        PolicyFile.Reload.Changed c = (PolicyFile.Reload.Changed) changed;
        assertThat(c.changes()).containsExactly("rule 'db-volume' changed: rpo PT1H -> PT2H");
        assertThat(source.reload(c.loaded())).isNull();

        Files.writeString(file, "{\"version\": 1, \"rules\": [{}]}");
        PolicyFile.Reload invalid = source.reload(c.loaded());
        assertThat(invalid).isInstanceOf(PolicyFile.Reload.Invalid.class);
        assertThat(((PolicyFile.Reload.Invalid) invalid).problem().problems())
                .contains("$.rules[0].name is required");

        Files.delete(file);
        assertThat(source.reload(c.loaded())).isInstanceOf(PolicyFile.Reload.Invalid.class);
    }

    @Test
    void aMissingFileOrADirectoryFailsTheLoadWithItsPath() {
        PolicyFile missing = new PolicyFile(dir.resolve("none.json").toString());
        assertThatThrownBy(missing::load)
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("none.json cannot be read");
        assertThatThrownBy(new PolicyFile(dir.toString())::load)
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("is not a regular file");
    }
}
