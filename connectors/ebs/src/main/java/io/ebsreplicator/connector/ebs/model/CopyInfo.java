package io.ebsreplicator.connector.ebs.model;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How a request is copied, as its results report it: in full or incrementally, from which base,
 * onto which parent in each target region, and why a request that asked for an incremental copy got
 * a full one. Travels as one string with the splits, the end-of-split markers and into completion,
 * so records stay flat.
 *
 * @param incremental whether only the blocks changed since {@code baseSnapshotId} are copied
 * @param baseSnapshotId the base of an incremental copy, else {@code null}
 * @param parents the parent of the target in each region (the copy of the base)
 * @param fallbackReason why a copy from the latest replicated snapshot became a full copy
 */
public record CopyInfo(
        boolean incremental,
        String baseSnapshotId,
        Map<String, String> parents,
        String fallbackReason) {

    public CopyInfo {
        parents = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(parents));
    }

    /** What an explicit request asks for. */
    public static CopyInfo of(ReplicationRequest r) {
        Map<String, String> parents = new LinkedHashMap<>();
        for (ReplicationTarget t : r.targets()) {
            if (t.parentSnapshotId() != null) {
                parents.put(t.region(), t.parentSnapshotId());
            }
        }
        return new CopyInfo(r.incremental(), r.baseSnapshotId(), parents, null);
    }

    public CopyInfo withFallback(String reason) {
        return new CopyInfo(incremental, baseSnapshotId, parents, reason);
    }

    /** {@code I|base|region=parent,...|reason} with each part base64url, for one string field. */
    public String encode() {
        StringBuilder parentList = new StringBuilder();
        for (Map.Entry<String, String> e : parents.entrySet()) {
            if (parentList.length() > 0) {
                parentList.append(',');
            }
            parentList.append(e.getKey()).append('=').append(e.getValue());
        }
        return (incremental ? "I" : "F")
                + "|"
                + part(baseSnapshotId)
                + "|"
                + part(parentList.toString())
                + "|"
                + part(fallbackReason);
    }

    /** The inverse of {@link #encode()}; {@code null} for {@code null}. */
    public static CopyInfo decode(String encoded) {
        if (encoded == null || encoded.isEmpty()) {
            return null;
        }
        String[] p = encoded.split("\\|", -1);
        if (p.length != 4) {
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
        return new CopyInfo("I".equals(p[0]), unpart(p[1]), parents, unpart(p[3]));
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
