package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.connector.ebs.source.intake.RequestIntake;
import io.ebsreplicator.job.kafka.KafkaBroker;
import io.ebsreplicator.job.kafka.KafkaBrokerExtension;
import io.ebsreplicator.job.serve.KafkaRequestIntake;
import io.ebsreplicator.job.serve.ServePipeline;
import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.schemas.AppliedCopyMode;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.RequestValidator;
import io.ebsreplicator.schemas.ResultStatus;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@code serve} against a broker that takes SASL_SSL with SCRAM-SHA-512 only, its client settings
 * given as {@code --kafka-properties FILE} whose password and trust store password are {@code
 * ${file:...}} placeholders: a full and an incremental request end in byte-identical targets and
 * results read back over SASL_SSL; a wrong password is one clear error of the command; and no
 * secret (the SCRAM password, right or wrong, the trust store's password, ebs-local's secret access
 * key) is in any log line, stack trace or output of the run.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SecuredKafkaITCase {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";

    /** What a wrong password may cost in log lines of the Kafka client: a few, not a flood. */
    static final int MAX_LOG_EVENTS_OF_A_REFUSED_LOGIN = 3;

    @RegisterExtension
    static final KafkaBrokerExtension KAFKA =
            new KafkaBrokerExtension(KafkaBroker.builder().saslSsl());

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(b -> b.regions(SOURCE, DR).sealDelay(Duration.ofMillis(100)))
                    .build();

    @TempDir static Path dir;

    static final String WRONG_PASSWORD = "wrong-" + UUID.randomUUID();

    static String requests;
    static String results;
    static String deadLetters;
    static Path clientProperties;
    static Path wrongClientProperties;
    static JobClient job;
    static KafkaProducer<byte[], byte[]> producer;
    static FileLog log;
    static Tee stdout;
    static Tee stderr;

    /** What the commands printed on their own out and err streams. */
    static final StringBuilder commandOutput = new StringBuilder();

    @BeforeAll
    static void serve() throws Exception {
        long t0 = System.nanoTime();
        log = FileLog.start(dir.resolve("test.log"));
        stdout = Tee.of(System.out);
        stderr = Tee.of(System.err);
        System.setOut(stdout.stream());
        System.setErr(stderr.stream());

        requests = KAFKA.newTopic("requests");
        results = KAFKA.newTopic("results");
        deadLetters = KAFKA.newTopic("dead-letters");
        long topicsDone = System.nanoTime();
        clientProperties = clientProperties("client", KAFKA.broker().scramPassword());
        wrongClientProperties = clientProperties("wrong", WRONG_PASSWORD);

        String url = EBS.endpoint().toString();
        Flags flags =
                Flags.parse(
                        new String[] {
                            "--bootstrap-servers",
                            KAFKA.broker().saslSslBootstrapServers(),
                            "--requests-topic",
                            requests,
                            "--results-topic",
                            results,
                            "--dead-letter-topic",
                            deadLetters,
                            "--kafka-properties",
                            clientProperties.toString(),
                            "--endpoint",
                            SOURCE + "=" + url,
                            "--endpoint",
                            DR + "=" + url
                        },
                        ServeCommand.WITH_VALUE,
                        Set.of());
        ServeSettings settings = ServeCommand.settings(flags);
        Configuration options = ServeCommand.options(flags);
        options.set(EbsReplicationOptions.ACCESS_KEY_ID, EBS.accessKey().accessKeyId());
        options.set(EbsReplicationOptions.SECRET_ACCESS_KEY, EBS.accessKey().secretAccessKey());
        options.set(EbsReplicationOptions.COMPLETION_POLL_INTERVAL, Duration.ofMillis(100));
        options.set(EbsReplicationOptions.TARGET_WATCH_INTERVAL, Duration.ofMillis(300));

        // What serve does before it submits: the login with these properties is accepted.
        ByteArrayOutputStream checkErr = new ByteArrayOutputStream();
        KafkaClientProperties.checkLogin(
                settings.bootstrapServers(),
                settings.kafkaProperties(),
                new PrintStream(checkErr, true, StandardCharsets.UTF_8));
        assertThat(checkErr.toString(StandardCharsets.UTF_8)).isEmpty();
        commandOutput.append(KafkaClientProperties.masked(settings.kafkaProperties()));

        long checked = System.nanoTime();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1);
        env.enableCheckpointing(500);
        ServePipeline.build(
                env,
                settings,
                options,
                BlockTransform.IDENTITY,
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options).withShare(1)));
        job = env.executeAsync("secured-kafka-itcase");
        System.out.printf(
                "[secured-kafka] broker ready in %s; topics %.1f s, login check %.1f s, job"
                        + " submitted %.1f s after the broker%n",
                KAFKA.broker().lastStartupDuration(),
                (topicsDone - t0) / 1e9,
                (checked - topicsDone) / 1e9,
                (System.nanoTime() - t0) / 1e9);
    }

    @AfterAll
    static void stop() throws Exception {
        long t0 = System.nanoTime();
        try {
            if (producer != null) {
                producer.close(Duration.ZERO);
            }
            if (job != null) {
                job.cancel().get(30, TimeUnit.SECONDS);
            }
        } finally {
            if (stdout != null) {
                System.setOut(stdout.original());
                System.setErr(stderr.original());
            }
            if (log != null) {
                log.close();
            }
            System.out.printf(
                    "[secured-kafka] job cancelled in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        }
    }

    /**
     * The client properties a user writes: the secrets are placeholders that the Kafka clients
     * resolve from a second file, where they run.
     */
    private static Path clientProperties(String name, String password) throws IOException {
        Path secrets = dir.resolve(name + "-secrets.properties");
        Properties s = new Properties();
        s.setProperty("jaas", KafkaBroker.scramJaas(KAFKA.broker().scramUser(), password));
        s.setProperty("truststore.password", KAFKA.broker().truststorePassword());
        try (Writer w = Files.newBufferedWriter(secrets)) {
            s.store(w, null);
        }
        Path file = dir.resolve(name + ".properties");
        Files.writeString(
                file,
                String.join(
                        "\n",
                        "security.protocol=SASL_SSL",
                        "sasl.mechanism=SCRAM-SHA-512",
                        "sasl.jaas.config=${file:" + secrets + ":jaas}",
                        "ssl.truststore.type=PKCS12",
                        "ssl.truststore.location=" + KAFKA.broker().truststore(),
                        "ssl.truststore.password=${file:" + secrets + ":truststore.password}",
                        ""));
        return file;
    }

    @Test
    @Order(1)
    void aFullAndAnIncrementalRequestCompleteOverSaslSsl() throws Exception {
        String root = TestSnapshots.create(EBS.server(), SOURCE, 1, 12);
        String child = TestSnapshots.child(EBS.server(), SOURCE, root, new int[] {3, 40}, 7);

        publish(ServeITCase.request("secured-full", root, null, DR));
        long t0 = System.nanoTime();
        ReplicationResult full = awaitResult("secured-full");
        System.out.printf(
                "[secured-kafka] full result after %.1f s%n", (System.nanoTime() - t0) / 1e9);
        assertThat(full.getStatus()).as(full.toString()).isEqualTo(ResultStatus.COMPLETED);
        assertThat(full.getCopyMode()).isEqualTo(AppliedCopyMode.FULL);
        assertIdentical(root, full.getTargetSnapshotId());

        ReplicationRequest incremental = ServeITCase.request("secured-incr", child, root, DR);
        incremental.getTargets().get(0).setParentSnapshotId(full.getTargetSnapshotId());
        publish(incremental);
        long t1 = System.nanoTime();
        ReplicationResult incr = awaitResult("secured-incr");
        System.out.printf(
                "[secured-kafka] incremental result after %.1f s%n",
                (System.nanoTime() - t1) / 1e9);
        assertThat(incr.getStatus()).as(incr.toString()).isEqualTo(ResultStatus.COMPLETED);
        assertThat(incr.getCopyMode()).isEqualTo(AppliedCopyMode.INCREMENTAL);
        assertThat(incr.getBlocksWritten()).as("the two changed blocks").isEqualTo(2);
        assertIdentical(child, incr.getTargetSnapshotId());
    }

    @Test
    @Order(2)
    void aWrongPasswordIsOneClearErrorOfTheCommand() throws Exception {
        List<LogEvent> before = List.copyOf(log.events);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        long started = System.nanoTime();
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status =
                    EbsReplicatorCli.run(
                            new String[] {
                                "serve",
                                "--bootstrap-servers",
                                KAFKA.broker().saslSslBootstrapServers(),
                                "--requests-topic",
                                requests,
                                "--kafka-properties",
                                wrongClientProperties.toString(),
                                "--endpoint",
                                SOURCE + "=" + EBS.endpoint()
                            },
                            o,
                            e);
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        String printed =
                out.toString(StandardCharsets.UTF_8) + err.toString(StandardCharsets.UTF_8);
        commandOutput.append(printed);
        List<LogEvent> during = new ArrayList<>(log.events);
        during.removeAll(before);
        System.out.printf(
                "[secured-kafka] wrong password refused in %.1f s; %d log events meanwhile%n",
                seconds, during.size());

        assertThat(status).as(printed).isEqualTo(1);
        assertThat(printed.lines().filter(l -> l.contains("authentication failed")).toList())
                .as(printed)
                .singleElement()
                .satisfies(
                        l ->
                                assertThat(l)
                                        .contains(KAFKA.broker().saslSslBootstrapServers())
                                        .contains("SCRAM-SHA-512")
                                        .contains("SASL_SSL")
                                        .doesNotContain(WRONG_PASSWORD));
        assertThat(printed).as("no job was submitted").doesNotContain("Serving requests");
        // The Kafka client's own lines about the refused login: its ERROR, and the WARN with the
        // exception that ends its metadata update; nothing else, and no retries.
        List<LogEvent> login =
                during.stream()
                        .filter(e -> e.getLoggerName().startsWith("org.apache.kafka"))
                        .filter(e -> e.getLevel().isMoreSpecificThan(Level.WARN))
                        .toList();
        assertThat(login)
                .as("a bounded number of warnings: %s", login)
                .isNotEmpty()
                .hasSizeLessThanOrEqualTo(MAX_LOG_EVENTS_OF_A_REFUSED_LOGIN)
                .allMatch(e -> e.getMessage().getFormattedMessage().contains("login-check"));
        assertThat(login.stream().filter(e -> e.getThrown() != null))
                .as("at most one stack trace")
                .hasSizeLessThanOrEqualTo(1);
    }

    @Test
    @Order(3)
    void theIntakeOnTheClusterSaysTheSameWhenItsLoginIsRefused() throws Exception {
        Map<String, String> wrong =
                KafkaClientProperties.fromFlags(
                        Flags.parse(
                                new String[] {
                                    "--kafka-properties", wrongClientProperties.toString()
                                },
                                KafkaClientProperties.FLAGS,
                                Set.of()));
        RequestIntake intake =
                new KafkaRequestIntake.Factory(
                                KAFKA.broker().saslSslBootstrapServers(),
                                requests,
                                null,
                                new HashMap<>(wrong),
                                RequestValidator.Targets.REQUIRED)
                        .open();
        try {
            assertThatThrownBy(() -> intake.seek(Map.of()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasNoCause()
                    .hasMessageContaining("Kafka authentication failed")
                    .hasMessageContaining(KAFKA.broker().saslSslBootstrapServers())
                    .hasMessageContaining("SASL_SSL, SCRAM-SHA-512")
                    .hasMessageContaining(requests)
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain(WRONG_PASSWORD));
        } finally {
            intake.close();
        }
    }

    @Test
    @Order(4)
    void noSecretIsInAnyLogOrOutputOfTheRun() throws Exception {
        List<String> texts = new ArrayList<>();
        texts.add(Files.readString(log.file));
        texts.add(stdout.captured());
        texts.add(stderr.captured());
        texts.add(commandOutput.toString());
        texts.add(Files.readString(KAFKA.broker().dir().resolve("broker.log")));
        assertThat(log.events).as("the run was logged").hasSizeGreaterThan(20);
        Map<String, String> secrets = new HashMap<>();
        secrets.put("the SCRAM password", KAFKA.broker().scramPassword());
        secrets.put("the wrong SCRAM password", WRONG_PASSWORD);
        secrets.put("the trust store's password", KAFKA.broker().truststorePassword());
        secrets.put("ebs-local's secret access key", EBS.accessKey().secretAccessKey());
        long chars = texts.stream().mapToLong(String::length).sum();
        System.out.printf("[secured-kafka] %d characters of logs and output searched%n", chars);
        for (Map.Entry<String, String> s : secrets.entrySet()) {
            for (int i = 0; i < texts.size(); i++) {
                assertThat(texts.get(i))
                        .as("%s in log or output #%d", s.getKey(), i)
                        .doesNotContain(s.getValue());
            }
        }
    }

    // ------------------------------------------------------------------ helpers

    private static Map<String, String> saslSsl() {
        return KAFKA.broker().saslSslClientProperties(KAFKA.broker().scramPassword());
    }

    private static void publish(ReplicationRequest r) throws Exception {
        if (producer == null) {
            Properties p = KAFKA.producerProps();
            p.put(
                    ProducerConfig.BOOTSTRAP_SERVERS_CONFIG,
                    KAFKA.broker().saslSslBootstrapServers());
            p.putAll(saslSsl());
            producer = new KafkaProducer<>(p);
        }
        producer.send(
                        new ProducerRecord<>(
                                requests,
                                r.getRequestId().getBytes(StandardCharsets.UTF_8),
                                AvroCodec.forRequests().encode(r)))
                .get(30, TimeUnit.SECONDS);
    }

    /**
     * The one committed result of {@code id}, read over SASL_SSL by one consumer that follows the
     * results topic until it has come, then to the end of what is committed.
     */
    private static ReplicationResult awaitResult(String id) throws Exception {
        Properties p = KAFKA.consumerProps(null, true);
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.broker().saslSslBootstrapServers());
        p.putAll(saslSsl());
        AvroCodec<ReplicationResult> codec = AvroCodec.forResults();
        List<ReplicationResult> mine = new ArrayList<>();
        TopicPartition tp = new TopicPartition(results, 0);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p)) {
            consumer.assign(List.of(tp));
            consumer.seekToBeginning(List.of(tp));
            while (mine.isEmpty()
                    || consumer.position(tp) < consumer.endOffsets(List.of(tp)).get(tp)) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    ReplicationResult result = codec.decode(r.value());
                    if (result.getRequestId().equals(id)) {
                        mine.add(result);
                    }
                }
                assertThat(System.nanoTime()).as("a result for %s", id).isLessThan(deadline);
            }
        }
        assertThat(mine).as("one result for %s", id).hasSize(1);
        return mine.get(0);
    }

    private static void assertIdentical(String source, String target) {
        assertThat(target).isNotNull();
        assertThat(EBS.service().blocksOf(DR, target))
                .as("target %s equals source %s", target, source)
                .isEqualTo(EBS.service().blocksOf(SOURCE, source));
    }

    /**
     * Every log event of the test JVM at INFO and above, written to a file with its stack trace, as
     * a log file of a deployment would hold them; the events are kept too, for counting.
     */
    private static final class FileLog extends AbstractAppender implements AutoCloseable {

        /** The main log4j2.xml's loggers, turned up to INFO for the run. */
        private static final List<String> LOGGERS =
                List.of(
                        "",
                        "org.apache.flink",
                        "org.apache.pekko",
                        "io.netty",
                        "software.amazon",
                        "io.ebsreplicator");

        final Path file;
        final List<LogEvent> events = new CopyOnWriteArrayList<>();
        private final Writer writer;
        private final Map<String, Level> levels = new HashMap<>();
        private final List<String> created = new ArrayList<>();

        private FileLog(Path file) throws IOException {
            super("secured-kafka-" + UUID.randomUUID(), null, null, true, Property.EMPTY_ARRAY);
            this.file = file;
            this.writer = Files.newBufferedWriter(file);
        }

        static FileLog start(Path file) throws IOException {
            FileLog appender = new FileLog(file);
            appender.start();
            LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
            var config = ctx.getConfiguration();
            config.addAppender(appender);
            for (String name : LOGGERS) {
                LoggerConfig lc = config.getLoggerConfig(name);
                if (!lc.getName().equals(name)) {
                    lc = new LoggerConfig(name, Level.INFO, true);
                    config.addLogger(name, lc);
                    appender.created.add(name);
                }
                appender.levels.put(name, lc.getLevel());
                lc.setLevel(Level.INFO);
                lc.addAppender(appender, Level.INFO, null);
            }
            ctx.updateLoggers();
            return appender;
        }

        @Override
        public synchronized void append(LogEvent event) {
            LogEvent e = event.toImmutable();
            events.add(e);
            try {
                writer.write(
                        e.getLevel()
                                + " "
                                + e.getLoggerName()
                                + " - "
                                + e.getMessage().getFormattedMessage()
                                + "\n");
                if (e.getThrown() != null) {
                    StringWriter trace = new StringWriter();
                    e.getThrown().printStackTrace(new PrintWriter(trace));
                    writer.write(trace.toString());
                }
            } catch (IOException ex) {
                throw new java.io.UncheckedIOException(ex);
            }
        }

        @Override
        public synchronized void close() throws IOException {
            LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
            var config = ctx.getConfiguration();
            for (String name : LOGGERS) {
                if (created.contains(name)) {
                    config.removeLogger(name);
                    continue;
                }
                LoggerConfig lc = config.getLoggerConfig(name);
                lc.removeAppender(getName());
                lc.setLevel(levels.get(name));
            }
            ctx.updateLoggers();
            stop();
            writer.close();
        }
    }

    /** A stream that writes to the original System.out or System.err and keeps a copy. */
    private record Tee(PrintStream original, ByteArrayOutputStream copy, PrintStream stream) {
        static Tee of(PrintStream original) {
            ByteArrayOutputStream copy = new ByteArrayOutputStream();
            OutputStream both =
                    new OutputStream() {
                        @Override
                        public void write(int b) {
                            original.write(b);
                            synchronized (copy) {
                                copy.write(b);
                            }
                        }

                        @Override
                        public void write(byte[] b, int off, int len) {
                            original.write(b, off, len);
                            synchronized (copy) {
                                copy.write(b, off, len);
                            }
                        }
                    };
            return new Tee(original, copy, new PrintStream(both, true, StandardCharsets.UTF_8));
        }

        String captured() {
            synchronized (copy) {
                return copy.toString(StandardCharsets.UTF_8);
            }
        }
    }
}
