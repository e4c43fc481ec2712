package io.ebsreplicator.job;

import io.ebsreplicator.job.kafka.KafkaBrokerExtension;
import io.ebsreplicator.schemas.AppliedCopyMode;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.CopyMode;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.ReplicationResult;
import io.ebsreplicator.schemas.ResultError;
import io.ebsreplicator.schemas.ResultStatus;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The operator tools {@code request} and {@code results} against a real KRaft broker: what {@code
 * request} publishes decodes into the request given, an invalid request publishes nothing, and
 * {@code results} prints committed results, skips what it cannot read and says so.
 */
class KafkaToolsITCase {

    @RegisterExtension static final KafkaBrokerExtension KAFKA = new KafkaBrokerExtension();

    private static final String SNAP_B = "snap-0123456789abcdef0";
    private static final String SNAP_A = "snap-0fedcba9876543210";

    @Test
    void requestFromFlagsIsPublishedKeyedByItsIdAndDecodesToTheSameRequest() throws Exception {
        String topic = KAFKA.newTopic("requests");

        Run run =
                cli(
                        "request",
                        "--bootstrap-servers",
                        KAFKA.bootstrapServers(),
                        "--topic",
                        topic,
                        "--request-id",
                        "req-flags-1",
                        "--source-region",
                        "us-east-1",
                        "--source-snapshot",
                        SNAP_B,
                        "--base-snapshot",
                        SNAP_A,
                        "--target-region",
                        "us-west-2",
                        "--target-region",
                        "eu-west-1",
                        "--target-parent",
                        "us-west-2=snap-00000000000000aa1",
                        "--target-parent",
                        "eu-west-1=snap-00000000000000bb2",
                        "--tag",
                        "team=storage",
                        "--description",
                        "nightly");

        assertThat(run.status).as(run.err).isZero();
        assertThat(run.out).contains("\"requestId\":\"req-flags-1\"").contains("\"offset\":0");
        List<ConsumerRecord<byte[], byte[]>> records =
                KAFKA.consumeAll(topic, 1, Duration.ofSeconds(30));
        assertThat(records).hasSize(1);
        assertThat(new String(records.get(0).key(), StandardCharsets.UTF_8))
                .isEqualTo("req-flags-1");
        ReplicationRequest r = AvroCodec.forRequests().decode(records.get(0).value());
        assertThat(r.getRequestId()).isEqualTo("req-flags-1");
        assertThat(r.getSourceRegion()).isEqualTo("us-east-1");
        assertThat(r.getSourceSnapshotId()).isEqualTo(SNAP_B);
        assertThat(r.getBaseSnapshotId()).isEqualTo(SNAP_A);
        assertThat(r.getMode()).isEqualTo(CopyMode.AUTO);
        assertThat(r.getTargets()).hasSize(2);
        assertThat(r.getTargets().get(0).getRegion()).isEqualTo("us-west-2");
        assertThat(r.getTargets().get(0).getParentSnapshotId()).isEqualTo("snap-00000000000000aa1");
        assertThat(r.getTargets().get(1).getParentSnapshotId()).isEqualTo("snap-00000000000000bb2");
        assertThat(r.getTargets().get(1).getTags()).containsExactly(Map.entry("team", "storage"));
        assertThat(r.getTargets().get(1).getDescription()).isEqualTo("nightly");
    }

    @Test
    void requestFromAJsonFileIsPublished(@TempDir Path dir) throws Exception {
        String topic = KAFKA.newTopic("requests");
        Path file = dir.resolve("request.json");
        Files.writeString(
                file,
                "{\"requestId\":\"req-file-1\",\"sourceRegion\":\"us-east-1\","
                        + "\"sourceSnapshotId\":\""
                        + SNAP_B
                        + "\",\"mode\":\"FULL\",\"targets\":[{\"region\":\"us-west-2\"}]}");

        Run run =
                cli(
                        "request",
                        "--bootstrap-servers",
                        KAFKA.bootstrapServers(),
                        "--topic",
                        topic,
                        "--file",
                        file.toString());

        assertThat(run.status).as(run.err).isZero();
        ReplicationRequest r =
                AvroCodec.forRequests()
                        .decode(KAFKA.consumeAll(topic, 1, Duration.ofSeconds(30)).get(0).value());
        assertThat(r.getRequestId()).isEqualTo("req-file-1");
        assertThat(r.getMode()).isEqualTo(CopyMode.FULL);
        assertThat(r.getTargets()).extracting(t -> t.getRegion()).containsExactly("us-west-2");
    }

