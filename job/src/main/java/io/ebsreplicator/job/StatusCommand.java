package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.policy.PolicyException;
import io.ebsreplicator.connector.ebs.policy.PolicyFile;
import io.ebsreplicator.connector.ebs.policy.ReplicationPolicy;
import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.schemas.ReplicationResult;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * {@code status}: the recovery point of every lineage a DR policy copies, from the results topic
 * (committed records, from the beginning to the end it had when the command started) and the
 * policy's objectives. The results topic is the source because it is the job's durable record of
 * every completed copy, readable without access to the cluster, and it survives the job itself.
 * Runs in the client.
 */
final class StatusCommand {

    static final String USAGE =
            String.join(
                    "\n",
                    "Usage: status --bootstrap-servers HOST:PORT --policy FILE [--topic T] [--at TIME]",
                    "              [--timeout 60s]",
                    "              " + KafkaClientProperties.USAGE_LINE,
                    "",
                    "Reads the results topic (default "
                            + ServeSettings.DEFAULT_RESULTS_TOPIC
                            + ") and prints, per lineage and",
                    "target region, the newest completed copy, its age (since it completed) and whether it",
                    "meets the RPO of the policy rule that made it. Exit 1 if a lineage is over its",
                    "objective, 0 otherwise. --at judges the ages at another instant (ISO-8601, e.g.",
                    "2026-12-06T18:00:00Z): which lineages will be over their objective by then without a",
                    "new copy.");

    private static final Set<String> WITH_VALUE =
            KafkaClientProperties.withFlags(
                    Set.of("--bootstrap-servers", "--topic", "--policy", "--at", "--timeout"));

    private StatusCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags flags = Flags.parse(args, WITH_VALUE, Set.of());
        String bootstrap = flags.require("--bootstrap-servers");
        String topic =
                flags.has("--topic")
                        ? flags.require("--topic")
                        : ServeSettings.DEFAULT_RESULTS_TOPIC;
        ReplicationPolicy policy;
        try {
            policy = new PolicyFile(flags.require("--policy")).load().policy();
        } catch (PolicyException | UncheckedIOException e) {
            throw new Flags.UsageException(e.getMessage());
        }
        Duration timeout = flags.duration("--timeout", Duration.ofSeconds(60));
        Instant at;
        try {
            at = flags.has("--at") ? Instant.parse(flags.require("--at")) : Instant.now();
        } catch (java.time.format.DateTimeParseException e) {
            throw new Flags.UsageException(
                    "--at '"
                            + flags.get("--at")
                            + "' is not an instant such as 2026-12-06T18:00:00Z");
        }
        RpoStatus status = new RpoStatus();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(
                        KafkaTopics.consumerProperties(
                                bootstrap, null, KafkaClientProperties.fromFlags(flags)))) {
            List<TopicPartition> partitions = KafkaTopics.partitions(consumer, topic);
            if (partitions.isEmpty()) {
                err.println("ebs-replicator status: topic " + topic + " does not exist");
                return 1;
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (!reached(consumer, end)) {
                if (System.nanoTime() > deadline) {
                    err.println(
                            "ebs-replicator status: the results topic was not read to its end"
                                    + " within "
                                    + timeout);
                    return 1;
                }
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    ReplicationResult result = KafkaTopics.decodeResult(r, "status", err);
                    if (result != null) {
                        status.add(result);
                    }
                }
            }
        }
        List<RpoStatus.Row> rows = status.rows(policy, at);
        out.print(RpoStatus.table(rows));
        out.flush();
        return rows.stream().anyMatch(r -> r.verdict() == RpoStatus.Verdict.OVER) ? 1 : 0;
    }

    /**
     * Whether every partition is read to the end it had at the start (with read_committed, the
     * position passes transaction markers and aborted records too).
     */
    private static boolean reached(
            KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> end) {
        for (Map.Entry<TopicPartition, Long> e : end.entrySet()) {
            if (consumer.position(e.getKey()) < e.getValue()) {
                return false;
            }
        }
        return true;
    }
}
