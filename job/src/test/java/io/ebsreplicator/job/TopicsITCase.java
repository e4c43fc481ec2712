package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.connector.ebs.source.enumerator.IntakeCursor;
import io.ebsreplicator.job.kafka.CommittedRecords;
import io.ebsreplicator.job.kafka.KafkaBrokerExtension;
import io.ebsreplicator.job.serve.KafkaRequestIntake;
import io.ebsreplicator.job.serve.ServePipeline;
import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.DeadLetter;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.TimeUtils;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code topics} against a real KRaft broker (creates, checks, changes nothing the second time,
 * reports wrong settings), and {@code serve} started before its topics exist: one clear error, a
 * few lines while it looks again at growing intervals, and serving once {@code topics} has run.
 */
class TopicsITCase {

    @RegisterExtension static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

    @RegisterExtension static final EbsLocalExtension EBS = EbsLocalExtension.builder().build();

    private record Run(int status, String out, String err) {}

    private record Names(String requests, String results, String deadLetters, String lifecycle) {
        static Names fresh() {
            String id = UUID.randomUUID().toString().substring(0, 8);
            return new Names(
                    "requests-" + id, "results-" + id, "dead-letters-" + id, "lifecycle-" + id);
        }

        List<String> all() {
            return List.of(requests, results, deadLetters, lifecycle);
        }
    }

