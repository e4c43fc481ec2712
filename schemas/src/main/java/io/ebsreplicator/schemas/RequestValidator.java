package io.ebsreplicator.schemas;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Checks a decoded {@link ReplicationRequest} for the problems that no copy could succeed with, so
 * that a bad request is answered at once (a dead letter or failure result with reason
 * INVALID_REQUEST) instead of failing half-way through. Returns every problem, not just the first.
 * Stateless; called where requests enter: by the source enumerator on the JobManager, which reads
 * the requests topic in {@code serve}, by the {@code request} command before it publishes, and by
 * operator tools. Names are checked by the shared rules of {@link ResourceIds}.
 *
 * <p>It checks syntax and contradictions only: whether the snapshots exist and are related is for
 * the job to find out.
 */
public final class RequestValidator {

    /** The KmsKeyArn pattern of the EBS direct API's StartSnapshot. */
    private static final Pattern KMS_KEY_ARN =
            Pattern.compile("arn:aws[a-z\\-]*:kms:.*:[0-9]{12}:key/.*");

    /** EBS allows at most 50 tags per snapshot. */
    static final int MAX_TAGS = 50;

    /** StartSnapshot's TagKey limit. */
    static final int MAX_TAG_KEY_LENGTH = 127;

    /** StartSnapshot's TagValue limit. */
    static final int MAX_TAG_VALUE_LENGTH = 255;

    /** StartSnapshot's Description limit. */
    static final int MAX_DESCRIPTION_LENGTH = 255;

    /**
     * At most this many attributes: they are kept with the request while it waits and echoed into
     * every result, so they stay small.
     */
    public static final int MAX_ATTRIBUTES = 32;

    /** At most this many characters in all attribute keys and values together. */
    public static final int MAX_ATTRIBUTES_CHARS = 4096;

    /** AWS reserves tag keys with this prefix (in any case) for itself. */
    private static final String RESERVED_TAG_PREFIX = "aws:";

    private RequestValidator() {}

    /** Whether a request must name its targets, or may leave them to a DR policy. */
    public enum Targets {
        /** The request names at least one target (no policy plans them). */
        REQUIRED,
        /** A request without targets is planned from the job's DR policy. */
        FROM_POLICY
    }

    /**
     * Every problem with a request, each a sentence naming the field; empty if the request is
     * valid. The request must name its targets.
     */
    public static List<String> validate(ReplicationRequest request) {
        return validate(request, Targets.REQUIRED);
    }

    /**
     * Every problem with a request, each a sentence naming the field; empty if the request is
     * valid. With {@link Targets#FROM_POLICY} a request may name no targets.
     */
    public static List<String> validate(ReplicationRequest request, Targets targetsRule) {
        List<String> problems = new ArrayList<>();
        if (request == null) {
            problems.add("request is null");
            return problems;
        }
        String requestId = request.getRequestId();
        if (requestId == null || requestId.isBlank()) {
            problems.add("requestId is blank; it is the idempotency key and must be set");
        }
        checkRegion(problems, "sourceRegion", request.getSourceRegion());
        String source = request.getSourceSnapshotId();
        checkSnapshotId(problems, "sourceSnapshotId", source);

        String base = request.getBaseSnapshotId();
        if (base != null) {
            checkSnapshotId(problems, "baseSnapshotId", base);
            if (base.equals(source)) {
                problems.add(
                        "baseSnapshotId equals sourceSnapshotId ("
                                + base
                                + "); the base must be an earlier snapshot of the lineage");
            }
            if (request.getMode() == CopyMode.FULL) {
                problems.add(
                        "mode FULL contradicts baseSnapshotId " + base + "; give one or the other");
            }
        }
        if (request.getMode() == null) {
            problems.add("mode is null; use AUTO or FULL");
        }

        String attributes = attributesProblem(request.getAttributes());
        if (attributes != null) {
            problems.add(attributes);
        }

        List<ReplicationTarget> targets = request.getTargets();
        if (targets == null || targets.isEmpty()) {
            if (targetsRule == Targets.REQUIRED || targets == null) {
                problems.add("targets is empty; give at least one target region");
            }
            return problems;
        }
        Set<String> regions = new HashSet<>();
        for (int i = 0; i < targets.size(); i++) {
            String at = "targets[" + i + "]";
            ReplicationTarget target = targets.get(i);
            if (target == null) {
                problems.add(at + " is null");
                continue;
            }
            String region = target.getRegion();
            checkRegion(problems, at + ".region", region);
            if (region != null && !regions.add(region)) {
                problems.add(at + ".region " + region + " appears more than once in targets");
            }
            String parent = target.getParentSnapshotId();
            if (parent != null) {
                checkSnapshotId(problems, at + ".parentSnapshotId", parent);
                if (base == null) {
                    problems.add(
                            at
                                    + ".parentSnapshotId "
                                    + parent
                                    + " is given without baseSnapshotId; it names the target's"
                                    + " copy of that base");
                } else if (request.getMode() == CopyMode.FULL) {
                    problems.add(
                            at
                                    + ".parentSnapshotId "
                                    + parent
                                    + " contradicts mode FULL (a full copy has no parent)");
                }
            }
            checkEncryption(problems, at, target);
            checkRole(problems, at, target.getRoleArn());
            checkTags(problems, at + ".tags", target.getTags());
            String description = target.getDescription();
            if (description != null) {
                if (description.isEmpty()) {
                    problems.add(at + ".description is empty; use null for none");
                } else if (description.length() > MAX_DESCRIPTION_LENGTH) {
                    problems.add(
                            at
                                    + ".description has "
                                    + description.length()
                                    + " characters, more than "
                                    + MAX_DESCRIPTION_LENGTH);
                }
            }
        }
        return problems;
    }

