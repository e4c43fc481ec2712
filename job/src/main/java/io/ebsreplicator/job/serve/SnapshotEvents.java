package io.ebsreplicator.job.serve;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.schemas.ResourceIds;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Amazon EventBridge EBS snapshot events on the requests topic, as an EventBridge-to-Kafka pipe
 * publishes them (the event's JSON as the record value): {@code createSnapshot} and {@code
 * copySnapshot} ("EBS Snapshot Notification") and {@code createSnapshots} ("EBS Multi-Volume
 * Snapshots Completion Status"). Each succeeded snapshot becomes a request without targets, for the
 * DR policy to plan: the source is the snapshot in the event's region, its lineage is the source
 * volume (so each copy is incremental from the last one of that volume), its request id is derived
 * from region and snapshot id (an event delivered twice is one request). Failed events and other
 * events are skipped with their reason; a message that is JSON but not a usable event is malformed
 * (a dead letter). Stateless; runs on the JobManager, in the intake.
 */
public final class SnapshotEvents {

    /** EventBridge's own limit on an event; larger JSON is no event of theirs. */
    public static final int MAX_EVENT_BYTES = 256 * 1024;

    /** Bound on the snapshots of one multi-volume event (EBS allows far fewer per instance). */
    static final int MAX_SNAPSHOTS = 128;

    static final String SINGLE = "EBS Snapshot Notification";
    static final String MULTI = "EBS Multi-Volume Snapshots Completion Status";

    /** Attribute of the requests made here: the EventBridge event name. */
    static final String EVENT_ATTRIBUTE = "event";

    private static final ObjectMapper JSON =
            new ObjectMapper(
                    JsonFactory.builder()
                            // AWS's own shareSnapshot sample has "source": 012345678901.
                            .enable(JsonReadFeature.ALLOW_LEADING_ZEROS_FOR_NUMBERS)
                            .streamReadConstraints(
                                    StreamReadConstraints.builder().maxNestingDepth(16).build())
                            .build());

    private SnapshotEvents() {}

    /** What a message came to. */
    public sealed interface Parsed {
        /** One request per succeeded snapshot of the event. */
        record Requests(List<ReplicationRequest> requests) implements Parsed {}

        /** An event this job does not act on (failed, or not a snapshot creation or copy). */
        record Skipped(String why) implements Parsed {}

        /** JSON that is not a usable EventBridge snapshot event. */
        record Malformed(String why) implements Parsed {}
    }

    /**
     * Whether a message is JSON (an event) rather than single-object Avro (a request): its first
     * byte that is not white space is <code>{</code>. Avro messages start with 0xC3.
     */
    public static boolean isJson(byte[] value) {
        for (byte b : value) {
            if (b == '{') {
                return true;
            }
            if (b != ' ' && b != '\n' && b != '\r' && b != '\t') {
                return false;
            }
        }
        return false;
    }

    public static Parsed parse(byte[] value) {
        if (value.length > MAX_EVENT_BYTES) {
            return new Parsed.Malformed(
                    "the event has " + value.length + " bytes, more than " + MAX_EVENT_BYTES);
        }
        JsonNode e;
        try {
            e = JSON.readTree(new String(value, StandardCharsets.UTF_8));
        } catch (JsonProcessingException ex) {
            return new Parsed.Malformed("not JSON: " + ex.getOriginalMessage());
        }
        if (e == null || !e.isObject()) {
            return new Parsed.Malformed("not a JSON object");
        }
        String detailType = text(e, "detail-type");
        if (text(e, "source") == null || detailType == null) {
            // Not an EventBridge event at all (a request sent as JSON, a stray document): nothing
            // a pipe delivers, so it is reported, not skipped quietly.
            return new Parsed.Malformed("not an EventBridge event: no source and detail-type");
        }
        if (!"aws.ec2".equals(text(e, "source"))
                || !(SINGLE.equals(detailType) || MULTI.equals(detailType))) {
            return new Parsed.Skipped(
                    "not an EBS snapshot event (source "
                            + shorten(text(e, "source"))
                            + ", detail-type "
                            + shorten(detailType)
                            + ")");
        }
        JsonNode detail = e.get("detail");
        if (detail == null || !detail.isObject()) {
            return new Parsed.Malformed("detail is missing");
        }
        String event = text(detail, "event");
        String result = text(detail, "result");
        if (!"createSnapshot".equals(event)
                && !"createSnapshots".equals(event)
                && !"copySnapshot".equals(event)) {
            return new Parsed.Skipped(
                    "event " + shorten(event) + " is not a snapshot creation or copy");
        }
        if (!"succeeded".equals(result)) {
            return new Parsed.Skipped(
                    event
                            + " "
                            + shorten(result)
                            + (text(detail, "cause") == null || text(detail, "cause").isEmpty()
                                    ? ""
                                    : ": " + shorten(text(detail, "cause"))));
        }
        String region = text(e, "region");
        if (!ResourceIds.isRegionName(region)) {
            return new Parsed.Malformed("region '" + shorten(region) + "' is not a region");
        }
        List<ReplicationRequest> out = new ArrayList<>();
        if ("createSnapshots".equals(event)) {
            JsonNode snapshots = detail.get("snapshots");
            if (snapshots == null || !snapshots.isArray() || snapshots.isEmpty()) {
                return new Parsed.Malformed("detail.snapshots is missing or empty");
            }
            if (snapshots.size() > MAX_SNAPSHOTS) {
                return new Parsed.Malformed(
                        "detail.snapshots has "
                                + snapshots.size()
                                + " entries, more than "
                                + MAX_SNAPSHOTS);
            }
            for (int i = 0; i < snapshots.size(); i++) {
                JsonNode s = snapshots.get(i);
                if (!"completed".equals(text(s, "status"))) {
                    continue; // a failed member is reported by its own status
                }
                String id = resourceId(text(s, "snapshot_id"), ResourceIds::isSnapshotId);
                if (id == null) {
                    return new Parsed.Malformed(
                            "detail.snapshots[" + i + "].snapshot_id is not a snapshot ARN");
                }
                out.add(
                        request(
                                region,
                                id,
                                resourceId(text(s, "source"), ResourceIds::isVolumeId),
                                event));
            }
        } else {
            String id = resourceId(text(detail, "snapshot_id"), ResourceIds::isSnapshotId);
            if (id == null) {
                return new Parsed.Malformed(
                        "detail.snapshot_id '"
                                + shorten(text(detail, "snapshot_id"))
                                + "' is not a snapshot ARN");
            }
            // createSnapshot's source is the volume; copySnapshot's is the snapshot copied,
            // whose volume the event does not say (a copy has none of its own).
            String volume =
                    "createSnapshot".equals(event)
                            ? resourceId(text(detail, "source"), ResourceIds::isVolumeId)
                            : null;
            out.add(request(region, id, volume, event));
        }
        return new Parsed.Requests(out);
    }

    private static ReplicationRequest request(
            String region, String snapshotId, String volumeId, String event) {
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put(EVENT_ATTRIBUTE, event);
        if (volumeId != null) {
            attributes.put(RequestMapping.LINEAGE_ATTRIBUTE, volumeId);
            attributes.put(ReplicationRequest.VOLUME_ATTRIBUTE, volumeId);
        }
        return new ReplicationRequest(
                requestId(region, snapshotId),
                region,
                snapshotId,
                null,
                List.of(),
                volumeId,
                volumeId != null,
                attributes,
                ReplicationRequest.NO_DEADLINE,
                0);
    }

    /** One request per snapshot and region, however often its event is delivered. */
    static String requestId(String region, String snapshotId) {
        return "ebs-event/" + region + "/" + snapshotId;
    }

    /**
     * The id at the end of an ARN ({@code arn:aws:ec2:<region>:<account>:snapshot/snap-...}), or
     * {@code null}. AWS's own samples put the region in the account's place, so only the part after
     * the last '/' is read.
     */
    static String resourceId(String arn, Predicate<String> id) {
        if (arn == null || !arn.startsWith("arn:") || arn.length() > 256) {
            return null;
        }
        String last = arn.substring(arn.lastIndexOf('/') + 1);
        return id.test(last) ? last : null;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || !v.isTextual() ? null : v.textValue();
    }

    private static String shorten(String s) {
        return s == null ? "(none)" : s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }
}
