package io.ebsreplicator.connector.ebs.model;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a request is copied, as its results report it: in full or incrementally, from which base,
 * onto which parent in each target region, and why a request that asked for an incremental copy got
 * a full one; and the request's attributes, which every result echoes. Travels as one string with
 * the splits, the end-of-split markers and into completion, so records stay flat.
 *
 * @param incremental whether only the blocks changed since {@code baseSnapshotId} are copied;
 *     {@code null} when the request failed before its mode was decided
 * @param baseSnapshotId the base of an incremental copy, else {@code null}
 * @param parents the parent of the target in each region (the copy of the base)
 * @param fallbackReason why a copy from the latest replicated snapshot became a full copy
 * @param attributes the request's attributes, echoed into its results
 */
public record CopyInfo(
        Boolean incremental,
        String baseSnapshotId,
        Map<String, String> parents,
        String fallbackReason,
        Map<String, String> attributes) {

    public CopyInfo {
        parents = Collections.unmodifiableMap(new LinkedHashMap<>(parents));
        attributes =
                attributes == null
                        ? Map.of()
                        : Collections.unmodifiableMap(new LinkedHashMap<>(attributes));
    }

    /** Copy details without attributes. */
    public CopyInfo(
            boolean incremental,
            String baseSnapshotId,
            Map<String, String> parents,
            String fallbackReason) {
        this(Boolean.valueOf(incremental), baseSnapshotId, parents, fallbackReason, Map.of());
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
        return new CopyInfo(incremental, baseSnapshotId, parents, reason, attributes);
    }

    /**
     * {@code I|base|region=parent,...|reason} with each part base64url ({@code -} for none; the
     * mode {@code -} when undecided), for one string field; then, only if there are attributes,
     * {@code |key=value,...} with each key and value base64url.
     */
    public String encode() {
        StringBuilder parentList = new StringBuilder();
        for (Map.Entry<String, String> e : parents.entrySet()) {
            if (parentList.length() > 0) {
                parentList.append(',');
            }
            parentList.append(e.getKey()).append('=').append(e.getValue());
        }
        String encoded =
                (incremental == null ? "-" : incremental ? "I" : "F")
                        + "|"
                        + part(baseSnapshotId)
                        + "|"
                        + part(parentList.toString())
                        + "|"
                        + part(fallbackReason);
        if (attributes.isEmpty()) {
            return encoded; // the same as before attributes travelled here
        }
        StringBuilder attributeList = new StringBuilder();
        for (Map.Entry<String, String> e : attributes.entrySet()) {
            if (attributeList.length() > 0) {
                attributeList.append(',');
            }
            attributeList.append(part(e.getKey())).append('=').append(part(e.getValue()));
        }
        return encoded + "|" + attributeList;
    }

    /**
     * The inverse of {@link #encode()}, also of the four-part form written before attributes
     * travelled here (no attributes); {@code null} for {@code null}.
     */
    public static CopyInfo decode(String encoded) {
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

    private static String part(String s) {
        return s == null
                ? "-"
                : Base64.getUrlEncoder()
                        .withoutPadding()
                        .encodeToString(s.getBytes(StandardCharsets.UTF_8));
    }

    private static String unpart(String s) {
        return "-".equals(s)
                ? null
                : new String(Base64.getUrlDecoder().decode(s), StandardCharsets.UTF_8);
    }
}
