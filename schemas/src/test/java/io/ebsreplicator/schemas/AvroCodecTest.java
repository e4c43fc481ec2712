package io.ebsreplicator.schemas;

import io.ebsreplicator.schemas.SchemaDecodeException.Reason;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/**
 * Unit tests of {@link AvroCodec}: round trips, the committed golden bytes, and the reason of every
 * kind of decoding failure. Plain JUnit, no Kafka.
 */
class AvroCodecTest {

    /**
     * Set to true ({@code -Dgolden.write=true}) to rewrite the golden files after a new version.
     * The files are read from the source tree (the tests run in the module directory), not from the
     * class path, so that one run writes and checks them.
     */
    private static final boolean WRITE_GOLDEN = Boolean.getBoolean("golden.write");

    private static final Path GOLDEN_DIR = Path.of("src/test/resources/golden");

    static Stream<Arguments> examples() {
        return Stream.of(
                Arguments.of(AvroCodec.forRequests(), Examples.request()),
                Arguments.of(AvroCodec.forRequests(), Examples.minimalRequest()),
                Arguments.of(AvroCodec.forResults(), Examples.result()),
                Arguments.of(AvroCodec.forResults(), Examples.failedResult()),
                Arguments.of(AvroCodec.forDeadLetters(), Examples.deadLetter()),
                Arguments.of(AvroCodec.forCopyDeletions(), Examples.copyDeletion()),
                Arguments.of(AvroCodec.forCopyDeletions(), Examples.failedCopyDeletion()));
    }

    @ParameterizedTest
    @MethodSource("examples")
    <T extends SpecificRecord> void roundTripsEveryExample(AvroCodec<T> codec, T record)
            throws Exception {
        byte[] bytes = codec.encode(record);

        assertThat(codec.decode(bytes)).isEqualTo(record);
    }

    @ParameterizedTest
    @MethodSource("examples")
    <T extends SpecificRecord> void writesTheSingleObjectHeaderOfTheCurrentSchema(
            AvroCodec<T> codec, T record) {
        byte[] bytes = codec.encode(record);

        assertThat(bytes[0]).isEqualTo((byte) 0xC3);
        assertThat(bytes[1]).isEqualTo((byte) 0x01);
        long fingerprint = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(fingerprint)
                .isEqualTo(codec.fingerprint())
                .isEqualTo(SchemaNormalization.parsingFingerprint64(record.getSchema()));
    }

    @Test
    void decodesWhatTheGeneratedClassEncodes() throws Exception {
        ReplicationRequest request = Examples.request();

        byte[] bytes = request.toByteBuffer().array();

        assertThat(AvroCodec.forRequests().decode(bytes)).isEqualTo(request);
    }

    static Stream<Arguments> goldenExamples() {
        return Stream.of(
                Arguments.of("ReplicationRequest.bin", AvroCodec.forRequests(), Examples.request()),
                Arguments.of("ReplicationResult.bin", AvroCodec.forResults(), Examples.result()),
                Arguments.of("DeadLetter.bin", AvroCodec.forDeadLetters(), Examples.deadLetter()),
                Arguments.of(
                        "CopyDeletion.bin", AvroCodec.forCopyDeletions(), Examples.copyDeletion()));
    }

    /**
     * The committed bytes of one example per type. A change to a schema, or to how it is encoded,
     * changes these bytes and fails here on purpose: add a history version, then rewrite the golden
     * files with {@code -Dgolden.write=true} and keep the old ones as fixtures if they still
     * matter.
     */
    @ParameterizedTest
    @MethodSource("goldenExamples")
    <T extends SpecificRecord> void encodesTheGoldenBytes(String file, AvroCodec<T> codec, T record)
            throws Exception {
        byte[] encoded = codec.encode(record);
        if (WRITE_GOLDEN) {
            Files.createDirectories(GOLDEN_DIR);
            Files.write(GOLDEN_DIR.resolve(file), encoded);
        }

        Path goldenFile = GOLDEN_DIR.resolve(file);
        assertThat(goldenFile)
                .as(
                        "missing %s; run the tests once with -Dgolden.write=true to create it",
                        goldenFile)
                .exists();
        byte[] golden = Files.readAllBytes(goldenFile);

        assertThat(encoded)
                .as("%s no longer encodes to golden/%s; did the schema change?", record, file)
                .isEqualTo(golden);
        assertThat(codec.decode(golden)).isEqualTo(record);
    }

    @Test
    void refusesNullAsMalformed() {
        assertReason(() -> AvroCodec.forRequests().decode(null), Reason.MALFORMED)
                .hasMessageContaining("null");
    }

    @Test
    void refusesRandomBytesAsMalformed() {
        Random random = new Random(42);
        AvroCodec<ReplicationRequest> codec = AvroCodec.forRequests();
        for (int i = 0; i < 1000; i++) {
            byte[] bytes = new byte[random.nextInt(200)];
            random.nextBytes(bytes);
            // About one in 65536 starts with the marker by chance; those then fail the fingerprint.
            Reason expected =
                    bytes.length >= 10 && bytes[0] == (byte) 0xC3 && bytes[1] == 1
                            ? Reason.UNKNOWN_SCHEMA
                            : Reason.MALFORMED;
            assertReason(() -> codec.decode(bytes), expected);
        }
    }

