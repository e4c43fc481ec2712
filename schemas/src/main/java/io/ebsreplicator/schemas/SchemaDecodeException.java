package io.ebsreplicator.schemas;

import java.util.Objects;
import java.util.OptionalLong;

/**
 * Thrown by {@link AvroCodec#decode} when bytes cannot be turned into a record, with a stable
 * {@link Reason} that the caller puts into a {@link DeadLetter}. Thrown wherever a codec decodes:
 * in the job, on the TaskManagers that read the requests topic, and in operator tools.
 */
public final class SchemaDecodeException extends Exception {

    private static final long serialVersionUID = 1L;

    /** Why a message could not be decoded. The names are stable codes used on the wire. */
    public enum Reason {
        /** Not single-object encoded Avro, truncated, trailing bytes, or a corrupt body. */
        MALFORMED,
        /** Single-object encoded, but with a writer schema fingerprint the codec does not know. */
        UNKNOWN_SCHEMA,
        /** A field the current schema requires (no default) is absent or null. */
        MISSING_FIELD
    }

    private final Reason reason;
    private final String typeName;
    private final Long writerFingerprint;

    SchemaDecodeException(
            Reason reason,
            String typeName,
            Long writerFingerprint,
            String message,
            Throwable cause) {
        super(typeName + ": " + message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
        this.typeName = typeName;
        this.writerFingerprint = writerFingerprint;
    }

    /** Why decoding failed. */
    public Reason reason() {
        return reason;
    }

    /** The stable code of {@link #reason()}, as written into {@link DeadLetter#getReason()}. */
    public String reasonCode() {
        return reason.name();
    }

    /** The simple name of the record type that was being decoded, such as ReplicationRequest. */
    public String typeName() {
        return typeName;
    }

    /**
     * The writer schema fingerprint (CRC-64-AVRO) read from the message header, when the header was
     * complete.
     */
    public OptionalLong writerFingerprint() {
        return writerFingerprint == null
                ? OptionalLong.empty()
                : OptionalLong.of(writerFingerprint);
    }
}
