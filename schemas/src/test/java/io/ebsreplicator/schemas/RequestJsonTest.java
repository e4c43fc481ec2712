package io.ebsreplicator.schemas;

import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Unit tests of {@link RequestJson}: the short form, round trips, and every refusal. */
class RequestJsonTest {

    @Test
    void parsesTheShortForm() {
        String json =
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\","
                        + "\"sourceSnapshotId\":\"snap-0123456789abcdef0\",\"baseSnapshotId\":null,"
                        + "\"mode\":\"AUTO\",\"targets\":[{\"region\":\"us-west-2\",\"tags\":{\"k\":\"v\"}}]}";

        ReplicationRequest request = RequestJson.parse(json);

        assertThat(request.getRequestId()).isEqualTo("r1");
        assertThat(request.getSourceRegion()).isEqualTo("us-east-1");
        assertThat(request.getSourceSnapshotId()).isEqualTo("snap-0123456789abcdef0");
        assertThat(request.getBaseSnapshotId()).isNull();
        assertThat(request.getMode()).isEqualTo(CopyMode.AUTO);
        assertThat(request.getTargets()).hasSize(1);
        ReplicationTarget target = request.getTargets().get(0);
        assertThat(target.getRegion()).isEqualTo("us-west-2");
        assertThat(target.getTags()).containsExactly(Map.entry("k", "v"));
        assertThat(target.getEncrypted()).isFalse();
        assertThat(target.getParentSnapshotId()).isNull();
        assertThat(target.getKmsKeyArn()).isNull();
        assertThat(target.getDescription()).isNull();
        assertThat(request.getDeadline()).isNull();
        assertThat(request.getPriority()).isZero();
        assertThat(request.getRequestedAt()).isNull();
        assertThat(request.getAttributes()).isEmpty();
        assertThat(RequestValidator.validate(request)).isEmpty();
    }

    @Test
    void leavesOutFieldsWithDefaults() {
        ReplicationRequest request =
                RequestJson.parse(
                        "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\","
                                + "\"sourceSnapshotId\":\"snap-0123456789abcdef0\","
                                + "\"targets\":[{\"region\":\"us-west-2\"}]}");

        assertThat(request).isEqualTo(Examples.minimalRequest());
    }

    @Test
    void writesOneLineThatParsesBackToAnEqualRequest() {
        for (ReplicationRequest request : List.of(Examples.request(), Examples.minimalRequest())) {
            String json = RequestJson.toJson(request);

            assertThat(json).doesNotContain("\n");
            assertThat(RequestJson.parse(json)).isEqualTo(request);
        }
    }

    @Test
    void writesEveryFieldOfTheSchemaInOrder() {
        String json = RequestJson.toJson(Examples.minimalRequest());

        StringBuilder expected = new StringBuilder();
        for (Schema.Field field : ReplicationRequest.getClassSchema().getFields()) {
            expected.append(".*\"").append(field.name()).append("\":");
        }
        assertThat(json).matches(expected + ".*");
        assertThat(json)
                .isEqualTo(
                        "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\","
                                + "\"sourceSnapshotId\":\"snap-0123456789abcdef0\",\"baseSnapshotId\":null,"
                                + "\"mode\":\"AUTO\",\"targets\":[{\"region\":\"us-west-2\","
                                + "\"parentSnapshotId\":null,\"encrypted\":false,\"kmsKeyArn\":null,"
                                + "\"tags\":{},\"description\":null,\"roleArn\":null}],\"deadline\":null,\"priority\":0,"
                                + "\"requestedAt\":null,\"attributes\":{}}");
    }

    @Test
    void readsTimestampsAsIsoInstantsOrEpochMillis() {
        ReplicationRequest request =
                RequestJson.parse(
                        minimal(
                                ",\"deadline\":\"2025-01-31T18:00:00Z\","
                                        + "\"requestedAt\":1738324800123"));

        assertThat(request.getDeadline()).isEqualTo(Instant.parse("2025-01-31T18:00:00Z"));
        assertThat(request.getRequestedAt()).isEqualTo(Instant.parse("2025-01-31T12:00:00.123Z"));
        assertThat(RequestJson.toJson(request))
                .contains("\"deadline\":\"2025-01-31T18:00:00Z\"")
                .contains("\"requestedAt\":\"2025-01-31T12:00:00.123Z\"");
    }

    @Test
    void keepsMillisecondsOnly() {
        ReplicationRequest request =
                RequestJson.parse(minimal(",\"deadline\":\"2025-01-31T18:00:00.123456789Z\""));

        assertThat(request.getDeadline()).isEqualTo(Instant.parse("2025-01-31T18:00:00.123Z"));
    }

