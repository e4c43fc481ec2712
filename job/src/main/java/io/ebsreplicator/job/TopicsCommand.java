package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.job.serve.ServeSettings;

import org.apache.flink.util.TimeUtils;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code topics}: creates the requests, results, dead-letter and lifecycle topics that {@code
 * serve} uses, and checks those that exist for the settings the job relies on. Idempotent: a second
 * run changes nothing and says so. A topic with wrong settings is reported and left as it is (exit
 * 1): changing a production topic is the operator's decision. Runs in the client.
 */
final class TopicsCommand {

    static final String USAGE =
            String.join(
                    "\n",
                    "Usage: topics --bootstrap-servers HOST:PORT [--requests-topic T] [--results-topic T]",
                    "              [--dead-letter-topic T] [--lifecycle-topic T] [--partitions N (default 3)]",
                    "              [--replication-factor N (default: the brokers' default.replication.factor)]",
                    "              [--timeout 30s] " + KafkaClientProperties.USAGE_LINE,
                    "",
                    "Creates the topics serve uses where they are missing and checks those that exist:",
                    "cleanup.policy=delete on all four (compaction would drop requests, results and copy",
                    "deletions that share a key), requests kept at least as long as ebs.intake.dedupe-retention",
                    "(7 days), the lifecycle topic (one CopyDeletion per copy a policy's retention lets go)",
                    "created with a 30-day retention like the dead letters, and",
                    "min.insync.replicas no higher than the replication factor (else no transaction commits).",
                    "Exits 0 when every topic is usable (a second run changes nothing), 1 when a topic has",
                    "wrong settings (reported, not changed).");

    private static final Set<String> WITH_VALUE =
            KafkaClientProperties.withFlags(
                    Set.of(
                            "--bootstrap-servers",
                            "--requests-topic",
                            "--results-topic",
                            "--dead-letter-topic",
                            "--lifecycle-topic",
                            "--partitions",
                            "--replication-factor",
                            "--timeout"));

    /** Spreads requests over the partitions; three suit most fleets and any broker count. */
    static final int DEFAULT_PARTITIONS = 3;

    /** Partitions are a small number; Kafka's own tools warn well below this. */
    static final int MAX_PARTITIONS = 1000;

    /** Replication factors beyond this are a typo, not a cluster. */
    static final int MAX_REPLICATION_FACTOR = 16;

    /**
     * Requests are kept twice the dedupe retention: a job restored from a checkpoint within the
     * retention still finds every record after its position.
     */
    static final Duration REQUESTS_RETENTION =
            EbsReplicationOptions.DEDUPE_RETENTION.defaultValue().multipliedBy(2);

    /** Dead letters wait for an operator: a month covers holidays. */
    static final Duration DEAD_LETTERS_RETENTION = Duration.ofDays(30);

    /** Each Admin call; the whole command takes a few of them. */
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

    private static final String DELETE = TopicConfig.CLEANUP_POLICY_DELETE;

    private TopicsCommand() {}

