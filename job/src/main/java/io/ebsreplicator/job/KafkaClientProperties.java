package io.ebsreplicator.job;

import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * Kafka client properties from the command line, for every client the job and its tools build (the
 * intake consumer, the results and dead-letter producers, {@code request}, {@code results}, {@code
 * topics}): {@code --kafka-properties FILE} first, then each {@code --kafka-property key=value}
 * over it. This is how TLS, SASL (SCRAM, Amazon MSK IAM) and any other client setting reach Kafka.
 * Runs in the client.
 *
 * <p>Secrets: a value may be a placeholder of Kafka's configuration providers, resolved by the
 * Kafka client where it runs (the JobManager and TaskManagers for {@code serve}), so the secret
 * itself is never on a command line, in the job graph or in a log: {@code ${env:NAME}} (an
 * environment variable), {@code ${file:PATH:KEY}} (a key of a properties file), {@code
 * ${dir:DIR:FILE}} (a whole file, as Kubernetes mounts a Secret). Those providers are declared here
 * when a value uses them and {@code config.providers} is not given. Whatever is printed goes
 * through {@link #masked}.
 */
final class KafkaClientProperties {

    /** A properties file is a few lines; a bigger one is the wrong file. */
    static final int MAX_FILE_BYTES = 64 * 1024;

    /** Kafka clients have about 150 settings; more entries than this are a mistake. */
    static final int MAX_ENTRIES = 256;

    static final String MASK = "******";

    /**
     * Settings the job makes itself: each has its own flag or is what the job's correctness rests
     * on (read_committed intake, transactions of the sinks, byte-array records).
     */
    static final Map<String, String> RESERVED =
            Map.of(
                    "bootstrap.servers", "use --bootstrap-servers",
                    "group.id", "use --group-id",
                    "transactional.id", "the results and dead-letter writers set their own",
                    "isolation.level", "the job reads committed records only",
                    "enable.auto.commit", "the job's checkpoints hold its positions",
                    "key.serializer", "the job writes byte arrays",
                    "value.serializer", "the job writes byte arrays",
                    "key.deserializer", "the job reads byte arrays",
                    "value.deserializer", "the job reads byte arrays");

    /** Kafka's own providers, declared for placeholders that use their prefixes. */
    static final Map<String, String> PROVIDERS =
            Map.of(
                    "env", "org.apache.kafka.common.config.provider.EnvVarConfigProvider",
                    "file", "org.apache.kafka.common.config.provider.FileConfigProvider",
                    "dir", "org.apache.kafka.common.config.provider.DirectoryConfigProvider");

    static final Set<String> FLAGS = Set.of("--kafka-property", "--kafka-properties");

    /** The flags' line in each command's usage. */
    static final String USAGE_LINE =
            "[--kafka-properties FILE] [--kafka-property key=value ...] (TLS, SASL: see README)";

    /** {@code base} plus the flags' options. */
    static Set<String> withFlags(Set<String> base) {
        Set<String> out = new java.util.HashSet<>(base);
        out.addAll(FLAGS);
        return Set.copyOf(out);
    }

    private KafkaClientProperties() {}

    /** The properties the flags give, with providers declared for the placeholders used. */
    static Map<String, String> fromFlags(Flags flags) {
        Map<String, String> out = new LinkedHashMap<>();
        String file = flags.get("--kafka-properties");
        if (file != null) {
            out.putAll(readFile(Path.of(file)));
        }
        for (String kv : flags.all("--kafka-property")) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                // The value is not echoed: it may be a secret typed in the wrong place.
                throw new Flags.UsageException(
                        "--kafka-property needs key=value"
                                + (eq == 0 ? ", and a key before the '='" : ""));
            }
            out.put(kv.substring(0, eq).trim(), kv.substring(eq + 1));
        }
        if (out.size() > MAX_ENTRIES) {
            throw new Flags.UsageException(
                    "more than "
                            + MAX_ENTRIES
                            + " Kafka client properties; is that the right file?");
        }
        for (String key : out.keySet()) {
            String why = RESERVED.get(key);
            if (why != null) {
                throw new Flags.UsageException(
                        "the Kafka client property " + key + " cannot be set here: " + why);
            }
        }
        declareProviders(out);
        return out;
    }

    private static Map<String, String> readFile(Path file) {
        String text;
        try {
            if (Files.size(file) > MAX_FILE_BYTES) {
                throw new Flags.UsageException(
                        "--kafka-properties "
                                + file
                                + " is larger than "
                                + MAX_FILE_BYTES
                                + " bytes; is that the right file?");
            }
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            // The message of an IOException names the file, never its content.
            throw new Flags.UsageException(
                    "--kafka-properties " + file + " cannot be read: " + e.getMessage());
        }
        Properties p = new Properties();
        try {
            p.load(new StringReader(text));
        } catch (IOException | IllegalArgumentException e) {
            throw new Flags.UsageException(
                    "--kafka-properties " + file + " is not a properties file (key=value lines)");
        }
        Map<String, String> out = new TreeMap<>();
        p.stringPropertyNames().forEach(k -> out.put(k, p.getProperty(k)));
        return out;
    }

    /** Declares env, file and dir providers for the placeholders used, unless the user did. */
    private static void declareProviders(Map<String, String> props) {
        if (props.containsKey("config.providers")) {
            return;
        }
        StringBuilder used = new StringBuilder();
        for (String name : PROVIDERS.keySet().stream().sorted().toList()) {
            if (props.values().stream().anyMatch(v -> v.contains("${" + name + ":"))) {
                used.append(used.length() == 0 ? "" : ",").append(name);
                props.put("config.providers." + name + ".class", PROVIDERS.get(name));
            }
        }
        if (used.length() > 0) {
            props.put("config.providers", used.toString());
        }
    }

    /** Whether a property's value is a secret by its name (passwords, keys, JAAS, tokens). */
    static boolean isSecret(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        return k.contains("password")
                || k.contains("secret")
                || k.contains("jaas")
                || k.contains("token")
                || k.contains("credential")
                || k.endsWith(".key")
                || k.endsWith("keystore.certificate.chain");
    }

    /**
     * The properties as they may be printed: a secret's value is {@link #MASK} unless it is a
     * placeholder alone (which names where the secret is, not the secret).
     */
    static Map<String, String> masked(Map<String, String> props) {
        Map<String, String> out = new TreeMap<>();
        props.forEach(
                (k, v) -> out.put(k, isSecret(k) && !v.matches("\\$\\{[a-z]+:[^}]*}") ? MASK : v));
        return out;
    }
}
