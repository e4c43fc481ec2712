package io.ebsreplicator.connector.ebs.policy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A DR policy: rules that say where the snapshots they select are copied, how many copies each
 * region keeps and the recovery point objective. A request without targets is planned from the
 * first rule (in file order) that selects its source; a request that names its targets is not
 * planned (it overrides the policy). Loaded from a file by {@link PolicyParser} on the JobManager
 * and reloaded when the file changes; immutable; never in state.
 */
public record ReplicationPolicy(List<PolicyRule> rules) {

    /** A policy without rules: every request must name its targets. */
    public static final ReplicationPolicy EMPTY = new ReplicationPolicy(List.of());

    public ReplicationPolicy {
        rules = List.copyOf(rules);
    }

    /** The first rule that selects {@code source}, or {@code null}. */
    public PolicyRule match(SourceFacts source) {
        for (PolicyRule r : rules) {
            if (r.select().matches(source)) {
                return r;
            }
        }
        return null;
    }

    /** The rule named {@code name}, or {@code null}. */
    public PolicyRule rule(String name) {
        for (PolicyRule r : rules) {
            if (r.name().equals(name)) {
                return r;
            }
        }
        return null;
    }

    /**
     * What changed from {@code before} to this policy, one line per rule added, removed or changed
     * (by name), in this policy's order, removed ones last; empty when nothing did.
     */
    public List<String> changesFrom(ReplicationPolicy before) {
        Map<String, PolicyRule> old = new LinkedHashMap<>();
        before.rules.forEach(r -> old.put(r.name(), r));
        List<String> out = new ArrayList<>();
        for (int i = 0; i < rules.size(); i++) {
            PolicyRule r = rules.get(i);
            PolicyRule was = old.remove(r.name());
            if (was == null) {
                out.add("rule '" + r.name() + "' added");
            } else if (!was.equals(r)) {
                out.add("rule '" + r.name() + "' changed: " + differences(was, r));
            } else if (before.rules.indexOf(was) != i) {
                out.add("rule '" + r.name() + "' moved to position " + (i + 1));
            }
        }
        old.keySet().forEach(name -> out.add("rule '" + name + "' removed"));
        return out;
    }

    private static String differences(PolicyRule a, PolicyRule b) {
        List<String> fields = new ArrayList<>();
        if (!a.select().equals(b.select())) {
            fields.add("select");
        }
        if (!a.targets().equals(b.targets())) {
            fields.add("targets " + a.targets() + " -> " + b.targets());
        }
        if (!a.copyTags().equals(b.copyTags()) || !a.addTags().equals(b.addTags())) {
            fields.add("tags");
        }
        if (!java.util.Objects.equals(a.description(), b.description())) {
            fields.add("description");
        }
        if (!java.util.Objects.equals(a.rpo(), b.rpo())) {
            fields.add("rpo " + a.rpo() + " -> " + b.rpo());
        }
        return String.join(", ", fields);
    }
}
