package io.ebsreplicator.schemas;

import io.ebsreplicator.schemas.SchemaDecodeException.Reason;

import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.Incompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaCompatibility.SchemaIncompatibilityType;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.message.BadHeaderException;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.MissingSchemaException;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Encodes and decodes one record type in Avro single-object encoding: the marker {@code C3 01}, the
 * 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema's Parsing Canonical Form, then
 * the Avro binary body. No schema registry is involved: the decoder knows every released version of
 * the type (from {@link SchemaHistory}) and resolves a message written with any of them into the
 * current generated class.
 *
 * <p>Every decoding failure is a {@link SchemaDecodeException} with a stable reason; nothing is
 * swallowed and {@code null} is never returned. The body is checked against the writer schema
 * before it is materialised, so a corrupt length in a small message cannot make the decoder
 * allocate gigabytes.
 *
 * <p>Instances are immutable and thread-safe but not {@link java.io.Serializable}: in a Flink
 * operator, build one in {@code open()}; that is cheap, since the history is parsed once per class
 * loader. Used by the job on the TaskManagers (requests in, results and dead letters out) and by
 * operator tools.
 */
public final class AvroCodec<T extends SpecificRecord> {

    /** The single-object encoding marker, version 1 of the format. */
    private static final byte MARKER_0 = (byte) 0xC3;

    private static final byte MARKER_1 = (byte) 0x01;

    /** Two marker bytes plus the 8-byte fingerprint. */
    static final int HEADER_LENGTH = 10;

    private final Class<T> type;
    private final String typeName;
    private final Schema schema;
    private final long fingerprint;
    private final BinaryMessageEncoder<T> encoder;
    private final BinaryMessageDecoder<T> decoder;

    /** Writer schemas the decoder resolves, by fingerprint, the current one included. */
    private final Map<Long, Schema> writerSchemas;

    /**
     * Writer schemas that lack fields the current schema requires, by fingerprint, with the missing
     * field names. Messages written with them fail with {@link Reason#MISSING_FIELD}.
     */
    private final Map<Long, List<String>> writersMissingFields;

    private AvroCodec(Class<T> type, Collection<Schema> olderWriterSchemas) {
        this.type = Objects.requireNonNull(type, "type");
        SpecificData model = SpecificData.getForClass(type);
        this.schema = model.getSchema(type);
        this.typeName = schema.getName();
        this.fingerprint = SchemaNormalization.parsingFingerprint64(schema);
        this.encoder = new BinaryMessageEncoder<>(model, schema);
        this.decoder = new BinaryMessageDecoder<>(model, schema);

        Map<Long, Schema> writers = new LinkedHashMap<>();
        Map<Long, List<String>> missing = new LinkedHashMap<>();
        writers.put(fingerprint, schema);
        for (Schema writer : olderWriterSchemas) {
            long fp = SchemaNormalization.parsingFingerprint64(writer);
            if (fp == fingerprint) {
                continue;
            }
            List<String> missingFields = missingFieldsOrReject(writer);
            if (missingFields.isEmpty()) {
                decoder.addSchema(writer);
                writers.put(fp, writer);
            } else {
                missing.put(fp, missingFields);
            }
        }
        this.writerSchemas = Collections.unmodifiableMap(writers);
        this.writersMissingFields = Collections.unmodifiableMap(missing);
    }

    /** The codec of {@link ReplicationRequest}, reading every version in the schema history. */
    public static AvroCodec<ReplicationRequest> forRequests() {
        return forType(ReplicationRequest.class);
    }

    /** The codec of {@link ReplicationResult}, reading every version in the schema history. */
    public static AvroCodec<ReplicationResult> forResults() {
        return forType(ReplicationResult.class);
    }

    /** The codec of {@link DeadLetter}, reading every version in the schema history. */
    public static AvroCodec<DeadLetter> forDeadLetters() {
        return forType(DeadLetter.class);
    }

    /** The codec of {@link CopyDeletion}, reading every version in the schema history. */
    public static AvroCodec<CopyDeletion> forCopyDeletions() {
        return forType(CopyDeletion.class);
    }

    /**
     * The codec of a generated record type, reading every version of it listed in the schema
     * history.
     *
     * @throws IllegalArgumentException if the history has no version of the type
     */
    public static <T extends SpecificRecord> AvroCodec<T> forType(Class<T> type) {
        return withWriterSchemas(type, SchemaHistory.versions(type.getSimpleName()));
    }

