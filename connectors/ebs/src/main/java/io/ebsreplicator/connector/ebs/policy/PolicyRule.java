package io.ebsreplicator.connector.ebs.policy;

import io.ebsreplicator.connector.ebs.model.ReplicationTarget;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One rule of a {@link ReplicationPolicy}: which sources it takes ({@link RuleSelector}), the
 * regions it copies them to, the tags it copies from the source and adds, the description of the
 * copies, and the recovery point objective of every lineage it copies. Part of a loaded policy.
 *
 * @param copyTags keys of source tags to copy onto the copies (absent ones are skipped)
 * @param addTags tags to add to every copy (they win over copied ones)
 * @param description a template with {@code ${placeholder}}s ({@link #PLACEHOLDERS}), or {@code
 *     null} for the job's default description
 * @param rpo the recovery point objective, or {@code null} for none
 */
public record PolicyRule(
        String name,
        RuleSelector select,
        List<PolicyTarget> targets,
        List<String> copyTags,
        Map<String, String> addTags,
        String description,
        Duration rpo) {

    /** The placeholders a description template may use. */
    public static final List<String> PLACEHOLDERS =
            List.of("snapshotId", "sourceRegion", "volumeId", "lineage", "rule", "description");

    /** Tag on every copy a policy makes: the lineage, so that retention can find its copies. */
    public static final String LINEAGE_TAG = "ebs-replicator:lineage";

    /** Tag on every copy a policy makes: the rule that made it. */
    public static final String RULE_TAG = "ebs-replicator:rule";

    /** EBS's limit on a snapshot description. */
    static final int MAX_DESCRIPTION = 255;

    static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([A-Za-z]+)}");

    public PolicyRule {
        targets = List.copyOf(targets);
        copyTags = List.copyOf(copyTags);
        // Insertion order kept: tags go into requests (and state) in a stable order.
        addTags = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(addTags));
    }

    /** The target of {@code region}, or {@code null}. */
    public PolicyTarget target(String region) {
        for (PolicyTarget t : targets) {
            if (t.region().equals(region)) {
                return t;
            }
        }
        return null;
    }

    /** The targets of a request this rule plans for {@code source}. */
    public List<ReplicationTarget> plan(SourceFacts source) {
        Map<String, String> tags = new LinkedHashMap<>();
        for (String key : copyTags) {
            String v = source.tags().get(key);
            if (v != null) {
                tags.put(key, v);
            }
        }
        tags.putAll(addTags);
        if (source.lineage() != null) {
            tags.put(LINEAGE_TAG, source.lineage());
        }
        tags.put(RULE_TAG, name);
        String text = description == null ? null : render(source);
        List<ReplicationTarget> out = new ArrayList<>(targets.size());
        for (PolicyTarget t : targets) {
            out.add(new ReplicationTarget(t.region(), null, t.kmsKeyArn(), tags, text));
        }
        return out;
    }

    /** The description template filled in for {@code source}, cut to EBS's 255 characters. */
    String render(SourceFacts s) {
        Matcher m = PLACEHOLDER.matcher(description);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            String value =
                    switch (m.group(1)) {
                        case "snapshotId" -> s.snapshotId();
                        case "sourceRegion" -> s.sourceRegion();
                        case "volumeId" -> s.volumeId();
                        case "lineage" -> s.lineage();
                        case "rule" -> name;
                        case "description" -> s.description();
                            // The parser refuses any other placeholder.
                        default -> throw new IllegalStateException(m.group());
                    };
            m.appendReplacement(out, Matcher.quoteReplacement(value == null ? "" : value));
        }
        m.appendTail(out);
        String text = out.toString();
        if (text.isBlank()) {
            return null;
        }
        return text.length() <= MAX_DESCRIPTION ? text : text.substring(0, MAX_DESCRIPTION);
    }
}
