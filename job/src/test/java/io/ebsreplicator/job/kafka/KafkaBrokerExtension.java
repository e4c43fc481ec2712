package io.ebsreplicator.job.kafka;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;

/**
 * One real Kafka broker per test class, plus the few client helpers that Kafka ITCases share.
 *
 * <p>Runs in the test JVM. Register it on a static field:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();
 * }</pre>
 *
 * <p>The broker starts before the first test of the class and is killed, with its data, after the
 * last one. Tests share it, so each test makes its own topics with {@link #newTopic(String)}.
 */
public final class KafkaBrokerExtension implements BeforeAllCallback, AfterAllCallback {

    /** Per send of {@link #produce}: ample for one record on loopback, short enough to fail. */
    private static final Duration SEND_TIMEOUT = Duration.ofSeconds(30);

    private final KafkaBroker.Builder builder;
    private final AtomicInteger topicCounter = new AtomicInteger();

    private KafkaBroker broker;
    private KafkaProducer<byte[], byte[]> producer;

    /**
     * {@code @Nested} classes run the class callbacks again: only the outermost class starts and
     * stops the broker.
     */
    private int classDepth;

    /** A broker with the defaults of {@link KafkaBroker.Builder}. */
    public KafkaBrokerExtension() {
        this(KafkaBroker.builder());
    }

    /** A broker with custom options, e.g. extra {@code server.properties} lines. */
    public KafkaBrokerExtension(KafkaBroker.Builder builder) {
        this.builder = builder;
    }

    @Override
    public void beforeAll(ExtensionContext context) {
        if (classDepth++ > 0) {
            return;
        }
        broker = builder.build();
        try {
            broker.start();
        } catch (RuntimeException e) {
            broker.close();
            broker = null;
            throw e;
        }
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (--classDepth > 0) {
            return;
        }
        if (producer != null) {
            producer.close(Duration.ZERO);
            producer = null;
        }
        if (broker != null) {
            broker.close();
            broker = null;
        }
    }

    /** The broker of the running test class: kill, restart, log tail, admin client. */
    public KafkaBroker broker() {
        if (broker == null) {
            throw new IllegalStateException(
                    "No Kafka broker: register KafkaBrokerExtension on a static field"
                            + " with @RegisterExtension, and use it inside the test class");
        }
        return broker;
    }

    public String bootstrapServers() {
        return broker().bootstrapServers();
    }

    /**
     * Creates a one-partition topic named {@code prefix-<n>-<random>}, unique in the broker, and
     * returns its name.
     */
    public String newTopic(String prefix) {
        return newTopic(prefix, 1);
    }

    /** Creates a topic with a unique name from {@code prefix} and returns its name. */
    public String newTopic(String prefix, int partitions) {
        String name =
                prefix
                        + "-"
                        + topicCounter.incrementAndGet()
                        + "-"
                        + UUID.randomUUID().toString().substring(0, 8);
        broker().createTopic(name, partitions);
        return name;
    }

    /**
     * Properties of an idempotent byte-array producer for this broker. A fresh copy on every call:
     * add {@code transactional.id} and the like freely.
     */
    public Properties producerProps() {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        props.put(ProducerConfig.LINGER_MS_CONFIG, "0");
        return props;
    }

    /**
     * Properties of a byte-array consumer for this broker that starts at the earliest offset and
     * never commits on its own. A fresh copy on every call.
     *
     * @param groupId the consumer group, or {@code null} for a consumer that only uses {@code
     *     assign}
     * @param readCommitted {@code read_committed} (what exactly-once readers use) or {@code
     *     read_uncommitted}
     */
    public Properties consumerProps(String groupId, boolean readCommitted) {
        Properties props = new Properties();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
        if (groupId != null) {
            props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        props.put(
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        props.put(
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        props.put(
                ConsumerConfig.ISOLATION_LEVEL_CONFIG,
                readCommitted ? "read_committed" : "read_uncommitted");
        return props;
    }

    /**
     * Writes one record, outside any transaction, and waits for the broker's acknowledgement.
     *
     * @param key the key, or {@code null}
     */
    public RecordMetadata produce(String topic, byte[] key, byte[] value) {
        if (producer == null) {
            producer = new KafkaProducer<>(producerProps());
        }
        try {
            return producer.send(new ProducerRecord<>(topic, key, value))
                    .get(SEND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("Could not produce to " + topic, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while producing to " + topic, e);
        }
    }

    /**
     * Reads the topic from the beginning as a {@code read_committed} consumer: waits until at least
     * {@code expectedCount} records are readable, then returns every record up to the last stable
     * offset of each partition. So a test that expects 3 and gets 5 sees all 5.
     *
     * @throws AssertionError if fewer than {@code expectedCount} records are readable in time
     */
    public List<ConsumerRecord<byte[], byte[]>> consumeAll(
            String topic, int expectedCount, Duration timeout) {
        return consumeAll(topic, expectedCount, timeout, true);
    }

    /**
     * As {@link #consumeAll(String, int, Duration)}, with the isolation level to read with: {@code
     * read_uncommitted} also returns records of open and aborted transactions.
     */
    public List<ConsumerRecord<byte[], byte[]>> consumeAll(
            String topic, int expectedCount, Duration timeout, boolean readCommitted) {
        List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> consumer =
                new KafkaConsumer<>(consumerProps(null, readCommitted))) {
            List<TopicPartition> partitions =
                    consumer.partitionsFor(topic, timeout).stream()
                            .map(p -> new TopicPartition(p.topic(), p.partition()))
                            .collect(Collectors.toList());
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            long deadline = System.nanoTime() + timeout.toNanos();
            while (true) {
                consumer.poll(Duration.ofMillis(100)).forEach(records::add);
                // endOffsets is the last stable offset under read_committed, the high watermark
                // otherwise: past it there is nothing this consumer may read yet.
                if (records.size() >= expectedCount
                        && reachedEnd(consumer, consumer.endOffsets(partitions))) {
                    return records;
                }
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(
                            "Expected at least "
                                    + expectedCount
                                    + (readCommitted ? " committed" : "")
                                    + " records in "
                                    + topic
                                    + " within "
                                    + timeout
                                    + ", read "
                                    + records.size()
                                    + "; end offsets "
                                    + consumer.endOffsets(partitions));
                }
            }
        }
    }

    private static boolean reachedEnd(
            KafkaConsumer<byte[], byte[]> consumer, Map<TopicPartition, Long> endOffsets) {
        return endOffsets.entrySet().stream()
                .allMatch(end -> consumer.position(end.getKey()) >= end.getValue());
    }
}
