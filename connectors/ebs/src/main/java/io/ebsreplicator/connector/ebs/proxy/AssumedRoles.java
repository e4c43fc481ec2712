package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.schemas.ResourceIds;

import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Which IAM role the job assumes where: one for reading the source region, one per target region
 * (typically in a separate DR account, so that a compromise of the production account cannot delete
 * the copies), the external id and session name they are assumed with, the STS endpoint, and the
 * roles a request may name. A region without a role uses the job's own credentials (static or the
 * default chain, which covers web identity / IRSA on Kubernetes). Immutable and serializable:
 * travels inside an {@link EbsProxyConfig}.
 */
public final class AssumedRoles implements Serializable {

    private static final long serialVersionUID = 1L;

    /** The session name STS records in CloudTrail when none is configured. */
    public static final String DEFAULT_SESSION_NAME = "ebs-replicator";

    /**
     * How long before expiry the credentials are refreshed in the background; calls block for a
     * refresh only within a fifth of it (the SDK's stale time), so an STS hiccup does not stop the
     * copy.
     */
    public static final Duration DEFAULT_REFRESH_AHEAD = Duration.ofMinutes(5);

    /** STS RoleSessionName: 2 to 64 characters of these. */
    private static final Pattern SESSION_NAME = Pattern.compile("[\\w+=,.@-]{2,64}");

    /** STS ExternalId: 2 to 1,224 characters of these. */
    private static final Pattern EXTERNAL_ID = Pattern.compile("[\\w+=,.@:/-]{2,1224}");

    /** No roles: every call uses the job's own credentials. */
    public static final AssumedRoles NONE = builder().build();

    private final String sourceRoleArn;
    private final TreeMap<String, String> targetRoleArns;
    private final String externalId;
    private final String sessionName;
    private final String stsEndpoint;
    private final Duration refreshAhead;
    private final List<String> allowed;

    private AssumedRoles(Builder b) {
        this.sourceRoleArn = b.sourceRoleArn == null ? null : requireRoleArn(b.sourceRoleArn);
        this.targetRoleArns = new TreeMap<>();
        b.targetRoleArns.forEach((r, a) -> targetRoleArns.put(r, requireRoleArn(a)));
        if (b.externalId != null && !EXTERNAL_ID.matcher(b.externalId).matches()) {
            // The id itself is not printed: some treat it as a secret.
            throw new IllegalArgumentException(
                    "The role external id must be 2 to 1224 characters of letters, digits and"
                            + " +=,.@:/-");
        }
        this.externalId = b.externalId;
        if (!SESSION_NAME.matcher(b.sessionName).matches()) {
            throw new IllegalArgumentException(
                    "The role session name '"
                            + b.sessionName
                            + "' must be 2 to 64 characters of letters, digits and +=,.@-");
        }
        this.sessionName = b.sessionName;
        if (b.stsEndpoint != null) {
            java.net.URI.create(b.stsEndpoint); // fail when the job is built
        }
        this.stsEndpoint = b.stsEndpoint;
        if (b.refreshAhead == null || b.refreshAhead.isNegative() || b.refreshAhead.isZero()) {
            throw new IllegalArgumentException(
                    "The role refresh time must be positive, not " + b.refreshAhead);
        }
        this.refreshAhead = b.refreshAhead;
        for (String a : b.allowed) {
            if (!a.equals("*") && !(a.endsWith("*") && a.startsWith("arn:"))) {
                requireRoleArn(a);
            }
        }
        this.allowed = List.copyOf(b.allowed);
    }

    public static Builder builder() {
        return new Builder();
    }

    private static String requireRoleArn(String arn) {
        if (!ResourceIds.isRoleArn(arn)) {
            throw new IllegalArgumentException(
                    "'" + arn + "' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)");
        }
        return arn;
    }

    /** The role that reads the source region, or {@code null} for the job's credentials. */
    public String sourceRoleArn() {
        return sourceRoleArn;
    }

    /** The role configured for a target region, or {@code null} for the job's credentials. */
    public String targetRoleArn(String region) {
        return targetRoleArns.get(region);
    }

    public Map<String, String> targetRoleArns() {
        return Collections.unmodifiableMap(targetRoleArns);
    }