    /**
     * A codec of a generated record type that reads messages written with the current schema and
     * with each of {@code olderWriterSchemas}. A writer schema that lacks fields the current schema
     * requires is accepted, and its messages fail with {@link Reason#MISSING_FIELD}; a writer
     * schema that cannot be resolved for any other reason is rejected here, at construction.
     *
     * @throws IllegalArgumentException if a writer schema cannot be read as the current schema
     */
    public static <T extends SpecificRecord> AvroCodec<T> withWriterSchemas(
            Class<T> type, Collection<Schema> olderWriterSchemas) {
        return new AvroCodec<>(type, olderWriterSchemas);
    }

    /** The generated class this codec reads and writes. */
    public Class<T> type() {
        return type;
    }

    /** The current schema, which this codec writes and into which it reads every version. */
    public Schema schema() {
        return schema;
    }

    /** The CRC-64-AVRO fingerprint of the current schema, as written into every message header. */
    public long fingerprint() {
        return fingerprint;
    }

    /** The fingerprints of every writer schema this codec decodes, the current one first. */
    public Set<Long> knownFingerprints() {
        return writerSchemas.keySet();
    }

    /**
     * Encodes a record with the current schema.
     *
     * @throws IllegalArgumentException if the record cannot be encoded, for example because a
     *     required field is null
     */
    public byte[] encode(T record) {
        Objects.requireNonNull(record, "record");
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        try {
            encoder.encode(record, out);
        } catch (IOException | RuntimeException e) {
            throw new IllegalArgumentException("cannot encode " + typeName + ": " + describe(e), e);
        }
        return out.toByteArray();
    }

