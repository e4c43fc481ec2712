package io.ebsreplicator.schemas;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Unit tests of {@link SchemaHistory}: the index matches the committed files, versions come oldest
 * first, and the README gives the real fingerprints.
 */
class SchemaHistoryTest {

    private static final Path HISTORY_DIR =
            Path.of("src/main/resources/io/ebsreplicator/schemas/history");

    @Test
    void knowsTheThreeTypes() {
        assertThat(SchemaHistory.typeNames())
                .containsExactly(
                        "ReplicationRequest", "ReplicationResult", "DeadLetter", "CopyDeletion");
    }

    @Test
    void listsEveryCommittedVersionInTheIndex() throws IOException {
        List<String> files;
        try (Stream<Path> walk = Files.walk(HISTORY_DIR)) {
            files =
                    walk.filter(p -> p.toString().endsWith(".avsc"))
                            .map(p -> HISTORY_DIR.relativize(p).toString().replace('\\', '/'))
                            .sorted()
                            .collect(Collectors.toList());
        }
        List<String> indexed =
                SchemaHistory.typeNames().stream()
                        .flatMap(
                                type -> {
                                    int count = SchemaHistory.versions(type).size();
                                    return Stream.iterate(1, v -> v + 1)
                                            .limit(count)
                                            .map(v -> type + "/v" + v + ".avsc");
                                })
                        .sorted()
                        .collect(Collectors.toList());

        assertThat(indexed)
                .as("history/index.txt must list every history/<Name>/v<N>.avsc")
                .isEqualTo(files);
    }

    @Test
    void returnsVersionsOldestFirst() {
        List<Schema> versions = SchemaHistory.versions("ReplicationRequest");

        assertThat(versions).isNotEmpty();
        assertThat(versions.get(0).getFullName())
                .isEqualTo("io.ebsreplicator.schemas.ReplicationRequest");
        assertThat(SchemaHistory.latest("ReplicationRequest"))
                .isSameAs(versions.get(versions.size() - 1));
        assertThatThrownBy(() -> versions.add(versions.get(0)))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void refusesAnUnknownType() {
        assertThatThrownBy(() -> SchemaHistory.versions("Nope"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("no schema history for Nope");
    }

    @Test
    void printsTheHeaderOfEachVersion() {
        long fingerprint = 0x0123456789abcdefL;

        assertThat(SchemaHistory.headerHex(fingerprint)).isEqualTo("c3 01 ef cd ab 89 67 45 23 01");
    }

    @Test
    void mainPrintsEveryVersionWithItsFingerprint() {
        String out = captureMain();

        for (String type : SchemaHistory.typeNames()) {
            long fp = SchemaNormalization.parsingFingerprint64(SchemaHistory.latest(type));
            assertThat(out)
                    .contains(type)
                    .contains(AvroCodec.hex(fp))
                    .contains(SchemaHistory.headerHex(fp));
        }
    }

    /** The README gives non-Java producers the current fingerprints; they must be the real ones. */
    @Test
    void theReadmeGivesTheCurrentFingerprints() throws IOException {
        String readme = Files.readString(Path.of("README.md"), StandardCharsets.UTF_8);

        for (String type : SchemaHistory.typeNames()) {
            long fp = AvroCodecTest.codecFor(type).fingerprint();
            assertThat(readme)
                    .as(
                            "schemas/README.md must give the fingerprint of %s; run SchemaHistory.main",
                            type)
                    .contains(AvroCodec.hex(fp))
                    .contains(SchemaHistory.headerHex(fp));
        }
    }

    private static String captureMain() {
        PrintStream original = System.out;
        ByteArrayOutputStream buffer = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buffer, true, StandardCharsets.UTF_8));
        try {
            SchemaHistory.main(new String[0]);
        } finally {
            System.setOut(original);
        }
        return buffer.toString(StandardCharsets.UTF_8);
    }
}
