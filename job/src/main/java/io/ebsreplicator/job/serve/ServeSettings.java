package io.ebsreplicator.job.serve;

import java.io.Serializable;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * Where a long-running job takes requests from and puts results, dead letters and copy deletions:
 * one Kafka cluster, four topics.
 *
 * @param bootstrapServers the Kafka cluster
 * @param requestsTopic requests in (Avro single-object encoding)
 * @param resultsTopic one result per request and target region, written in transactions
 * @param deadLettersTopic messages that are not usable requests, with the reason
 * @param lifecycleTopic one record per copy a DR policy's retention let go, written in transactions
 * @param groupId consumer group whose committed offsets are the starting point of a first start
 *     (may be {@code null}: the earliest offset); afterwards the job's checkpoints are the truth
 * @param transactionTimeout Kafka transaction timeout of the job's writers; must not exceed the
 *     brokers' {@code transaction.max.timeout.ms} (15 minutes by default) and must exceed the
 *     longest time between checkpoints, restarts included
 * @param kafkaProperties client properties for the intake consumer and the writers (TLS, SASL,
 *     ...): secrets in them should be configuration-provider placeholders ({@code ${env:NAME}}),
 *     which the Kafka clients resolve where they run
 */
public record ServeSettings(
        String bootstrapServers,
        String requestsTopic,
        String resultsTopic,
        String deadLettersTopic,
        String lifecycleTopic,
        String groupId,
        Duration transactionTimeout,
        Map<String, String> kafkaProperties)
        implements Serializable {

    public static final String DEFAULT_REQUESTS_TOPIC = "ebs-replication-requests";
    public static final String DEFAULT_RESULTS_TOPIC = "ebs-replication-results";
    public static final String DEFAULT_DEAD_LETTERS_TOPIC = "ebs-replication-dead-letters";
    public static final String DEFAULT_LIFECYCLE_TOPIC = "ebs-replication-lifecycle";

    /** Brokers refuse longer transactions unless configured to allow them. */
    public static final Duration DEFAULT_TRANSACTION_TIMEOUT = Duration.ofMinutes(15);

    public ServeSettings {
        Objects.requireNonNull(bootstrapServers, "bootstrapServers");
        Objects.requireNonNull(requestsTopic, "requestsTopic");
        Objects.requireNonNull(resultsTopic, "resultsTopic");
        Objects.requireNonNull(deadLettersTopic, "deadLettersTopic");
        Objects.requireNonNull(lifecycleTopic, "lifecycleTopic");
        Objects.requireNonNull(transactionTimeout, "transactionTimeout");
        kafkaProperties = Map.copyOf(kafkaProperties);
    }

    /** The same, with copy deletions on the default lifecycle topic. */
    public ServeSettings(
            String bootstrapServers,
            String requestsTopic,
            String resultsTopic,
            String deadLettersTopic,
            String groupId,
            Duration transactionTimeout,
            Map<String, String> kafkaProperties) {
        this(
                bootstrapServers,
                requestsTopic,
                resultsTopic,
                deadLettersTopic,
                DEFAULT_LIFECYCLE_TOPIC,
                groupId,
                transactionTimeout,
                kafkaProperties);
    }
}
