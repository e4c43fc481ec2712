package io.ebsreplicator.connector.ebs.model;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a request is copied, as its results report it: in full or incrementally, from which base,
 * onto which parent in each target region, and why a request that asked for an incremental copy got
 * a full one; and the request's attributes, which every result echoes. Travels with the splits, the
 * end-of-split markers and request failures into completion (a record of strings and maps: Flink
 * serializes it as a POJO without Kryo); never with single blocks, which stay small.
 *
 * @param incremental whether only the blocks changed since {@code baseSnapshotId} are copied;
 *     {@code null} when the request failed before its mode was decided
 * @param baseSnapshotId the base of an incremental copy, else {@code null}
 * @param parents the parent of the target in each region (the copy of the base)
 * @param fallbackReason why a copy from the latest replicated snapshot became a full copy
 * @param attributes the request's attributes, echoed into its results
 * @param roles the IAM role that writes the target in each region written as a role
 */
public record CopyInfo(
        Boolean incremental,
        String baseSnapshotId,
        Map<String, String> parents,
        String fallbackReason,
        Map<String, String> attributes,
        Map<String, String> roles) {

    public CopyInfo(
            Boolean incremental,
            String baseSnapshotId,
            Map<String, String> parents,
            String fallbackReason,
            Map<String, String> attributes) {
        this(incremental, baseSnapshotId, parents, fallbackReason, attributes, Map.of());
    }

    public CopyInfo {
        parents =
                parents == null
                        ? Map.of()
                        : Collections.unmodifiableMap(new LinkedHashMap<>(parents));
        attributes =
                attributes == null
                        ? Map.of()
                        : Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
        roles =
                roles == null || roles.isEmpty()
                        ? Map.of()
                        : Collections.unmodifiableMap(new LinkedHashMap<>(roles));
    }

    /** This copy info with the roles that write the targets. */
    public CopyInfo withRoles(Map<String, String> roleByRegion) {
        return new CopyInfo(
                incremental, baseSnapshotId, parents, fallbackReason, attributes, roleByRegion);
    }

    /** The role that writes the target in {@code region}, or {@code null}: the job's own. */
    public String roleArn(String region) {
        return roles.get(region);
    }

    /** What an explicit request asks for. */
    public static CopyInfo of(ReplicationRequest r) {
        Map<String, String> parents = new LinkedHashMap<>();
        for (ReplicationTarget t : r.targets()) {
            if (t.parentSnapshotId() != null) {
                parents.put(t.region(), t.parentSnapshotId());
            }
        }
        return new CopyInfo(r.incremental(), r.baseSnapshotId(), parents, null, r.attributes());
    }

    /** Only the attributes of a request that failed before it was resolved. */
    public static CopyInfo undecided(ReplicationRequest r) {
        return new CopyInfo(null, null, Map.of(), null, r.attributes());
    }

    public CopyInfo withFallback(String reason) {
        return new CopyInfo(incremental, baseSnapshotId, parents, reason, attributes, roles);
    }

    /**
     * Reads the one-string form in which splits of serializer version 4 and stream records and
     * completion state of earlier versions carried copy info: {@code
     * I|base|region=parent,...|reason} with each part base64url ({@code -} for none; the mode
     * {@code F} for full, {@code -} when undecided), then, only if there were attributes, {@code
     * |key=value,...} with each key and value base64url; also the four-part form written before
     * attributes travelled with it. {@code null} for {@code null} or empty. Nothing writes it any
     * more.
     */
    public static CopyInfo decodeLegacy(String encoded) {
        if (encoded == null || encoded.isEmpty()) {
            return null;
        }
        String[] p = encoded.split("\\|", -1);
        if (p.length != 4 && p.length != 5) {
            throw new IllegalArgumentException("Not a copy info: " + encoded);
        }
        Map<String, String> parents = new LinkedHashMap<>();
        String list = unpart(p[2]);
        if (list != null && !list.isEmpty()) {
            for (String pair : list.split(",")) {
                int eq = pair.indexOf('=');
                parents.put(pair.substring(0, eq), pair.substring(eq + 1));
            }
        }
        Map<String, String> attributes = new LinkedHashMap<>();
        if (p.length == 5 && !p[4].isEmpty()) {
            for (String pair : p[4].split(",", -1)) {
                int eq = pair.indexOf('=');
                if (eq < 0) {
                    throw new IllegalArgumentException("Not a copy info: " + encoded);
                }
                attributes.put(unpart(pair.substring(0, eq)), unpart(pair.substring(eq + 1)));
            }
        }
        Boolean incremental = "-".equals(p[0]) ? null : "I".equals(p[0]);
        return new CopyInfo(incremental, unpart(p[1]), parents, unpart(p[3]), attributes);
    }

    private static String unpart(String s) {
        return "-".equals(s)
                ? null
                : new String(Base64.getUrlDecoder().decode(s), StandardCharsets.UTF_8);
    }
}
