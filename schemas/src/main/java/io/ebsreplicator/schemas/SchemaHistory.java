package io.ebsreplicator.schemas;

import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Every released version of every schema, as committed under {@code
 * io/ebsreplicator/schemas/history/<Name>/v<N>.avsc} and listed in {@code history/index.txt} (a
 * directory inside a jar cannot be listed). The newest version of a type equals its current {@code
 * .avsc}; {@link AvroCodec} decodes messages written with any version.
 *
 * <p>Loaded once per class loader, on first use, wherever a codec is built (TaskManagers, tools,
 * tests). {@link #main} prints the versions and their fingerprints.
 */
public final class SchemaHistory {

    static final String ROOT = "/io/ebsreplicator/schemas/history/";
    static final String INDEX = ROOT + "index.txt";

    private static final String NAMESPACE = "io.ebsreplicator.schemas";
    private static final Pattern ENTRY =
            Pattern.compile("([A-Za-z][A-Za-z0-9]*)/v([1-9][0-9]*)\\.avsc");

    private SchemaHistory() {}

    /** Lazily loaded, immutable: type name to versions, oldest (v1) first. */
    private static final class Loaded {
        static final Map<String, List<Schema>> VERSIONS = load();
    }

    /** The names of the types with a history, in index order. */
    public static Set<String> typeNames() {
        return Loaded.VERSIONS.keySet();
    }

    /**
     * Every released version of a type, oldest first: element {@code i} is version {@code i + 1}.
     *
     * @param typeName the simple record name, such as ReplicationRequest
     * @throws IllegalArgumentException if the type has no history
     */
    public static List<Schema> versions(String typeName) {
        List<Schema> versions = Loaded.VERSIONS.get(typeName);
        if (versions == null) {
            throw new IllegalArgumentException(
                    "no schema history for "
                            + typeName
                            + "; known: "
                            + Loaded.VERSIONS.keySet()
                            + " (add it to "
                            + INDEX
                            + ")");
        }
        return versions;
    }

    /** The newest released version of a type. */
    public static Schema latest(String typeName) {
        List<Schema> versions = versions(typeName);
        return versions.get(versions.size() - 1);
    }

    private static Map<String, List<Schema>> load() {
        Map<String, List<Schema>> versions = new LinkedHashMap<>();
        for (String entry : readIndex()) {
            Matcher m = ENTRY.matcher(entry);
            if (!m.matches()) {
                throw new IllegalStateException(
                        INDEX + ": '" + entry + "' is not of the form <Name>/v<N>.avsc");
            }
            String name = m.group(1);
            int version = Integer.parseInt(m.group(2));
            List<Schema> list = versions.computeIfAbsent(name, k -> new ArrayList<>());
            if (version != list.size() + 1) {
                throw new IllegalStateException(
                        INDEX
                                + ": "
                                + entry
                                + " out of order; expected "
                                + name
                                + "/v"
                                + (list.size() + 1)
                                + ".avsc next");
            }
            Schema schema = parse(ROOT + entry);
            if (!(NAMESPACE + "." + name).equals(schema.getFullName())) {
                throw new IllegalStateException(
                        ROOT
                                + entry
                                + " defines "
                                + schema.getFullName()
                                + ", not "
                                + NAMESPACE
                                + "."
                                + name);
            }
            list.add(schema);
        }
        Map<String, List<Schema>> frozen = new LinkedHashMap<>();
        versions.forEach((name, list) -> frozen.put(name, List.copyOf(list)));
        return Collections.unmodifiableMap(frozen);
    }

    private static List<String> readIndex() {
        List<String> entries = new ArrayList<>();
        try (InputStream in = open(INDEX);
                BufferedReader reader =
                        new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line; (line = reader.readLine()) != null; ) {
                String entry = line.strip();
                if (!entry.isEmpty() && !entry.startsWith("#")) {
                    entries.add(entry);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + INDEX, e);
        }
        return entries;
    }

    private static Schema parse(String resource) {
        try (InputStream in = open(resource)) {
            // One parser per file: each version defines the same names again.
            return new Schema.Parser().parse(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource, e);
        }
    }

    private static InputStream open(String resource) {
        InputStream in = SchemaHistory.class.getResourceAsStream(resource);
        if (in == null) {
            throw new IllegalStateException("missing class path resource " + resource);
        }
        return in;
    }

    /**
     * Prints every version of every type with its fingerprint and the 10-byte header that starts
     * each message written with it.
     */
    public static void main(String[] args) {
        for (String name : typeNames()) {
            List<Schema> list = versions(name);
            for (int i = 0; i < list.size(); i++) {
                long fp = SchemaNormalization.parsingFingerprint64(list.get(i));
                System.out.printf(
                        "%-20s v%-3d fingerprint %s  header %s%n",
                        name, i + 1, AvroCodec.hex(fp), headerHex(fp));
            }
        }
    }

    /** The single-object header of messages written with a schema of this fingerprint, in hex. */
    static String headerHex(long fingerprint) {
        StringBuilder hex = new StringBuilder("c3 01");
        for (int i = 0; i < 8; i++) {
            hex.append(String.format(" %02x", (fingerprint >>> (8 * i)) & 0xff));
        }
        return hex.toString();
    }
}