    /** What the job needs of one topic, and what is set on it when it is created. */
    record TopicSpec(
            String name, String role, Map<String, String> created, Duration minRetention) {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags flags = Flags.parse(args, WITH_VALUE, Set.of());
        String bootstrap = flags.require("--bootstrap-servers");
        int partitions = bounded(flags, "--partitions", DEFAULT_PARTITIONS, MAX_PARTITIONS);
        Optional<Short> replication =
                flags.has("--replication-factor")
                        ? Optional.of(
                                (short)
                                        bounded(
                                                flags,
                                                "--replication-factor",
                                                1,
                                                MAX_REPLICATION_FACTOR))
                        : Optional.empty();
        Duration timeout = flags.duration("--timeout", DEFAULT_TIMEOUT);
        List<TopicSpec> specs = specs(flags);

        Properties p = new Properties();
        p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(AdminClientConfig.CLIENT_ID_CONFIG, "ebs-replicator-topics");
        int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, Integer.toString(millis));
        p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(millis));
        p.putAll(KafkaClientProperties.fromFlags(flags));
        int created = 0;
        List<String> problems = new ArrayList<>();
        try (Admin admin = Admin.create(p)) {
            // One topic after another: the lines printed say how far a failed run got.
            for (TopicSpec spec : specs) {
                boolean made = create(admin, spec, partitions, replication, timeout);
                Optional<String> wrong =
                        check(
                                admin,
                                spec,
                                made,
                                partitions,
                                flags.has("--partitions"),
                                replication,
                                timeout,
                                out);
                if (made) {
                    created++;
                }
                wrong.ifPresent(problems::add);
            }
        } catch (TimeoutException e) {
            err.println(
                    "ebs-replicator topics: no answer from "
                            + bootstrap
                            + " within "
                            + TimeUtils.formatWithHighestUnit(timeout));
            return 1;
        } catch (IllegalStateException e) {
            err.println("ebs-replicator topics: " + e.getMessage());
            return 1;
        }
        if (!problems.isEmpty()) {
            err.println(
                    "ebs-replicator topics: "
                            + problems.size()
                            + " topic(s) with wrong settings, left unchanged:");
            problems.forEach(w -> err.println("  " + w));
            return 1;
        }
        out.println(
                created == 0
                        ? "All "
                                + specs.size()
                                + " topics exist with the settings serve needs; nothing changed."
                        : "Created "
                                + created
                                + " of "
                                + specs.size()
                                + " topics; every topic has the settings serve needs.");
        return 0;
    }

    /** The four topics, named by the flags or the defaults serve uses. */
    static List<TopicSpec> specs(Flags flags) {
        Map<String, String> plain = Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, DELETE);
        Map<String, String> requests = new LinkedHashMap<>(plain);
        requests.put(TopicConfig.RETENTION_MS_CONFIG, Long.toString(REQUESTS_RETENTION.toMillis()));
        Map<String, String> deadLetters = new LinkedHashMap<>(plain);
        deadLetters.put(
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(DEAD_LETTERS_RETENTION.toMillis()));
        List<TopicSpec> specs =
                List.of(
                        new TopicSpec(
                                name(
                                        flags,
                                        "--requests-topic",
                                        ServeSettings.DEFAULT_REQUESTS_TOPIC),
                                "requests",
                                requests,
                                EbsReplicationOptions.DEDUPE_RETENTION.defaultValue()),
                        new TopicSpec(
                                name(flags, "--results-topic", ServeSettings.DEFAULT_RESULTS_TOPIC),
                                "results",
                                plain,
                                null),
                        new TopicSpec(
                                name(
                                        flags,
                                        "--dead-letter-topic",
                                        ServeSettings.DEFAULT_DEAD_LETTERS_TOPIC),
                                "dead letters",
                                deadLetters,
                                null),
                        new TopicSpec(
                                name(
                                        flags,
                                        "--lifecycle-topic",
                                        ServeSettings.DEFAULT_LIFECYCLE_TOPIC),
                                "copy deletions",
                                deadLetters,
                                null));
        if (specs.stream().map(TopicSpec::name).distinct().count() != specs.size()) {
            throw new Flags.UsageException(
                    "the requests, results, dead-letter and lifecycle topics must be four different"
                            + " topics");
        }
        return specs;
    }

    /** Creates the topic; false when it exists already (made by anyone, at any time). */
    private static boolean create(
            Admin admin,
            TopicSpec spec,
            int partitions,
            Optional<Short> replication,
            Duration timeout)
            throws Exception {
        NewTopic topic =
                new NewTopic(spec.name(), Optional.of(partitions), replication)
                        .configs(spec.created());
        try {
            admin.createTopics(List.of(topic)).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TopicExistsException) {
                return false;
            }
            throw new IllegalStateException(
                    "Creating topic " + spec.name() + " failed: " + e.getCause().getMessage(),
                    e.getCause());
        }
    }

    /**
     * Describes the topic as the brokers have it, prints one line, and returns what is wrong with
     * it, if anything.
     */
    private static Optional<String> check(
            Admin admin,
            TopicSpec spec,
            boolean made,
            int partitions,
            boolean partitionsAsked,
            Optional<Short> replication,
            Duration timeout,
            PrintStream out)
            throws Exception {
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, spec.name());
        TopicDescription d = null;
        Config config = null;
        // A topic created a moment ago may be unknown yet to the broker that answers: ask again
        // for up to the timeout (this is the command line's own thread).
        long deadline = System.nanoTime() + timeout.toNanos();
        while (d == null) {
            try {
                d =
                        admin.describeTopics(List.of(spec.name()))
                                .allTopicNames()
                                .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                                .get(spec.name());
                config =
                        admin.describeConfigs(List.of(resource))
                                .all()
                                .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
                                .get(resource);
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof UnknownTopicOrPartitionException)) {
                    throw new IllegalStateException(
                            "Describing topic "
                                    + spec.name()
                                    + " failed: "
                                    + e.getCause().getMessage(),
                            e.getCause());
                }
                if (System.nanoTime() - deadline > 0) {
                    return Optional.of(spec.name() + ": not found after it was created; run again");
                }
                d = null;
                Thread.sleep(100);
            }
        }
        int actualPartitions = d.partitions().size();
        int actualReplication = d.partitions().get(0).replicas().size();
        String cleanup = value(config, TopicConfig.CLEANUP_POLICY_CONFIG);
        String retention = value(config, TopicConfig.RETENTION_MS_CONFIG);
        String minInsync = value(config, TopicConfig.MIN_IN_SYNC_REPLICAS_CONFIG);

        List<String> wrong = new ArrayList<>();
        if (!DELETE.equals(cleanup)) {
            wrong.add(
                    "cleanup.policy="
                            + cleanup
                            + " (needs delete: compaction drops records that share a key)");
        }
        if (spec.minRetention() != null && retention != null) {
            long ms = Long.parseLong(retention);
            if (ms >= 0 && ms < spec.minRetention().toMillis()) {
                wrong.add(
                        "retention.ms="
                                + ms
                                + " (needs at least "
                                + spec.minRetention().toMillis()
                                + ", the dedupe retention, or -1)");
            }
        }
        if (minInsync != null && Integer.parseInt(minInsync) > actualReplication) {
            wrong.add(
                    "min.insync.replicas="
                            + minInsync
                            + " exceeds the replication factor "
                            + actualReplication
                            + " (no write with acks=all, so no transaction, could commit)");
        }
        // An existing topic's partition count is the operator's choice unless the flag names one.
        if (!made && partitionsAsked && actualPartitions != partitions) {
            wrong.add(actualPartitions + " partitions, not the " + partitions + " asked for");
        }
        if (!made && replication.isPresent() && actualReplication != replication.get()) {
            wrong.add(
                    "replication factor "
                            + actualReplication
                            + ", not the "
                            + replication.get()
                            + " asked for");
        }
        out.printf(
                "%-8s %s (%s): %d partitions, replication factor %d, cleanup.policy=%s,"
                        + " retention.ms=%s, min.insync.replicas=%s%n",
                made ? "created" : wrong.isEmpty() ? "exists" : "WRONG",
                spec.name(),
                spec.role(),
                actualPartitions,
                actualReplication,
                cleanup,
                retention,
                minInsync);
        return wrong.isEmpty()
                ? Optional.empty()
                : Optional.of(spec.name() + " (" + spec.role() + "): " + String.join("; ", wrong));
    }

    private static String value(Config config, String name) {
        ConfigEntry e = config.get(name);
        return e == null ? null : e.value();
    }

    private static String name(Flags flags, String flag, String defaultValue) {
        return flags.has(flag) ? flags.require(flag) : defaultValue;
    }

    private static int bounded(Flags flags, String name, int defaultValue, int max) {
        int v = flags.intValue(name, defaultValue);
        if (v < 1 || v > max) {
            throw new Flags.UsageException(
                    name + " needs a number from 1 to " + max + ", not " + v);
        }
        return v;
    }
}
