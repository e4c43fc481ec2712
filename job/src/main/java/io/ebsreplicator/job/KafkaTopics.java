package io.ebsreplicator.job;

import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.SchemaDecodeException;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * The Kafka client settings and record helpers of the operator tools ({@code request}, {@code
 * results}, {@code status}); the default topic names are {@link
 * io.ebsreplicator.job.serve.ServeSettings}'s, shared with {@code serve} and {@code topics}. Runs
 * in the client.
 */
final class KafkaTopics {

    private KafkaTopics() {}

    /**
     * An idempotent producer that waits for every in-sync replica; fails after {@code timeout}.
     * {@code client} ({@link KafkaClientProperties}) comes last.
     */
    static Properties producerProperties(
            String bootstrap, Duration timeout, Map<String, String> client) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "ebs-replicator-request");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        int millis = (int) Math.min(Integer.MAX_VALUE, timeout.toMillis());
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Integer.toString(millis));
        // One record, sent at once: no lingering; delivery may take the whole timeout.
        int request = Math.min(millis, 30_000);
        p.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, Integer.toString(request));
        p.put(
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG,
                Integer.toString(Math.max(millis, request)));
        p.putAll(client);
        return p;
    }

    /** A consumer that sees committed results only (the job writes them in transactions). */
    static Properties consumerProperties(
            String bootstrap, String groupId, Map<String, String> client) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "ebs-replicator-results");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, Boolean.toString(groupId != null));
        if (groupId != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        p.putAll(client);
        return p;
    }

    /** Every partition of {@code topic}; empty when the topic does not exist. */
    static List<TopicPartition> partitions(KafkaConsumer<?, ?> consumer, String topic) {
        List<TopicPartition> partitions = new ArrayList<>();
        for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
            partitions.add(new TopicPartition(topic, p.partition()));
        }
        return partitions;
    }

    /**
     * The result a record of the results topic holds, or {@code null} after one line on {@code err}
     * (prefixed with {@code tool}) saying where the record is and why it is not a result.
     */
    static ReplicationResult decodeResult(
            ConsumerRecord<byte[], byte[]> r, String tool, PrintStream err) {
        try {
            return RESULT_CODEC.decode(r.value());
        } catch (SchemaDecodeException e) {
            err.println(
                    "ebs-replicator "
                            + tool
                            + ": "
                            + r.topic()
                            + "/"
                            + r.partition()
                            + "@"
                            + r.offset()
                            + " is not a result ("
                            + e.reasonCode()
                            + "): "
                            + e.getMessage());
            return null;
        }
    }

    /** Decodes results; one codec per JVM is enough (it is thread-safe). */
    private static final AvroCodec<ReplicationResult> RESULT_CODEC = AvroCodec.forResults();
}
