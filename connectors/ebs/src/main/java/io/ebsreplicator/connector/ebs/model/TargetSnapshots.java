package io.ebsreplicator.connector.ebs.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The target snapshot of a request in each target region, in the order of the request's targets; a
 * region whose target was not started (its request failed before) has none. Travels in splits and
 * in stream records (a record of one map: Flink serializes it as a POJO without Kryo).
 *
 * @param snapshotByRegion target region to target snapshot id ({@code null}: not started)
 * @param roleByRegion the IAM role that writes the target, for the regions written as a role (not
 *     with the job's own credentials); empty for most requests
 */
public record TargetSnapshots(
        Map<String, String> snapshotByRegion, Map<String, String> roleByRegion) {

    public TargetSnapshots {
        snapshotByRegion =
                snapshotByRegion == null
                        ? Map.of()
                        : Collections.unmodifiableMap(new LinkedHashMap<>(snapshotByRegion));
        roleByRegion =
                roleByRegion == null || roleByRegion.isEmpty()
                        ? Map.of()
                        : Collections.unmodifiableMap(new LinkedHashMap<>(roleByRegion));
    }

    public TargetSnapshots(Map<String, String> snapshotByRegion) {
        this(snapshotByRegion, Map.of());
    }

    /** The started targets, region to snapshot id, in order, with the roles that write them. */
    public static TargetSnapshots of(
            Map<String, String> snapshotByRegion, Map<String, String> roleByRegion) {
        return new TargetSnapshots(snapshotByRegion, roleByRegion);
    }

    /** The role that writes the target in {@code region}, or {@code null}: the job's own. */
    public String roleArn(String region) {
        return roleByRegion.get(region);
    }

    /** The started targets, region to snapshot id, in order. */
    public static TargetSnapshots of(Map<String, String> snapshotByRegion) {
        return new TargetSnapshots(snapshotByRegion);
    }

    /** Regions whose targets were never started (their request failed first). */
    public static TargetSnapshots notStarted(List<String> regions) {
        Map<String, String> none = new LinkedHashMap<>();
        for (String r : regions) {
            none.put(r, null);
        }
        return new TargetSnapshots(none);
    }

    /** The target regions, in order. */
    public List<String> regions() {
        return new ArrayList<>(snapshotByRegion.keySet());
    }

    /** The target snapshot in {@code region}, or {@code null} if none was started there. */
    public String snapshotId(String region) {
        return snapshotByRegion.get(region);
    }

    public boolean isEmpty() {
        return snapshotByRegion.isEmpty();
    }

    /**
     * Reads the one-string form ({@code region=snap-...;region=snap-...}, no snapshot after the
     * {@code =} for a target not started) in which splits of serializer versions 1 to 4 and stream
     * records of earlier versions carried targets. Nothing writes it any more.
     */
    public static TargetSnapshots decodeLegacy(String encoded) {
        Map<String, String> out = new LinkedHashMap<>();
        if (encoded == null || encoded.isEmpty()) {
            return new TargetSnapshots(out);
        }
        for (String pair : encoded.split(";")) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("Not a list of target snapshots: " + encoded);
            }
            String snapshot = pair.substring(eq + 1);
            out.put(pair.substring(0, eq), snapshot.isEmpty() ? null : snapshot);
        }
        return new TargetSnapshots(out);
    }
}