    public String externalId() {
        return externalId;
    }

    public String sessionName() {
        return sessionName;
    }

    /** The STS endpoint override, or {@code null} for the region's STS endpoint. */
    public String stsEndpoint() {
        return stsEndpoint;
    }

    public Duration refreshAhead() {
        return refreshAhead;
    }

    /** The allow-list of roles a request may name, beyond the configured ones. */
    public List<String> allowed() {
        return allowed;
    }

    /**
     * Whether a request may name {@code roleArn} for a target in {@code region}: the role
     * configured for that region is always allowed, others only when on the allow-list (an exact
     * ARN, a prefix ending in {@code *}, or {@code *} for any role the job's credentials can
     * assume).
     */
    public boolean allows(String region, String roleArn) {
        if (roleArn == null || roleArn.equals(targetRoleArns.get(region))) {
            return true;
        }
        for (String a : allowed) {
            if (a.equals(roleArn)
                    || a.equals("*")
                    || (a.endsWith("*") && roleArn.startsWith(a.substring(0, a.length() - 1)))) {
                return true;
            }
        }
        return false;
    }

    /** Whether any role is configured or may be named. */
    public boolean any() {
        return sourceRoleArn != null || !targetRoleArns.isEmpty() || !allowed.isEmpty();
    }

    @Override
    public String toString() {
        // Role ARNs are not secret; the external id may be treated as one.
        return "AssumedRoles{source="
                + sourceRoleArn
                + ", targets="
                + targetRoleArns
                + ", externalId="
                + (externalId == null ? "none" : "***")
                + ", session="
                + sessionName
                + ", sts="
                + (stsEndpoint == null ? "regional" : stsEndpoint)
                + ", refreshAhead="
                + refreshAhead
                + ", allowed="
                + allowed
                + "}";
    }

    /** Builds {@link AssumedRoles}. */
    public static final class Builder {
        private String sourceRoleArn;
        private final TreeMap<String, String> targetRoleArns = new TreeMap<>();
        private String externalId;
        private String sessionName = DEFAULT_SESSION_NAME;
        private String stsEndpoint;
        private Duration refreshAhead = DEFAULT_REFRESH_AHEAD;
        private final List<String> allowed = new ArrayList<>();

        private Builder() {}

        public Builder sourceRoleArn(String v) {
            sourceRoleArn = v;
            return this;
        }

        public Builder targetRoleArn(String region, String roleArn) {
            targetRoleArns.put(Objects.requireNonNull(region, "region"), roleArn);
            return this;
        }

        /**
         * Target roles as {@code REGION=ARN} entries (the command line's and the configuration's
         * form: an ARN holds colons, so {@code =} separates).
         */
        public Builder targetRoleArns(List<String> entries) {
            for (String e : entries == null ? List.<String>of() : entries) {
                int eq = e.indexOf('=');
                if (eq <= 0 || eq == e.length() - 1) {
                    throw new IllegalArgumentException(
                            "A target role is REGION=ARN, such as"
                                    + " us-west-2=arn:aws:iam::222222222222:role/dr-copier; not '"
                                    + e
                                    + "'");
                }
                targetRoleArn(e.substring(0, eq).trim(), e.substring(eq + 1).trim());
            }
            return this;
        }

        public Builder externalId(String v) {
            externalId = v;
            return this;
        }

        public Builder sessionName(String v) {
            sessionName = v == null ? DEFAULT_SESSION_NAME : v;
            return this;
        }

        public Builder stsEndpoint(String v) {
            stsEndpoint = v;
            return this;
        }

        public Builder refreshAhead(Duration v) {
            refreshAhead = v;
            return this;
        }

        /** A role ARN a request may name, a prefix ending in {@code *}, or {@code *}. */
        public Builder allow(String roleArnOrPattern) {
            allowed.add(Objects.requireNonNull(roleArnOrPattern, "role"));
            return this;
        }

        public Builder allow(List<String> roleArnsOrPatterns) {
            if (roleArnsOrPatterns != null) {
                roleArnsOrPatterns.forEach(this::allow);
            }
            return this;
        }

        public AssumedRoles build() {
            return new AssumedRoles(this);
        }
    }
}
