package io.ebsreplicator.connector.ebs.source;

import io.ebsreplicator.connector.ebs.metrics.EbsSourceReaderMetrics;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.pipeline.PipelineHook;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorStateSerializer;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageSourceEnumerator;
import io.ebsreplicator.connector.ebs.source.enumerator.RequestResolver;
import io.ebsreplicator.connector.ebs.source.enumerator.TargetWatchSettings;
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

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The lineage source (FLIP-27): enumerates the blocks to copy for a set of replication requests, a
 * full snapshot through ListSnapshotBlocks or the changes since a base through ListChangedBlocks,
 * as small {@link BlockTask} descriptors. The enumerator (JobManager) resolves requests and starts
 * the targets; readers (TaskManagers) list block-index ranges. Bounded: it finishes when every
 * request's blocks have been emitted. Build with {@link #builder()}.
 */
public final class EbsLineageSource
        implements Source<BlockTask, LineageSplit, EbsLineageEnumeratorState>,
                ResultTypeQueryable<BlockTask> {

    private static final long serialVersionUID = 1L;

    private final List<ReplicationRequest> requests;
    private final EbsProxyFactory proxyFactory;
    private final int splitsPerRequest;
    private final int minSplitBlocks;
    private final int listPageSize;
    private final Duration targetTimeout;
    private final TargetWatchSettings watchSettings;
    private final RequestIntake.Factory intake;
    private final Duration dedupeRetention;
    private final PipelineHook hook;

    private EbsLineageSource(EbsLineageSourceBuilder b) {
        this.requests = List.copyOf(b.requests);
        this.proxyFactory = b.proxyFactory;
        this.splitsPerRequest = b.splitsPerRequest;
        this.minSplitBlocks = b.minSplitBlocks;
        this.listPageSize = b.listPageSize;
        this.targetTimeout = b.targetTimeout;
        this.watchSettings = b.watchSettings;
        this.intake = b.intake;
        this.dedupeRetention = b.dedupeRetention;
        this.hook = b.hook;
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
                splitsPerRequest,
                minSplitBlocks,
                targetTimeout,
                watchSettings,
                intake,
                dedupeRetention);
    }

    @Override
    public SourceReader<BlockTask, LineageSplit> createReader(SourceReaderContext context) {
        EbsSourceReaderMetrics metrics = new EbsSourceReaderMetrics(context.metricGroup());
        return new EbsLineageSourceReader(
                () -> new BlockRangeSplitReader(proxyFactory, listPageSize, metrics),
                new Configuration(),
                context,
                hook,
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
        private int splitsPerRequest = 0;
        private int minSplitBlocks = 2048;
        private int listPageSize = 10000;
        private Duration targetTimeout = Duration.ofHours(1);
        private TargetWatchSettings watchSettings = TargetWatchSettings.DEFAULT;
        private RequestIntake.Factory intake;
        private Duration dedupeRetention = Duration.ofDays(7);
        private PipelineHook hook = PipelineHook.NONE;

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

        /** Ranges per request; 0 means four per reader. */
        public EbsLineageSourceBuilder splitsPerRequest(int n) {
            splitsPerRequest = n;
            return this;
        }

        public EbsLineageSourceBuilder minSplitBlocks(int n) {
            minSplitBlocks = n;
            return this;
        }

        public EbsLineageSourceBuilder listPageSize(int n) {
            if (n < 100 || n > 10000) {
                throw new IllegalArgumentException("The list page size is 100..10000, not " + n);
            }
            listPageSize = n;
            return this;
        }

        public EbsLineageSourceBuilder targetTimeout(Duration d) {
            targetTimeout = d;
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

        /** How targets are watched for a cancellation; see {@link TargetWatchSettings}. */
        public EbsLineageSourceBuilder targetWatch(TargetWatchSettings settings) {
            watchSettings = java.util.Objects.requireNonNull(settings);
            return this;
        }

        /** A test seam; see {@link PipelineHook}. */
        public EbsLineageSourceBuilder hook(PipelineHook h) {
            hook = h == null ? PipelineHook.NONE : h;
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
