package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.exception.InvalidRequestException;
import io.ebsreplicator.connector.ebs.policy.PolicyException;
import io.ebsreplicator.connector.ebs.policy.PolicyParser;
import io.ebsreplicator.connector.ebs.source.EbsLineageSource;
import io.ebsreplicator.job.serve.SnapshotEvents;
import io.ebsreplicator.schemas.ReplicationRequest;
import io.ebsreplicator.schemas.ReplicationTarget;
import io.ebsreplicator.schemas.RequestValidator;
import io.ebsreplicator.schemas.ResourceIds;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One snapshot-id and volume-id rule for every entry point: an id that {@code replicate} (the
 * resolver) accepts, {@code request} and {@code serve} (the schema's validator) and an EventBridge
 * event accept too, and the other way round; the same for volume ids in events and the policy file.
 * Each id goes through every entry point and must get the answer {@link ResourceIds} gives.
 */
class ResourceIdRuleTest {

    private static final Set<String> WITH_VALUE =
            Set.of("--source-region", "--source-snapshot", "--target-region");

    @ParameterizedTest
    @ValueSource(
            strings = {
                "snap-01234567",
                "snap-0123456789abcdef0",
                "snap-fffffffffffffffff",
                "snap-0123456",
                "snap-012345678",
                "snap-0123456789abcdef",
                "snap-0123456789abcdef01",
                "snap-0123456789ABCDEF0",
                "snap-0123456g",
                "snap-",
                "vol-0123456789abcdef0",
                "0123456789abcdef0"
            })
    void everyEntryPointTakesTheSameSnapshotIds(String id) {
        boolean valid = ResourceIds.isSnapshotId(id);
        assertThat(valid).isEqualTo(id.matches("snap-([0-9a-f]{8}|[0-9a-f]{17})"));

        assertThat(replicateAccepts(id)).as("replicate --source-snapshot %s", id).isEqualTo(valid);
        assertThat(requestAccepts(id)).as("request/serve sourceSnapshotId %s", id).isEqualTo(valid);
        assertThat(eventAccepts(id, "vol-0123456789abcdef0"))
                .as("EventBridge snapshot %s", id)
                .isEqualTo(valid);
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "vol-01234567",
                "vol-0123456789abcdef0",
                "vol-0123456",
                "vol-012345678",
                "vol-0123456789abcdef",
                "vol-0123456789ABCDEF0",
                "snap-0123456789abcdef0"
            })
    void theEventsAndThePolicyTakeTheSameVolumeIds(String id) {
        boolean valid = ResourceIds.isVolumeId(id);
        assertThat(valid).isEqualTo(id.matches("vol-([0-9a-f]{8}|[0-9a-f]{17})"));

        assertThat(policyAccepts(id)).as("policy volumeIds %s", id).isEqualTo(valid);
        assertThat(lineageOf(event("snap-0123456789abcdef0", id)))
                .as("the lineage of an event whose volume is %s", id)
                .isEqualTo(valid ? id : null);
    }

    private static boolean replicateAccepts(String id) {
        Flags flags =
                Flags.parse(
                        new String[] {
                            "--source-region", "us-east-1",
                            "--source-snapshot", id,
                            "--target-region", "us-west-2"
                        },
                        WITH_VALUE,
                        Set.of());
        try {
            EbsLineageSource.validate(ReplicateCommand.request(flags));
            return true;
        } catch (InvalidRequestException e) {
            assertThat(e.getMessage()).contains(id);
            return false;
        }
    }

    private static boolean requestAccepts(String id) {
        ReplicationRequest r =
                ReplicationRequest.newBuilder()
                        .setRequestId("r1")
                        .setSourceRegion("us-east-1")
                        .setSourceSnapshotId(id)
                        .setTargets(
                                new ArrayList<>(
                                        List.of(
                                                ReplicationTarget.newBuilder()
                                                        .setRegion("us-west-2")
                                                        .build())))
                        .build();
        return RequestValidator.validate(r).isEmpty();
    }

    private static boolean eventAccepts(String snapshotId, String volumeId) {
        return SnapshotEvents.parse(event(snapshotId, volumeId))
                instanceof SnapshotEvents.Parsed.Requests;
    }

    /** The lineage of the one request an event makes, or {@code null} when it has none. */
    private static String lineageOf(byte[] event) {
        SnapshotEvents.Parsed p = SnapshotEvents.parse(event);
        assertThat(p).isInstanceOf(SnapshotEvents.Parsed.Requests.class);
        return ((SnapshotEvents.Parsed.Requests) p).requests().get(0).lineage();
    }

    private static boolean policyAccepts(String volumeId) {
        String policy =
                """
                {"version": 1, "rules": [{"name": "gold", "select": {"volumeIds": ["%s"]},
                  "targets": [{"region": "us-west-2"}]}]}
                """
                        .formatted(volumeId);
        try {
            PolicyParser.parse("policy.json", policy.getBytes(StandardCharsets.UTF_8));
            return true;
        } catch (PolicyException e) {
            assertThat(e.getMessage()).contains("volumeIds[0]");
            return false;
        }
    }

    /** A createSnapshot event as EventBridge delivers it, of one snapshot of one volume. */
    private static byte[] event(String snapshotId, String volumeId) {
        return ("""
                {"version": "0", "id": "e1", "detail-type": "EBS Snapshot Notification",
                 "source": "aws.ec2", "account": "012345678901", "time": "2026-12-06T10:00:00Z",
                 "region": "us-east-1",
                 "resources": ["arn:aws:ec2::us-east-1:snapshot/%1$s"],
                 "detail": {"event": "createSnapshot", "result": "succeeded", "cause": "",
                   "request-id": "", "snapshot_id": "arn:aws:ec2::us-east-1:snapshot/%1$s",
                   "source": "arn:aws:ec2::us-east-1:volume/%2$s",
                   "startTime": "2026-12-06T09:59:00Z", "endTime": "2026-12-06T10:00:00Z"}}
                """)
                .formatted(snapshotId, volumeId)
                .getBytes(StandardCharsets.UTF_8);
    }
}
