package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;

import org.apache.flink.configuration.Configuration;

import java.io.Serializable;
import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Everything an {@link SdkEbsProxy} is built from: endpoints, credentials, timeouts, backoffs, the
 * new-snapshot grace and the request rates per region. Immutable and serializable: it travels with
 * the job graph inside an {@link SdkEbsProxyFactory} from the client to the JobManager and the
 * TaskManagers, where each user builds its own proxy from it.
 *
 * <p>The rates are those of the whole job per region; {@link #share()} is the number of users that
 * split them (for example the parallelism of the copier), so each proxy gets {@code rate / share}.
 */
public final class EbsProxyConfig implements Serializable {

    private static final long serialVersionUID = 1L;

    /**
     * EC2 refills its account-wide bucket of non-mutating Describe calls at 20 per second; the
     * completion poller is the only DescribeSnapshots caller.
     */
    public static final double DEFAULT_DESCRIBE_RATE = 20.0;

    /**
     * Concurrent HTTP/1.1 connections of the async client, which carries Get and Put: enough for a
     * copier subtask's in-flight blocks (default 32) times a few targets, with room to spare.
     */
    public static final int DEFAULT_MAX_CONCURRENCY = 256;

    private final TreeMap<String, String> endpoints;
    private final String accessKeyId;
    private final String secretAccessKey;
    private final Duration attemptTimeout;
    private final Duration totalTimeout;
    private final Duration controlAttemptTimeout;
    private final Duration controlTotalTimeout;
    private final Duration baseBackoff;
    private final Duration maxBackoff;
    private final Duration newSnapshotGrace;
    private final double getRate;
    private final double putRate;
    private final double listRate;
    private final double controlRate;
    private final double describeRate;
    private final int share;
    private final int maxConcurrency;
    private final String caBundle;
    private final AssumedRoles roles;

    private EbsProxyConfig(Builder b) {
        this.endpoints = new TreeMap<>(b.endpoints);
        this.accessKeyId = b.accessKeyId;
        this.secretAccessKey = b.secretAccessKey;
        this.attemptTimeout = positive(b.attemptTimeout, "attempt timeout");
        this.totalTimeout = positive(b.totalTimeout, "total timeout");
        this.controlAttemptTimeout = positive(b.controlAttemptTimeout, "control attempt timeout");
        this.controlTotalTimeout = positive(b.controlTotalTimeout, "control total timeout");
        this.baseBackoff = positive(b.baseBackoff, "base backoff");
        this.maxBackoff = positive(b.maxBackoff, "max backoff");
        this.newSnapshotGrace = Objects.requireNonNull(b.newSnapshotGrace, "grace");
        this.getRate = rate(b.getRate, "get");
        this.putRate = rate(b.putRate, "put");
        this.listRate = rate(b.listRate, "list");
        this.controlRate = rate(b.controlRate, "control");
        this.describeRate = rate(b.describeRate, "describe");
        this.share = b.share;
        this.maxConcurrency = b.maxConcurrency;
        this.caBundle = b.caBundle;
        this.roles = Objects.requireNonNull(b.roles, "roles");
        if ((accessKeyId == null) != (secretAccessKey == null)) {
            throw new IllegalArgumentException(
                    "Static credentials need both the access key id and the secret access key");
        }
        if (maxBackoff.compareTo(baseBackoff) < 0) {
            throw new IllegalArgumentException("max backoff must be >= base backoff");
        }
        if (share < 1) {
            throw new IllegalArgumentException("share must be >= 1, not " + share);
        }
        if (maxConcurrency < 1) {
            throw new IllegalArgumentException("maxConcurrency must be >= 1");
        }
        for (Map.Entry<String, String> e : endpoints.entrySet()) {
            URI.create(e.getValue()); // fail at job build time, not in a TaskManager
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The proxy configuration from the job configuration ({@link EbsReplicationOptions}). */
    public static EbsProxyConfig fromConfiguration(Configuration conf) {
        return builder()
                .endpoints(conf.get(EbsReplicationOptions.ENDPOINTS))
                .credentials(
                        conf.get(EbsReplicationOptions.ACCESS_KEY_ID),
                        conf.get(EbsReplicationOptions.SECRET_ACCESS_KEY))
                .caBundle(conf.get(EbsReplicationOptions.CA_BUNDLE))
                .attemptTimeout(conf.get(EbsReplicationOptions.ATTEMPT_TIMEOUT))
                .totalTimeout(conf.get(EbsReplicationOptions.TOTAL_TIMEOUT))
                .controlAttemptTimeout(conf.get(EbsReplicationOptions.CONTROL_ATTEMPT_TIMEOUT))
                .controlTotalTimeout(conf.get(EbsReplicationOptions.CONTROL_TOTAL_TIMEOUT))
                .baseBackoff(conf.get(EbsReplicationOptions.RETRY_BASE_BACKOFF))
                .maxBackoff(conf.get(EbsReplicationOptions.RETRY_MAX_BACKOFF))
                .newSnapshotGrace(conf.get(EbsReplicationOptions.NEW_SNAPSHOT_GRACE))
                .getRate(conf.get(EbsReplicationOptions.GET_RATE))
                .putRate(conf.get(EbsReplicationOptions.PUT_RATE))
                .listRate(conf.get(EbsReplicationOptions.LIST_RATE))
                .controlRate(conf.get(EbsReplicationOptions.CONTROL_RATE))
                .roles(
                        AssumedRoles.builder()
                                .sourceRoleArn(conf.get(EbsReplicationOptions.SOURCE_ROLE_ARN))
                                .targetRoleArns(conf.get(EbsReplicationOptions.TARGET_ROLE_ARNS))
                                .externalId(conf.get(EbsReplicationOptions.ROLE_EXTERNAL_ID))
                                .sessionName(conf.get(EbsReplicationOptions.ROLE_SESSION_NAME))
                                .stsEndpoint(conf.get(EbsReplicationOptions.STS_ENDPOINT))
                                .refreshAhead(conf.get(EbsReplicationOptions.ROLE_REFRESH_AHEAD))
                                .allow(conf.get(EbsReplicationOptions.ALLOWED_ROLE_ARNS))
                                .build())
                .build();
    }

    /** This configuration with the rates split among {@code users} (at least 1). */
    public EbsProxyConfig withShare(int users) {
        return toBuilder().share(users).build();
    }

    public Builder toBuilder() {
        return new Builder()
                .endpoints(endpoints)
                .credentials(accessKeyId, secretAccessKey)
                .attemptTimeout(attemptTimeout)
                .totalTimeout(totalTimeout)
                .controlAttemptTimeout(controlAttemptTimeout)
                .controlTotalTimeout(controlTotalTimeout)
                .baseBackoff(baseBackoff)
                .maxBackoff(maxBackoff)
                .newSnapshotGrace(newSnapshotGrace)
                .getRate(getRate)
                .putRate(putRate)
                .listRate(listRate)
                .controlRate(controlRate)
                .describeRate(describeRate)
                .share(share)
                .maxConcurrency(maxConcurrency)
                .caBundle(caBundle)
                .roles(roles);
    }

    /** The roles assumed per region, and those a request may name. */
    public AssumedRoles roles() {
        return roles;
    }

    /** The endpoint override of {@code region}, or {@code null} for the AWS endpoint. */
    public URI endpoint(String region) {
        String e = endpoints.get(region);
        return e == null ? null : URI.create(e);
    }

    public Map<String, String> endpoints() {
        return Map.copyOf(endpoints);
    }

    /** Whether static credentials are configured (else the default provider chain is used). */
    public boolean hasStaticCredentials() {
        return accessKeyId != null;
    }

    public String accessKeyId() {
        return accessKeyId;
    }

    public String secretAccessKey() {
        return secretAccessKey;
    }

    public Duration attemptTimeout() {
        return attemptTimeout;
    }

    public Duration totalTimeout() {
        return totalTimeout;
    }

    /** The attempt timeout of {@code op}: the control-plane one for control-plane calls. */
    public Duration attemptTimeout(EbsOperation op) {
        return op.controlPlane() ? controlAttemptTimeout : attemptTimeout;
    }

    /** The total timeout of {@code op}: the control-plane one for control-plane calls. */
    public Duration totalTimeout(EbsOperation op) {
        return op.controlPlane() ? controlTotalTimeout : totalTimeout;
    }

    public Duration baseBackoff() {
        return baseBackoff;
    }

    public Duration maxBackoff() {
        return maxBackoff;
    }

    public Duration newSnapshotGrace() {
        return newSnapshotGrace;
    }

    public int share() {
        return share;
    }

    public int maxConcurrency() {
        return maxConcurrency;
    }

    /** A PEM file of extra certificates to trust over HTTPS, or {@code null}. */
    public String caBundle() {
        return caBundle;
    }

    /** The configured rate of a group for the whole job, before the share. */
    public double configuredRate(RequestBudget.Group group) {
        return switch (group) {
            case GET -> getRate;
            case PUT -> putRate;
            case LIST -> listRate;
            case START, COMPLETE -> controlRate;
            case DESCRIBE -> describeRate;
        };
    }

    /**
     * The rate one proxy gets for a group: the configured rate divided by the share. StartSnapshot
     * is the exception: only the enumerator starts snapshots, one per job, so its proxy spends the
     * whole rate.
     */
    public double ratePerUser(RequestBudget.Group group) {
        return group == RequestBudget.Group.START
                ? configuredRate(group)
                : configuredRate(group) / share;
    }

    @Override
    public String toString() {
        // Never print the secret: this ends up in logs and in the Flink web UI.
        return "EbsProxyConfig{endpoints="
                + endpoints
                + ", credentials="
                + (accessKeyId == null ? "default-chain" : accessKeyId + "/***")
                + ", attemptTimeout="
                + attemptTimeout
                + ", totalTimeout="
                + totalTimeout
                + ", control="
                + controlAttemptTimeout
                + "/"
                + controlTotalTimeout
                + ", backoff="
                + baseBackoff
                + ".."
                + maxBackoff
                + ", grace="
                + newSnapshotGrace
                + ", rates(get/put/list/control/describe)="
                + getRate
                + "/"
                + putRate
                + "/"
                + listRate
                + "/"
                + controlRate
                + "/"
                + describeRate
                + ", share="
                + share
                + (roles.any() ? ", roles=" + roles : "")
                + "}";
    }

    private static Duration positive(Duration d, String what) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, not " + d);
        }
        return d;
    }

    private static double rate(double r, String what) {
        if (!(r > 0) || Double.isInfinite(r)) {
            throw new IllegalArgumentException(what + " rate must be positive, not " + r);
        }
        return r;
    }

    /**
     * Builds an {@link EbsProxyConfig}; the defaults are those of {@link EbsReplicationOptions}.
     */
    public static final class Builder {
        private Map<String, String> endpoints = Map.of();
        private String accessKeyId;
        private String secretAccessKey;
        private Duration attemptTimeout = EbsReplicationOptions.ATTEMPT_TIMEOUT.defaultValue();
        private Duration totalTimeout = EbsReplicationOptions.TOTAL_TIMEOUT.defaultValue();
        private Duration controlAttemptTimeout =
                EbsReplicationOptions.CONTROL_ATTEMPT_TIMEOUT.defaultValue();
        private Duration controlTotalTimeout =
                EbsReplicationOptions.CONTROL_TOTAL_TIMEOUT.defaultValue();
        private Duration baseBackoff = EbsReplicationOptions.RETRY_BASE_BACKOFF.defaultValue();
        private Duration maxBackoff = EbsReplicationOptions.RETRY_MAX_BACKOFF.defaultValue();
        private Duration newSnapshotGrace = EbsReplicationOptions.NEW_SNAPSHOT_GRACE.defaultValue();
        private double getRate = EbsReplicationOptions.GET_RATE.defaultValue();
        private double putRate = EbsReplicationOptions.PUT_RATE.defaultValue();
        private double listRate = EbsReplicationOptions.LIST_RATE.defaultValue();
        private double controlRate = EbsReplicationOptions.CONTROL_RATE.defaultValue();
        private double describeRate = DEFAULT_DESCRIBE_RATE;
        private int share = 1;
        private int maxConcurrency = DEFAULT_MAX_CONCURRENCY;
        private String caBundle;
        private AssumedRoles roles = AssumedRoles.NONE;

        private Builder() {}

        /** The roles to assume per region; default none (the job's own credentials). */
        public Builder roles(AssumedRoles v) {
            roles = v == null ? AssumedRoles.NONE : v;
            return this;
        }

        public Builder endpoints(Map<String, String> v) {
            endpoints = v == null ? Map.of() : Map.copyOf(v);
            return this;
        }

        /** Adds an endpoint override for one region, e.g. {@code http://127.0.0.1:4566}. */
        public Builder endpoint(String region, String url) {
            TreeMap<String, String> m = new TreeMap<>(endpoints);
            m.put(region, url);
            endpoints = m;
            return this;
        }

        /** Static credentials; both {@code null} for the default provider chain. */
        public Builder credentials(String accessKeyId, String secretAccessKey) {
            this.accessKeyId = accessKeyId;
            this.secretAccessKey = secretAccessKey;
            return this;
        }

        public Builder attemptTimeout(Duration v) {
            attemptTimeout = v;
            return this;
        }

        public Builder totalTimeout(Duration v) {
            totalTimeout = v;
            return this;
        }

        /** Attempt timeout of StartSnapshot, CompleteSnapshot and DescribeSnapshots. */
        public Builder controlAttemptTimeout(Duration v) {
            controlAttemptTimeout = v;
            return this;
        }

        /** Total timeout of StartSnapshot, CompleteSnapshot and DescribeSnapshots. */
        public Builder controlTotalTimeout(Duration v) {
            controlTotalTimeout = v;
            return this;
        }

        public Builder baseBackoff(Duration v) {
            baseBackoff = v;
            return this;
        }

        public Builder maxBackoff(Duration v) {
            maxBackoff = v;
            return this;
        }

        public Builder newSnapshotGrace(Duration v) {
            newSnapshotGrace = v;
            return this;
        }

        public Builder getRate(double v) {
            getRate = v;
            return this;
        }

        public Builder putRate(double v) {
            putRate = v;
            return this;
        }

        public Builder listRate(double v) {
            listRate = v;
            return this;
        }

        public Builder controlRate(double v) {
            controlRate = v;
            return this;
        }

        public Builder describeRate(double v) {
            describeRate = v;
            return this;
        }

        /** How many users split the rates (e.g. the copier's parallelism); default 1. */
        public Builder share(int v) {
            share = v;
            return this;
        }

        public Builder maxConcurrency(int v) {
            maxConcurrency = v;
            return this;
        }

        /** Trust the certificates in this PEM file too (private endpoints, ebs-local --tls). */
        public Builder caBundle(String pemFile) {
            caBundle = pemFile;
            return this;
        }

        public EbsProxyConfig build() {
            return new EbsProxyConfig(this);
        }
    }
}
