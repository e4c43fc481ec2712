package io.ebsreplicator.schemas;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Fixed example records for the tests, with every field set. Maps are {@link LinkedHashMap}s so
 * that their encoding, and with it the golden files, is the same on every run.
 */
final class Examples {

    static final String SOURCE = "snap-0123456789abcdef0";
    static final String BASE = "snap-0fedcba9876543210";
    static final String TARGET = "snap-0a1b2c3d4e5f60718";
    static final String TARGET_PARENT = "snap-08192a3b4c5d6e7f8";
    static final String KMS_KEY =
            "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    static final String ROLE = "arn:aws:iam::222222222222:role/ebs-replicator-dr-target";

    private Examples() {}

    /** An incremental request to two regions, one of them encrypted, with every field set. */
    static ReplicationRequest request() {
        return ReplicationRequest.newBuilder()
                .setRequestId("req-2025-01-31-0001")
                .setSourceRegion("us-east-1")
                .setSourceSnapshotId(SOURCE)
                .setBaseSnapshotId(BASE)
                .setMode(CopyMode.AUTO)
                .setTargets(
                        new ArrayList<>(
                                List.of(
                                        ReplicationTarget.newBuilder()
                                                .setRegion("us-west-2")
                                                .setParentSnapshotId(TARGET_PARENT)
                                                .setTags(map("team", "storage", "env", "prod"))
                                                .setDescription("nightly DR copy")
                                                .build(),
                                        ReplicationTarget.newBuilder()
                                                .setRegion("eu-west-1")
                                                .setEncrypted(true)
                                                .setKmsKeyArn(KMS_KEY)
                                                .setRoleArn(ROLE)
                                                .build())))
                .setDeadline(Instant.parse("2025-01-31T18:00:00Z"))
                .setPriority(5)
                .setRequestedAt(Instant.parse("2025-01-31T12:00:00.123Z"))
                .setAttributes(map("ticket", "OPS-42", "caller", "nightly-dr"))
                .build();
    }

    /** The smallest valid request: one full copy to one region, every default left. */
    static ReplicationRequest minimalRequest() {
        return ReplicationRequest.newBuilder()
                .setRequestId("r1")
                .setSourceRegion("us-east-1")
                .setSourceSnapshotId(SOURCE)
                .setTargets(
                        new ArrayList<>(
                                List.of(
                                        ReplicationTarget.newBuilder()
                                                .setRegion("us-west-2")
                                                .build())))
                .build();
    }

    /** A completed incremental copy. */
    static ReplicationResult result() {
        return ReplicationResult.newBuilder()
                .setRequestId("req-2025-01-31-0001")
                .setSourceRegion("us-east-1")
                .setSourceSnapshotId(SOURCE)
                .setTargetRegion("us-west-2")
                .setTargetSnapshotId(TARGET)
                .setStatus(ResultStatus.COMPLETED)
                .setBlocksWritten(1234)
                .setBytesWritten(1234L * 524288)
                .setChecksum("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=")
                .setDurationMs(98765)
                .setCopyMode(AppliedCopyMode.INCREMENTAL)
                .setBaseSnapshotId(BASE)
                .setTargetParentSnapshotId(TARGET_PARENT)
                .setFallbackReason(null)
                .setError(null)
                .setCompletedAt(Instant.parse("2025-01-31T12:01:39.456Z"))
                .setAttributes(map("ticket", "OPS-42", "caller", "nightly-dr"))
                .build();
    }

    /** A failure before any target snapshot was started. */
    static ReplicationResult failedResult() {
        return ReplicationResult.newBuilder()
                .setRequestId("req-2")
                .setSourceRegion("us-east-1")
                .setSourceSnapshotId(SOURCE)
                .setTargetRegion("eu-west-1")
                .setTargetSnapshotId(null)
                .setStatus(ResultStatus.FAILED)
                .setBlocksWritten(0)
                .setBytesWritten(0)
                .setChecksum(null)
                .setDurationMs(15)
                .setCopyMode(null)
                .setBaseSnapshotId(null)
                .setTargetParentSnapshotId(null)
                .setFallbackReason(null)
                .setError(
                        ResultError.newBuilder()
                                .setReason("SOURCE_SNAPSHOT_NOT_FOUND")
                                .setMessage("snap-0123456789abcdef0 does not exist in us-east-1")
                                .build())
                .setCompletedAt(Instant.parse("2025-01-31T12:00:00.015Z"))
                .build();
    }

    /** A request that could not be decoded. */
    static DeadLetter deadLetter() {
        return DeadLetter.newBuilder()
                .setTopic("ebs-replication-requests")
                .setPartition(3)
                .setOffset(1_234_567L)
                .setTimestamp(Instant.parse("2025-01-31T12:00:00.001Z"))
                .setKey(ByteBuffer.wrap("req-x".getBytes(StandardCharsets.UTF_8)))
                .setValue(ByteBuffer.wrap(new byte[] {0x7b, 0x22, (byte) 0xff, 0x00}))
                .setReason("MALFORMED")
                .setMessage("ReplicationRequest: not single-object encoded")
                .setRequestId(null)
                .setFailedAt(Instant.parse("2025-01-31T12:00:00.002Z"))
                .build();
    }

    /** A copy that retention deleted. */
    static CopyDeletion copyDeletion() {
        return CopyDeletion.newBuilder()
                .setDeletionId("retention/us-west-2/snap-0a1b2c3d4e5f60718")
                .setRule("gold")
                .setSourceRegion("us-east-1")
                .setLineage("vol-0123456789abcdef0")
                .setRegion("us-west-2")
                .setSnapshotId("snap-0a1b2c3d4e5f60718")
                .setCopyStartedAt(Instant.parse("2025-01-30T12:00:00.000Z"))
                .setOutcome("DELETED")
                .setError(null)
                .setDecidedAt(Instant.parse("2025-01-31T12:00:00.001Z"))
                .setDoneAt(Instant.parse("2025-01-31T12:00:00.250Z"))
                .build();
    }

    /** A deletion that EC2 refused. */
    static CopyDeletion failedCopyDeletion() {
        return CopyDeletion.newBuilder(copyDeletion())
                .setOutcome("FAILED")
                .setCopyStartedAt(null)
                .setError(
                        DeletionError.newBuilder()
                                .setReason("ACCESS_DENIED")
                                .setMessage("not authorized to perform ec2:DeleteSnapshot")
                                .build())
                .build();
    }

    /** A map in the order given: key, value, key, value, ... */
    static Map<String, String> map(String... keysAndValues) {
        Map<String, String> map = new LinkedHashMap<>();
        for (int i = 0; i < keysAndValues.length; i += 2) {
            map.put(keysAndValues[i], keysAndValues[i + 1]);
        }
        return map;
    }
}
