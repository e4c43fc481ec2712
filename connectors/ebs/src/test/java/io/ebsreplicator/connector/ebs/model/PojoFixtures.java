package io.ebsreplicator.connector.ebs.model;

import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

/**
 * Committed fixtures of the records Flink keeps in savepoints (the copier's in-flight {@link
 * BlockTask}s, {@link BlockCopied}s in flight, completion's keyed state): the serializer snapshot
 * Flink wrote with them, then the records. Reading one back resolves the snapshot against today's
 * serializer and migrates the records, as a restore from a savepoint of that version does.
 */
public final class PojoFixtures {

    private PojoFixtures() {}

    /** Flink's serializer for {@code type}, built as the job builds it but refusing Kryo. */
    public static <T> TypeSerializer<T> serializer(Class<T> type) {
        SerializerConfigImpl config = new SerializerConfigImpl();
        Configuration c = new Configuration();
        c.set(PipelineOptions.GENERIC_TYPES, false);
        config.configure(c, PojoFixtures.class.getClassLoader());
        return TypeInformation.of(type).createSerializer(config);
    }

    /** Writes {@code records} with today's serializer of {@code type}, after its snapshot. */
    public static <T> void write(String resource, Class<T> type, List<T> records)
            throws IOException {
        TypeSerializer<T> serializer = serializer(type);
        DataOutputSerializer out = new DataOutputSerializer(1024);
        TypeSerializerSnapshot.writeVersionedSnapshot(out, serializer.snapshotConfiguration());
        out.writeInt(records.size());
        for (T r : records) {
            serializer.serialize(r, out);
        }
        Path file = Paths.get(System.getProperty("basedir", "."), "src/test/resources" + resource);
        Files.createDirectories(file.getParent());
        Files.write(file, out.getCopyOfBuffer());
    }

    /**
     * Reads the records of a committed fixture into today's {@code type}, as a restore does: the
     * old snapshot must be compatible as it is or after migration, never incompatible.
     */
    public static <T> List<T> read(String resource, Class<T> type) throws IOException {
        byte[] bytes;
        try (InputStream in = PojoFixtures.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("No test resource " + resource);
            }
            bytes = in.readAllBytes();
        }
        DataInputDeserializer in = new DataInputDeserializer(bytes);
        TypeSerializerSnapshot<T> old =
                TypeSerializerSnapshot.readVersionedSnapshot(
                        in, PojoFixtures.class.getClassLoader());
        TypeSerializerSchemaCompatibility<T> compatibility =
                serializer(type).snapshotConfiguration().resolveSchemaCompatibility(old);
        if (compatibility.isIncompatible()) {
            throw new IOException(type.getSimpleName() + " can no longer read " + resource);
        }
        TypeSerializer<T> reader = old.restoreSerializer();
        int n = in.readInt();
        List<T> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(reader.deserialize(in));
        }
        if (in.available() > 0) {
            throw new IOException("Trailing " + in.available() + " bytes in " + resource);
        }
        return out;
    }
}
