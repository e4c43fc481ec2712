package io.ebsreplicator.schemas;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Unit tests of {@link ResultJson}: the exact line for a result, field names and order. */
class ResultJsonTest {

    @Test
    void writesACompletedResultOnOneLine() {
        assertThat(ResultJson.toJson(Examples.result()))
                .isEqualTo(
                        "{\"requestId\":\"req-2025-01-31-0001\",\"sourceRegion\":\"us-east-1\","
                                + "\"sourceSnapshotId\":\"snap-0123456789abcdef0\",\"targetRegion\":\"us-west-2\","
                                + "\"targetSnapshotId\":\"snap-0a1b2c3d4e5f60718\",\"status\":\"COMPLETED\","
                                + "\"blocksWritten\":1234,\"bytesWritten\":646971392,"
                                + "\"checksum\":\"n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=\","
                                + "\"durationMs\":98765,\"copyMode\":\"INCREMENTAL\","
                                + "\"baseSnapshotId\":\"snap-0fedcba9876543210\","
                                + "\"targetParentSnapshotId\":\"snap-08192a3b4c5d6e7f8\","
                                + "\"fallbackReason\":null,\"error\":null,"
                                + "\"completedAt\":\"2025-01-31T12:01:39.456Z\","
                                + "\"attributes\":{\"caller\":\"nightly-dr\",\"ticket\":\"OPS-42\"}}");
    }

    @Test
    void writesAFailureWithItsError() throws Exception {
        JsonNode json = new ObjectMapper().readTree(ResultJson.toJson(Examples.failedResult()));

        assertThat(json.get("status").asText()).isEqualTo("FAILED");
        assertThat(json.get("targetSnapshotId").isNull()).isTrue();
        assertThat(json.get("copyMode").isNull()).isTrue();
        assertThat(json.get("error").get("reason").asText()).isEqualTo("SOURCE_SNAPSHOT_NOT_FOUND");
        assertThat(json.get("error").get("message").asText())
                .isEqualTo("snap-0123456789abcdef0 does not exist in us-east-1");
        assertThat(json.get("completedAt").asText()).isEqualTo("2025-01-31T12:00:00.015Z");
        assertThat(json.get("attributes").isObject()).isTrue();
        assertThat(json.get("attributes").size()).isZero();
    }

    @Test
    void usesTheFieldNamesOfTheResultSchemaInOrder() throws Exception {
        JsonNode json = new ObjectMapper().readTree(ResultJson.toJson(Examples.failedResult()));

        List<String> names = new ArrayList<>();
        json.fieldNames().forEachRemaining(names::add);
        assertThat(names)
                .containsExactlyElementsOf(
                        ReplicationResult.getClassSchema().getFields().stream()
                                .map(Schema.Field::name)
                                .toList());
        List<String> errorNames = new ArrayList<>();
        json.get("error").fieldNames().forEachRemaining(errorNames::add);
        assertThat(errorNames).containsExactly("reason", "message");
    }

    @Test
    void writesTheSameLineForADecodedResult() throws Exception {
        AvroCodec<ReplicationResult> codec = AvroCodec.forResults();
        ReplicationResult decoded = codec.decode(codec.encode(Examples.result()));

        assertThat(ResultJson.toJson(decoded)).isEqualTo(ResultJson.toJson(Examples.result()));
    }
}
