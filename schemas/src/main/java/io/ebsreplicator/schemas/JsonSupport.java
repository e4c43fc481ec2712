package io.ebsreplicator.schemas;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.IndexedRecord;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The JSON plumbing shared by {@link RequestJson} and {@link ResultJson}: one strict, shared {@link
 * ObjectMapper} and the writer that turns a generated record into JSON with the schema's field
 * names. Used in operator tools and the job's command line.
 */
final class JsonSupport {

    /** Thread-safe once configured; strict so that a typo in a hand-written file is reported. */
    static final ObjectMapper MAPPER =
            new ObjectMapper()
                    .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
                    .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                    .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private JsonSupport() {}

    /** Parses a JSON document into a tree, turning syntax errors into IllegalArgumentException. */
    static JsonNode readTree(String json, String what) {
        if (json == null) {
            throw new IllegalArgumentException(what + " JSON is null");
        }
        try {
            JsonNode node = MAPPER.readTree(json);
            if (node == null || node.isMissingNode()) {
                throw new IllegalArgumentException(what + " JSON is empty");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(
                    what + " is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** One line of JSON for a record, with the schema's field names, in schema order. */
    static String toJson(IndexedRecord record) {
        try {
            return MAPPER.writeValueAsString(toNode(record));
        } catch (JsonProcessingException e) {
            // A tree of plain nodes always serialises; this would be a bug here.
            throw new IllegalStateException("cannot write JSON", e);
        }
    }

    /**
     * A record as a JSON object: nulls are written as null, timestamps as ISO-8601 strings, enums
     * by name, bytes as base64, maps as objects.
     */
    static ObjectNode toNode(IndexedRecord record) {
        ObjectNode node = NODES.objectNode();
        for (Schema.Field field : record.getSchema().getFields()) {
            node.set(field.name(), toNode(record.get(field.pos())));
        }
        return node;
    }

    private static JsonNode toNode(Object value) {
        if (value == null) {
            return NODES.nullNode();
        } else if (value instanceof IndexedRecord) {
            return toNode((IndexedRecord) value);
        } else if (value instanceof CharSequence) {
            return NODES.textNode(value.toString());
        } else if (value instanceof Instant) {
            return NODES.textNode(value.toString());
        } else if (value instanceof Enum<?>) {
            return NODES.textNode(((Enum<?>) value).name());
        } else if (value instanceof GenericEnumSymbol<?>) {
            return NODES.textNode(value.toString());
        } else if (value instanceof Boolean) {
            return NODES.booleanNode((Boolean) value);
        } else if (value instanceof Integer) {
            return NODES.numberNode((Integer) value);
        } else if (value instanceof Long) {
            return NODES.numberNode((Long) value);
        } else if (value instanceof Float) {
            return NODES.numberNode((Float) value);
        } else if (value instanceof Double) {
            return NODES.numberNode((Double) value);
        } else if (value instanceof ByteBuffer) {
            ByteBuffer bytes = ((ByteBuffer) value).duplicate();
            byte[] copy = new byte[bytes.remaining()];
            bytes.get(copy);
            return NODES.textNode(Base64.getEncoder().encodeToString(copy));
        } else if (value instanceof Map<?, ?>) {
            // Sorted by key: decoded maps have no order, and the same record should print the same.
            Map<String, JsonNode> sorted = new TreeMap<>();
            ((Map<?, ?>) value).forEach((k, v) -> sorted.put(String.valueOf(k), toNode(v)));
            ObjectNode node = NODES.objectNode();
            node.setAll(sorted);
            return node;
        } else if (value instanceof List<?>) {
            ArrayNode node = NODES.arrayNode();
            ((List<?>) value).forEach(v -> node.add(toNode(v)));
            return node;
        }
        throw new IllegalArgumentException(
                "no JSON form for a " + value.getClass().getName() + " value");
    }
}
