package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.service.EbsClock;
import io.ebsreplicator.local.service.Quotas;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/** Everything an {@link EbsLocalServer} is started with. Built with {@link #builder()}. */
public final class EbsLocalConfig {

    /** Regions served when none are named: a primary and a DR region. */
    public static final List<String> DEFAULT_REGIONS = List.of("us-east-1", "us-west-2");

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
    final Duration maxClockSkew;
    final List<AccessKey> keys;
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
        this.maxClockSkew = b.maxClockSkew;
        this.keys = List.copyOf(b.keys.isEmpty() ? List.of(AccessKey.DEFAULT) : b.keys);
        this.quotas = b.quotas;
        this.faults = b.faults;
        this.clock = b.clock;
        this.workerThreads = b.workerThreads;
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
        private Duration maxClockSkew = Duration.ofMinutes(15);
        private final List<AccessKey> keys = new ArrayList<>();
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

        public Builder maxClockSkew(Duration v) {
            maxClockSkew = v;
            return this;
        }

        public Builder addKey(AccessKey v) {
            keys.add(v);
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
