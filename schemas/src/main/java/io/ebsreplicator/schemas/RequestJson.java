package io.ebsreplicator.schemas;

import com.fasterxml.jackson.databind.JsonNode;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The JSON form of a {@link ReplicationRequest}, for operators and scripts that do not speak Avro:
 * plain JSON with the schema's field names, such as
 *
 * <pre>{@code
 * {"requestId":"r1","sourceRegion":"us-east-1","sourceSnapshotId":"snap-0123456789abcdef0",
 *  "baseSnapshotId":null,"mode":"AUTO","targets":[{"region":"us-west-2","tags":{"k":"v"}}]}
 * }</pre>
 *
 * <p>Fields with a default may be left out; {@code deadline} and {@code requestedAt} are ISO-8601
 * instants ({@code 2025-01-31T12:00:00Z}) or epoch milliseconds. Parsing is strict: an unknown
 * field, a wrong type, a duplicate key or trailing content is an {@link IllegalArgumentException}
 * naming the field. Parsing does not validate; call {@link RequestValidator#validate} next. Used by
 * the job's command line and by operator tools.
 */
public final class RequestJson {

    private static final Set<String> REQUEST_FIELDS =
            Set.of(
                    "requestId",
                    "sourceRegion",
                    "sourceSnapshotId",
                    "baseSnapshotId",
                    "mode",
                    "targets",
                    "deadline",
                    "priority",
                    "requestedAt",
                    "attributes");

    private static final Set<String> TARGET_FIELDS =
            Set.of(
                    "region",
                    "parentSnapshotId",
                    "encrypted",
                    "kmsKeyArn",
                    "tags",
                    "description",
                    "roleArn");

    private RequestJson() {}

    /**
     * Reads a request from JSON.
     *
     * @throws IllegalArgumentException if the JSON is not valid, has unknown fields, lacks a
     *     required field or has a value of the wrong type; the message names the field
     */
    public static ReplicationRequest parse(String json) {
        JsonNode root = JsonSupport.readTree(json, "request");
        requireObject(root, "request");
        checkFields(root, REQUEST_FIELDS, "");

        ReplicationRequest.Builder request =
                ReplicationRequest.newBuilder()
                        .setRequestId(requiredString(root, "requestId", ""))
                        .setSourceRegion(requiredString(root, "sourceRegion", ""))
                        .setSourceSnapshotId(requiredString(root, "sourceSnapshotId", ""))
                        .setBaseSnapshotId(optionalString(root, "baseSnapshotId", ""))
                        .setTargets(targets(root));
        if (present(root, "mode", "")) {
            request.setMode(mode(root.get("mode")));
        }
        request.setDeadline(timestamp(root, "deadline", ""));
        if (present(root, "priority", "")) {
            request.setPriority(intValue(root.get("priority"), "priority"));
        }
        request.setRequestedAt(timestamp(root, "requestedAt", ""));
        if (present(root, "attributes", "")) {
            request.setAttributes(stringMap(root.get("attributes"), "attributes"));
        }
        return request.build();
    }

    /** One line of JSON that {@link #parse} reads back into an equal request. */
    public static String toJson(ReplicationRequest request) {
        return JsonSupport.toJson(Objects.requireNonNull(request, "request"));
    }

    private static List<ReplicationTarget> targets(JsonNode root) {
        JsonNode node = root.get("targets");
        if (node == null || node.isNull()) {
            throw new IllegalArgumentException("missing required field 'targets'");
        }
        if (!node.isArray()) {
            throw wrongType("targets", "an array of targets", node);
        }
        List<ReplicationTarget> targets = new ArrayList<>(node.size());
        for (int i = 0; i < node.size(); i++) {
            String prefix = "targets[" + i + "].";
            JsonNode t = node.get(i);
            requireObject(t, "targets[" + i + "]");
            checkFields(t, TARGET_FIELDS, prefix);
            ReplicationTarget.Builder target =
                    ReplicationTarget.newBuilder()
                            .setRegion(requiredString(t, "region", prefix))
                            .setParentSnapshotId(optionalString(t, "parentSnapshotId", prefix))
                            .setKmsKeyArn(optionalString(t, "kmsKeyArn", prefix))
                            .setDescription(optionalString(t, "description", prefix))
                            .setRoleArn(optionalString(t, "roleArn", prefix));
            if (present(t, "encrypted", prefix)) {
                JsonNode encrypted = t.get("encrypted");
                if (!encrypted.isBoolean()) {
                    throw wrongType(prefix + "encrypted", "true or false", encrypted);
                }
                target.setEncrypted(encrypted.booleanValue());
            }
            if (present(t, "tags", prefix)) {
                target.setTags(stringMap(t.get("tags"), prefix + "tags"));
            }
            targets.add(target.build());
        }
        return targets;
    }

    private static CopyMode mode(JsonNode node) {
        if (!node.isTextual()) {
            throw wrongType("mode", "one of AUTO, FULL", node);
        }
        for (CopyMode mode : CopyMode.values()) {
            if (mode.name().equals(node.textValue())) {
                return mode;
            }
        }
        throw new IllegalArgumentException(
                "field 'mode' must be one of AUTO, FULL, not '" + node.textValue() + "'");
    }

    /**
     * A field that is present with a value. Fields with defaults may be absent; an explicit null is
     * refused for them below, since their schema type does not allow null.
     */
    private static boolean present(JsonNode object, String name, String prefix) {
        JsonNode node = object.get(name);
        if (node == null) {
            return false;
        }
        if (node.isNull()) {
            throw new IllegalArgumentException(
                    "field '" + prefix + name + "' must not be null; leave it out for the default");
        }
        return true;
    }

    private static void requireObject(JsonNode node, String what) {
        if (!node.isObject()) {
            throw wrongType(what, "a JSON object", node);
        }
    }

    private static void checkFields(JsonNode object, Set<String> known, String prefix) {
        for (Iterator<String> names = object.fieldNames(); names.hasNext(); ) {
            String name = names.next();
            if (!known.contains(name)) {
                throw new IllegalArgumentException(
                        "unknown field '"
                                + prefix
                                + name
                                + "'; known fields: "
                                + String.join(", ", known.stream().sorted().toList()));
            }
        }
    }

    private static String requiredString(JsonNode object, String name, String prefix) {
        JsonNode node = object.get(name);
        if (node == null || node.isNull()) {
            throw new IllegalArgumentException("missing required field '" + prefix + name + "'");
        }
        if (!node.isTextual()) {
            throw wrongType(prefix + name, "a string", node);
        }
        return node.textValue();
    }

    private static String optionalString(JsonNode object, String name, String prefix) {
        JsonNode node = object.get(name);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw wrongType(prefix + name, "a string or null", node);
        }
        return node.textValue();
    }

    private static int intValue(JsonNode node, String field) {
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw wrongType(field, "a 32-bit integer", node);
        }
        return node.intValue();
    }

    private static Instant timestamp(JsonNode object, String name, String prefix) {
        JsonNode node = object.get(name);
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            return Instant.ofEpochMilli(node.longValue());
        }
        if (!node.isTextual()) {
            throw wrongType(prefix + name, "an ISO-8601 instant or epoch milliseconds", node);
        }
        try {
            // The schema keeps milliseconds; finer digits would not survive encoding.
            return Instant.parse(node.textValue()).truncatedTo(ChronoUnit.MILLIS);
        } catch (DateTimeParseException e) {
            throw new IllegalArgumentException(
                    "field '"
                            + prefix
                            + name
                            + "' must be an ISO-8601 instant such as 2025-01-31T12:00:00Z, not '"
                            + node.textValue()
                            + "'",
                    e);
        }
    }

    private static Map<String, String> stringMap(JsonNode node, String field) {
        if (!node.isObject()) {
            throw wrongType(field, "an object of strings", node);
        }
        Map<String, String> map = new LinkedHashMap<>();
        node.fields()
                .forEachRemaining(
                        entry -> {
                            if (!entry.getValue().isTextual()) {
                                throw wrongType(
                                        field + "." + entry.getKey(), "a string", entry.getValue());
                            }
                            map.put(entry.getKey(), entry.getValue().textValue());
                        });
        return map;
    }

    private static IllegalArgumentException wrongType(String field, String expected, JsonNode got) {
        return new IllegalArgumentException(
                "field '"
                        + field
                        + "' must be "
                        + expected
                        + ", not "
                        + got.getNodeType().name().toLowerCase(Locale.ROOT)
                        + " "
                        + abbreviate(got.toString()));
    }

    /** Enough of a wrong value to recognise it, without echoing a whole document. */
    private static String abbreviate(String text) {
        return text.length() <= 60 ? text : text.substring(0, 57) + "...";
    }
}
