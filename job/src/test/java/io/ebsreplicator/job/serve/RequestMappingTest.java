package io.ebsreplicator.job.serve;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.schemas.ResultStatus;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Tests {@link RequestMapping#toAvro}: the public error code is the failure's reason. */
class RequestMappingTest {

    private static final Instant AT = Instant.parse("2024-05-01T12:00:00Z");

    @ParameterizedTest
    @EnumSource(FailureReason.class)
    void aFailedResultCarriesItsReasonAsTheCodeWhateverTheMessageSays(FailureReason reason) {
        // A message that names other codes and errors: none of it may change the code.
        String message =
                "ResourceNotFoundException(UNRELATED_SNAPSHOTS): InvalidRequest went to error";

        io.ebsreplicator.schemas.ReplicationResult avro =
                RequestMapping.toAvro(failed(Failure.of(reason, message)));

        assertThat(avro.getStatus()).isEqualTo(ResultStatus.FAILED);
        assertThat(avro.getError().getReason()).isEqualTo(reason.name());
        assertThat(avro.getError().getMessage()).isEqualTo(message);
        assertThat(avro.getAttributes()).containsExactly(Map.entry("ticket", "T-1"));
        assertThat(avro.getCompletedAt()).isEqualTo(AT);
    }

    @Test
    void aCompletedResultHasNoError() {
        ReplicationResult completed =
                new ReplicationResult(
                        "req-1",
                        "us-east-1",
                        "snap-01",
                        "us-west-2",
                        "snap-02",
                        ReplicationResult.COMPLETED,
                        2,
                        2L * 524288,
                        "abc=",
                        10,
                        null,
                        ReplicationResult.FULL,
                        null,
                        null,
                        null,
                        Map.of(),
                        AT.toEpochMilli());

        io.ebsreplicator.schemas.ReplicationResult avro = RequestMapping.toAvro(completed);

        assertThat(avro.getStatus()).isEqualTo(ResultStatus.COMPLETED);
        assertThat(avro.getError()).isNull();
        assertThat(avro.getTargetSnapshotId()).isEqualTo("snap-02");
    }

    private static ReplicationResult failed(Failure failure) {
        return new ReplicationResult(
                "req-1",
                "us-east-1",
                "snap-01",
                "us-west-2",
                null,
                ReplicationResult.FAILED,
                0,
                0,
                null,
                10,
                failure,
                null,
                null,
                null,
                null,
                Map.of("ticket", "T-1"),
                AT.toEpochMilli());
    }

    @Test
    void aTargetRoleIsCarriedIntoTheConnectorRequest() {
        String role = "arn:aws:iam::222222222222:role/ebs-replicator-dr";
        io.ebsreplicator.schemas.ReplicationRequest avro =
                io.ebsreplicator.schemas.ReplicationRequest.newBuilder()
                        .setRequestId("r-role")
                        .setSourceRegion("us-east-1")
                        .setSourceSnapshotId("snap-0123456789abcdef0")
                        .setTargets(
                                java.util.List.of(
                                        io.ebsreplicator.schemas.ReplicationTarget.newBuilder()
                                                .setRegion("us-west-2")
                                                .setRoleArn(role)
                                                .build(),
                                        io.ebsreplicator.schemas.ReplicationTarget.newBuilder()
                                                .setRegion("eu-west-1")
                                                .build()))
                        .build();

        var request = RequestMapping.toConnector(avro);

        assertThat(request.targets())
                .extracting(io.ebsreplicator.connector.ebs.model.ReplicationTarget::roleArn)
                .containsExactly(role, null);
    }

    @Test
    void aCopyDeletionMapsEveryFieldAndAFailureToItsReason() {
        io.ebsreplicator.connector.ebs.model.CopyDeletion failed =
                new io.ebsreplicator.connector.ebs.model.CopyDeletion(
                        "retention/us-west-2/snap-0a1b2c3d4e5f60718",
                        "gold",
                        "us-east-1",
                        "vol-0123456789abcdef0",
                        "us-west-2",
                        "snap-0a1b2c3d4e5f60718",
                        0L,
                        1_700_000_000_000L,
                        1_700_000_000_250L,
                        io.ebsreplicator.connector.ebs.model.CopyDeletion.Outcome.FAILED,
                        Failure.of(FailureReason.ACCESS_DENIED, "not authorized"));

        io.ebsreplicator.schemas.CopyDeletion avro = RequestMapping.toAvro(failed);

        assertThat(avro.getDeletionId()).isEqualTo(failed.id());
        assertThat(avro.getRule()).isEqualTo("gold");
        assertThat(avro.getSourceRegion()).isEqualTo("us-east-1");
        assertThat(avro.getLineage()).isEqualTo("vol-0123456789abcdef0");
        assertThat(avro.getRegion()).isEqualTo("us-west-2");
        assertThat(avro.getSnapshotId()).isEqualTo("snap-0a1b2c3d4e5f60718");
        assertThat(avro.getCopyStartedAt()).as("EC2 gave no start time").isNull();
        assertThat(avro.getOutcome()).isEqualTo("FAILED");
        assertThat(avro.getError().getReason()).isEqualTo("ACCESS_DENIED");
        assertThat(avro.getError().getMessage()).isEqualTo("not authorized");
        assertThat(avro.getDecidedAt()).isEqualTo(Instant.ofEpochMilli(1_700_000_000_000L));
        assertThat(avro.getDoneAt()).isEqualTo(Instant.ofEpochMilli(1_700_000_000_250L));
        assertThat(io.ebsreplicator.schemas.AvroCodec.forCopyDeletions().encode(avro)).isNotEmpty();
    }
}