    /**
     * Decodes one message written with the current schema or any known older version, into the
     * current class (fields the writer did not know take their defaults).
     *
     * @param message the whole message (for Kafka, the record value); null is malformed
     * @return the record, never null
     * @throws SchemaDecodeException with {@link Reason#MALFORMED} if the bytes are not exactly one
     *     single-object encoded message, {@link Reason#UNKNOWN_SCHEMA} if the writer schema is not
     *     known, {@link Reason#MISSING_FIELD} if a required field is absent or null
     */
    public T decode(byte[] message) throws SchemaDecodeException {
        if (message == null) {
            throw failure(Reason.MALFORMED, null, "no bytes (a null value or tombstone)", null);
        }
        if (message.length < HEADER_LENGTH) {
            throw failure(
                    Reason.MALFORMED,
                    null,
                    message.length
                            + " bytes, shorter than the "
                            + HEADER_LENGTH
                            + "-byte single-object header",
                    null);
        }
        if (message[0] != MARKER_0 || message[1] != MARKER_1) {
            throw failure(
                    Reason.MALFORMED,
                    null,
                    String.format(
                            "not single-object encoded: starts with 0x%02X 0x%02X instead of 0xC3 0x01",
                            message[0], message[1]),
                    null);
        }
        long writerFingerprint =
                ByteBuffer.wrap(message, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        List<String> missingFields = writersMissingFields.get(writerFingerprint);
        if (missingFields != null) {
            throw failure(
                    Reason.MISSING_FIELD,
                    writerFingerprint,
                    "written with schema "
                            + hex(writerFingerprint)
                            + ", which lacks the required field(s) "
                            + String.join(", ", missingFields),
                    null);
        }
        Schema writer = writerSchemas.get(writerFingerprint);
        if (writer == null) {
            throw failure(
                    Reason.UNKNOWN_SCHEMA,
                    writerFingerprint,
                    "written with schema "
                            + hex(writerFingerprint)
                            + ", not a known version (known: "
                            + writerSchemas.keySet().stream()
                                    .map(AvroCodec::hex)
                                    .collect(Collectors.joining(", "))
                            + ")",
                    null);
        }
        checkBody(message, writer, writerFingerprint);

        T record;
        try {
            record = decoder.decode(message);
        } catch (MissingSchemaException e) {
            throw failure(Reason.UNKNOWN_SCHEMA, writerFingerprint, describe(e), e);
        } catch (BadHeaderException e) {
            throw failure(Reason.MALFORMED, writerFingerprint, describe(e), e);
        } catch (IOException | RuntimeException e) {
            // Corruption the skipping pass cannot see: an enum ordinal out of range, for one.
            throw failure(Reason.MALFORMED, writerFingerprint, "corrupt body: " + describe(e), e);
        }
        if (record == null) {
            throw failure(Reason.MALFORMED, writerFingerprint, "decoded to nothing", null);
        }
        List<String> nulls = new ArrayList<>();
        collectMissing(record, "", nulls);
        if (!nulls.isEmpty()) {
            throw failure(
                    Reason.MISSING_FIELD,
                    writerFingerprint,
                    "required field(s) null: " + String.join(", ", nulls),
                    null);
        }
        return record;
    }

    /**
     * Walks the body with the writer schema without materialising anything: every length is then
     * checked against the bytes actually present before the real decoder allocates for it, and the
     * body must end exactly at the end of the message.
     */
    private void checkBody(byte[] message, Schema writer, long writerFingerprint)
            throws SchemaDecodeException {
        ByteArrayInputStream body =
                new ByteArrayInputStream(message, HEADER_LENGTH, message.length - HEADER_LENGTH);
        BinaryDecoder in = DecoderFactory.get().directBinaryDecoder(body, null);
        try {
            GenericDatumReader.skip(writer, in);
        } catch (EOFException e) {
            throw failure(
                    Reason.MALFORMED,
                    writerFingerprint,
                    "truncated: the body ends before the record does ("
                            + (message.length - HEADER_LENGTH)
                            + " body bytes)",
                    e);
        } catch (IOException | RuntimeException e) {
            throw failure(Reason.MALFORMED, writerFingerprint, "corrupt body: " + describe(e), e);
        }
        int trailing = body.available();
        if (trailing > 0) {
            throw failure(
                    Reason.MALFORMED,
                    writerFingerprint,
                    trailing + " trailing byte(s) after the record",
                    null);
        }
    }

    /**
     * The fields of the current schema without default that {@code writer} lacks; empty if it is
     * fully readable.
     *
     * @throws IllegalArgumentException if the writer cannot be read for another reason
     */
    private List<String> missingFieldsOrReject(Schema writer) {
        SchemaCompatibility.SchemaPairCompatibility compatibility =
                SchemaCompatibility.checkReaderWriterCompatibility(schema, writer);
        if (compatibility.getType() == SchemaCompatibilityType.COMPATIBLE) {
            return List.of();
        }
        List<String> missing = new ArrayList<>();
        for (Incompatibility incompatibility : compatibility.getResult().getIncompatibilities()) {
            if (incompatibility.getType()
                    != SchemaIncompatibilityType.READER_FIELD_MISSING_DEFAULT_VALUE) {
                throw new IllegalArgumentException(
                        "cannot read "
                                + typeName
                                + " written with schema "
                                + hex(SchemaNormalization.parsingFingerprint64(writer))
                                + ": "
                                + incompatibility.getMessage()
                                + " at "
                                + incompatibility.getLocation());
            }
            missing.add(
                    incompatibility.getMessage() + " (at " + incompatibility.getLocation() + ")");
        }
        return missing;
    }

    /** Adds the path of every null value whose schema does not allow null. */
    private static void collectMissing(Object value, String path, List<String> out) {
        if (!(value instanceof IndexedRecord)) {
            return;
        }
        IndexedRecord record = (IndexedRecord) value;
        for (Schema.Field field : record.getSchema().getFields()) {
            Object fieldValue = record.get(field.pos());
            String fieldPath = path.isEmpty() ? field.name() : path + "." + field.name();
            if (fieldValue == null) {
                if (!allowsNull(field.schema())) {
                    out.add(fieldPath);
                }
            } else if (fieldValue instanceof IndexedRecord) {
                collectMissing(fieldValue, fieldPath, out);
            } else if (fieldValue instanceof List<?>) {
                List<?> items = (List<?>) fieldValue;
                for (int i = 0; i < items.size(); i++) {
                    Object item = items.get(i);
                    if (item == null) {
                        out.add(fieldPath + "[" + i + "]");
                    } else {
                        collectMissing(item, fieldPath + "[" + i + "]", out);
                    }
                }
            } else if (fieldValue instanceof Map<?, ?>) {
                for (Map.Entry<?, ?> entry : ((Map<?, ?>) fieldValue).entrySet()) {
                    if (entry.getValue() == null) {
                        out.add(fieldPath + "[" + entry.getKey() + "]");
                    }
                }
            }
        }
    }

    private static boolean allowsNull(Schema schema) {
        if (schema.getType() == Schema.Type.NULL) {
            return true;
        }
        return schema.getType() == Schema.Type.UNION
                && schema.getTypes().stream().anyMatch(s -> s.getType() == Schema.Type.NULL);
    }

    private SchemaDecodeException failure(
            Reason reason, Long writerFingerprint, String message, Throwable cause) {
        return new SchemaDecodeException(reason, typeName, writerFingerprint, message, cause);
    }

    private static String describe(Throwable e) {
        String text = e.getClass().getSimpleName() + ": " + e.getMessage();
        Throwable cause = e.getCause();
        // AvroRuntimeException("Decoding datum failed") hides the real cause one level down.
        if (cause != null && cause != e) {
            text += " (" + cause.getClass().getSimpleName() + ": " + cause.getMessage() + ")";
        }
        return text;
    }

    /** A fingerprint as it is usually printed: the unsigned 64-bit value in hex. */
    static String hex(long fingerprint) {
        return String.format("0x%016x", fingerprint);
    }

    @Override
    public String toString() {
        return "AvroCodec{" + typeName + ", " + hex(fingerprint) + "}";
    }
}