    @Test
    void readsEveryTargetField() {
        ReplicationRequest request =
                RequestJson.parse(
                        "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\","
                                + "\"sourceSnapshotId\":\"snap-0123456789abcdef0\","
                                + "\"baseSnapshotId\":\"snap-0fedcba9876543210\",\"mode\":\"FULL\","
                                + "\"targets\":[{\"region\":\"eu-west-1\","
                                + "\"parentSnapshotId\":\"snap-08192a3b4c5d6e7f8\",\"encrypted\":true,"
                                + "\"kmsKeyArn\":\"arn:aws:kms:eu-west-1:123456789012:key/k\","
                                + "\"tags\":{\"a\":\"1\",\"b\":\"2\"},\"description\":\"d\"}],"
                                + "\"priority\":-3,\"attributes\":{\"ticket\":\"OPS-1\"}}");

        assertThat(request.getBaseSnapshotId()).isEqualTo("snap-0fedcba9876543210");
        assertThat(request.getMode()).isEqualTo(CopyMode.FULL);
        assertThat(request.getPriority()).isEqualTo(-3);
        assertThat(request.getAttributes()).containsExactly(Map.entry("ticket", "OPS-1"));
        ReplicationTarget target = request.getTargets().get(0);
        assertThat(target.getParentSnapshotId()).isEqualTo("snap-08192a3b4c5d6e7f8");
        assertThat(target.getEncrypted()).isTrue();
        assertThat(target.getKmsKeyArn()).isEqualTo("arn:aws:kms:eu-west-1:123456789012:key/k");
        assertThat(target.getTags()).containsExactly(Map.entry("a", "1"), Map.entry("b", "2"));
        assertThat(target.getDescription()).isEqualTo("d");
    }

    @ParameterizedTest
    @CsvSource(
            delimiter = '|',
            value = {
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[],\"colour\":1}|unknown field 'colour'",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[{\"region\":\"us-west-2\",\"kmsKey\":\"k\"}]}|unknown field 'targets[0].kmsKey'",
                "{\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[]}|missing required field 'requestId'",
                "{\"requestId\":null,\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[]}|missing required field 'requestId'",
                "{\"requestId\":\"r1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[]}|missing required field 'sourceRegion'",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"targets\":[]}|missing required field 'sourceSnapshotId'",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\"}|missing required field 'targets'",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[{}]}|missing required field 'targets[0].region'",
                "{\"requestId\":1,\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[]}|field 'requestId' must be a string, not number 1",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"baseSnapshotId\":false,\"targets\":[]}|field 'baseSnapshotId' must be a string or null",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":{\"region\":\"us-west-2\"}}|field 'targets' must be an array of targets, not object",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[\"us-west-2\"]}|field 'targets[0]' must be a JSON object, not string",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[],\"mode\":\"PARTIAL\"}|field 'mode' must be one of AUTO, FULL, not 'PARTIAL'",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[],\"mode\":0}|field 'mode' must be one of AUTO, FULL, not number",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[],\"mode\":null}|field 'mode' must not be null",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[],\"priority\":\"high\"}|field 'priority' must be a 32-bit integer, not string",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[],\"priority\":1.5}|field 'priority' must be a 32-bit integer, not number",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[],\"priority\":3000000000}|field 'priority' must be a 32-bit integer, not number",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[{\"region\":\"us-west-2\",\"encrypted\":\"true\"}]}|field 'targets[0].encrypted' must be true or false, not string",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[{\"region\":\"us-west-2\",\"encrypted\":null}]}|field 'targets[0].encrypted' must not be null",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[{\"region\":\"us-west-2\",\"tags\":{\"k\":1}}]}|field 'targets[0].tags.k' must be a string, not number",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[{\"region\":\"us-west-2\",\"tags\":[\"k\"]}]}|field 'targets[0].tags' must be an object of strings, not array",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[],\"attributes\":\"x\"}|field 'attributes' must be an object of strings, not string",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[],\"deadline\":\"tomorrow\"}|field 'deadline' must be an ISO-8601 instant such as 2025-01-31T12:00:00Z, not 'tomorrow'",
                "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\",\"sourceSnapshotId\":\"snap-01234567\",\"targets\":[],\"requestedAt\":true}|field 'requestedAt' must be an ISO-8601 instant or epoch milliseconds, not boolean",
                "[]|field 'request' must be a JSON object, not array",
                "{\"requestId\":\"r1\",\"requestId\":\"r2\"}|request is not valid JSON: Duplicate field 'requestId'",
                "{\"requestId\":\"r1\"} {}|request is not valid JSON",
                "{\"requestId\":|request is not valid JSON",
                "' '|request JSON is empty",
            })
    void refusesWithAMessageNamingTheField(String json, String message) {
        assertThatThrownBy(() -> RequestJson.parse(json))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }

    @Test
    void refusesNull() {
        assertThatThrownBy(() -> RequestJson.parse(null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("request JSON is null");
    }

    @Test
    void namesTheKnownFieldsForAnUnknownOne() {
        assertThatThrownBy(() -> RequestJson.parse(minimal(",\"target\":[]")))
                .hasMessageContaining(
                        "unknown field 'target'; known fields: attributes, baseSnapshotId");
    }

    @Test
    void acceptsEveryFieldOfTheSchema() {
        // The mapping is written out by hand; this catches a schema field it does not know.
        String json = RequestJson.toJson(Examples.request());

        assertThat(RequestJson.parse(json)).isEqualTo(Examples.request());
        for (Schema.Field field : ReplicationRequest.getClassSchema().getFields()) {
            assertThat(json).contains("\"" + field.name() + "\":");
        }
        for (Schema.Field field : ReplicationTarget.getClassSchema().getFields()) {
            assertThat(json).contains("\"" + field.name() + "\":");
        }
    }

    private static String minimal(String more) {
        return "{\"requestId\":\"r1\",\"sourceRegion\":\"us-east-1\","
                + "\"sourceSnapshotId\":\"snap-0123456789abcdef0\","
                + "\"targets\":[{\"region\":\"us-west-2\"}]"
                + more
                + "}";
    }
}
