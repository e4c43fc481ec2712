package io.ebsreplicator.job.kafka;

import io.ebsreplicator.local.tls.SelfSignedCertificate;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;
import org.apache.kafka.common.TopicPartitionInfo;
import org.apache.kafka.common.Uuid;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.SecureRandom;
import java.security.cert.Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A real single-node Kafka broker (KRaft, combined broker and controller) in its own JVM, for
 * integration tests: no container, no in-process fake.
 *
 * <p>Runs in the test JVM and drives a child process. {@link #start()} writes {@code
 * server.properties} into a fresh temporary directory, formats the log directory with {@code
 * kafka.tools.StorageTool format}, starts {@code kafka.Kafka} (through {@link KafkaBrokerMain}, so
 * that the broker dies with the test JVM) with the test JVM's own class path, and returns once an
 * admin client can describe the cluster. Both listeners are on loopback, on free ports chosen once:
 * {@link #restart()} after {@link #kill()} brings the same broker back on the same ports with the
 * same data, which is what failover tests need.
 *
 * <p>With {@link Builder#saslSsl()} the broker also has a {@code SASL_SSL} listener that takes
 * SCRAM-SHA-512 logins, as a secured production cluster does: its certificate (self-signed, for
 * 127.0.0.1) and the keystore and truststore are made in-process, with random passwords, and the
 * SCRAM user is created through the Admin API on the PLAINTEXT listener (the broker's own
 * inter-broker and controller traffic stays plaintext), so no secret is on a command line or in
 * {@code broker.log}.
 *
 * <p>The broker's stdout and stderr go to {@code broker.log} in its directory; every startup
 * failure carries the tail of that file. Not thread-safe: one test thread drives one broker.
 */
public final class KafkaBroker implements AutoCloseable {

    /** The single node's id; it is both the broker and the only controller voter. */
    private static final int NODE_ID = 1;

    /** How many lines of broker.log a startup failure carries: enough for the fatal stack. */
    private static final int FAILURE_LOG_LINES = 60;

    /** How long a graceful stop may take before it becomes a kill. */
    private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    /** Auto-chosen ports can be taken by another process before the broker binds them. */
    private static final int BIND_ATTEMPTS = 3;

    /** Per admin call while waiting for startup: short, so that the overall deadline rules. */
    private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(3);

    private final Map<String, String> propertyOverrides;
    private final Duration startupTimeout;
    private final String maxHeap;
    private final int fixedBrokerPort;
    private final int fixedControllerPort;
    private final boolean saslSsl;

    /** The SASL_SSL listener's secrets; random per broker, see {@link Builder#saslSsl()}. */
    private final String scramUser = "ebs-replicator";

    private final String scramPassword = randomSecret("scram-");
    private final String keystorePassword = randomSecret("keystore-");
    private final String truststorePassword = randomSecret("truststore-");

    private int brokerPort;
    private int saslSslPort;
    private boolean scramUserCreated;
    private int controllerPort;
    private Path dir;
    private boolean formatted;

    /** Once true, clients may know the ports: they never change again. */
    private boolean everStarted;

    private Process process;
    private Duration lastStartupDuration;

    private KafkaBroker(Builder builder) {
        this.propertyOverrides = new LinkedHashMap<>(builder.properties);
        this.startupTimeout = builder.startupTimeout;
        this.maxHeap = builder.maxHeap;
        this.fixedBrokerPort = builder.brokerPort;
        this.fixedControllerPort = builder.controllerPort;
        this.saslSsl = builder.saslSsl;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts the broker and waits until it serves requests. The first call creates the directory,
     * chooses the ports and formats the log directory; later calls (after {@link #stop()} or {@link
     * #kill()}) start the same broker again.
     *
     * @throws IllegalStateException if the broker is running already, or does not come up within
     *     the startup timeout (the message carries the end of {@code broker.log})
     */
    public void start() {
        if (isRunning()) {
            throw new IllegalStateException("Kafka broker is already running at " + bootstrap());
        }
        try {
            if (dir == null) {
                dir = Files.createTempDirectory("kafka-broker-");
            }
            for (int attempt = 1; ; attempt++) {
                if (!everStarted) {
                    choosePorts();
                }
                writeConfiguration();
                if (!formatted) {
                    format();
                }
                try {
                    launchAndAwaitReady();
                    everStarted = true;
                    if (saslSsl) {
                        awaitSaslSslReady();
                    }
                    return;
                } catch (IllegalStateException e) {
                    // A free port can be taken by another process before the broker binds it.
                    // Choose again, but only ports this class chose, and only before anyone
                    // has been told about them.
                    boolean bindRace =
                            !everStarted
                                    && fixedBrokerPort == 0
                                    && fixedControllerPort == 0
                                    && e.getMessage().contains("Address already in use");
                    if (!bindRace || attempt == BIND_ATTEMPTS) {
                        throw e;
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Could not start the Kafka broker in " + dir, e);
        }
    }

    /** {@code 127.0.0.1:port} of the PLAINTEXT listener, stable across restarts. */
    public String bootstrapServers() {
        if (brokerPort == 0) {
            throw new IllegalStateException("Kafka broker has not been started");
        }
        return bootstrap();
    }

    /** {@code 127.0.0.1:port} of the SASL_SSL listener; only with {@link Builder#saslSsl()}. */
    public String saslSslBootstrapServers() {
        requireSaslSsl();
        if (saslSslPort == 0) {
            throw new IllegalStateException("Kafka broker has not been started");
        }
        return "127.0.0.1:" + saslSslPort;
    }

    /** The SCRAM-SHA-512 user the SASL_SSL listener knows. */
    public String scramUser() {
        requireSaslSsl();
        return scramUser;
    }

    /** That user's password: random, made for this broker. */
    public String scramPassword() {
        requireSaslSsl();
        return scramPassword;
    }

    /** The PKCS12 truststore that holds the SASL_SSL listener's certificate. */
    public Path truststore() {
        requireSaslSsl();
        return dir.resolve("truststore.p12");
    }

    /** The truststore's password: random, made for this broker. */
    public String truststorePassword() {
        requireSaslSsl();
        return truststorePassword;
    }

    /**
     * Client properties for the SASL_SSL listener with the secrets inline (for the test's own
     * clients; the job under test gets them through placeholders), logging in as {@link
     * #scramUser()} with {@code password}. Add {@code bootstrap.servers} from {@link
     * #saslSslBootstrapServers()}.
     */
    public Map<String, String> saslSslClientProperties(String password) {
        requireSaslSsl();
        Map<String, String> props = new LinkedHashMap<>();
        props.put("security.protocol", "SASL_SSL");
        props.put("sasl.mechanism", "SCRAM-SHA-512");
        props.put("sasl.jaas.config", scramJaas(scramUser, password));
        props.put("ssl.truststore.type", "PKCS12");
        props.put("ssl.truststore.location", truststore().toString());
        props.put("ssl.truststore.password", truststorePassword);
        return props;
    }

    /** The JAAS line of a SCRAM client login. */
    public static String scramJaas(String user, String password) {
        return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + user
                + "\" password=\""
                + password
                + "\";";
    }

    /** Creates a topic with replication factor 1 and waits until every partition has a leader. */
    public void createTopic(String name, int partitions) {
        createTopic(name, partitions, Map.of());
    }

    /**
     * Creates a topic with replication factor 1 and the given topic configs (e.g. {@code
     * cleanup.policy=compact}), and waits until every partition has a leader.
     */
    public void createTopic(String name, int partitions, Map<String, String> configs) {
        try (Admin admin = createAdmin()) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs)))
                    .all()
                    .get(startupTimeout.toMillis(), TimeUnit.MILLISECONDS);
            long deadline = System.nanoTime() + startupTimeout.toNanos();
            while (!allPartitionsLed(admin, name)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException(
                            "Topic " + name + " has partitions without a leader after creation");
                }
                sleep(Duration.ofMillis(50));
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Could not create topic " + name, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating topic " + name, e);
        }
    }

    /** A new admin client for this broker; the caller closes it. */
    public Admin createAdmin() {
        return Admin.create(adminProperties(Duration.ofSeconds(30)));
    }

    /** Stops the broker the hard way (SIGKILL): no flush, no controlled shutdown. */
    public void kill() {
        if (process == null) {
            return;
        }
        process.destroyForcibly();
        awaitExit(process, STOP_TIMEOUT);
        process = null;
    }

    /** Stops the broker gracefully (SIGTERM), killing it if it takes longer than 30 s. */
    public void stop() {
        if (process == null) {
            return;
        }
        process.destroy();
        if (!awaitExit(process, STOP_TIMEOUT)) {
            process.destroyForcibly();
            awaitExit(process, STOP_TIMEOUT);
        }
        process = null;
    }

    /**
     * Stops the broker if it is running (gracefully, see {@link #stop()}), then starts it again on
     * the same ports with the same log directory.
     */
    public void restart() {
        if (dir == null) {
            throw new IllegalStateException("Kafka broker has never been started");
        }
        stop();
        start();
    }

    /** Whether the broker process is alive (not whether it serves requests). */
    public boolean isRunning() {
        return process != null && process.isAlive();
    }

    /** The broker's directory: {@code server.properties}, {@code data/}, {@code broker.log}. */
    public Path dir() {
        return dir;
    }

    /** How long the last successful {@link #start()} took, from launch to ready. */
    public Duration lastStartupDuration() {
        return lastStartupDuration;
    }

    /** The last 60 lines of {@code broker.log}. */
    public String logTail() {
        return logTail(FAILURE_LOG_LINES);
    }

    /** The last {@code lines} lines of {@code broker.log}, or a note that there is none yet. */
    public String logTail(int lines) {
        Path log = dir == null ? null : dir.resolve("broker.log");
        if (log == null || !Files.exists(log)) {
            return "(no broker.log yet)";
        }
        try {
            List<String> all =
                    new String(Files.readAllBytes(log), StandardCharsets.UTF_8)
                            .lines()
                            .collect(Collectors.toList());
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(could not read " + log + ": " + e + ")";
        }
    }

    /** Kills the broker and deletes its directory. */
    @Override
    public void close() {
        kill();
        if (dir != null) {
            deleteRecursively(dir);
        }
    }

    @Override
    public String toString() {
        return "KafkaBroker{" + bootstrap() + ", dir=" + dir + ", running=" + isRunning() + "}";
    }

    // ------------------------------------------------------------------------------------------

    private void choosePorts() throws IOException {
        brokerPort = fixedBrokerPort != 0 ? fixedBrokerPort : freePort();
        controllerPort = fixedControllerPort;
        while (controllerPort == 0 || controllerPort == brokerPort) {
            controllerPort = freePort();
        }
        saslSslPort = 0;
        while (saslSsl
                && (saslSslPort == 0
                        || saslSslPort == brokerPort
                        || saslSslPort == controllerPort)) {
            saslSslPort = freePort();
        }
    }

    private void requireSaslSsl() {
        if (!saslSsl) {
            throw new IllegalStateException(
                    "This Kafka broker has no SASL_SSL listener: build it with saslSsl()");
        }
    }

    /**
     * The listener's certificate in a keystore, and the truststore that trusts it, both PKCS12 with
     * their own random passwords. Made once: a restart keeps them.
     */
    private void writeStores() throws IOException {
        Path keystore = dir.resolve("keystore.p12");
        if (Files.exists(keystore)) {
            return;
        }
        SelfSignedCertificate cert = SelfSignedCertificate.create();
        try {
            KeyStore keys = KeyStore.getInstance("PKCS12");
            keys.load(null, null);
            keys.setKeyEntry(
                    "broker",
                    cert.key(),
                    keystorePassword.toCharArray(),
                    new Certificate[] {cert.certificate()});
            KeyStore trust = KeyStore.getInstance("PKCS12");
            trust.load(null, null);
            trust.setCertificateEntry("broker", cert.certificate());
            try (OutputStream out = Files.newOutputStream(dir.resolve("truststore.p12"))) {
                trust.store(out, truststorePassword.toCharArray());
            }
            try (OutputStream out = Files.newOutputStream(keystore)) {
                keys.store(out, keystorePassword.toCharArray());
            }
        } catch (GeneralSecurityException e) {
            throw new IOException("Could not write the SASL_SSL listener's keystores in " + dir, e);
        }
    }

    /**
     * Creates the SCRAM user (once: the credential is in the metadata log from then on), then waits
     * until a client logs in on the SASL_SSL listener: the credential reaches the listener through
     * the metadata log, a moment after the Admin call returns.
     */
    private void awaitSaslSslReady() {
        long deadline = System.nanoTime() + startupTimeout.toNanos();
        try {
            if (!scramUserCreated) {
                try (Admin admin = createAdmin()) {
                    admin.alterUserScramCredentials(
                                    List.of(
                                            new UserScramCredentialUpsertion(
                                                    scramUser,
                                                    new ScramCredentialInfo(
                                                            ScramMechanism.SCRAM_SHA_512, 8192),
                                                    scramPassword)))
                            .all()
                            .get(startupTimeout.toMillis(), TimeUnit.MILLISECONDS);
                }
                scramUserCreated = true;
            }
            Properties props = adminProperties(PROBE_TIMEOUT);
            props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, saslSslBootstrapServers());
            props.putAll(saslSslClientProperties(scramPassword));
            try (Admin admin = Admin.create(props)) {
                while (!describesCluster(admin)) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException(
                                "The SASL_SSL listener "
                                        + saslSslBootstrapServers()
                                        + " does not take the SCRAM login within "
                                        + startupTimeout
                                        + "; last lines of broker.log:\n"
                                        + logTail(FAILURE_LOG_LINES));
                    }
                    sleep(Duration.ofMillis(100));
                }
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Could not create the SCRAM user on " + bootstrap(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while creating the SCRAM user", e);
        }
    }

    /** A password no test could guess or find by accident in an unrelated string. */
    private static String randomSecret(String prefix) {
        byte[] bytes = new byte[18];
        new SecureRandom().nextBytes(bytes);
        return prefix + Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    private void writeConfiguration() throws IOException {
        Map<String, String> props = new LinkedHashMap<>();
        props.put("process.roles", "broker,controller");
        props.put("node.id", String.valueOf(NODE_ID));
        props.put("controller.quorum.voters", NODE_ID + "@127.0.0.1:" + controllerPort);
        String sasl = saslSsl ? ",SASL_SSL://127.0.0.1:" + saslSslPort : "";
        props.put(
                "listeners",
                "PLAINTEXT://127.0.0.1:"
                        + brokerPort
                        + sasl
                        + ",CONTROLLER://127.0.0.1:"
                        + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + brokerPort + sasl);
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put(
                "listener.security.protocol.map",
                "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT" + (saslSsl ? ",SASL_SSL:SASL_SSL" : ""));
        if (saslSsl) {
            writeStores();
            // SCRAM logins only; the credentials live in the metadata log (created through the
            // Admin API), so the listener's login module needs no users of its own.
            props.put("sasl.enabled.mechanisms", "SCRAM-SHA-512");
            props.put(
                    "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config",
                    "org.apache.kafka.common.security.scram.ScramLoginModule required;");
            props.put("ssl.keystore.type", "PKCS12");
            props.put("ssl.keystore.location", dir.resolve("keystore.p12").toString());
            props.put("ssl.keystore.password", keystorePassword);
            props.put("ssl.key.password", keystorePassword);
        }
        props.put("log.dirs", dir.resolve("data").toString());
        // One node: every replication factor and ISR minimum is 1.
        props.put("default.replication.factor", "1");
        props.put("min.insync.replicas", "1");
        props.put("offsets.topic.replication.factor", "1");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        // Internal topics with one partition each instead of 50: the first group or transaction
        // of a test waits for one partition to load, not fifty.
        props.put("offsets.topic.num.partitions", "1");
        props.put("transaction.state.log.num.partitions", "1");
        props.put("share.coordinator.state.topic.num.partitions", "1");
        props.put("num.partitions", "1");
        // Tests create their topics; a typo must fail, not create a topic.
        props.put("auto.create.topics.enable", "false");
        props.put("group.initial.rebalance.delay.ms", "0");
        // After a kill -9 the controller refuses the restarted broker's registration until the
        // old one's session has expired (9 s by default). A 3 s session still tolerates a stall
        // of over 2 s of a broker that heartbeats every 500 ms.
        props.put("broker.session.timeout.ms", "3000");
        props.put("broker.heartbeat.interval.ms", "500");
        // Transactions of a killed producer are aborted within a second of their timeout, and
        // Flink's KafkaSink may ask for transaction timeouts of up to an hour.
        props.put("transaction.abort.timed.out.transaction.cleanup.interval.ms", "1000");
        props.put("transaction.max.timeout.ms", "3600000");
        // Small segments and indexes (1 MiB is the minimum segment size) and a small cleaner
        // buffer: the default 128 MiB cleaner buffer alone would take a quarter of the heap.
        props.put("log.segment.bytes", "1048576");
        props.put("offsets.topic.segment.bytes", "1048576");
        props.put("transaction.state.log.segment.bytes", "1048576");
        props.put("log.index.size.max.bytes", "1048576");
        props.put("log.cleaner.dedupe.buffer.size", "4194304");
        // Two cores: fewer threads start faster and compete less with the test JVM.
        props.put("num.network.threads", "2");
        props.put("num.io.threads", "2");
        props.put("background.threads", "2");
        props.put("num.recovery.threads.per.data.dir", "1");
        props.putAll(propertyOverrides);

        StringBuilder text = new StringBuilder("# written by KafkaBroker\n");
        props.forEach((k, v) -> text.append(k).append('=').append(v).append('\n'));
        Files.writeString(dir.resolve("server.properties"), text.toString());
        Files.writeString(dir.resolve("log4j2.properties"), BROKER_LOG4J2);
    }

    /** Formats the log directory once; a restart keeps the data. */
    private void format() throws IOException {
        String clusterId = Uuid.randomUuid().toString();
        Path out = dir.resolve("format.log");
        List<String> command = javaCommand("128m");
        // The format run is short: the C1 compiler alone starts it in half the time.
        command.add(1, "-XX:TieredStopAtLevel=1");
        command.addAll(
                List.of(
                        "kafka.tools.StorageTool",
                        "format",
                        "-t",
                        clusterId,
                        "-c",
                        dir.resolve("server.properties").toString()));
        Process format = newProcess(command, out).start();
        if (!awaitExit(format, startupTimeout)) {
            format.destroyForcibly();
            throw new IllegalStateException(
                    "kafka.tools.StorageTool format did not finish within "
                            + startupTimeout
                            + "; its output:\n"
                            + Files.readString(out));
        }
        if (format.exitValue() != 0) {
            throw new IllegalStateException(
                    "kafka.tools.StorageTool format failed with exit code "
                            + format.exitValue()
                            + " for "
                            + dir.resolve("server.properties")
                            + "; its output:\n"
                            + tail(Files.readString(out), FAILURE_LOG_LINES));
        }
        formatted = true;
    }

    private void launchAndAwaitReady() throws IOException {
        Path log = dir.resolve("broker.log");
        Files.writeString(
                log,
                "==== KafkaBroker: starting at " + Instant.now() + " on " + bootstrap() + "\n",
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
        List<String> command = javaCommand(maxHeap);
        command.add("-XX:+UseSerialGC");
        command.add("-Dlog4j2.configurationFile=" + dir.resolve("log4j2.properties"));
        command.add(KafkaBrokerMain.class.getName());
        command.add(String.valueOf(ProcessHandle.current().pid()));
        command.add(dir.resolve("server.properties").toString());

        long started = System.nanoTime();
        lastStartupDuration = null;
        process = newProcess(command, log).start();
        long deadline = started + startupTimeout.toNanos();
        try (Admin admin = Admin.create(adminProperties(PROBE_TIMEOUT))) {
            while (true) {
                if (!process.isAlive()) {
                    int code = process.exitValue();
                    process = null;
                    throw new IllegalStateException(
                            "Kafka broker exited with code "
                                    + code
                                    + " during startup ("
                                    + bootstrap()
                                    + ", "
                                    + dir
                                    + "); last lines of broker.log:\n"
                                    + logTail(FAILURE_LOG_LINES));
                }
                // A plain connect first: the admin client logs a warning for every refused one.
                if (listening() && describesCluster(admin)) {
                    lastStartupDuration = Duration.ofNanos(System.nanoTime() - started);
                    return;
                }
                if (System.nanoTime() > deadline) {
                    kill();
                    throw new IllegalStateException(
                            "Kafka broker did not become ready within "
                                    + startupTimeout
                                    + " ("
                                    + bootstrap()
                                    + ", "
                                    + dir
                                    + "); last lines of broker.log:\n"
                                    + logTail(FAILURE_LOG_LINES));
                }
                sleep(Duration.ofMillis(100));
            }
        }
    }

    private boolean listening() {
        try (Socket socket = new Socket()) {
            socket.connect(
                    new InetSocketAddress(InetAddress.getLoopbackAddress(), brokerPort), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    private boolean describesCluster(Admin admin) {
        try {
            return !admin.describeCluster(
                            new DescribeClusterOptions().timeoutMs((int) PROBE_TIMEOUT.toMillis()))
                    .nodes()
                    .get(PROBE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)
                    .isEmpty();
        } catch (ExecutionException | TimeoutException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the Kafka broker", e);
        }
    }

    private static boolean allPartitionsLed(Admin admin, String topic)
            throws InterruptedException, ExecutionException {
        TopicDescription description;
        try {
            description = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
        } catch (ExecutionException e) {
            if (e.getCause()
                    instanceof org.apache.kafka.common.errors.UnknownTopicOrPartitionException) {
                return false; // created, but the broker's metadata does not show it yet
            }
            throw e;
        }
        return description.partitions().stream()
                .map(TopicPartitionInfo::leader)
                .allMatch(leader -> leader != null && !leader.isEmpty());
    }

    private Properties adminProperties(Duration apiTimeout) {
        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap());
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) apiTimeout.toMillis());
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) apiTimeout.toMillis());
        return props;
    }

    private String bootstrap() {
        return "127.0.0.1:" + brokerPort;
    }

    /** java from this JVM's installation, with this JVM's class path (the test class path). */
    private static List<String> javaCommand(String heap) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-Xmx" + heap);
        return command;
    }

    private static ProcessBuilder newProcess(List<String> command, Path output) {
        ProcessBuilder builder =
                new ProcessBuilder(command)
                        .redirectErrorStream(true)
                        .redirectOutput(ProcessBuilder.Redirect.appendTo(output.toFile()));
        // The class path goes through the environment: no argument length limit, no quoting.
        builder.environment().put("CLASSPATH", System.getProperty("java.class.path"));
        return builder;
    }

    private static boolean awaitExit(Process process, Duration timeout) {
        try {
            return process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
            return false;
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static String tail(String text, int lines) {
        List<String> all = text.lines().collect(Collectors.toList());
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    private static void sleep(Duration duration) {
        try {
            Thread.sleep(duration.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for the Kafka broker", e);
        }
    }

    private static void deleteRecursively(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).collect(Collectors.toList())) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "Could not delete the Kafka broker directory " + root, e);
        }
    }

    /**
     * The broker's logging: INFO to stdout (so to broker.log), without the 300-line config dump
     * that every client and the server print at INFO.
     */
    private static final String BROKER_LOG4J2 =
            String.join(
                    "\n",
                    "status = warn",
                    "appender.out.type = Console",
                    "appender.out.name = out",
                    "appender.out.target = SYSTEM_OUT",
                    "appender.out.layout.type = PatternLayout",
                    "appender.out.layout.pattern = [%d] %p %m (%c{1})%n",
                    "rootLogger.level = info",
                    "rootLogger.appenderRef.out.ref = out",
                    "logger.config.name = org.apache.kafka.common.config.AbstractConfig",
                    "logger.config.level = warn",
                    "logger.state.name = state.change.logger",
                    "logger.state.level = warn",
                    "logger.request.name = kafka.request.logger",
                    "logger.request.level = warn",
                    "");

    /** Options of a {@link KafkaBroker}; every one has a default that suits the tests. */
    public static final class Builder {
        private final Map<String, String> properties = new LinkedHashMap<>();
        private Duration startupTimeout = Duration.ofSeconds(90);
        private String maxHeap = "512m";
        private int brokerPort;
        private int controllerPort;
        private boolean saslSsl;

        private Builder() {}

        /**
         * Adds a {@code SASL_SSL} listener with SCRAM-SHA-512 next to the PLAINTEXT one; see {@link
         * KafkaBroker#saslSslClientProperties(String)}.
         */
        public Builder saslSsl() {
            this.saslSsl = true;
            return this;
        }

        /** Sets (or overrides) a line of {@code server.properties}. */
        public Builder property(String key, String value) {
            properties.put(key, value);
            return this;
        }

        /**
         * How long {@link #start()} waits for the broker to serve requests; generous by default
         * because another build may be using both cores.
         */
        public Builder startupTimeout(Duration timeout) {
            this.startupTimeout = timeout;
            return this;
        }

        /** The broker JVM's maximum heap, in {@code -Xmx} form; {@code 512m} by default. */
        public Builder maxHeap(String maxHeap) {
            this.maxHeap = maxHeap;
            return this;
        }

        /** A fixed PLAINTEXT port instead of a free one; 0 chooses a free one. */
        public Builder brokerPort(int port) {
            this.brokerPort = port;
            return this;
        }

        /** A fixed CONTROLLER port instead of a free one; 0 chooses a free one. */
        public Builder controllerPort(int port) {
            this.controllerPort = port;
            return this;
        }

        public KafkaBroker build() {
            return new KafkaBroker(this);
        }
    }
}