    /**
     * Why a request's attributes are too large to keep and echo, or {@code null} if they are within
     * {@link #MAX_ATTRIBUTES} and {@link #MAX_ATTRIBUTES_CHARS}.
     */
    public static String attributesProblem(Map<String, String> attributes) {
        if (attributes == null) {
            return null;
        }
        if (attributes.size() > MAX_ATTRIBUTES) {
            return "attributes has " + attributes.size() + " entries, more than " + MAX_ATTRIBUTES;
        }
        long chars = 0;
        for (Map.Entry<String, String> e : attributes.entrySet()) {
            chars += e.getKey() == null ? 0 : e.getKey().length();
            chars += e.getValue() == null ? 0 : e.getValue().length();
        }
        if (chars > MAX_ATTRIBUTES_CHARS) {
            return "attributes have "
                    + chars
                    + " characters in keys and values, more than "
                    + MAX_ATTRIBUTES_CHARS;
        }
        return null;
    }

    private static void checkRegion(List<String> problems, String field, String region) {
        if (region == null || region.isBlank()) {
            problems.add(field + " is blank; give a region such as us-east-1");
        } else if (!ResourceIds.isRegionName(region)) {
            problems.add(field + " '" + region + "' is not a region name such as us-east-1");
        }
    }

    private static void checkSnapshotId(List<String> problems, String field, String snapshotId) {
        if (snapshotId == null || snapshotId.isBlank()) {
            problems.add(field + " is blank; give a snapshot id such as snap-0123456789abcdef0");
        } else if (!ResourceIds.isSnapshotId(snapshotId)) {
            problems.add(
                    field
                            + " '"
                            + snapshotId
                            + "' is not a snapshot id (snap- and 8 or 17 lowercase hex digits)");
        }
    }

    private static void checkEncryption(
            List<String> problems, String at, ReplicationTarget target) {
        String kmsKeyArn = target.getKmsKeyArn();
        if (kmsKeyArn == null) {
            return;
        }
        if (!target.getEncrypted()) {
            problems.add(at + ".kmsKeyArn is set but encrypted is false; set encrypted to true");
        }
        if (!KMS_KEY_ARN.matcher(kmsKeyArn).matches()) {
            problems.add(
                    at
                            + ".kmsKeyArn '"
                            + kmsKeyArn
                            + "' is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>)");
        }
    }

    private static void checkRole(List<String> problems, String at, String roleArn) {
        if (roleArn != null && !ResourceIds.isRoleArn(roleArn)) {
            problems.add(
                    at
                            + ".roleArn '"
                            + roleArn
                            + "' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)");
        }
    }

    private static void checkTags(List<String> problems, String field, Map<String, String> tags) {
        if (tags == null) {
            problems.add(field + " is null; use an empty map for none");
            return;
        }
        if (tags.size() > MAX_TAGS) {
            problems.add(
                    field
                            + " has "
                            + tags.size()
                            + " tags, more than the "
                            + MAX_TAGS
                            + " EBS allows");
        }
        // Sorted, so that the problems come out in the same order for the same request.
        tags.entrySet().stream()
                .sorted(Map.Entry.comparingByKey(Comparator.nullsFirst(Comparator.naturalOrder())))
                .forEach(
                        tag -> {
                            String key = tag.getKey();
                            if (key == null || key.isBlank()) {
                                problems.add(field + " has a blank key");
                                return;
                            }
                            if (key.toLowerCase(Locale.ROOT).startsWith(RESERVED_TAG_PREFIX)) {
                                problems.add(
                                        field
                                                + " key '"
                                                + key
                                                + "' starts with aws:, which AWS reserves");
                            }
                            if (key.length() > MAX_TAG_KEY_LENGTH) {
                                problems.add(
                                        field
                                                + " key '"
                                                + key
                                                + "' is longer than "
                                                + MAX_TAG_KEY_LENGTH
                                                + " characters");
                            }
                            String value = tag.getValue();
                            if (value == null) {
                                problems.add(field + "[" + key + "] has a null value");
                            } else if (value.length() > MAX_TAG_VALUE_LENGTH) {
                                problems.add(
                                        field
                                                + "["
                                                + key
                                                + "] value is longer than "
                                                + MAX_TAG_VALUE_LENGTH
                                                + " characters");
                            }
                        });
    }
}