    @Test
    void anInvalidRequestIsNotPublishedAndEveryProblemIsNamed() throws Exception {
        String topic = KAFKA.newTopic("requests");

        Run run =
                cli(
                        "request",
                        "--bootstrap-servers",
                        KAFKA.bootstrapServers(),
                        "--topic",
                        topic,
                        "--source-region",
                        "us-east-1",
                        "--source-snapshot",
                        "not-a-snapshot",
                        "--target-region",
                        "us-west-2",
                        "--target-region",
                        "us-west-2");

        assertThat(run.status).isEqualTo(2);
        assertThat(run.err).contains("invalid").contains("not-a-snapshot").contains("us-west-2");
        assertThat(endOffset(topic)).as("nothing published").isZero();
    }

    @Test
    void resultsPrintsCommittedResultsFiltersByRequestAndReportsUnreadableRecords()
            throws Exception {
        String topic = KAFKA.newTopic("results");
        AvroCodec<ReplicationResult> codec = AvroCodec.forResults();
        KAFKA.produce(topic, null, codec.encode(result("req-a", ResultStatus.COMPLETED)));
        KAFKA.produce(topic, null, "not avro".getBytes(StandardCharsets.UTF_8));
        KAFKA.produce(topic, null, codec.encode(result("req-b", ResultStatus.COMPLETED)));
        KAFKA.produce(topic, null, codec.encode(result("req-c", ResultStatus.FAILED)));

        Run all =
                cli(
                        "results",
                        "--bootstrap-servers",
                        KAFKA.bootstrapServers(),
                        "--topic",
                        topic,
                        "--from-beginning",
                        "--count",
                        "3",
                        "--timeout",
                        "30s");
        assertThat(all.status).as("one result FAILED").isEqualTo(1);
        assertThat(all.out.lines().toList()).hasSize(3);
        assertThat(all.out).contains("req-a").contains("req-b").contains("req-c");
        assertThat(all.out).contains("\"status\":\"FAILED\"").contains("SOURCE_SNAPSHOT_NOT_FOUND");
        assertThat(all.err).contains("@1 is not a result (MALFORMED)");

        Run one =
                cli(
                        "results",
                        "--bootstrap-servers",
                        KAFKA.bootstrapServers(),
                        "--topic",
                        topic,
                        "--from-beginning",
                        "--request-id",
                        "req-b",
                        "--count",
                        "1",
                        "--timeout",
                        "30s");
        assertThat(one.status).as(one.err).isZero();
        assertThat(one.out.lines().toList()).singleElement().asString().contains("req-b");

        Run short_ =
                cli(
                        "results",
                        "--bootstrap-servers",
                        KAFKA.bootstrapServers(),
                        "--topic",
                        topic,
                        "--from-beginning",
                        "--request-id",
                        "req-missing",
                        "--count",
                        "1",
                        "--timeout",
                        "2s");
        assertThat(short_.status).isEqualTo(1);
        assertThat(short_.err).contains("0 of 1 results");
    }

