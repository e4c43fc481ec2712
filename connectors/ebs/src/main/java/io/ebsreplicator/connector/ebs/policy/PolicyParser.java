package io.ebsreplicator.connector.ebs.policy;

import io.ebsreplicator.schemas.ResourceIds;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.util.TimeUtils;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Reads a policy file (JSON) into a {@link ReplicationPolicy}, or refuses it with every problem
 * found ({@link PolicyException}): unknown fields (a typo would otherwise be ignored), wrong types,
 * bad regions, KMS keys of another region, duplicate rule names or regions, bounds. The format is
 * documented in the README ("Run it as a DR service"). Stateless; runs wherever a policy is loaded
 * (the command line before the job is submitted, the enumerator on the JobManager).
 */
public final class PolicyParser {

    /** Bound on a policy file: far more than thousands of rules need. */
    public static final int MAX_BYTES = 1024 * 1024;

    /** Bounds on what one policy holds, so that a damaged file cannot exhaust the JobManager. */
    static final int MAX_RULES = 1000;

    static final int MAX_TARGETS = 16;
    static final int MAX_VALUES = 10_000;
    static final int MAX_PATTERN = 1024;
    static final int MAX_NAME = 128;
    static final int MAX_NESTING = 16;

    /** EBS allows 50 tags per snapshot; the job adds up to 4 of its own. */
    static final int MAX_RULE_TAGS = 46;

    static final int MAX_TAG_KEY = 127;
    static final int MAX_TAG_VALUE = 255;

    /** The most copies a retention may keep by count: a bound, far above any real need. */
    static final int MAX_KEEP_LAST = 10_000;

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");

    /** {@code arn:<partition>:kms:<region>:<account>:key/<id>}; the region must be the target's. */
    private static final Pattern KMS_KEY_ARN =
            Pattern.compile("arn:aws[a-z\\-]*:kms:([a-z0-9\\-]+):[0-9]{12}:key/[A-Za-z0-9\\-]+");

    private static final ObjectMapper JSON =
            new ObjectMapper(
                    JsonFactory.builder()
                            .streamReadConstraints(
                                    StreamReadConstraints.builder()
                                            .maxNestingDepth(MAX_NESTING)
                                            .maxStringLength(MAX_BYTES)
                                            .build())
                            .build());

    private final List<String> problems = new ArrayList<>();

    private PolicyParser() {}

    /** Parses {@code bytes} of the policy named {@code source} (a path, for messages). */
    public static ReplicationPolicy parse(String source, byte[] bytes) {
        if (bytes.length > MAX_BYTES) {
            throw new PolicyException(
                    source,
                    List.of("the file has " + bytes.length + " bytes, more than " + MAX_BYTES));
        }
        JsonNode root;
        try {
            root = JSON.readTree(new String(bytes, StandardCharsets.UTF_8));
        } catch (JsonProcessingException e) {
            throw new PolicyException(
                    source, List.of("$ is not JSON: " + e.getOriginalMessage() + at(e)));
        }
        PolicyParser p = new PolicyParser();
        ReplicationPolicy policy = p.policy(root);
        if (!p.problems.isEmpty()) {
            throw new PolicyException(source, p.problems);
        }
        return policy;
    }

    private static String at(JsonProcessingException e) {
        return e.getLocation() == null
                ? ""
                : " (line "
                        + e.getLocation().getLineNr()
                        + ", column "
                        + e.getLocation().getColumnNr()
                        + ")";
    }

