package io.ebsreplicator.job.serve;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.source.intake.IntakeRecord;
import io.ebsreplicator.schemas.AvroCodec;
import io.ebsreplicator.schemas.DeadLetter;
import io.ebsreplicator.schemas.RequestValidator;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * EventBridge EBS snapshot events, from the samples of the AWS documentation (test resources {@code
 * eventbridge/}), into requests without targets, skips and dead letters. Runs in the test JVM.
 */
class SnapshotEventsTest {

    static byte[] sample(String name) throws IOException {
        try (InputStream in =
                SnapshotEventsTest.class.getResourceAsStream("/eventbridge/" + name + ".json")) {
            assertThat(in).as(name).isNotNull();
            return in.readAllBytes();
        }
    }

    private static List<ReplicationRequest> requests(String sample) throws IOException {
        SnapshotEvents.Parsed p = SnapshotEvents.parse(sample(sample));
        assertThat(p).isInstanceOf(SnapshotEvents.Parsed.Requests.class);
        return ((SnapshotEvents.Parsed.Requests) p).requests();
    }

    @Test
    void aCreatedSnapshotIsARequestWithoutTargetsWhoseLineageIsTheVolume() throws Exception {
        List<ReplicationRequest> r = requests("create-snapshot-succeeded");

        assertThat(r).hasSize(1);
        ReplicationRequest request = r.get(0);
        assertThat(request.sourceSnapshotId()).isEqualTo("snap-01234567");
        assertThat(request.sourceRegion())
                .as("the region the event was delivered in, where the snapshot is")
                .isEqualTo("us-east-1");
        assertThat(request.targets()).as("planned from the policy").isEmpty();
        assertThat(request.lineage()).isEqualTo("vol-01234567");
        assertThat(request.fromLatest()).as("incremental from the volume's last copy").isTrue();
        assertThat(request.attributes())
                .containsEntry(ReplicationRequest.VOLUME_ATTRIBUTE, "vol-01234567")
                .containsEntry(SnapshotEvents.EVENT_ATTRIBUTE, "createSnapshot");
        assertThat(request.requestId()).isEqualTo("ebs-event/us-east-1/snap-01234567");
        assertThat(SnapshotEvents.parse(sample("create-snapshot-succeeded")))
                .as("the same event delivered again is the same request")
                .isEqualTo(SnapshotEvents.parse(sample("create-snapshot-succeeded")));
    }

