package io.ebsreplicator.connector.ebs.model;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Tests {@link ReplicationResult}: its JSON line and what a result must hold. */
class ReplicationResultTest {

    @Test
    void completedResultIsOneJsonObjectWithoutError() {
        ReplicationResult r =
                new ReplicationResult(
                        "req-1",
                        "us-east-1",
                        "snap-01",
                        "eu-west-1",
                        "snap-02",
                        ReplicationResult.COMPLETED,
                        3,
                        3L * 524288,
                        "abc+/=",
                        1234,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        0L);

        assertThat(r.toJson())
                .isEqualTo(
                        "{\"requestId\":\"req-1\",\"sourceRegion\":\"us-east-1\","
                                + "\"sourceSnapshotId\":\"snap-01\",\"targetRegion\":\"eu-west-1\","
                                + "\"targetSnapshotId\":\"snap-02\",\"status\":\"COMPLETED\","
                                + "\"blocksWritten\":3,\"bytesWritten\":1572864,"
                                + "\"checksum\":\"abc+/=\",\"durationMs\":1234}");
        assertThat(r.succeeded()).isTrue();
    }

    @Test
    void nullFieldsAreJsonNullAndTheErrorIsIncludedWhenSet() {
        ReplicationResult r =
                new ReplicationResult(
                        "req-1",
                        "us-east-1",
                        "snap-01",
                        "eu-west-1",
                        null,
                        ReplicationResult.FAILED,
                        0,
                        0,
                        null,
                        7,
                        Failure.of(FailureReason.SNAPSHOT_NOT_FOUND, "boom"),
                        null,
                        null,
                        null,
                        null,
                        null,
                        0L);

        assertThat(r.toJson())
                .isEqualTo(
                        "{\"requestId\":\"req-1\",\"sourceRegion\":\"us-east-1\","
                                + "\"sourceSnapshotId\":\"snap-01\",\"targetRegion\":\"eu-west-1\","
                                + "\"targetSnapshotId\":null,\"status\":\"FAILED\","
                                + "\"blocksWritten\":0,\"bytesWritten\":0,"
                                + "\"checksum\":null,\"durationMs\":7,\"error\":\"boom\","
                                + "\"errorReason\":\"SNAPSHOT_NOT_FOUND\"}");
        assertThat(r.succeeded()).isFalse();
    }

    @Test
    void everyStringFieldMayBeNull() {
        ReplicationResult r =
                new ReplicationResult(
                        null, null, null, null, null, null, 0, 0, null, 0, null, null, null, null,
                        null, null, 0L);

        assertThat(r.toJson())
                .isEqualTo(
                        "{\"requestId\":null,\"sourceRegion\":null,\"sourceSnapshotId\":null,"
                                + "\"targetRegion\":null,\"targetSnapshotId\":null,\"status\":null,"
                                + "\"blocksWritten\":0,\"bytesWritten\":0,\"checksum\":null,"
                                + "\"durationMs\":0}");
        assertThat(r.succeeded()).isFalse();
    }

    @Test
    void escapesQuotesBackslashesAndControlCharacters() {
        String error = "say \"hi\"\\path\nline2\r\ttab\u0001\u001f\b\f end";
        ReplicationResult r =
                new ReplicationResult(
                        "r\"1",
                        "us-east-1",
                        "snap-01",
                        "eu-west-1",
                        null,
                        "FAILED",
                        0,
                        0,
                        null,
                        0,
                        Failure.of(FailureReason.TARGET_FAILED, error),
                        null,
                        null,
                        null,
                        null,
                        null,
                        0L);

        String json = r.toJson();

        assertThat(json).startsWith("{\"requestId\":\"r\\\"1\",");
        assertThat(json)
                .endsWith(
                        ",\"error\":\"say \\\"hi\\\"\\\\path\\nline2\\r\\ttab\\u0001\\u001f"
                                + "\\u0008\\u000c end\",\"errorReason\":\"TARGET_FAILED\"}");
        // One line, as the command line prints it, with no raw control character.
        assertThat(json.chars().filter(c -> c < 0x20)).isEmpty();
    }

    @Test
    void keepsNonAsciiTextAsIs() {
        ReplicationResult r =
                new ReplicationResult(
                        "req-\u00e9\u4e2d",
                        "us-east-1",
                        "s",
                        "eu-west-1",
                        null,
                        "FAILED",
                        0,
                        0,
                        null,
                        0,
                        Failure.of(FailureReason.VERIFICATION_FAILED, "\u2603"),
                        null,
                        null,
                        null,
                        null,
                        null,
                        0L);

        assertThat(r.toJson())
                .contains("\"requestId\":\"req-\u00e9\u4e2d\"")
                .contains("\"error\":\"\u2603\"")
                .contains("\"errorReason\":\"VERIFICATION_FAILED\"");
    }

    @Test
    void negativeAndLargeNumbersAreWrittenAsNumbers() {
        ReplicationResult r =
                new ReplicationResult(
                        "r",
                        "a",
                        "b",
                        "c",
                        "d",
                        "COMPLETED",
                        Long.MAX_VALUE,
                        0,
                        "x",
                        -1,
                        null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        0L);

        assertThat(r.toJson())
                .contains("\"blocksWritten\":" + Long.MAX_VALUE + ",")
                .contains("\"durationMs\":-1}");
    }

    @Test
    void aFailedResultHasItsFailureAndACompletedOneNone() {
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () ->
                                new ReplicationResult(
                                        "r", "a", "b", "c", null, "FAILED", 0, 0, null, 0, null,
                                        null, null, null, null, null, 0L))
                .isInstanceOf(IllegalArgumentException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(
                        () ->
                                new ReplicationResult(
                                        "r",
                                        "a",
                                        "b",
                                        "c",
                                        "d",
                                        "COMPLETED",
                                        0,
                                        0,
                                        null,
                                        0,
                                        Failure.of(FailureReason.TARGET_FAILED, "x"),
                                        null,
                                        null,
                                        null,
                                        null,
                                        null,
                                        0L))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
