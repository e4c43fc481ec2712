package io.ebsreplicator.schemas;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaCompatibility.SchemaPairCompatibility;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificData;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The compatibility policy, enforced: every version of every type (the committed history plus the
 * current {@code .avsc}) can read every other one, in both directions, so producers and the job can
 * be upgraded in any order. A change to a current schema must be recorded as a new history version.
 */
class SchemaCompatibilityTest {

    private static final Path CURRENT_DIR = Path.of("src/main/avro");
    private static final Path HISTORY_DIR =
            Path.of("src/main/resources/io/ebsreplicator/schemas/history");

    /** One schema version of a type, named for messages. */
    private record Version(String label, Schema schema) {}

    /** The history of a type, oldest first, then its current schema. */
    private static List<Version> allVersions(String type) throws IOException {
        List<Version> versions = new ArrayList<>();
        List<Schema> history = SchemaHistory.versions(type);
        for (int i = 0; i < history.size(); i++) {
            versions.add(new Version(type + " v" + (i + 1), history.get(i)));
        }
        versions.add(new Version(type + " current (src/main/avro)", current(type)));
        return versions;
    }

    @TestFactory
    Stream<DynamicTest> everyVersionReadsEveryOtherVersion() {
        return SchemaHistory.typeNames().stream()
                .flatMap(
                        type -> {
                            List<Version> versions;
                            try {
                                versions = allVersions(type);
                            } catch (IOException e) {
                                throw new AssertionError(e);
                            }
                            List<DynamicTest> tests = new ArrayList<>();
                            for (int older = 0; older < versions.size(); older++) {
                                for (int newer = older + 1; newer < versions.size(); newer++) {
                                    Version o = versions.get(older);
                                    Version n = versions.get(newer);
                                    tests.add(
                                            DynamicTest.dynamicTest(
                                                    n.label() + " reads " + o.label(),
                                                    () -> assertCanRead(n, o, "backward")));
                                    tests.add(
                                            DynamicTest.dynamicTest(
                                                    o.label() + " reads " + n.label(),
                                                    () -> assertCanRead(o, n, "forward")));
                                }
                            }
                            return tests.stream();
                        });
    }

    @Test
    void theCurrentSchemaIsTheNewestVersionInTheHistory() throws IOException {
        for (String type : SchemaHistory.typeNames()) {
            Schema current = current(type);
            List<Schema> history = SchemaHistory.versions(type);
            Schema newest = history.get(history.size() - 1);
            if (!current.equals(newest)) {
                int next = history.size() + 1;
                fail(
                        "%s.avsc differs from its newest released version v%d (fingerprint %s, now %s)."
                                + " If this is a new version: copy src/main/avro/%s.avsc to %s/%s/v%d.avsc,"
                                + " add the line %s/v%d.avsc to %s/index.txt, and rewrite the golden"
                                + " files (-Dgolden.write=true). Changes of doc alone need no new version.",
                        type,
                        history.size(),
                        AvroCodec.hex(SchemaNormalization.parsingFingerprint64(newest)),
                        AvroCodec.hex(SchemaNormalization.parsingFingerprint64(current)),
                        type,
                        HISTORY_DIR,
                        type,
                        next,
                        type,
                        next,
                        HISTORY_DIR);
            }
        }
    }

    @Test
    void theGeneratedClassesAreTheCurrentSchemas() throws IOException {
        for (String type : SchemaHistory.typeNames()) {
            Schema generated = AvroCodecTest.codecFor(type).schema();
            assertThat(SchemaNormalization.parsingFingerprint64(generated))
                    .as("%s: the generated class is stale; rebuild", type)
                    .isEqualTo(SchemaNormalization.parsingFingerprint64(current(type)));
        }
    }

    @Test
    void everyCurrentSchemaHasAHistory() throws IOException {
        try (Stream<Path> files = Files.list(CURRENT_DIR)) {
            List<String> types =
                    files.map(p -> p.getFileName().toString())
                            .filter(n -> n.endsWith(".avsc"))
                            .map(n -> n.substring(0, n.length() - ".avsc".length()))
                            .sorted()
                            .collect(Collectors.toList());
            assertThat(SchemaHistory.typeNames())
                    .as("every src/main/avro/<Name>.avsc needs history/<Name>/v1.avsc in the index")
                    .containsExactlyInAnyOrderElementsOf(types);
        }
    }