    private ReplicationPolicy policy(JsonNode root) {
        if (root == null || !root.isObject()) {
            problem("$", "must be an object with \"version\": 1 and \"rules\"");
            return ReplicationPolicy.EMPTY;
        }
        fields(root, "$", "version", "rules");
        JsonNode version = root.get("version");
        if (version == null || !version.isInt() || version.intValue() != 1) {
            problem("$.version", "must be 1");
        }
        JsonNode rules = root.get("rules");
        if (rules == null || !rules.isArray()) {
            problem("$.rules", "must be a list of rules");
            return ReplicationPolicy.EMPTY;
        }
        if (rules.size() > MAX_RULES) {
            problem("$.rules", "has " + rules.size() + " rules, more than " + MAX_RULES);
            return ReplicationPolicy.EMPTY;
        }
        List<PolicyRule> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < rules.size(); i++) {
            String at = "$.rules[" + i + "]";
            PolicyRule r = rule(rules.get(i), at);
            if (r != null) {
                if (!names.add(r.name())) {
                    problem(at + ".name", "'" + r.name() + "' is the name of an earlier rule");
                }
                out.add(r);
            }
        }
        return new ReplicationPolicy(out);
    }

    private PolicyRule rule(JsonNode n, String at) {
        if (!n.isObject()) {
            problem(at, "must be an object");
            return null;
        }
        fields(n, at, "name", "select", "targets", "copyTags", "addTags", "description", "rpo");
        String name = text(n, "name", at);
        if (name == null) {
            problem(at + ".name", "is required");
        } else if (name.length() > MAX_NAME || !NAME.matcher(name).matches()) {
            problem(
                    at + ".name",
                    "'"
                            + name
                            + "' must be 1 to "
                            + MAX_NAME
                            + " letters, digits, '.', '_' or '-', starting with a letter or digit");
        }
        RuleSelector select = selector(n.get("select"), at + ".select");
        List<PolicyTarget> targets = targets(n.get("targets"), at + ".targets");
        List<String> copyTags = strings(n.get("copyTags"), at + ".copyTags", MAX_RULE_TAGS);
        for (int i = 0; i < copyTags.size(); i++) {
            tagKey(copyTags.get(i), at + ".copyTags[" + i + "]");
        }
        Map<String, String> addTags = tags(n.get("addTags"), at + ".addTags");
        if (copyTags.size() + addTags.size() > MAX_RULE_TAGS) {
            problem(
                    at,
                    "copies and adds "
                            + (copyTags.size() + addTags.size())
                            + " tags, more than "
                            + MAX_RULE_TAGS
                            + " (EBS allows 50 per snapshot, the job adds its own)");
        }
        String description = text(n, "description", at);
        if (description != null) {
            description(description, at + ".description");
        }
        Duration rpo = duration(n, "rpo", at);
        if (name == null || select == null) {
            return null;
        }
        return new PolicyRule(name, select, targets, copyTags, addTags, description, rpo);
    }

    private RuleSelector selector(JsonNode n, String at) {
        if (n == null || !n.isObject()) {
            problem(at, "is required: an object with at least one criterion");
            return null;
        }
        fields(n, at, "sourceRegions", "volumeIds", "lineages", "tags", "descriptionPattern");
        List<String> regions = strings(n.get("sourceRegions"), at + ".sourceRegions", MAX_VALUES);
        for (int i = 0; i < regions.size(); i++) {
            region(regions.get(i), at + ".sourceRegions[" + i + "]");
        }
        List<String> volumes = strings(n.get("volumeIds"), at + ".volumeIds", MAX_VALUES);
        for (int i = 0; i < volumes.size(); i++) {
            if (!ResourceIds.isVolumeId(volumes.get(i))) {
                problem(
                        at + ".volumeIds[" + i + "]",
                        "'"
                                + volumes.get(i)
                                + "' is not a volume id (vol- and 8 or 17 lowercase hex digits)");
            }
        }
        List<String> lineages = strings(n.get("lineages"), at + ".lineages", MAX_VALUES);
        Map<String, String> tags = tags(n.get("tags"), at + ".tags");
        String text = text(n, "descriptionPattern", at);
        Pattern pattern = null;
        if (text != null) {
            if (text.length() > MAX_PATTERN) {
                problem(at + ".descriptionPattern", "is longer than " + MAX_PATTERN);
            } else {
                try {
                    pattern = Pattern.compile(text);
                } catch (PatternSyntaxException e) {
                    problem(
                            at + ".descriptionPattern",
                            "is not a regular expression: " + e.getDescription());
                }
            }
        }
        if (regions.isEmpty()
                && volumes.isEmpty()
                && lineages.isEmpty()
                && tags.isEmpty()
                && text == null) {
            problem(
                    at,
                    "selects nothing: give sourceRegions, volumeIds, lineages, tags or"
                            + " descriptionPattern");
        }
        return new RuleSelector(
                new LinkedHashSet<>(regions),
                new LinkedHashSet<>(volumes),
                new LinkedHashSet<>(lineages),
                tags,
                pattern);
    }

    private List<PolicyTarget> targets(JsonNode n, String at) {
        List<PolicyTarget> out = new ArrayList<>();
        if (n == null || !n.isArray() || n.isEmpty()) {
            problem(at, "is required: a list of at least one target region");
            return out;
        }
        if (n.size() > MAX_TARGETS) {
            problem(at, "has " + n.size() + " targets, more than " + MAX_TARGETS);
            return out;
        }
        Set<String> regions = new HashSet<>();
        for (int i = 0; i < n.size(); i++) {
            String t = at + "[" + i + "]";
            JsonNode target = n.get(i);
            if (!target.isObject()) {
                problem(t, "must be an object with a region");
                continue;
            }
            fields(target, t, "region", "kmsKeyArn", "retention");
            String region = text(target, "region", t);
            if (region == null) {
                problem(t + ".region", "is required");
                continue;
            }
            region(region, t + ".region");
            if (!regions.add(region)) {
                problem(t + ".region", region + " appears more than once in the rule's targets");
            }
            String kms = text(target, "kmsKeyArn", t);
            if (kms != null) {
                Matcher m = KMS_KEY_ARN.matcher(kms);
                if (!m.matches()) {
                    problem(
                            t + ".kmsKeyArn",
                            "'"
                                    + kms
                                    + "' is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)");
                } else if (!m.group(1).equals(region)) {
                    problem(
                            t + ".kmsKeyArn",
                            "is a key of "
                                    + m.group(1)
                                    + ", not of "
                                    + region
                                    + " (KMS keys are regional)");
                }
            }
            out.add(
                    new PolicyTarget(
                            region, kms, retention(target.get("retention"), t + ".retention")));
        }
        return out;
    }

    private Retention retention(JsonNode n, String at) {
        if (n == null || n.isNull()) {
            return null;
        }
        if (!n.isObject()) {
            problem(at, "must be an object with keepLast and/or maxAge");
            return null;
        }
        fields(n, at, "keepLast", "maxAge");
        Integer keepLast = null;
        JsonNode k = n.get("keepLast");
        if (k != null) {
            if (!k.isInt() || k.intValue() < 1 || k.intValue() > MAX_KEEP_LAST) {
                problem(at + ".keepLast", "must be a whole number from 1 to " + MAX_KEEP_LAST);
            } else {
                keepLast = k.intValue();
            }
        }
        Duration maxAge = duration(n, "maxAge", at);
        if (keepLast == null && maxAge == null) {
            if (k == null && n.get("maxAge") == null) {
                problem(at, "needs keepLast, maxAge or both");
            }
            return null;
        }
        return new Retention(keepLast, maxAge);
    }

    // ------------------------------------------------------------------ values

    /** Records every field of {@code n} that is not one of {@code known}. */
    private void fields(JsonNode n, String at, String... known) {
        Set<String> allowed = Set.of(known);
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) {
                problem(
                        at + "." + shorten(f),
                        "is not a known field (known: " + String.join(", ", known) + ")");
            }
        }
    }

    private String text(JsonNode n, String field, String at) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            problem(at + "." + field, "must be a string");
            return null;
        }
        return v.textValue();
    }

    private List<String> strings(JsonNode n, String at, int max) {
        List<String> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isArray()) {
            problem(at, "must be a list of strings");
            return out;
        }
        if (n.size() > max) {
            problem(at, "has " + n.size() + " values, more than " + max);
            return out;
        }
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < n.size(); i++) {
            JsonNode v = n.get(i);
            if (!v.isTextual() || v.textValue().isBlank()) {
                problem(at + "[" + i + "]", "must be a non-blank string");
            } else if (!seen.add(v.textValue())) {
                problem(at + "[" + i + "]", "'" + shorten(v.textValue()) + "' is repeated");
            } else {
                out.add(v.textValue());
            }
        }
        return out;
    }

    private Map<String, String> tags(JsonNode n, String at) {
        Map<String, String> out = new LinkedHashMap<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isObject()) {
            problem(at, "must be an object of tag keys to values");
            return out;
        }
        if (n.size() > MAX_RULE_TAGS) {
            problem(at, "has " + n.size() + " tags, more than " + MAX_RULE_TAGS);
            return out;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String key = e.getKey();
            String t = at + "." + shorten(key);
            tagKey(key, t);
            if (!e.getValue().isTextual()) {
                problem(t, "must be a string");
            } else if (e.getValue().textValue().length() > MAX_TAG_VALUE) {
                problem(t, "is longer than " + MAX_TAG_VALUE + " characters");
            } else {
                out.put(key, e.getValue().textValue());
            }
        }
        return out;
    }

    private void tagKey(String key, String at) {
        if (key.isBlank() || key.length() > MAX_TAG_KEY) {
            problem(at, "a tag key has 1 to " + MAX_TAG_KEY + " characters");
        } else if (key.toLowerCase(Locale.ROOT).startsWith("aws:")) {
            problem(at, "tag key '" + shorten(key) + "' starts with aws:, which AWS reserves");
        } else if (key.startsWith("ebs-replicator:")) {
            problem(
                    at,
                    "tag key '"
                            + shorten(key)
                            + "' starts with ebs-replicator:, which the job sets");
        }
    }

    private void region(String region, String at) {
        if (!ResourceIds.isRegionName(region)) {
            problem(at, "'" + shorten(region) + "' is not a region name such as us-east-1");
        }
    }

    private void description(String template, String at) {
        if (template.isBlank()) {
            problem(at, "is blank; leave it out for the default description");
            return;
        }
        if (template.length() > 4 * PolicyRule.MAX_DESCRIPTION) {
            problem(at, "is longer than " + 4 * PolicyRule.MAX_DESCRIPTION + " characters");
            return;
        }
        Matcher m = PolicyRule.PLACEHOLDER.matcher(template);
        while (m.find()) {
            if (!PolicyRule.PLACEHOLDERS.contains(m.group(1))) {
                problem(
                        at,
                        "has the unknown placeholder "
                                + m.group()
                                + " (known: ${"
                                + String.join("}, ${", PolicyRule.PLACEHOLDERS)
                                + "})");
            }
        }
    }

    private Duration duration(JsonNode n, String field, String at) {
        String text = text(n, field, at);
        if (text == null) {
            return null;
        }
        try {
            Duration d = TimeUtils.parseDuration(text);
            if (d.isZero() || d.isNegative()) {
                problem(at + "." + field, "must be longer than zero");
                return null;
            }
            return d;
        } catch (IllegalArgumentException e) {
            problem(
                    at + "." + field,
                    "'" + shorten(text) + "' is not a duration such as 30min, 4h or 14d");
            return null;
        }
    }

    private void problem(String at, String what) {
        // Bounded: a file with thousands of errors still gives a readable message.
        if (problems.size() < 100) {
            problems.add(at + " " + what);
        } else if (problems.size() == 100) {
            problems.add("... and more");
        }
    }

    private static String shorten(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }
}
