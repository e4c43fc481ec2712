package io.ebsreplicator.job.serve;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.model.CopyDeletion;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.pipeline.EbsReplicationPipeline;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.RequestValidator;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Properties;

/**
 * The long-running job of {@code serve}: requests from a Kafka topic into the replication pipeline,
 * each result to the results topic, each unusable message to the dead-letter topic and each copy a
 * DR policy's retention let go to the lifecycle topic, all in Kafka transactions committed with
 * Flink's checkpoints (exactly once). Runs on the client that builds the job.
 */
public final class ServePipeline {

    public static final String RESULTS_SINK_UID = "ebs-results-sink";
    public static final String DEAD_LETTER_SINK_UID = "ebs-dead-letter-sink";
    public static final String LIFECYCLE_SINK_UID = "ebs-lifecycle-sink";

    private ServePipeline() {}

    public static void build(
            StreamExecutionEnvironment env,
            ServeSettings settings,
            Configuration options,
            BlockTransform transform,
            EbsProxyFactory factory) {
        EbsReplicationPipeline.Streams streams =
                EbsReplicationPipeline.serve(
                        env,
                        new KafkaRequestIntake.Factory(
                                settings.bootstrapServers(),
                                settings.requestsTopic(),
                                settings.groupId(),
                                new HashMap<>(settings.kafkaProperties()),
                                options.getOptional(EbsReplicationOptions.POLICY_FILE).isPresent()
                                        ? RequestValidator.Targets.FROM_POLICY
                                        : RequestValidator.Targets.REQUIRED),
                        options,
                        transform,
                        factory);
        streams.results()
                .sinkTo(sink(settings, new ResultSerializer(settings.resultsTopic()), "results"))
                .uid(RESULTS_SINK_UID)
                .name("Kafka results");
        streams.deadLetters()
                .sinkTo(
                        sink(
                                settings,
                                new DeadLetterSerializer(settings.deadLettersTopic()),
                                "dead-letters"))
                .uid(DEAD_LETTER_SINK_UID)
                .name("Kafka dead letters");
        streams.deletions()
                .sinkTo(
                        sink(
                                settings,
                                new CopyDeletionSerializer(settings.lifecycleTopic()),
                                "lifecycle"))
                .uid(LIFECYCLE_SINK_UID)
                .name("Kafka copy deletions");
    }

    private static <T> KafkaSink<T> sink(
            ServeSettings settings, KafkaRecordSerializationSchema<T> serializer, String what) {
        Properties client = new Properties();
        client.putAll(settings.kafkaProperties());
        return KafkaSink.<T>builder()
                .setKafkaProducerConfig(client)
                .setBootstrapServers(settings.bootstrapServers())
                .setRecordSerializer(serializer)
                .setDeliveryGuarantee(DeliveryGuarantee.EXACTLY_ONCE)
                // Unique per topic, so two jobs writing one cluster do not fence each other.
                .setTransactionalIdPrefix("ebs-replicator-" + what + "-" + topicOf(serializer))
                .setProperty(
                        ProducerConfig.TRANSACTION_TIMEOUT_CONFIG,
                        Long.toString(settings.transactionTimeout().toMillis()))
                .build();
    }

    private static String topicOf(KafkaRecordSerializationSchema<?> serializer) {
        if (serializer instanceof ResultSerializer r) {
            return r.topic;
        }
        if (serializer instanceof CopyDeletionSerializer d) {
            return d.topic;
        }
        return ((DeadLetterSerializer) serializer).topic;
    }

    /** A copy deletion as Avro, keyed by its deletion id. Runs in the sink's subtasks. */
    static final class CopyDeletionSerializer
            implements KafkaRecordSerializationSchema<CopyDeletion> {

        private static final long serialVersionUID = 1L;

        private final String topic;
        private transient AvroCodec<io.ebsreplicator.schemas.CopyDeletion> codec;

        CopyDeletionSerializer(String topic) {
            this.topic = topic;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(
                CopyDeletion deletion, KafkaSinkContext context, Long timestamp) {
            if (codec == null) {
                codec = AvroCodec.forCopyDeletions();
            }
            return new ProducerRecord<>(
                    topic,
                    deletion.id().getBytes(StandardCharsets.UTF_8),
                    codec.encode(RequestMapping.toAvro(deletion)));
        }
    }

    /** A result as Avro, keyed by its request id. Runs in the sink's subtasks. */
    static final class ResultSerializer
            implements KafkaRecordSerializationSchema<ReplicationResult> {

        private static final long serialVersionUID = 1L;

        private final String topic;
        private transient AvroCodec<io.ebsreplicator.schemas.ReplicationResult> codec;

        ResultSerializer(String topic) {
            this.topic = topic;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(
                ReplicationResult result, KafkaSinkContext context, Long timestamp) {
            if (codec == null) {
                codec = AvroCodec.forResults();
            }
            return new ProducerRecord<>(
                    topic,
                    result.requestId().getBytes(StandardCharsets.UTF_8),
                    codec.encode(RequestMapping.toAvro(result)));
        }
    }

    /** A dead letter, already encoded by the intake. Runs in the sink's subtasks. */
    static final class DeadLetterSerializer implements KafkaRecordSerializationSchema<byte[]> {

        private static final long serialVersionUID = 1L;

        private final String topic;

        DeadLetterSerializer(String topic) {
            this.topic = topic;
        }

        @Override
        public ProducerRecord<byte[], byte[]> serialize(
                byte[] deadLetter, KafkaSinkContext context, Long timestamp) {
            return new ProducerRecord<>(topic, null, deadLetter);
        }
    }
}