    /**
     * The mechanism behind the history, shown with a made-up older request schema that lacks four
     * fields: a message written with it decodes into the current class, the missing fields taking
     * their defaults.
     */
    @Test
    void decodesAMessageWrittenWithAnOlderSchemaIntoTheCurrentClassWithDefaults() throws Exception {
        Schema v0 = AvroCodecTest.readSchema("/older/ReplicationRequest-v0.avsc");
        assertCanRead(
                new Version("current", ReplicationRequest.getClassSchema()),
                new Version("v0", v0),
                "backward");
        assertCanRead(
                new Version("v0", v0),
                new Version("current", ReplicationRequest.getClassSchema()),
                "forward");

        Schema targetSchema = v0.getField("targets").schema().getElementType();
        GenericRecord target = new GenericData.Record(targetSchema);
        target.put("region", "us-west-2");
        target.put("parentSnapshotId", Examples.TARGET_PARENT);
        target.put("encrypted", true);
        target.put("kmsKeyArn", Examples.KMS_KEY);
        target.put("tags", Map.of("team", "storage"));
        GenericRecord old = new GenericData.Record(v0);
        old.put("requestId", "old-1");
        old.put("sourceRegion", "us-east-1");
        old.put("sourceSnapshotId", Examples.SOURCE);
        old.put("baseSnapshotId", Examples.BASE);
        old.put("mode", new GenericData.EnumSymbol(v0.getField("mode").schema(), "FULL"));
        old.put("targets", List.of(target));
        byte[] message =
                new BinaryMessageEncoder<GenericRecord>(GenericData.get(), v0).encode(old).array();

        AvroCodec<ReplicationRequest> codec =
                AvroCodec.withWriterSchemas(
                        ReplicationRequest.class,
                        Stream.concat(
                                        SchemaHistory.versions("ReplicationRequest").stream(),
                                        Stream.of(v0))
                                .toList());
        ReplicationRequest request = codec.decode(message);

        assertThat(request.getRequestId()).isEqualTo("old-1");
        assertThat(request.getSourceRegion()).isEqualTo("us-east-1");
        assertThat(request.getSourceSnapshotId()).isEqualTo(Examples.SOURCE);
        assertThat(request.getBaseSnapshotId()).isEqualTo(Examples.BASE);
        assertThat(request.getMode()).isEqualTo(CopyMode.FULL);
        assertThat(request.getDeadline()).isNull();
        assertThat(request.getPriority()).isZero();
        assertThat(request.getRequestedAt()).isNull();
        assertThat(request.getAttributes()).isEmpty();
        assertThat(request.getTargets()).hasSize(1);
        ReplicationTarget decoded = request.getTargets().get(0);
        assertThat(decoded.getRegion()).isEqualTo("us-west-2");
        assertThat(decoded.getParentSnapshotId()).isEqualTo(Examples.TARGET_PARENT);
        assertThat(decoded.getEncrypted()).isTrue();
        assertThat(decoded.getKmsKeyArn()).isEqualTo(Examples.KMS_KEY);
        assertThat(decoded.getTags()).containsExactly(Map.entry("team", "storage"));
        assertThat(decoded.getDescription()).isNull();
        // What it decodes into is a plain current request: it encodes with the current schema.
        assertThat(AvroCodec.forRequests().decode(AvroCodec.forRequests().encode(request)))
                .isEqualTo(request);
        // Without v0 in its history, the codec does not know the message.
        assertThat(SpecificData.get().getSchema(ReplicationRequest.class)).isNotEqualTo(v0);
        SchemaDecodeException unknown =
                org.assertj.core.api.Assertions.catchThrowableOfType(
                        SchemaDecodeException.class, () -> AvroCodec.forRequests().decode(message));
        assertThat(unknown.reason()).isEqualTo(SchemaDecodeException.Reason.UNKNOWN_SCHEMA);
    }

    /** The check itself catches a breaking change: a required field removed. */
    @Test
    void theCheckCatchesARequiredFieldThatAWriterLacks() throws IOException {
        Schema lacking =
                AvroCodecTest.readSchema("/older/ReplicationRequest-without-sourceSnapshotId.avsc");

        SchemaPairCompatibility result =
                SchemaCompatibility.checkReaderWriterCompatibility(
                        ReplicationRequest.getClassSchema(), lacking);

        assertThat(result.getType()).isEqualTo(SchemaCompatibilityType.INCOMPATIBLE);
        assertThat(result.getResult().getIncompatibilities())
                .extracting(SchemaCompatibility.Incompatibility::getMessage)
                .contains("sourceSnapshotId");
    }

    private static void assertCanRead(Version reader, Version writer, String direction) {
        SchemaPairCompatibility result =
                SchemaCompatibility.checkReaderWriterCompatibility(
                        reader.schema(), writer.schema());
        if (result.getType() != SchemaCompatibilityType.COMPATIBLE) {
            fail(
                    "%s cannot read messages written with %s (%s compatibility): %s. Add fields only"
                            + " with defaults; never remove or rename a field without an alias; never"
                            + " add an enum symbol or change a type. See schemas/README.md.",
                    reader.label(),
                    writer.label(),
                    direction,
                    result.getResult().getIncompatibilities().stream()
                            .map(i -> i.getMessage() + " at " + i.getLocation())
                            .collect(Collectors.joining("; ")));
        }
    }

    private static Schema current(String type) throws IOException {
        Path file = CURRENT_DIR.resolve(type + ".avsc");
        assertThat(file).as("the current schema of %s", type).exists();
        return new Schema.Parser().parse(file.toFile());
    }
}
