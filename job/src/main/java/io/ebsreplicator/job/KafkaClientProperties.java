package io.ebsreplicator.job;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.errors.AuthenticationException;

import java.io.IOException;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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

    /** How long {@link #checkLogin} waits for the cluster: a login takes well under a second. */
    static final Duration LOGIN_CHECK_TIMEOUT = Duration.ofSeconds(30);

    /** Kafka refused the credentials or the TLS handshake of the client properties. */
    static final class LoginRefusedException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        LoginRefusedException(String message) {
            super(message);
        }
    }

    /**
     * Logs in to the cluster once with the properties, when they ask for SASL, so that wrong
     * credentials are one error of the command before a job is submitted, not a job that fails and
     * restarts. A refused login or TLS handshake throws {@link LoginRefusedException} naming the
     * brokers, the protocol and the mechanism, with the broker's reason, never a value of the
     * properties. Anything else (a placeholder that only the cluster's machines can resolve, a
     * cluster out of reach from here) is a note on {@code err}: the job's clients will try
     * themselves.
     */
    static void checkLogin(String bootstrap, Map<String, String> props, PrintStream err) {
        String protocol = props.getOrDefault("security.protocol", "PLAINTEXT");
        if (!protocol.toUpperCase(Locale.ROOT).startsWith("SASL_")) {
            return;
        }
        String mechanism = props.getOrDefault("sasl.mechanism", "GSSAPI");
        Properties p = new Properties();
        p.putAll(props);
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "ebs-replicator-login-check");
        int millis = (int) LOGIN_CHECK_TIMEOUT.toMillis();
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(millis));
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(millis));
        // One attempt: a refused login is not retried, and the job's own clients retry the rest.
        p.put(AdminClientConfig.RETRIES_CONFIG, "0");
        Admin admin;
        try {
            admin = Admin.create(p);
        } catch (RuntimeException e) {
            // The exception's message may quote a value (a JAAS line); its type is enough here.
            err.println(
                    "Could not check the Kafka login from here ("
                            + e.getClass().getSimpleName()
                            + "); the job's Kafka clients will log in themselves.");
            return;
        }
        try (admin) {
            admin.describeCluster(new DescribeClusterOptions().timeoutMs(millis))
                    .clusterId()
                    .get(millis, TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof AuthenticationException refused) {
                throw new LoginRefusedException(
                        "Kafka authentication failed at "
                                + bootstrap
                                + " ("
                                + protocol
                                + ", "
                                + mechanism
                                + "): "
                                + refused.getMessage()
                                + ". Check the credentials and trust store that --kafka-properties"
                                + " and --kafka-property give.");
            }
            err.println(
                    "Could not check the Kafka login at "
                            + bootstrap
                            + " ("
                            + e.getCause().getClass().getSimpleName()
                            + "); the job's Kafka clients will log in themselves.");
        } catch (TimeoutException e) {
            err.println(
                    "Could not check the Kafka login at "
                            + bootstrap
                            + " within "
                            + LOGIN_CHECK_TIMEOUT.toSeconds()
                            + " s; the job's Kafka clients will log in themselves.");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while checking the Kafka login", e);
        }
    }
}