    @Test
    void aMultiVolumeEventIsOneRequestPerSnapshotEachOfItsOwnVolume() throws Exception {
        List<ReplicationRequest> r = requests("create-snapshots-succeeded-real-ids");

        assertThat(r)
                .extracting(ReplicationRequest::sourceSnapshotId, ReplicationRequest::lineage)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("snap-89abcdef", "vol-89abcdef"),
                        org.assertj.core.groups.Tuple.tuple(
                                "snap-0123456789abcdef0", "vol-0123456789abcdef0"));
    }

    @Test
    void theDocumentedMultiVolumeSampleNamesASnapshotIdNoSnapshotCanHave() throws Exception {
        // Its second member is snap-012345678: 9 hex digits, where EBS ids have 8 or 17.
        assertThat(SnapshotEvents.parse(sample("create-snapshots-succeeded")))
                .isInstanceOfSatisfying(
                        SnapshotEvents.Parsed.Malformed.class,
                        m -> assertThat(m.why()).contains("detail.snapshots[1].snapshot_id"));
    }

    @Test
    void aCopiedSnapshotHasNoVolumeAndSoNoLineage() throws Exception {
        List<ReplicationRequest> r = requests("copy-snapshot-succeeded");

        assertThat(r)
                .singleElement()
                .satisfies(
                        request -> {
                            assertThat(request.sourceSnapshotId()).isEqualTo("snap-01234567");
                            assertThat(request.lineage()).isNull();
                            assertThat(request.fromLatest()).isFalse();
                        });
    }

    @Test
    void failedAndOtherEventsAreSkippedWithTheirReason() throws Exception {
        assertThat(SnapshotEvents.parse(sample("create-snapshots-failed")))
                .isEqualTo(
                        new SnapshotEvents.Parsed.Skipped(
                                "createSnapshots failed: Snapshot snap-01234567 is in status"
                                        + " error"));
        assertThat(SnapshotEvents.parse(sample("copy-snapshot-failed")))
                .isEqualTo(
                        new SnapshotEvents.Parsed.Skipped(
                                "copySnapshot failed: Source snapshot ID is not valid"));
        assertThat(SnapshotEvents.parse(sample("share-snapshot")))
                .isEqualTo(
                        new SnapshotEvents.Parsed.Skipped(
                                "event shareSnapshot is not a snapshot creation or copy"));
        assertThat(
                        SnapshotEvents.parse(
                                "{\"source\": \"aws.ec2\", \"detail-type\": \"EBS Volume Notification\"}"
                                        .getBytes(StandardCharsets.UTF_8)))
                .isInstanceOf(SnapshotEvents.Parsed.Skipped.class);
    }

    @Test
    void jsonThatIsNoUsableEventIsMalformed() throws Exception {
        String good = new String(sample("create-snapshot-succeeded"), StandardCharsets.UTF_8);
        assertThat(parse(good.replace("snap-01234567", "snapshot-x")))
                .isInstanceOf(SnapshotEvents.Parsed.Malformed.class);
        assertThat(parse(good.replace("\"us-east-1\"", "\"nowhere\"")))
                .isEqualTo(new SnapshotEvents.Parsed.Malformed("region 'nowhere' is not a region"));
        assertThat(parse("{\"source\": ")).isInstanceOf(SnapshotEvents.Parsed.Malformed.class);
        assertThat(parse("{}"))
                .isEqualTo(
                        new SnapshotEvents.Parsed.Malformed(
                                "not an EventBridge event: no source and detail-type"));
        assertThat(parse("{\"requestId\": \"r-1\", \"source\": {\"region\": \"us-east-1\"}}"))
                .isInstanceOf(SnapshotEvents.Parsed.Malformed.class);
        assertThat(SnapshotEvents.parse(new byte[SnapshotEvents.MAX_EVENT_BYTES + 1]))
                .isInstanceOf(SnapshotEvents.Parsed.Malformed.class);
        assertThat(SnapshotEvents.isJson(" \n{".getBytes(StandardCharsets.UTF_8))).isTrue();
        assertThat(SnapshotEvents.isJson(new byte[] {(byte) 0xC3, 0x01})).isFalse();
    }

    private static SnapshotEvents.Parsed parse(String json) {
        return SnapshotEvents.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theIntakeTakesEventsOnlyWithAPolicyAndSkipsFailedOnes() throws Exception {
        try (KafkaRequestIntake withPolicy = intake(RequestValidator.Targets.FROM_POLICY);
                KafkaRequestIntake without = intake(RequestValidator.Targets.REQUIRED)) {
            List<IntakeRecord> multi =
                    withPolicy.decodeAll(record(7, sample("create-snapshots-succeeded-real-ids")));
            assertThat(multi).hasSize(2).allMatch(r -> r.request() != null && r.offset() == 7);

            List<IntakeRecord> failed =
                    withPolicy.decodeAll(record(8, sample("copy-snapshot-failed")));
            assertThat(failed)
                    .singleElement()
                    .satisfies(r -> assertThat(r.skipped()).contains("failed"));

            List<IntakeRecord> noPolicy =
                    without.decodeAll(record(9, sample("create-snapshot-succeeded")));
            assertThat(noPolicy)
                    .singleElement()
                    .satisfies(r -> assertThat(r.deadLetter()).isNotNull());
            DeadLetter letter = AvroCodec.forDeadLetters().decode(noPolicy.get(0).deadLetter());
            assertThat(letter.getReason()).isEqualTo("INVALID_REQUEST");
            assertThat(letter.getMessage()).contains("--policy");

            List<IntakeRecord> broken =
                    withPolicy.decodeAll(record(10, "{\"x\": ".getBytes(StandardCharsets.UTF_8)));
            assertThat(AvroCodec.forDeadLetters().decode(broken.get(0).deadLetter()).getReason())
                    .isEqualTo("MALFORMED");
        }
    }

    private static KafkaRequestIntake intake(RequestValidator.Targets targets) {
        // No broker is contacted: the consumer connects on its first poll, which never comes.
        return new KafkaRequestIntake("127.0.0.1:9", "requests", null, Map.of(), targets);
    }

    private static ConsumerRecord<byte[], byte[]> record(long offset, byte[] value) {
        return new ConsumerRecord<>("requests", 0, offset, null, value);
    }
}
