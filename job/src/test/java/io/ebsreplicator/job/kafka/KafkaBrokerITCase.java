package io.ebsreplicator.job.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.stream.Collectors;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Proves the harness itself: a real broker, real transactions, a real kill -9. */
class KafkaBrokerITCase {

    @RegisterExtension static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

    /** Generous: another build may be using both cores. */
    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    @Test
    void readCommittedSeesOnlyCommittedTransactions() {
        String topic = KAFKA.newTopic("transactions");

        try (KafkaProducer<byte[], byte[]> producer = transactionalProducer(topic, "tx")) {
            producer.initTransactions();
            producer.beginTransaction();
            send(producer, topic, "committed-1", "committed-2", "committed-3");
            producer.commitTransaction();
            producer.beginTransaction();
            send(producer, topic, "aborted-1", "aborted-2");
            producer.flush();
            producer.abortTransaction();
        }

        assertThat(values(KAFKA.consumeAll(topic, 3, TIMEOUT)))
                .containsExactly("committed-1", "committed-2", "committed-3");
        // The aborted records did reach the log; only the isolation level hides them.
        assertThat(values(KAFKA.consumeAll(topic, 5, TIMEOUT, false)))
                .containsExactly(
                        "committed-1", "committed-2", "committed-3", "aborted-1", "aborted-2");
    }

    @Test
    void committedDataSurvivesKillAndRestart() {
        String topic = KAFKA.newTopic("restart");
        KAFKA.produce(topic, null, bytes("plain-1"));
        try (KafkaProducer<byte[], byte[]> producer = transactionalProducer(topic, "committed")) {
            producer.initTransactions();
            producer.beginTransaction();
            send(producer, topic, "committed-1", "committed-2");
            producer.commitTransaction();
        }
        // A writer that dies with the broker in the middle of a transaction, as a Flink task
        // does on failover. Its short transaction timeout lets the broker abort it soon.
        Properties lingering = KAFKA.producerProps();
        lingering.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "lingering-" + topic);
        lingering.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, "3000");
        KafkaProducer<byte[], byte[]> open = new KafkaProducer<>(lingering);
        open.initTransactions();
        open.beginTransaction();
        send(open, topic, "open-1", "open-2");
        open.flush();

        KafkaBroker broker = KAFKA.broker();
        String bootstrapServers = broker.bootstrapServers();
        Duration firstStartup = broker.lastStartupDuration();
        broker.kill();
        assertThat(broker.isRunning()).isFalse();
        open.close(Duration.ZERO);
        broker.restart();
        assertThat(broker.bootstrapServers()).isEqualTo(bootstrapServers);
        System.out.printf(
                "Kafka broker: first start %d ms, restart after kill -9 %d ms%n",
                firstStartup.toMillis(), broker.lastStartupDuration().toMillis());

        assertThat(values(KAFKA.consumeAll(topic, 3, TIMEOUT)))
                .containsExactly("plain-1", "committed-1", "committed-2");
        // Readable only once the broker has aborted the open transaction: the last stable
        // offset stays before it until then.
        KAFKA.produce(topic, null, bytes("plain-2"));
        assertThat(values(KAFKA.consumeAll(topic, 4, TIMEOUT)))
                .containsExactly("plain-1", "committed-1", "committed-2", "plain-2");
    }

    @Test
    void startupFailureSaysWhy() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                KafkaBroker broker =
                        KafkaBroker.builder().brokerPort(taken.getLocalPort()).build()) {
            assertThatThrownBy(broker::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("Kafka broker exited with code")
                    .hasMessageContaining("127.0.0.1:" + taken.getLocalPort())
                    .hasMessageContaining("Address already in use");
            assertThat(broker.isRunning()).isFalse();
        }
    }

    @Test
    void badPropertyFailsTheFormatWithItsReason() {
        try (KafkaBroker broker =
                KafkaBroker.builder().property("num.partitions", "many").build()) {
            assertThatThrownBy(broker::start)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("kafka.tools.StorageTool format failed")
                    .hasMessageContaining("num.partitions");
        }
    }

    private static KafkaProducer<byte[], byte[]> transactionalProducer(String topic, String id) {
        Properties props = KAFKA.producerProps();
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, id + "-" + topic);
        return new KafkaProducer<>(props);
    }

    private static void send(
            KafkaProducer<byte[], byte[]> producer, String topic, String... values) {
        for (String value : values) {
            producer.send(new ProducerRecord<>(topic, bytes(value)));
        }
    }

    private static byte[] bytes(String text) {
        return text.getBytes(UTF_8);
    }

    private static List<String> values(List<ConsumerRecord<byte[], byte[]>> records) {
        return records.stream().map(r -> new String(r.value(), UTF_8)).collect(Collectors.toList());
    }
}