    private static Run topics(Names names, String... extra) throws Exception {
        List<String> args =
                new java.util.ArrayList<>(
                        List.of(
                                "topics",
                                "--bootstrap-servers",
                                KAFKA.bootstrapServers(),
                                "--requests-topic",
                                names.requests(),
                                "--results-topic",
                                names.results(),
                                "--dead-letter-topic",
                                names.deadLetters(),
                                "--lifecycle-topic",
                                names.lifecycle()));
        args.addAll(List.of(extra));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = EbsReplicatorCli.run(args.toArray(String[]::new), o, e);
        }
        return new Run(
                status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private static Admin admin() {
        return Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, KAFKA.bootstrapServers()));
    }

    private static Map<String, TopicDescription> describe(Admin admin, List<String> names)
            throws Exception {
        return admin.describeTopics(names).allTopicNames().get();
    }

    private static String config(Admin admin, String topic, String key) throws Exception {
        ConfigResource r = new ConfigResource(ConfigResource.Type.TOPIC, topic);
        return admin.describeConfigs(List.of(r)).all().get().get(r).get(key).value();
    }

    @Test
    void createsTheFourTopicsAndChangesNothingTheSecondTime() throws Exception {
        Names names = Names.fresh();

        Run first = topics(names, "--partitions", "2", "--replication-factor", "1");

        assertThat(first.status()).as(first.err()).isZero();
        assertThat(first.out()).contains("Created 4 of 4 topics");
        Map<String, Uuid> ids;
        try (Admin admin = admin()) {
            Map<String, TopicDescription> d = describe(admin, names.all());
            assertThat(d).hasSize(4);
            for (TopicDescription t : d.values()) {
                assertThat(t.partitions()).as(t.name()).hasSize(2);
                assertThat(config(admin, t.name(), TopicConfig.CLEANUP_POLICY_CONFIG))
                        .isEqualTo("delete");
            }
            assertThat(config(admin, names.requests(), TopicConfig.RETENTION_MS_CONFIG))
                    .as("requests outlive the dedupe retention")
                    .isEqualTo(Long.toString(TopicsCommand.REQUESTS_RETENTION.toMillis()));
            ids =
                    d.values().stream()
                            .collect(Collectors.toMap(TopicDescription::name, t -> t.topicId()));
        }

        Run second = topics(names, "--partitions", "2", "--replication-factor", "1");

        assertThat(second.status()).as(second.err()).isZero();
        assertThat(second.out())
                .contains("All 4 topics exist with the settings serve needs; nothing changed.")
                .doesNotContain("created ");
        try (Admin admin = admin()) {
            assertThat(
                            describe(admin, names.all()).values().stream()
                                    .collect(
                                            Collectors.toMap(
                                                    TopicDescription::name, t -> t.topicId())))
                    .as("the same topics, not new ones")
                    .isEqualTo(ids);
        }
    }

    @Test
    void aTopicWithWrongSettingsIsReportedByNameAndSettingAndLeftAsItIs() throws Exception {
        Names names = Names.fresh();
        try (Admin admin = admin()) {
            admin.createTopics(
                            List.of(
                                    new NewTopic(names.requests(), 1, (short) 1)
                                            .configs(
                                                    Map.of(
                                                            TopicConfig.CLEANUP_POLICY_CONFIG,
                                                            "compact"))))
                    .all()
                    .get();
        }

        Run run = topics(names);

        assertThat(run.status()).isEqualTo(1);
        assertThat(run.err())
                .contains(names.requests() + " (requests): cleanup.policy=compact (needs delete");
        try (Admin admin = admin()) {
            assertThat(config(admin, names.requests(), TopicConfig.CLEANUP_POLICY_CONFIG))
                    .as("left as it is")
                    .isEqualTo("compact");
            assertThat(describe(admin, names.all()))
                    .as("the three missing topics were created all the same")
                    .hasSize(4);
        }
    }

    @Test
    void kafkaPropertiesReachTheClientAndTheirSecretsStayOutOfEveryOutput() throws Exception {
        String password = "pw-" + UUID.randomUUID();
        Names names = Names.fresh();
        // Everything the Kafka client and the job log meanwhile, its configuration dump included.
        List<LogEvent> log = new CopyOnWriteArrayList<>();
        Run run;
        try (LogCapture capture = LogCapture.of(log, "org.apache.kafka", "io.ebsreplicator")) {

            // SASL against the broker's plaintext listener: the broker refuses the handshake.
            run =
                    topics(
                            names,
                            "--timeout",
                            "5s",
                            "--kafka-property",
                            "security.protocol=SASL_PLAINTEXT",
                            "--kafka-property",
                            "sasl.mechanism=SCRAM-SHA-512",
                            "--kafka-property",
                            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule"
                                    + " required username=\"replicator\" password=\""
                                    + password
                                    + "\";");
        }

        assertThat(log).as("the client logged its configuration").isNotEmpty();
        assertThat(log)
                .as("no log line or logged exception holds the password")
                .noneMatch(
                        e ->
                                e.getMessage().getFormattedMessage().contains(password)
                                        || (e.getThrown() != null
                                                && String.valueOf(e.getThrown())
                                                        .contains(password)));
        assertThat(run.status()).as(run.out() + run.err()).isEqualTo(1);
        assertThat(run.err())
                .as("the broker refused the SASL handshake the properties asked for")
                .contains("Creating topic " + names.requests() + " failed")
                .contains("SCRAM-SHA-512");
        assertThat(run.out() + run.err()).doesNotContain(password);
        try (Admin admin = admin()) {
            assertThat(admin.listTopics().names().get()).doesNotContain(names.requests());
        }
    }

    @Test
    void serveStartedBeforeTheTopicsExistServesOnceTopicsHasCreatedThem() throws Exception {
        Names names = Names.fresh();
        List<LogEvent> intakeLog = new CopyOnWriteArrayList<>();
        LogCapture capture =
                LogCapture.of(
                        intakeLog,
                        KafkaRequestIntake.class.getName(),
                        IntakeCursor.class.getName());
        JobClient job = null;
        try {
            job = serve(names);
            Predicate<LogEvent> missing =
                    e -> e.getMessage().getFormattedMessage().contains("does not exist");
            // Two later looks have come and gone: the error is not repeated at every poll.
            await(intakeLog, missing, 3, Duration.ofSeconds(60));

            Run run = topics(names, "--partitions", "1");
            assertThat(run.status()).as(run.err()).isZero();
            long created = System.nanoTime();
            await(
                    intakeLog,
                    e -> e.getMessage().getFormattedMessage().contains("exists now"),
                    1,
                    KafkaRequestIntake.MISSING_TOPIC_MAX_RETRY.plusSeconds(10));
            double seconds = (System.nanoTime() - created) / 1e9;
            System.out.printf(
                    "[topics] serve took the requests topic %.1f s after it exists%n", seconds);
            // The retry period in effect when the topic appeared: the last wait announced.
            String lastLook =
                    intakeLog.stream()
                            .filter(missing)
                            .reduce((a, b) -> b)
                            .orElseThrow()
                            .getMessage()
                            .getFormattedMessage();
            Matcher m = Pattern.compile("(?i)again in ([0-9]+ [a-z]+)").matcher(lastLook);
            assertThat(m.find()).as(lastLook).isTrue();
            Duration period = TimeUtils.parseDuration(m.group(1));
            assertThat(seconds)
                    .as("within one retry period (%s) of the topic's creation", period)
                    .isLessThanOrEqualTo(period.toMillis() / 1000.0 + 2.0);

            // Serving: a message that is not a request comes out as a dead letter.
            KAFKA.produce(
                    names.requests(),
                    "not-a-request".getBytes(StandardCharsets.UTF_8),
                    "{}".getBytes(StandardCharsets.UTF_8));
            AvroCodec<DeadLetter> codec = AvroCodec.forDeadLetters();
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            List<DeadLetter> letters;
            while ((letters =
                            CommittedRecords.readAll(
                                    KAFKA.consumerProps(null, true),
                                    names.deadLetters(),
                                    codec::decode))
                    .isEmpty()) {
                assertThat(System.nanoTime()).as("a dead letter").isLessThan(deadline);
                Thread.sleep(200);
            }
            assertThat(letters).hasSize(1);
            assertThat(letters.get(0).getReason()).isEqualTo("MALFORMED");

            List<LogEvent> errors =
                    intakeLog.stream().filter(e -> e.getLevel() == Level.ERROR).toList();
            assertThat(errors).as("one clear error").hasSize(1);
            assertThat(errors.get(0).getMessage().getFormattedMessage())
                    .contains(names.requests())
                    .contains("ebs-replicator topics --bootstrap-servers");
            List<LogEvent> aboutTheTopic = intakeLog.stream().filter(missing).toList();
            assertThat(aboutTheTopic.size())
                    .as("one line per look, the looks at growing intervals: %s", aboutTheTopic)
                    .isBetween(3, 8);
            assertThat(intakeLog)
                    .as("no stack traces, no reopening of the intake")
                    .allMatch(e -> e.getThrown() == null)
                    .noneMatch(
                            e ->
                                    e.getMessage()
                                            .getFormattedMessage()
                                            .contains("Taking requests failed"));
        } finally {
            capture.close();
            if (job != null) {
                job.cancel().get();
            }
        }
    }

    private static JobClient serve(Names names) throws Exception {
        Configuration options = new Configuration();
        String url = EBS.endpoint().toString();
        options.set(EbsReplicationOptions.ENDPOINTS, Map.of("us-east-1", url, "us-west-2", url));
        options.set(EbsReplicationOptions.ACCESS_KEY_ID, EBS.accessKey().accessKeyId());
        options.set(EbsReplicationOptions.SECRET_ACCESS_KEY, EBS.accessKey().secretAccessKey());
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1);
        env.enableCheckpointing(500);
        ServePipeline.build(
                env,
                new ServeSettings(
                        KAFKA.bootstrapServers(),
                        names.requests(),
                        names.results(),
                        names.deadLetters(),
                        names.lifecycle(),
                        null,
                        Duration.ofMinutes(5),
                        Map.of()),
                options,
                BlockTransform.IDENTITY,
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options).withShare(1)));
        return env.executeAsync("topics-itcase-serve");
    }

    /** Waits until {@code count} events match; fails after {@code timeout}. */
    private static void await(
            List<LogEvent> events, Predicate<LogEvent> which, int count, Duration timeout)
            throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (events.stream().filter(which).count() < count) {
            assertThat(System.nanoTime())
                    .as("%d matching log events within %s; so far %s", count, timeout, events)
                    .isLessThan(deadline);
            Thread.sleep(100);
        }
    }

    /** A log4j appender on named loggers, at INFO, collecting their events. */
    private static final class LogCapture extends AbstractAppender implements AutoCloseable {
        private final List<LogEvent> events;
        private final List<String> loggers;

        private LogCapture(List<LogEvent> events, List<String> loggers) {
            super("capture-" + UUID.randomUUID(), null, null, true, Property.EMPTY_ARRAY);
            this.events = events;
            this.loggers = loggers;
        }

        static LogCapture of(List<LogEvent> events, String... loggers) {
            LogCapture c = new LogCapture(events, List.of(loggers));
            c.start();
            LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
            var config = ctx.getConfiguration();
            config.addAppender(c);
            for (String name : loggers) {
                LoggerConfig lc = new LoggerConfig(name, Level.INFO, true);
                lc.addAppender(c, null, null);
                config.addLogger(name, lc);
            }
            ctx.updateLoggers();
            return c;
        }

        @Override
        public void append(LogEvent event) {
            events.add(event.toImmutable());
        }

        @Override
        public void close() {
            LoggerContext ctx = (LoggerContext) LogManager.getContext(false);
            var config = ctx.getConfiguration();
            for (String name : loggers) {
                config.removeLogger(name);
            }
            ctx.updateLoggers();
            stop();
        }
    }
}
