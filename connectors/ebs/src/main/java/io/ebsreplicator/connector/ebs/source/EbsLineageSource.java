package io.ebsreplicator.connector.ebs.source;

import io.ebsreplicator.connector.ebs.metrics.EbsSourceReaderMetrics;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorStateSerializer;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageSourceEnumerator;
import io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorSettings;
import io.ebsreplicator.connector.ebs.source.enumerator.IntakeCursor;
import io.ebsreplicator.connector.ebs.source.enumerator.RequestResolver;
import io.ebsreplicator.connector.ebs.source.intake.RequestIntake;
import io.ebsreplicator.connector.ebs.source.reader.BlockRangeSplitReader;
import io.ebsreplicator.connector.ebs.source.reader.EbsLineageSourceReader;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplitSerializer;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.connector.source.Boundedness;
import org.apache.flink.api.connector.source.Source;
import org.apache.flink.api.connector.source.SourceReader;
import org.apache.flink.api.connector.source.SourceReaderContext;
import org.apache.flink.api.connector.source.SplitEnumerator;
import org.apache.flink.api.connector.source.SplitEnumeratorContext;
import org.apache.flink.api.java.typeutils.ResultTypeQueryable;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.io.SimpleVersionedSerializer;
import org.apache.flink.util.clock.SystemClock;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The lineage source (FLIP-27): enumerates the blocks to copy for a set of replication requests, a
 * full snapshot through ListSnapshotBlocks or the changes since a base through ListChangedBlocks,
 * as small {@link BlockTask} descriptors. The enumerator (JobManager) takes requests, decides which
 * start when, starts the targets and watches them; readers (TaskManagers) list block-index ranges.
 * Bounded with a fixed list of requests (it finishes when every request's blocks have been
 * emitted), unbounded with an intake (a long-running job). Build with {@link #builder()}.
 */
public final class EbsLineageSource
        implements Source<BlockTask, LineageSplit, EbsLineageEnumeratorState>,
                ResultTypeQueryable<BlockTask> {

    private static final long serialVersionUID = 1L;

    private final List<ReplicationRequest> requests;
    private final EbsProxyFactory proxyFactory;
    private final EnumeratorSettings settings;
    private final int listPageSize;
    private final RequestIntake.Factory intake;
    private final Duration dedupeRetention;

    private EbsLineageSource(EbsLineageSourceBuilder b) {
        this.requests = List.copyOf(b.requests);
        this.proxyFactory = b.proxyFactory;
        this.settings = b.settings;
        this.listPageSize = b.listPageSize;
        this.intake = b.intake;
        this.dedupeRetention = b.dedupeRetention;
    }

    public static EbsLineageSourceBuilder builder() {
        return new EbsLineageSourceBuilder();
    }

    @Override
    public Boundedness getBoundedness() {
        // With an intake, requests keep coming: the job runs until it is stopped.
        return intake == null ? Boundedness.BOUNDED : Boundedness.CONTINUOUS_UNBOUNDED;
    }

    @Override
    public SplitEnumerator<LineageSplit, EbsLineageEnumeratorState> createEnumerator(
            SplitEnumeratorContext<LineageSplit> context) {
        long now = System.currentTimeMillis();
        List<PendingRequest> pending = new ArrayList<>();
        for (ReplicationRequest r : requests) {
            pending.add(new PendingRequest(r, now, 0));
        }
        return restoreEnumerator(context, EbsLineageEnumeratorState.ofRequests(pending));
    }

    @Override
    public SplitEnumerator<LineageSplit, EbsLineageEnumeratorState> restoreEnumerator(
            SplitEnumeratorContext<LineageSplit> context, EbsLineageEnumeratorState state) {
        return new EbsLineageSourceEnumerator(
                context,
                proxyFactory,
                state,
                settings,
                intake == null
                        ? null
                        : new IntakeCursor(
                                intake,
                                dedupeRetention,
                                state.intakePositions(),
                                state.acceptedIds()),
                SystemClock.getInstance());
    }

    @Override
    public SourceReader<BlockTask, LineageSplit> createReader(SourceReaderContext context) {
        EbsSourceReaderMetrics metrics = new EbsSourceReaderMetrics(context.metricGroup());
        return new EbsLineageSourceReader(
                () -> new BlockRangeSplitReader(proxyFactory, listPageSize, metrics),
                new Configuration(),
                context,
                metrics);
    }

    @Override
    public SimpleVersionedSerializer<LineageSplit> getSplitSerializer() {
        return LineageSplitSerializer.INSTANCE;
    }

    @Override
    public SimpleVersionedSerializer<EbsLineageEnumeratorState>
            getEnumeratorCheckpointSerializer() {
        return new EbsLineageEnumeratorStateSerializer();
    }

    @Override
    public TypeInformation<BlockTask> getProducedType() {
        return TypeInformation.of(BlockTask.class);
    }

    /** Builds an {@link EbsLineageSource}; requests are validated here, before the job starts. */
    public static final class EbsLineageSourceBuilder {
        private final List<ReplicationRequest> requests = new ArrayList<>();
        private EbsProxyFactory proxyFactory;
        private EnumeratorSettings settings = EnumeratorSettings.defaults();
        private int listPageSize = 10000;
        private RequestIntake.Factory intake;
        private Duration dedupeRetention = Duration.ofDays(7);

        public EbsLineageSourceBuilder request(ReplicationRequest r) {
            requests.add(r);
            return this;
        }

        public EbsLineageSourceBuilder requests(List<ReplicationRequest> rs) {
            requests.addAll(rs);
            return this;
        }

        public EbsLineageSourceBuilder proxyFactory(EbsProxyFactory f) {
            proxyFactory = f;
            return this;
        }

        /**
         * How the enumerator works: splits, targets, start order (default: the options' defaults).
         */
        public EbsLineageSourceBuilder settings(EnumeratorSettings s) {
            settings = java.util.Objects.requireNonNull(s);
            return this;
        }

        public EbsLineageSourceBuilder listPageSize(int n) {
            if (n < 100 || n > 10000) {
                throw new IllegalArgumentException("The list page size is 100..10000, not " + n);
            }
            listPageSize = n;
            return this;
        }

        /**
         * Takes requests from {@code factory}'s intake for as long as the job runs (instead of a
         * fixed list): the source becomes unbounded.
         */
        public EbsLineageSourceBuilder intake(RequestIntake.Factory factory) {
            intake = java.util.Objects.requireNonNull(factory);
            return this;
        }

        /** How long an accepted request id is remembered to drop its duplicates. */
        public EbsLineageSourceBuilder dedupeRetention(Duration d) {
            dedupeRetention = java.util.Objects.requireNonNull(d);
            return this;
        }

        public EbsLineageSource build() {
            if (proxyFactory == null) {
                throw new IllegalStateException("proxyFactory is required");
            }
            if (intake != null && !requests.isEmpty()) {
                throw new IllegalStateException("requests come from a list or an intake, not both");
            }
            java.util.Set<String> ids = new java.util.HashSet<>();
            for (ReplicationRequest r : requests) {
                if (!ids.add(r.requestId())) {
                    throw new IllegalArgumentException("Duplicate request id " + r.requestId());
                }
            }
            return new EbsLineageSource(this);
        }
    }

    /** Exposed for the command line: checks a request before a job is built for it. */
    public static void validate(ReplicationRequest r) {
        RequestResolver.validate(r);
    }
}
