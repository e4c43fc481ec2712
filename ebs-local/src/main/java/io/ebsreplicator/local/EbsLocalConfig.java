package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.auth.Role;
import io.ebsreplicator.local.auth.SessionStore;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.service.EbsClock;
import io.ebsreplicator.local.service.JournalPolicy;
import io.ebsreplicator.local.service.Quotas;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/** Everything an {@link EbsLocalServer} is started with. Built with {@link #builder()}. */
public final class EbsLocalConfig {

    /** Regions served when none are named: a primary and a DR region. */
    public static final List<String> DEFAULT_REGIONS = List.of("us-east-1", "us-west-2");

    /**
     * A request head from a client that is sending one arrives in milliseconds; 20 s covers a
     * client stalled by GC or a loaded machine, and frees a connection held by a head that trickles
     * in a line at a time.
     */
    public static final Duration DEFAULT_HEADER_TIMEOUT = Duration.ofSeconds(20);

    /**
     * Twice the 60 s for which the AWS SDKs keep an idle pooled connection, so that a client always
     * retires its connection before the server closes it under a request about to be sent.
     */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(120);

    /**
     * Far above what the test suite and the benchmarks open (a few hundred pooled connections), far
     * below what exhausts a process: each connection costs a descriptor and a little memory.
     */
    public static final int DEFAULT_MAX_CONNECTIONS = 4096;

    /**
     * 64 MiB: SDKs sign {@code X-Amz-Content-SHA256}, so their bodies are authenticated from the
     * head and never count here; only clients that leave the body hash unsigned do (small
     * StartSnapshot and DescribeSnapshots bodies), and 64 MiB holds a hundred full-size puts of
     * theirs at once while bounding what unauthenticated clients can make the server hold.
     */
    public static final long DEFAULT_MAX_UNAUTHENTICATED_BYTES = 64L << 20;

    final String host;
    final int port;
    final Set<String> regions;
    final Path dataDir;
    final boolean fsync;
    final boolean tls;
    final Duration sealDelay;
    final Duration blockTokenTtl;
    final Duration pageTokenTtl;
    final Duration writeTimeout;
    final Duration headerTimeout;
    final Duration idleTimeout;
    final int maxConnections;
    final long maxUnauthenticatedBytes;
    final JournalPolicy journalPolicy;
    final Duration maxClockSkew;
    final List<AccessKey> keys;
    final List<Role> roles;
    final Duration stsMaxSession;
    final int maxSessions;
    final Quotas quotas;
    final FaultProfile faults;
    final EbsClock clock;
    final int workerThreads;

