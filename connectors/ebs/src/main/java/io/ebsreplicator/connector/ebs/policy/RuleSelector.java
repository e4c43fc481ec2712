package io.ebsreplicator.connector.ebs.policy;

import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Which source snapshots a rule takes. Every criterion that is given must hold (and); a criterion
 * with several values holds when one of them does (or). A selector gives at least one criterion, so
 * that no rule copies every snapshot by accident. Part of a loaded {@link ReplicationPolicy}.
 *
 * @param sourceRegions the snapshot is in one of these regions (empty: any)
 * @param volumeIds it was taken from one of these volumes (empty: any)
 * @param lineages its request names one of these lineages (empty: any)
 * @param tags it has every one of these tags with exactly this value (empty: any)
 * @param descriptionPattern its description matches this regular expression in full, or {@code
 *     null}
 */
public record RuleSelector(
        Set<String> sourceRegions,
        Set<String> volumeIds,
        Set<String> lineages,
        Map<String, String> tags,
        Pattern descriptionPattern) {

    public RuleSelector {
        sourceRegions = Set.copyOf(sourceRegions);
        volumeIds = Set.copyOf(volumeIds);
        lineages = Set.copyOf(lineages);
        tags = Map.copyOf(tags);
    }

    public boolean matches(SourceFacts s) {
        if (!sourceRegions.isEmpty() && !sourceRegions.contains(s.sourceRegion())) {
            return false;
        }
        if (!volumeIds.isEmpty() && (s.volumeId() == null || !volumeIds.contains(s.volumeId()))) {
            return false;
        }
        if (!lineages.isEmpty() && (s.lineage() == null || !lineages.contains(s.lineage()))) {
            return false;
        }
        for (Map.Entry<String, String> t : tags.entrySet()) {
            if (!t.getValue().equals(s.tags().get(t.getKey()))) {
                return false;
            }
        }
        return descriptionPattern == null
                || (s.description() != null
                        && descriptionPattern.matcher(s.description()).matches());
    }

    /** Equality by value; a pattern counts by its source text. */
    @Override
    public boolean equals(Object o) {
        return o instanceof RuleSelector r
                && sourceRegions.equals(r.sourceRegions)
                && volumeIds.equals(r.volumeIds)
                && lineages.equals(r.lineages)
                && tags.equals(r.tags)
                && Objects.equals(patternText(), r.patternText());
    }

    @Override
    public int hashCode() {
        return Objects.hash(sourceRegions, volumeIds, lineages, tags, patternText());
    }

    private String patternText() {
        return descriptionPattern == null ? null : descriptionPattern.pattern();
    }
}
