package io.ebsreplicator.job.kafka;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

/** Reads what the job committed to a one-partition topic, for the tests' assertions. */
public final class CommittedRecords {

    private CommittedRecords() {}

    /** Decodes one record value. */
    @FunctionalInterface
    public interface Decoder<T> {
        T decode(byte[] value) throws Exception;
    }

    /**
     * Every committed record of partition 0 of {@code topic}, from the beginning, decoded. {@code
     * consumerProps} should read committed records only (the job writes in transactions).
     */
    public static <T> List<T> readAll(Properties consumerProps, String topic, Decoder<T> decoder)
            throws Exception {
        List<T> out = new ArrayList<>();
        try (KafkaConsumer<byte[], byte[]> c = new KafkaConsumer<>(consumerProps)) {
            TopicPartition p = new TopicPartition(topic, 0);
            c.assign(List.of(p));
            c.seekToBeginning(List.of(p));
            long end = c.endOffsets(List.of(p)).get(p);
            while (c.position(p) < end) {
                for (ConsumerRecord<byte[], byte[]> r : c.poll(Duration.ofMillis(200))) {
                    out.add(decoder.decode(r.value()));
                }
            }
        }
        return out;
    }
}
