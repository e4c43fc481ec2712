package io.ebsreplicator.job;

import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ResultJson;
import io.ebsreplicator.schemas.ResultStatus;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

import java.io.PrintStream;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * {@code results}: tails the results topic (committed records only) and prints each result as one
 * line of JSON, optionally only those of some request ids, until a count or an idle timeout is
 * reached. A record that is not a readable result is reported on stderr with its reason and
 * skipped. Runs in the client.
 */
final class ResultsCommand {

    static final String USAGE =
            String.join(
                    "\n",
                    "Usage: results --bootstrap-servers HOST:PORT [--topic T] [--from-beginning]",
                    "               [--request-id ID ...] [--count N] [--timeout 60s] [--group-id G]",
                    "               " + KafkaClientProperties.USAGE_LINE,
                    "",
                    "Prints each result (default topic "
                            + ServeSettings.DEFAULT_RESULTS_TOPIC
                            + ") as one JSON line. Without",
                    "--from-beginning only results written from now on are shown. Stops after --count",
                    "results, or when none arrived for --timeout. Exit 1 if a result printed is FAILED or",
                    "the timeout passed before --count results; 0 otherwise.");

    private static final Set<String> WITH_VALUE =
            KafkaClientProperties.withFlags(
                    Set.of(
                            "--bootstrap-servers",
                            "--topic",
                            "--request-id",
                            "--count",
                            "--timeout",
                            "--group-id"));

    private ResultsCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags flags = Flags.parse(args, WITH_VALUE, Set.of("--from-beginning"));
        String bootstrap = flags.require("--bootstrap-servers");
        String topic =
                flags.has("--topic")
                        ? flags.require("--topic")
                        : ServeSettings.DEFAULT_RESULTS_TOPIC;
        Set<String> requestIds = new HashSet<>(flags.all("--request-id"));
        int count = flags.intValue("--count", -1);
        Duration idle = flags.duration("--timeout", null);
        String groupId = flags.get("--group-id");
        int printed = 0;
        boolean failed = false;
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(
                        KafkaTopics.consumerProperties(
                                bootstrap, groupId, KafkaClientProperties.fromFlags(flags)))) {
            List<TopicPartition> partitions = KafkaTopics.partitions(consumer, topic);
            if (partitions.isEmpty()) {
                err.println("ebs-replicator results: topic " + topic + " does not exist");
                return 1;
            }
            // Without a group the tool reads every partition itself; with one, offsets persist.
            consumer.assign(partitions);
            if (flags.has("--from-beginning")) {
                consumer.seekToBeginning(partitions);
            } else if (groupId == null) {
                consumer.seekToEnd(partitions);
            }
            long lastSeen = System.nanoTime();
            while (count < 0 || printed < count) {
                var records = consumer.poll(Duration.ofMillis(200));
                for (ConsumerRecord<byte[], byte[]> r : records) {
                    ReplicationResult result = KafkaTopics.decodeResult(r, "results", err);
                    if (result == null) {
                        continue;
                    }
                    if (!requestIds.isEmpty() && !requestIds.contains(result.getRequestId())) {
                        continue;
                    }
                    out.println(ResultJson.toJson(result));
                    out.flush();
                    failed |= result.getStatus() != ResultStatus.COMPLETED;
                    lastSeen = System.nanoTime();
                    if (++printed == count) {
                        break;
                    }
                }
                if (idle != null && System.nanoTime() - lastSeen > idle.toNanos()) {
                    if (count >= 0) {
                        err.println(
                                "ebs-replicator results: "
                                        + printed
                                        + " of "
                                        + count
                                        + " results within the timeout of "
                                        + idle);
                        return 1;
                    }
                    break;
                }
            }
        }
        return failed ? 1 : 0;
    }
}