    @Test
    void statusShowsEveryLineageMeetingItsObjectiveThenOneOverItAfterItsCopiesStop()
            throws Exception {
        String topic = KAFKA.newTopic("results");
        java.nio.file.Path policy = java.nio.file.Files.createTempFile("policy", ".json");
        java.nio.file.Files.writeString(
                policy,
                """
                {"version": 1, "rules": [
                  {"name": "gold", "select": {"tags": {"tier": "gold"}},
                   "targets": [{"region": "us-west-2"}], "rpo": "1h"}]}
                """);
        AvroCodec<ReplicationResult> codec = AvroCodec.forResults();
        Instant now = Instant.now();
        try {
            KAFKA.produce(
                    topic,
                    null,
                    codec.encode(copy("vol-a", "snap-0aaaaaaaaaaaaaa01", now.minusSeconds(7200))));
            KAFKA.produce(
                    topic,
                    null,
                    codec.encode(copy("vol-a", "snap-0aaaaaaaaaaaaaa02", now.minusSeconds(600))));
            KAFKA.produce(
                    topic,
                    null,
                    codec.encode(copy("vol-b", "snap-0bbbbbbbbbbbbbb01", now.minusSeconds(3000))));
            KAFKA.produce(topic, null, codec.encode(result("manual", ResultStatus.COMPLETED)));

            Run fresh = status(topic, policy, now);
            assertThat(fresh.status).as(fresh.err).isZero();
            assertThat(fresh.out.lines().toList())
                    .as("a header and one line per lineage; the manual copy has no lineage")
                    .hasSize(3)
                    .anySatisfy(
                            l ->
                                    assertThat(l)
                                            .contains("vol-a")
                                            .contains("snap-0aaaaaaaaaaaaaa02")
                                            .contains("10m")
                                            .endsWith("MEETS"))
                    .anySatisfy(
                            l -> assertThat(l).contains("vol-b").contains("50m").endsWith("MEETS"));

            // vol-a goes on being copied; vol-b's events stop (an older copy arrives late).
            KAFKA.produce(topic, null, codec.encode(copy("vol-a", "snap-0aaaaaaaaaaaaaa03", now)));
            KAFKA.produce(
                    topic,
                    null,
                    codec.encode(copy("vol-b", "snap-0bbbbbbbbbbbbbb00", now.minusSeconds(9000))));
            Run later = status(topic, policy, now.plusSeconds(1200));
            assertThat(later.status).as("a lineage is over its objective").isEqualTo(1);
            assertThat(later.out.lines().toList())
                    .anySatisfy(
                            l -> assertThat(l).contains("snap-0aaaaaaaaaaaaaa03").endsWith("MEETS"))
                    .anySatisfy(
                            l ->
                                    assertThat(l)
                                            .contains("snap-0bbbbbbbbbbbbbb01")
                                            .contains("1h10m")
                                            .endsWith("OVER"));
        } finally {
            java.nio.file.Files.delete(policy);
        }
    }

    private static Run status(String topic, java.nio.file.Path policy, Instant at)
            throws Exception {
        return cli(
                "status",
                "--bootstrap-servers",
                KAFKA.bootstrapServers(),
                "--topic",
                topic,
                "--policy",
                policy.toString(),
                "--at",
                at.toString(),
                "--timeout",
                "30s");
    }

    /** A completed copy of {@code lineage} to us-west-2 made by rule gold. */
    private static ReplicationResult copy(String lineage, String target, Instant completedAt) {
        ReplicationResult r = result("ebs-event/us-east-1/" + target, ResultStatus.COMPLETED);
        r.setTargetSnapshotId(target);
        r.setCompletedAt(completedAt);
        r.setAttributes(
                new java.util.LinkedHashMap<>(
                        java.util.Map.of("lineage", lineage, "policyRule", "gold")));
        return r;
    }

    private static ReplicationResult result(String requestId, ResultStatus status) {
        boolean ok = status == ResultStatus.COMPLETED;
        return ReplicationResult.newBuilder()
                .setRequestId(requestId)
                .setSourceRegion("us-east-1")
                .setSourceSnapshotId(SNAP_B)
                .setTargetRegion("us-west-2")
                .setTargetSnapshotId(ok ? "snap-0aaaaaaaaaaaaaaa1" : null)
                .setStatus(status)
                .setBlocksWritten(ok ? 10 : 0)
                .setBytesWritten(ok ? 10L * 512 * 1024 : 0)
                .setChecksum(ok ? "c2hhMjU2" : null)
                .setDurationMs(1234)
                .setCopyMode(ok ? AppliedCopyMode.FULL : null)
                .setError(
                        ok
                                ? null
                                : ResultError.newBuilder()
                                        .setReason("SOURCE_SNAPSHOT_NOT_FOUND")
                                        .setMessage("no such snapshot")
                                        .build())
                .setCompletedAt(Instant.parse("2026-11-27T12:00:00Z"))
                .build();
    }

    private static long endOffset(String topic) {
        try (KafkaConsumer<byte[], byte[]> c =
                new KafkaConsumer<>(KAFKA.consumerProps(null, true))) {
            TopicPartition p = new TopicPartition(topic, 0);
            return c.endOffsets(List.of(p)).get(p);
        }
    }

    private record Run(int status, String out, String err) {}

    private static Run cli(String... args) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status;
        try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
                PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
            status = EbsReplicatorCli.run(args, o, e);
        }
        return new Run(
                status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }
}
