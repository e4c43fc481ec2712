package io.ebsreplicator.job;

import io.ebsreplicator.job.serve.ServeSettings;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.CopyMode;
import io.ebsreplicator.schemas.JsonStrings;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.ReplicationTarget;
import io.ebsreplicator.schemas.RequestJson;
import io.ebsreplicator.schemas.RequestValidator;

import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

/**
 * {@code request}: publishes one replication request, built from flags or read from a JSON file, to
 * the requests topic in the Avro single-object encoding, keyed by its request id. The request is
 * validated first; an invalid one is not published. Runs in the client.
 */
final class RequestCommand {

    static final String USAGE =
            String.join(
                    "\n",
                    "Usage: request --bootstrap-servers HOST:PORT [--topic T] --file request.json",
                    "       request --bootstrap-servers HOST:PORT [--topic T] [--request-id ID]",
                    "               --source-region R --source-snapshot snap-B [--base-snapshot snap-A]",
                    "               [--mode AUTO|FULL] --target-region R2 [--target-region R3 ...]",
                    "               [--target-parent R2=snap-A2 ...] [--encrypted --kms-key-arn ARN]",
                    "               [--target-role-arn R2=arn:aws:iam::ACCOUNT:role/NAME ...]",
                    "               [--tag k=v ...] [--description D] [--priority N] [--lineage L]",
                    "               [--timeout 30s] " + KafkaClientProperties.USAGE_LINE,
                    "",
                    "Publishes one request (default topic "
                            + ServeSettings.DEFAULT_REQUESTS_TOPIC
                            + ") and prints where it went as",
                    "JSON. The request id defaults to a random UUID. --lineage names the volume's lineage",
                    "(e.g. its volume id): the job then copies incrementally from the latest snapshot of it",
                    "already replicated, and the record is keyed by the lineage so its requests stay in",
                    "order; otherwise the key is the request id. A request that fails validation is not",
                    "published (exit 2).");

    private static final Set<String> WITH_VALUE =
            KafkaClientProperties.withFlags(
                    Set.of(
                            "--bootstrap-servers",
                            "--topic",
                            "--file",
                            "--request-id",
                            "--source-region",
                            "--source-snapshot",
                            "--base-snapshot",
                            "--mode",
                            "--target-region",
                            "--target-parent",
                            "--target-role-arn",
                            "--kms-key-arn",
                            "--tag",
                            "--description",
                            "--priority",
                            "--lineage",
                            "--timeout"));

    /** Flags that describe the request itself: not allowed together with {@code --file}. */
    private static final List<String> REQUEST_FLAGS =
            List.of(
                    "--request-id",
                    "--source-region",
                    "--source-snapshot",
                    "--base-snapshot",
                    "--mode",
                    "--target-region",
                    "--target-parent",
                    "--target-role-arn",
                    "--encrypted",
                    "--kms-key-arn",
                    "--tag",
                    "--description",
                    "--priority",
                    "--lineage");

    private RequestCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags flags = Flags.parse(args, WITH_VALUE, Set.of("--encrypted"));
        String bootstrap = flags.require("--bootstrap-servers");
        String topic =
                flags.has("--topic")
                        ? flags.require("--topic")
                        : ServeSettings.DEFAULT_REQUESTS_TOPIC;
        Duration timeout = flags.duration("--timeout", Duration.ofSeconds(30));
        ReplicationRequest request;
        if (flags.has("--file")) {
            for (String f : REQUEST_FLAGS) {
                if (flags.has(f)) {
                    throw new Flags.UsageException(f + " cannot be combined with --file");
                }
            }
            request =
                    RequestJson.parse(
                            Files.readString(
                                    Path.of(flags.require("--file")), StandardCharsets.UTF_8));
        } else {
            request = fromFlags(flags);
        }
        List<String> problems = RequestValidator.validate(request);
        if (!problems.isEmpty()) {
            err.println("ebs-replicator request: the request is invalid, nothing was published:");
            problems.forEach(p -> err.println("  - " + p));
            return 2;
        }
        byte[] value = AvroCodec.forRequests().encode(request);
        String lineage =
                request.getAttributes() == null ? null : request.getAttributes().get("lineage");
        // One lineage, one partition: its requests are applied in the order published.
        byte[] key =
                (lineage != null ? lineage : request.getRequestId())
                        .getBytes(StandardCharsets.UTF_8);
        try (KafkaProducer<byte[], byte[]> producer =
                new KafkaProducer<>(
                        KafkaTopics.producerProperties(
                                bootstrap, timeout, KafkaClientProperties.fromFlags(flags)))) {
            RecordMetadata md =
                    producer.send(new ProducerRecord<>(topic, key, value))
                            .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            out.println(
                    String.format(
                            Locale.ROOT,
                            "{\"requestId\":%s,\"topic\":%s,\"partition\":%d,\"offset\":%d}",
                            JsonStrings.quote(request.getRequestId()),
                            JsonStrings.quote(md.topic()),
                            md.partition(),
                            md.offset()));
        }
        return 0;
    }

    static ReplicationRequest fromFlags(Flags flags) {
        Map<String, String> parents = flags.pairs("--target-parent");
        Map<String, String> roles = flags.pairs("--target-role-arn");
        Map<String, String> tags = flags.pairs("--tag");
        List<ReplicationTarget> targets = new ArrayList<>();
        for (String region : flags.all("--target-region")) {
            targets.add(
                    ReplicationTarget.newBuilder()
                            .setRegion(region)
                            .setParentSnapshotId(parents.remove(region))
                            .setEncrypted(flags.has("--encrypted"))
                            .setKmsKeyArn(flags.get("--kms-key-arn"))
                            .setTags(new LinkedHashMap<>(tags))
                            .setDescription(flags.get("--description"))
                            .setRoleArn(roles.remove(region))
                            .build());
        }
        if (!parents.isEmpty()) {
            throw new Flags.UsageException(
                    "--target-parent names regions that are not targets: " + parents.keySet());
        }
        if (!roles.isEmpty()) {
            throw new Flags.UsageException(
                    "--target-role-arn names regions that are not targets: " + roles.keySet());
        }
        CopyMode mode;
        try {
            mode =
                    flags.has("--mode")
                            ? CopyMode.valueOf(flags.require("--mode").toUpperCase(Locale.ROOT))
                            : CopyMode.AUTO;
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException("--mode is AUTO or FULL, not " + flags.get("--mode"));
        }
        return ReplicationRequest.newBuilder()
                .setRequestId(
                        flags.has("--request-id")
                                ? flags.require("--request-id")
                                : UUID.randomUUID().toString())
                .setSourceRegion(flags.require("--source-region"))
                .setSourceSnapshotId(flags.require("--source-snapshot"))
                .setBaseSnapshotId(flags.get("--base-snapshot"))
                .setMode(mode)
                .setTargets(targets)
                .setPriority(flags.intValue("--priority", 0))
                .setRequestedAt(java.time.Instant.now())
                .setAttributes(
                        flags.has("--lineage")
                                ? Map.of("lineage", flags.require("--lineage"))
                                : Map.of())
                .build();
    }
}
