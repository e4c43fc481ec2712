package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.policy.PolicyException;
import io.ebsreplicator.connector.ebs.policy.PolicyFile;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.job.serve.ServePipeline;
import io.ebsreplicator.job.serve.ServeSettings;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.io.PrintStream;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@code serve}: the long-running job. Takes requests from a Kafka topic, replicates them, and
 * writes one result per request and target region to the results topic, every unusable message to
 * the dead-letter topic and every copy a DR policy's retention lets go to the lifecycle topic,
 * exactly once. Runs until it is cancelled or stopped with a savepoint; embedded under {@code java
 * -jar}, on the cluster under {@code flink run}. Runs in the client.
 */
final class ServeCommand {

    static final String USAGE =
            String.join(
                    "\n",
                    "Usage: serve --bootstrap-servers HOST:PORT [--requests-topic T] [--results-topic T]",
                    "             [--dead-letter-topic T] [--lifecycle-topic T] [--group-id G] [--parallelism N]",
                    "             [--max-in-flight N] [--checkpoint-interval D (default: the cluster's, else 10s)]",
                    "             [--transaction-timeout 15min] [--endpoint REGION=URL ...] [--policy FILE]",
                    "             [-D key=value ...]",
                    "             " + KafkaClientProperties.USAGE_LINE,
                    Options.ROLE_USAGE,
                    "",
                    "Replicates every request published to the requests topic (default "
                            + ServeSettings.DEFAULT_REQUESTS_TOPIC
                            + ")",
                    "and writes one result per target region to the results topic (default "
                            + ServeSettings.DEFAULT_RESULTS_TOPIC
                            + "); a",
                    "message that is not a usable request goes to the dead-letter topic (default",
                    ServeSettings.DEFAULT_DEAD_LETTERS_TOPIC
                            + ") with the reason. Results and dead letters are written in Kafka",
                    "transactions committed with each checkpoint: readers use isolation.level=read_committed.",
                    "A request id seen before (within ebs.intake.dedupe-retention) is not replicated again.",
                    "Restarts: exponential delay up to 2 min, no attempt limit, unless the cluster's",
                    "configuration or -D restart-strategy.*=... names another.",
                    "With --policy (a DR policy, JSON; checked now, reloaded when it changes), a request",
                    "without targets and an EventBridge EBS snapshot event are planned from its rules, and",
                    "each copy a rule's retention lets go is deleted and reported once on the lifecycle",
                    "topic (default "
                            + ServeSettings.DEFAULT_LIFECYCLE_TOPIC
                            + ", a CopyDeletion record, also in transactions).");

    static final Set<String> WITH_VALUE =
            KafkaClientProperties.withFlags(
                    Flags.union(
                            Options.ROLE_FLAGS,
                            Set.of(
                                    "--bootstrap-servers",
                                    "--requests-topic",
                                    "--results-topic",
                                    "--dead-letter-topic",
                                    "--lifecycle-topic",
                                    "--group-id",
                                    "--parallelism",
                                    "--max-in-flight",
                                    "--checkpoint-interval",
                                    "--transaction-timeout",
                                    "--endpoint",
                                    "--policy")));

    /** Used when neither the flag nor the cluster's configuration sets an interval. */
    static final Duration DEFAULT_CHECKPOINT_INTERVAL = Duration.ofSeconds(10);

    private ServeCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags flags = Flags.parse(args, WITH_VALUE, Set.of());
        ServeSettings settings = settings(flags);
        Configuration options = options(flags);
        try {
            KafkaClientProperties.checkLogin(
                    settings.bootstrapServers(), settings.kafkaProperties(), err);
        } catch (KafkaClientProperties.LoginRefusedException e) {
            err.println("ebs-replicator serve: " + e.getMessage());
            return 1;
        }
        Duration interval = flags.duration("--checkpoint-interval", null);
        int parallelism = flags.intValue("--parallelism", 0);

        // Checkpoint storage comes from the cluster's configuration; the restart strategy too
        // when it names one.
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        err.println(
                RestartPolicy.apply(
                        env, RestartPolicy.fromDynamicProperties(flags.dynamicProperties())));
        if (parallelism > 0) {
            env.setParallelism(parallelism);
        }
        if (interval != null) {
            env.enableCheckpointing(interval.toMillis());
        } else if (!env.getCheckpointConfig().isCheckpointingEnabled()) {
            // Results are committed with checkpoints: without them none would ever be visible.
            env.enableCheckpointing(DEFAULT_CHECKPOINT_INTERVAL.toMillis());
        }
        int users = Math.max(1, env.getParallelism());
        ServePipeline.build(
                env,
                settings,
                options,
                BlockTransform.IDENTITY,
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options).withShare(users)));
        err.println(
                "Serving requests from "
                        + settings.requestsTopic()
                        + " at "
                        + settings.bootstrapServers()
                        + "; results to "
                        + settings.resultsTopic()
                        + ", dead letters to "
                        + settings.deadLettersTopic()
                        + ", copy deletions to "
                        + settings.lifecycleTopic()
                        + (settings.kafkaProperties().isEmpty()
                                ? ""
                                : "; Kafka client properties "
                                        + KafkaClientProperties.masked(
                                                settings.kafkaProperties())));
        env.execute("ebs-replicator serve " + settings.requestsTopic());
        return 0;
    }

    static ServeSettings settings(Flags flags) {
        return new ServeSettings(
                flags.require("--bootstrap-servers"),
                orDefault(flags, "--requests-topic", ServeSettings.DEFAULT_REQUESTS_TOPIC),
                orDefault(flags, "--results-topic", ServeSettings.DEFAULT_RESULTS_TOPIC),
                orDefault(flags, "--dead-letter-topic", ServeSettings.DEFAULT_DEAD_LETTERS_TOPIC),
                orDefault(flags, "--lifecycle-topic", ServeSettings.DEFAULT_LIFECYCLE_TOPIC),
                flags.get("--group-id"),
                flags.duration("--transaction-timeout", ServeSettings.DEFAULT_TRANSACTION_TIMEOUT),
                KafkaClientProperties.fromFlags(flags));
    }

    /** The {@code -D} options, with {@code --endpoint REGION=URL} and {@code --max-in-flight}. */
    static Configuration options(Flags flags) {
        Configuration c = Configuration.fromMap(flags.dynamicProperties());
        Map<String, String> endpoints = new LinkedHashMap<>(c.get(EbsReplicationOptions.ENDPOINTS));
        endpoints.putAll(flags.pairs("--endpoint"));
        c.set(EbsReplicationOptions.ENDPOINTS, endpoints);
        if (flags.has("--max-in-flight")) {
            c.set(EbsReplicationOptions.MAX_IN_FLIGHT, flags.intValue("--max-in-flight", 32));
        }
        if (flags.has("--policy")) {
            c.set(
                    EbsReplicationOptions.POLICY_FILE,
                    java.nio.file.Path.of(flags.require("--policy")).toAbsolutePath().toString());
        }
        c.getOptional(EbsReplicationOptions.POLICY_FILE).ifPresent(ServeCommand::checkPolicy);
        Options.roles(flags, c);
        return c;
    }

    /**
     * Reads the policy before the job is submitted, so that a mistake is a usage error with every
     * problem listed, not a job that fails on the JobManager.
     */
    static void checkPolicy(String file) {
        try {
            new PolicyFile(file).load();
        } catch (PolicyException | java.io.UncheckedIOException e) {
            throw new Flags.UsageException(e.getMessage());
        }
    }

    private static String orDefault(Flags flags, String name, String defaultValue) {
        return flags.has(name) ? flags.require(name) : defaultValue;
    }
}
