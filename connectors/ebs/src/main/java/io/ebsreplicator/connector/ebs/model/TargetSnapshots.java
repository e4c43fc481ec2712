package io.ebsreplicator.connector.ebs.model;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Encodes the target snapshots of a request ({@code region=snap-...;region=snap-...}) into one
 * string field, so stream records stay flat POJOs that Flink serializes without Kryo.
 */
public final class TargetSnapshots {

    private TargetSnapshots() {}

    public static String encode(Map<String, String> snapshotByRegion) {
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<String, String> e : snapshotByRegion.entrySet()) {
            if (sb.length() > 0) {
                sb.append(';');
            }
            sb.append(e.getKey()).append('=').append(e.getValue());
        }
        return sb.toString();
    }

    /** Region to target snapshot id, in the order encoded. */
    public static Map<String, String> decode(String encoded) {
        Map<String, String> out = new LinkedHashMap<>();
        if (encoded == null || encoded.isEmpty()) {
            return out;
        }
        for (String pair : encoded.split(";")) {
            int eq = pair.indexOf('=');
            out.put(pair.substring(0, eq), pair.substring(eq + 1));
        }
        return out;
    }
}
