package io.ebsreplicator.job.serve;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.source.intake.IntakeRecord;
import io.ebsreplicator.connector.ebs.source.intake.RequestIntake;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.DeadLetter;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.RequestValidator;
import io.ebsreplicator.schemas.SchemaDecodeException;

import org.apache.flink.util.TimeUtils;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The requests topic as the lineage source's intake: a consumer that reads every partition of the
 * topic itself (no consumer-group rebalancing: the enumerator's checkpointed positions are the
 * truth, so a restore neither loses nor repeats a request), committed records only. Each message is
 * decoded here: a valid request goes on, a request that names its targets but fails validation
 * becomes a failure result, and anything else (not single-object Avro, an unknown schema, a missing
 * field, no targets without a DR policy) becomes a dead letter with the original bytes and the
 * reason. A JSON message is an Amazon EventBridge snapshot event ({@link SnapshotEvents}): each
 * succeeded snapshot in it becomes a request without targets for the DR policy; a failed or other
 * event is skipped with one log line. Runs on the JobManager, on the enumerator's worker thread.
 */
public final class KafkaRequestIntake implements RequestIntake {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaRequestIntake.class);

    private final String topic;
    private final String groupId;
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final AvroCodec<ReplicationRequest> requests = AvroCodec.forRequests();
    private final AvroCodec<DeadLetter> deadLetters = AvroCodec.forDeadLetters();
    private final AtomicBoolean closing = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final AtomicBoolean polling = new AtomicBoolean();
    private final Set<TopicPartition> assigned = new java.util.HashSet<>();
    private final RequestValidator.Targets targets;

    /**
     * The first wait before looking for a missing requests topic again; it doubles on each miss up
     * to {@link #MISSING_TOPIC_MAX_RETRY}. A topic created by {@code topics} right after the job
     * started is found within about a second.
     */
    public static final Duration MISSING_TOPIC_FIRST_RETRY = Duration.ofSeconds(1);

    /**
     * The longest wait between looks for a missing requests topic: how long requests may wait after
     * the topic appears, and one line in the log per period while it does not.
     */
    public static final Duration MISSING_TOPIC_MAX_RETRY = Duration.ofSeconds(30);

    private final String bootstrapServers;

    /** {@code security.protocol} and {@code sasl.mechanism} as given, for error messages. */
    private final String security;

    /** The positions given to {@link #seek}, applied when the partitions are assigned. */
    private Map<String, Long> startPositions = Map.of();

    /** While the topic is missing: the wait before the next look; null once it was found. */
    private Duration missingRetry;

    private long nextLookNanos;
    private int looks;

    KafkaRequestIntake(
            String bootstrapServers,
            String topic,
            String groupId,
            Map<String, String> extra,
            RequestValidator.Targets targets) {
        this.topic = topic;
        this.groupId = groupId;
        this.bootstrapServers = bootstrapServers;
        this.targets = targets;
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "ebs-replicator-intake");
        p.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        if (groupId != null) {
            p.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
        }
        p.putAll(extra);
        this.security =
                extra.getOrDefault("security.protocol", "PLAINTEXT")
                        + (extra.containsKey("sasl.mechanism")
                                ? ", " + extra.get("sasl.mechanism")
                                : "");
        this.consumer = new KafkaConsumer<>(p);
        // Closing the consumer loads this class; on a cluster the job's class loader may be gone
        // by the time the enumerator closes, so it is loaded now.
        try {
            Class.forName(
                    "org.apache.kafka.common.metrics.internals.PluginMetricsImpl",
                    true,
                    KafkaConsumer.class.getClassLoader());
        } catch (ClassNotFoundException e) {
            LOG.debug("Kafka client without PluginMetricsImpl", e);
        }
    }

    /** The stream name of a partition, as positions are kept. */
    static String stream(TopicPartition tp) {
        return tp.topic() + "-" + tp.partition();
    }

    @Override
    public void seek(Map<String, Long> positions) {
        startPositions = Map.copyOf(positions);
        try {
            assignNewPartitions(positions);
        } catch (AuthenticationException e) {
            throw authenticationFailed(e);
        }
    }

    /**
     * A refused login or TLS handshake, said once with where and how: the brokers, the protocol and
     * the mechanism, and the broker's reason (never a value of the client properties). The Kafka
     * exception is not chained: its stack says nothing more, and every restart logs it.
     */
    private IllegalStateException authenticationFailed(AuthenticationException e) {
        return new IllegalStateException(
                "Kafka authentication failed at "
                        + bootstrapServers
                        + " ("
                        + security
                        + ") for the requests topic "
                        + topic
                        + ": "
                        + e.getMessage()
                        + ". Check the credentials and trust store of the client properties.");
    }

    /**
     * Assigns the topic's partitions, each at its position (else committed, else earliest). A topic
     * that does not exist is not an error of this intake: it logs that once, clearly, and {@link
     * #poll} looks again at growing intervals.
     */
    private void assignNewPartitions(Map<String, Long> positions) {
        List<TopicPartition> all = new ArrayList<>();
        List<PartitionInfo> partitions;
        try {
            partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30));
        } catch (UnknownTopicOrPartitionException e) {
            partitions = List.of();
        }
        if (partitions.isEmpty()) {
            topicMissing();
            return;
        }
        if (missingRetry != null) {
            LOG.info("The requests topic {} exists now; taking requests from it", topic);
            missingRetry = null;
        }
        for (PartitionInfo info : partitions) {
            all.add(new TopicPartition(topic, info.partition()));
        }
        if (assigned.containsAll(all)) {
            return;
        }
        List<TopicPartition> fresh = new ArrayList<>();
        for (TopicPartition tp : all) {
            if (!assigned.contains(tp)) {
                fresh.add(tp);
            }
        }
        assigned.addAll(fresh);
        consumer.assign(assigned);
        Map<TopicPartition, OffsetAndMetadata> committed =
                groupId == null ? Map.of() : consumer.committed(Set.copyOf(fresh));
        for (TopicPartition tp : fresh) {
            Long position = positions.get(stream(tp));
            OffsetAndMetadata c = committed.get(tp);
            if (position != null) {
                consumer.seek(tp, position);
            } else if (c != null) {
                consumer.seek(tp, c.offset());
            } else {
                consumer.seekToBeginning(List.of(tp));
            }
            LOG.info("Taking requests from {} at {}", tp, consumer.position(tp));
        }
    }

    @Override
    public List<IntakeRecord> poll(Duration timeout) {
        List<IntakeRecord> out = new ArrayList<>();
        if (!polling.compareAndSet(false, true)) {
            throw new IllegalStateException("The intake is polled from two threads at once");
        }
        try {
            if (closing.get()) {
                return out;
            }
            if (missingRetry != null) {
                if (System.nanoTime() - nextLookNanos < 0) {
                    return out;
                }
                assignNewPartitions(startPositions);
                if (missingRetry != null) {
                    return out;
                }
            }
            for (ConsumerRecord<byte[], byte[]> r : consumer.poll(timeout)) {
                out.addAll(decodeAll(r));
            }
        } catch (AuthenticationException e) {
            throw authenticationFailed(e);
        } catch (WakeupException e) {
            if (!closing.get()) {
                throw e;
            }
        } finally {
            polling.set(false);
            if (closing.get()) {
                closeConsumer(); // close() came while this thread was polling
            }
        }
        return out;
    }

    /**
     * The requests topic does not exist: one error that says what to do the first time, a line
     * without a stack trace on each later look, the next look after a doubled wait.
     */
    private void topicMissing() {
        looks++;
        if (missingRetry == null) {
            missingRetry = MISSING_TOPIC_FIRST_RETRY;
            LOG.error(
                    "The requests topic {} does not exist at {}. Create it, with the results and"
                            + " dead-letter topics, with: ebs-replicator topics --bootstrap-servers"
                            + " {} (the same topic flags as serve). Looking for it again in {}, then"
                            + " at growing intervals up to {}.",
                    topic,
                    bootstrapServers,
                    bootstrapServers,
                    TimeUtils.formatWithHighestUnit(missingRetry),
                    TimeUtils.formatWithHighestUnit(MISSING_TOPIC_MAX_RETRY));
        } else {
            missingRetry = min(missingRetry.multipliedBy(2), MISSING_TOPIC_MAX_RETRY);
            LOG.warn(
                    "The requests topic {} still does not exist ({} looks); looking again in {}."
                            + " Create it with: ebs-replicator topics",
                    topic,
                    looks,
                    TimeUtils.formatWithHighestUnit(missingRetry));
        }
        nextLookNanos = System.nanoTime() + missingRetry.toNanos();
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    /** The records of one message: one, or one per snapshot of a multi-volume event. */
    List<IntakeRecord> decodeAll(ConsumerRecord<byte[], byte[]> r) {
        if (r.value() == null || !SnapshotEvents.isJson(r.value())) {
            return List.of(decode(r));
        }
        String stream = stream(new TopicPartition(r.topic(), r.partition()));
        String where = stream + "@" + r.offset();
        SnapshotEvents.Parsed parsed = SnapshotEvents.parse(r.value());
        if (parsed instanceof SnapshotEvents.Parsed.Skipped skipped) {
            return List.of(IntakeRecord.skipped(stream, r.offset(), skipped.why()));
        }
        if (parsed instanceof SnapshotEvents.Parsed.Malformed malformed) {
            return List.of(dead(r, stream, where, "MALFORMED", malformed.why(), null));
        }
        List<io.ebsreplicator.connector.ebs.model.ReplicationRequest> requests =
                ((SnapshotEvents.Parsed.Requests) parsed).requests();
        if (targets == RequestValidator.Targets.REQUIRED) {
            return List.of(
                    dead(
                            r,
                            stream,
                            where,
                            FailureReason.INVALID_REQUEST.name(),
                            "a snapshot event is planned from a DR policy, and this job has none"
                                    + " (serve --policy FILE)",
                            null));
        }
        List<IntakeRecord> out = new ArrayList<>(requests.size());
        for (var request : requests) {
            out.add(IntakeRecord.request(stream, r.offset(), request));
        }
        if (out.isEmpty()) {
            out.add(IntakeRecord.skipped(stream, r.offset(), "no completed snapshot in the event"));
        }
        return out;
    }

    IntakeRecord decode(ConsumerRecord<byte[], byte[]> r) {
        String stream = stream(new TopicPartition(r.topic(), r.partition()));
        String where = stream + "@" + r.offset();
        if (r.value() == null) {
            return dead(r, stream, where, "MALFORMED", "the message has no value", null);
        }
        ReplicationRequest avro;
        try {
            avro = requests.decode(r.value());
        } catch (SchemaDecodeException e) {
            return dead(r, stream, where, e.reasonCode(), e.getMessage(), null);
        }
        List<String> problems = RequestValidator.validate(avro, targets);
        var request = RequestMapping.toConnector(avro);
        if (problems.isEmpty()
                && avro.getDeadline() != null
                && avro.getDeadline().isBefore(Instant.now())) {
            return IntakeRecord.invalid(
                    stream,
                    r.offset(),
                    request,
                    Failure.of(
                            FailureReason.DEADLINE_EXCEEDED,
                            "The deadline "
                                    + avro.getDeadline()
                                    + " passed before the request was taken"));
        }
        if (problems.isEmpty()) {
            return IntakeRecord.request(stream, r.offset(), request);
        }
        Failure invalid = Failure.of(FailureReason.INVALID_REQUEST, String.join("; ", problems));
        if (request.requestId().isBlank() || request.targets().isEmpty()) {
            // No result could be addressed to it: it goes to the dead letters.
            return dead(
                    r,
                    stream,
                    where,
                    invalid.reason().name(),
                    invalid.message(),
                    avro.getRequestId());
        }
        return IntakeRecord.invalid(stream, r.offset(), request, invalid);
    }

    private IntakeRecord dead(
            ConsumerRecord<byte[], byte[]> r,
            String stream,
            String where,
            String reason,
            String message,
            String requestId) {
        DeadLetter letter =
                DeadLetter.newBuilder()
                        .setTopic(r.topic())
                        .setPartition(r.partition())
                        .setOffset(r.offset())
                        .setTimestamp(
                                r.timestamp() >= 0 ? Instant.ofEpochMilli(r.timestamp()) : null)
                        .setKey(r.key() == null ? null : ByteBuffer.wrap(r.key()))
                        .setValue(r.value() == null ? null : ByteBuffer.wrap(r.value()))
                        .setReason(reason)
                        .setMessage(message == null ? reason : message)
                        .setRequestId(requestId)
                        .setFailedAt(Instant.now())
                        .build();
        LOG.warn("Message {} is a dead letter ({}): {}", where, reason, message);
        return IntakeRecord.deadLetter(
                stream, r.offset(), "dead-letter:" + where, deadLetters.encode(letter));
    }

    @Override
    public void wakeup() {
        consumer.wakeup();
    }

    /**
     * Closes the consumer, from any thread: a poll in progress is woken up and its thread closes
     * the consumer (a Kafka consumer may only be used by one thread at a time).
     */
    @Override
    public void close() {
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        consumer.wakeup();
        if (!polling.get()) {
            closeConsumer();
        }
    }

    private void closeConsumer() {
        if (closed.compareAndSet(false, true)) {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    /**
     * Settings of the intake, shipped to the JobManager with the job. {@code targets} says whether
     * a request may leave its targets to the job's DR policy.
     */
    public record Factory(
            String bootstrapServers,
            String topic,
            String groupId,
            HashMap<String, String> extra,
            RequestValidator.Targets targets)
            implements RequestIntake.Factory {

        private static final long serialVersionUID = 1L;

        /** Requests must name their targets: no DR policy. */
        public Factory(String bootstrapServers, String topic, String groupId) {
            this(
                    bootstrapServers,
                    topic,
                    groupId,
                    new HashMap<>(),
                    RequestValidator.Targets.REQUIRED);
        }

        @Override
        public RequestIntake open() {
            return new KafkaRequestIntake(
                    bootstrapServers, topic, groupId, new LinkedHashMap<>(extra), targets);
        }
    }
}