    private EbsLocalConfig(Builder b) {
        this.host = b.host;
        this.port = b.port;
        this.regions = java.util.Collections.unmodifiableSet(new LinkedHashSet<>(b.regions));
        this.dataDir = b.dataDir;
        this.fsync = b.fsync;
        this.tls = b.tls;
        this.sealDelay = b.sealDelay;
        this.blockTokenTtl = b.blockTokenTtl;
        this.pageTokenTtl = b.pageTokenTtl;
        this.writeTimeout = b.writeTimeout;
        this.headerTimeout = b.headerTimeout;
        this.idleTimeout = b.idleTimeout;
        this.maxConnections = b.maxConnections;
        this.maxUnauthenticatedBytes = b.maxUnauthenticatedBytes;
        this.journalPolicy = new JournalPolicy(b.salvage, b.compactionRatio, b.compactionMinBytes);
        this.maxClockSkew = b.maxClockSkew;
        this.keys = List.copyOf(b.keys.isEmpty() ? List.of(AccessKey.DEFAULT) : b.keys);
        this.roles = List.copyOf(b.roles);
        this.stsMaxSession = b.stsMaxSession;
        this.maxSessions = b.maxSessions;
        Set<String> arns = new HashSet<>();
        for (Role r : roles) {
            if (!arns.add(r.arn())) {
                throw new IllegalArgumentException("The role " + r.arn() + " is given twice");
            }
        }
        if (stsMaxSession != null && (stsMaxSession.isNegative() || stsMaxSession.isZero())) {
            throw new IllegalArgumentException(
                    "The STS session cap must be positive, not " + stsMaxSession);
        }
        if (maxSessions < 1) {
            throw new IllegalArgumentException("maxSessions must be >= 1, not " + maxSessions);
        }
        this.quotas = b.quotas;
        this.faults = b.faults;
        this.clock = b.clock;
        this.workerThreads = b.workerThreads;
        for (Duration d : List.of(writeTimeout, headerTimeout, idleTimeout)) {
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("Timeouts must be positive, not " + d);
            }
        }
        if (maxConnections < 1 || maxUnauthenticatedBytes < 0) {
            throw new IllegalArgumentException(
                    "maxConnections must be >= 1 and maxUnauthenticatedBytes >= 0");
        }
        if (regions.isEmpty()) {
            throw new IllegalArgumentException("At least one region must be served");
        }
        for (String r : regions) {
            if (!r.matches("[a-z]{2}(-[a-z]+)+-[0-9]+")) {
                throw new IllegalArgumentException("Not a region name: " + r);
            }
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    public Set<String> regions() {
        return regions;
    }

    public Path dataDir() {
        return dataDir;
    }

    public boolean tls() {
        return tls;
    }

    public List<AccessKey> keys() {
        return keys;
    }

    /** The roles STS AssumeRole lets callers assume. */
    public List<Role> roles() {
        return roles;
    }

    /** The cap on the lifetime of issued session credentials, or {@code null} for none. */
    public Duration stsMaxSession() {
        return stsMaxSession;
    }

    public Duration headerTimeout() {
        return headerTimeout;
    }

    public Duration idleTimeout() {
        return idleTimeout;
    }

    public Duration writeTimeout() {
        return writeTimeout;
    }

    public int maxConnections() {
        return maxConnections;
    }

    public long maxUnauthenticatedBytes() {
        return maxUnauthenticatedBytes;
    }

    public JournalPolicy journalPolicy() {
        return journalPolicy;
    }

    /** Builds an {@link EbsLocalConfig}. */
    public static final class Builder {
        private String host = "127.0.0.1";
        private int port = 0;
        private List<String> regions = new ArrayList<>(DEFAULT_REGIONS);
        private Path dataDir;
        private boolean fsync;
        private boolean tls;
        private Duration sealDelay = Duration.ofMillis(500);
        private Duration blockTokenTtl = Duration.ofDays(7);
        private Duration pageTokenTtl = Duration.ofHours(1);
        private Duration writeTimeout = Duration.ofSeconds(60);
        private Duration headerTimeout = DEFAULT_HEADER_TIMEOUT;
        private Duration idleTimeout = DEFAULT_IDLE_TIMEOUT;
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private long maxUnauthenticatedBytes = DEFAULT_MAX_UNAUTHENTICATED_BYTES;
        private boolean salvage;
        private double compactionRatio = JournalPolicy.DEFAULT_COMPACTION_RATIO;
        private long compactionMinBytes = JournalPolicy.DEFAULT_COMPACTION_MIN_BYTES;
        private Duration maxClockSkew = Duration.ofMinutes(15);
        private final List<AccessKey> keys = new ArrayList<>();
        private final List<Role> roles = new ArrayList<>();
        private Duration stsMaxSession;
        private int maxSessions = SessionStore.DEFAULT_CAPACITY;
        private Quotas quotas = Quotas.defaults();
        private FaultProfile faults = FaultProfile.none();
        private EbsClock clock = new EbsClock();
        private int workerThreads = Math.max(8, 4 * Runtime.getRuntime().availableProcessors());

        /** Address to bind; loopback by default (the default key pair is public). */
        public Builder host(String v) {
            host = Objects.requireNonNull(v);
            return this;
        }

        /** Port to listen on; 0 picks a free one. */
        public Builder port(int v) {
            port = v;
            return this;
        }

        public Builder regions(List<String> v) {
            regions = new ArrayList<>(v);
            return this;
        }

        public Builder regions(String... v) {
            return regions(List.of(v));
        }

        /** Persist to this directory; without one everything is kept in memory. */
        public Builder dataDir(Path v) {
            dataDir = v;
            return this;
        }

        /** Force every acknowledged write to the device (survives power loss, not only kill -9). */
        public Builder fsync(boolean v) {
            fsync = v;
            return this;
        }

        /** Serve HTTPS with a self-signed certificate instead of HTTP. */
        public Builder tls(boolean v) {
            tls = v;
            return this;
        }

        /** How long a snapshot stays pending after CompleteSnapshot before it is completed. */
        public Builder sealDelay(Duration v) {
            sealDelay = v;
            return this;
        }

        public Builder blockTokenTtl(Duration v) {
            blockTokenTtl = v;
            return this;
        }

        public Builder pageTokenTtl(Duration v) {
            pageTokenTtl = v;
            return this;
        }

        /** How long a request body may stall before WRITE_REQUEST_TIMEOUT. */
        public Builder writeTimeout(Duration v) {
            writeTimeout = v;
            return this;
        }

        /**
         * How long a request head may take to arrive, from its first byte (or from the connection
         * being opened) to its last; a slower head is answered 408 and its connection closed.
         */
        public Builder headerTimeout(Duration v) {
            headerTimeout = Objects.requireNonNull(v);
            return this;
        }

        /** How long a kept-alive connection may sit idle between requests before it is closed. */
        public Builder idleTimeout(Duration v) {
            idleTimeout = Objects.requireNonNull(v);
            return this;
        }

        /**
         * The most connections kept open at once; more are answered 503 and closed. Lowered at
         * start to what the process's file-descriptor limit allows.
         */
        public Builder maxConnections(int v) {
            maxConnections = v;
            return this;
        }

        /**
         * The most request-body bytes held, across all connections, for requests whose signature
         * can only be checked once the body has arrived; more are answered 503.
         */
        public Builder maxUnauthenticatedBytes(long v) {
            maxUnauthenticatedBytes = v;
            return this;
        }

        /**
         * On damage in the middle of the journal, keep every intact record, move the damaged
         * journal aside and start (instead of refusing to start).
         */
        public Builder salvage(boolean v) {
            salvage = v;
            return this;
        }

        /** Compact the journal once it is this many times larger than the current state. */
        public Builder journalCompactionRatio(double v) {
            compactionRatio = v;
            return this;
        }

        /** Never compact a journal smaller than this many bytes. */
        public Builder journalCompactionMinBytes(long v) {
            compactionMinBytes = v;
            return this;
        }

        public Builder maxClockSkew(Duration v) {
            maxClockSkew = v;
            return this;
        }

        public Builder addKey(AccessKey v) {
            keys.add(v);
            return this;
        }

        /**
         * A role that STS AssumeRole lets every configured key pair assume; its sessions act as the
         * role's account. Repeatable.
         */
        public Builder addRole(Role v) {
            roles.add(Objects.requireNonNull(v));
            return this;
        }

        /**
         * {@link #addRole(Role)} from {@code ARN:ACCOUNT[:EXTERNAL_ID]} (see {@link Role#parse}).
         */
        public Builder addRole(String spec) {
            return addRole(Role.parse(spec));
        }

        /**
         * Caps the lifetime of the session credentials AssumeRole issues (their {@code Expiration}
         * is then this far ahead, whatever DurationSeconds asked for), so that tests see them
         * expire in seconds; {@code null} (the default) for no cap.
         */
        public Builder stsMaxSession(Duration v) {
            stsMaxSession = v;
            return this;
        }

        /** The most session credentials held at once (default 10,000); see SessionStore. */
        public Builder maxSessions(int v) {
            maxSessions = v;
            return this;
        }

        public Builder quotas(Quotas v) {
            quotas = Objects.requireNonNull(v);
            return this;
        }

        public Builder faults(FaultProfile v) {
            faults = Objects.requireNonNull(v);
            return this;
        }

        public Builder clock(EbsClock v) {
            clock = Objects.requireNonNull(v);
            return this;
        }

        public Builder workerThreads(int v) {
            workerThreads = v;
            return this;
        }

        public EbsLocalConfig build() {
            return new EbsLocalConfig(this);
        }
    }
}