    @Test
    void refusesJsonAsMalformed() {
        byte[] json = RequestJson.toJson(Examples.request()).getBytes();

        assertReason(() -> AvroCodec.forRequests().decode(json), Reason.MALFORMED)
                .hasMessageContaining("starts with 0x7B 0x22");
    }

    @Test
    void refusesAShortHeaderAsMalformed() {
        byte[] bytes = Arrays.copyOf(AvroCodec.forRequests().encode(Examples.request()), 9);

        assertReason(() -> AvroCodec.forRequests().decode(bytes), Reason.MALFORMED)
                .hasMessageContaining("shorter than the 10-byte");
    }

    @Test
    void refusesEveryTruncationAsMalformed() {
        AvroCodec<ReplicationRequest> codec = AvroCodec.forRequests();
        byte[] bytes = codec.encode(Examples.request());
        for (int length = 0; length < bytes.length; length++) {
            byte[] truncated = Arrays.copyOf(bytes, length);
            assertReason(() -> codec.decode(truncated), Reason.MALFORMED);
        }
    }

    @Test
    void refusesTrailingBytesAsMalformed() {
        AvroCodec<ReplicationRequest> codec = AvroCodec.forRequests();
        byte[] bytes = codec.encode(Examples.minimalRequest());
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);

        assertReason(() -> codec.decode(longer), Reason.MALFORMED)
                .hasMessageContaining("1 trailing byte");
    }

    @Test
    void refusesAHugeLengthWithoutAllocatingIt() {
        AvroCodec<ReplicationRequest> codec = AvroCodec.forRequests();
        byte[] header = Arrays.copyOf(codec.encode(Examples.minimalRequest()), 10);
        // requestId's length as a zig-zag varint: 2^30 characters, in a 15-byte message.
        byte[] body = {(byte) 0x80, (byte) 0x80, (byte) 0x80, (byte) 0x80, 0x08};
        byte[] bytes = concat(header, body);

        assertReason(() -> codec.decode(bytes), Reason.MALFORMED).hasMessageContaining("truncated");
    }

    @Test
    void refusesANegativeLengthAsMalformed() {
        AvroCodec<ReplicationRequest> codec = AvroCodec.forRequests();
        byte[] header = Arrays.copyOf(codec.encode(Examples.minimalRequest()), 10);
        byte[] bytes = concat(header, new byte[] {0x03, 'a', 'b'}); // zig-zag 3 = -2

        assertReason(() -> codec.decode(bytes), Reason.MALFORMED);
    }

    @Test
    void refusesAnEnumOrdinalOutOfRangeAsMalformed() {
        AvroCodec<ReplicationRequest> codec = AvroCodec.forRequests();
        ReplicationRequest request = Examples.minimalRequest();
        byte[] bytes = codec.encode(request);
        // Body: requestId "r1", sourceRegion, sourceSnapshotId, baseSnapshotId null, then mode.
        int mode = 10 + 3 + 10 + 23 + 1;
        assertThat(bytes[mode]).as("AUTO is ordinal 0").isZero();
        bytes[mode] = 0x08; // ordinal 4; CopyMode has 2 symbols

        assertReason(() -> codec.decode(bytes), Reason.MALFORMED);
    }

    @Test
    void refusesAnUnknownFingerprint() {
        AvroCodec<ReplicationRequest> codec = AvroCodec.forRequests();
        byte[] bytes = codec.encode(Examples.request());
        // A valid header naming another schema: the result schema's fingerprint.
        ByteBuffer.wrap(bytes, 2, 8)
                .order(ByteOrder.LITTLE_ENDIAN)
                .putLong(AvroCodec.forResults().fingerprint());

        SchemaDecodeException e =
                catchThrowableOfType(SchemaDecodeException.class, () -> codec.decode(bytes));

        assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_SCHEMA);
        assertThat(e.reasonCode()).isEqualTo("UNKNOWN_SCHEMA");
        assertThat(e.typeName()).isEqualTo("ReplicationRequest");
        assertThat(e.writerFingerprint()).hasValue(AvroCodec.forResults().fingerprint());
        assertThat(e).hasMessageContaining(AvroCodec.hex(AvroCodec.forResults().fingerprint()));
    }

    /**
     * A request written by a version-1 producer (the golden bytes of before the target role): it
     * still decodes, into the current schema, with every target's role left to its default.
     */
    @Test
    void decodesARequestOfVersion1WithoutTargetRoles() throws Exception {
        byte[] v1;
        try (var in = AvroCodecTest.class.getResourceAsStream("/older/ReplicationRequest-v1.bin")) {
            v1 = in.readAllBytes();
        }
        ReplicationRequest expected = Examples.request();
        expected.getTargets().forEach(t -> t.setRoleArn(null));

        assertThat(AvroCodec.forRequests().decode(v1)).isEqualTo(expected);
        assertThat(v1)
                .as("written with version 1, not with the current schema")
                .isNotEqualTo(AvroCodec.forRequests().encode(expected));
    }

    @Test
    void refusesAMessageLackingARequiredField() throws Exception {
        Schema lacking = readSchema("/older/ReplicationRequest-without-sourceSnapshotId.avsc");
        AvroCodec<ReplicationRequest> codec =
                AvroCodec.withWriterSchemas(
                        ReplicationRequest.class,
                        concat(SchemaHistory.versions("ReplicationRequest"), lacking));
        GenericRecord target =
                new GenericData.Record(lacking.getField("targets").schema().getElementType());
        target.put("region", "us-west-2");
        GenericRecord request = new GenericData.Record(lacking);
        request.put("requestId", "r1");
        request.put("sourceRegion", "us-east-1");
        request.put("targets", List.of(target));
        byte[] bytes =
                new BinaryMessageEncoder<GenericRecord>(GenericData.get(), lacking)
                        .encode(request)
                        .array();

        assertReason(() -> codec.decode(bytes), Reason.MISSING_FIELD)
                .hasMessageContaining("sourceSnapshotId");
        assertReason(() -> AvroCodec.forRequests().decode(bytes), Reason.UNKNOWN_SCHEMA);
    }

    @Test
    void keepsDecodingAfterAFailure() throws Exception {
        AvroCodec<ReplicationRequest> codec = AvroCodec.forRequests();
        byte[] good = codec.encode(Examples.request());
        byte[] bad = Arrays.copyOf(good, good.length - 1);

        assertReason(() -> codec.decode(bad), Reason.MALFORMED);
        assertThat(codec.decode(good)).isEqualTo(Examples.request());
    }

    @Test
    void refusesToEncodeARecordWithANullRequiredField() {
        ReplicationRequest request = Examples.request();
        request.setSourceRegion(null);

        assertThatThrownBy(() -> AvroCodec.forRequests().encode(request))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("ReplicationRequest");
    }

    @Test
    void rejectsAWriterSchemaItCannotResolve() {
        Schema otherType =
                new Schema.Parser()
                        .parse(
                                "{\"type\":\"record\",\"name\":\"ReplicationRequest\","
                                        + "\"namespace\":\"io.ebsreplicator.schemas\",\"fields\":["
                                        + "{\"name\":\"requestId\",\"type\":\"long\"}]}");

        assertThatThrownBy(
                        () ->
                                AvroCodec.withWriterSchemas(
                                        ReplicationRequest.class, List.of(otherType)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("cannot read ReplicationRequest");
    }

    @Test
    void knowsEveryVersionInTheHistory() {
        for (String type : SchemaHistory.typeNames()) {
            AvroCodec<?> codec = codecFor(type);
            for (Schema version : SchemaHistory.versions(type)) {
                assertThat(codec.knownFingerprints())
                        .contains(SchemaNormalization.parsingFingerprint64(version));
            }
            assertThat(codec.knownFingerprints()).first().isEqualTo(codec.fingerprint());
        }
    }

    @Test
    void describesItself() {
        assertThat(AvroCodec.forRequests().type()).isEqualTo(ReplicationRequest.class);
        assertThat(AvroCodec.forRequests().schema()).isEqualTo(ReplicationRequest.getClassSchema());
        assertThat(AvroCodec.forRequests().toString())
                .startsWith("AvroCodec{ReplicationRequest, 0x");
    }

    static AvroCodec<?> codecFor(String type) {
        switch (type) {
            case "ReplicationRequest":
                return AvroCodec.forRequests();
            case "ReplicationResult":
                return AvroCodec.forResults();
            case "DeadLetter":
                return AvroCodec.forDeadLetters();
            case "CopyDeletion":
                return AvroCodec.forCopyDeletions();
            default:
                throw new AssertionError("no codec for " + type + "; add it to AvroCodecTest");
        }
    }

    private static org.assertj.core.api.AbstractThrowableAssert<?, ? extends Throwable>
            assertReason(
                    org.assertj.core.api.ThrowableAssert.ThrowingCallable call, Reason reason) {
        SchemaDecodeException e = catchThrowableOfType(SchemaDecodeException.class, call);
        assertThat(e).as("decoding must fail with a SchemaDecodeException").isNotNull();
        assertThat(e.reason()).as(e.getMessage()).isEqualTo(reason);
        return assertThat((Throwable) e);
    }

    static Schema readSchema(String name) throws IOException {
        try (InputStream in = AvroCodecTest.class.getResourceAsStream(name)) {
            assertThat(in).as("missing %s", name).isNotNull();
            return new Schema.Parser().parse(in);
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static List<Schema> concat(List<Schema> a, Schema b) {
        return Stream.concat(a.stream(), Stream.of(b)).toList();
    }
}
