package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.connector.ebs.completion.CompletionOperator;
import io.ebsreplicator.connector.ebs.completion.ReplicationCompletionFunction;
import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockCopyFunction;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.model.BlockCopied;
import io.ebsreplicator.connector.ebs.model.BlockTask;
import io.ebsreplicator.connector.ebs.model.CopyDeletion;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.connector.ebs.source.EbsLineageSource;
import io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorSettings;
import io.ebsreplicator.connector.ebs.source.intake.RequestIntake;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.datastream.AsyncDataStream;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.DataStreamUtils;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Wires the replication job: lineage source -> keyBy(request, block) -> async block copier ->
 * keyBy(request, target) -> completion. Stable operator uids keep savepoints restorable across
 * versions and parallelism changes. Runs on the client that builds the job.
 */
public final class EbsReplicationPipeline {

    public static final String SOURCE_UID = "ebs-lineage-source";
    public static final String COPIER_UID = "ebs-block-copier";
    public static final String COMPLETION_UID = "ebs-completion";
    public static final String DEAD_LETTER_UID = "ebs-dead-letter-split";

    private EbsReplicationPipeline() {}

    /** The replication of {@code requests} with the options in {@code options}, over real EBS. */
    public static DataStream<ReplicationResult> build(
            StreamExecutionEnvironment env,
            List<ReplicationRequest> requests,
            Configuration options,
            BlockTransform transform) {
        // Each parallel user of a region gets its share of the region's request budget.
        int users = Math.max(1, env.getParallelism());
        EbsProxyFactory factory =
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options).withShare(users));
        return build(env, requests, options, transform, factory);
    }

    /** The same with a given proxy factory (tests use a scripted one). */
    public static DataStream<ReplicationResult> build(
            StreamExecutionEnvironment env,
            List<ReplicationRequest> requests,
            Configuration options,
            BlockTransform transform,
            EbsProxyFactory factory) {
        return build(env, requests, options, transform, factory, PipelineHook.NONE);
    }

    /** The same with a test seam in every operator; see {@link PipelineHook}. */
    public static DataStream<ReplicationResult> build(
            StreamExecutionEnvironment env,
            List<ReplicationRequest> requests,
            Configuration options,
            BlockTransform transform,
            EbsProxyFactory factory,
            PipelineHook hook) {
        return streams(
                        env,
                        EbsLineageSource.builder().requests(requests),
                        options,
                        transform,
                        factory,
                        hook)
                .results();
    }

    /**
     * The long-running replication of the requests that {@code intake} delivers (Kafka in {@code
     * serve} mode): an unbounded job whose results, dead letters and copy deletions the caller
     * sends to their sinks.
     */
    public static Streams serve(
            StreamExecutionEnvironment env,
            RequestIntake.Factory intake,
            Configuration options,
            BlockTransform transform,
            EbsProxyFactory factory) {
        return streams(
                env,
                EbsLineageSource.builder()
                        .intake(intake)
                        .dedupeRetention(options.get(EbsReplicationOptions.DEDUPE_RETENTION)),
                options,
                transform,
                factory,
                PipelineHook.NONE);
    }

    /**
     * What a pipeline produces: one result per request and target, the dead letters, and one record
     * per copy that a policy's retention let go (left unused, the reader's log line is their only
     * report).
     */
    public record Streams(
            DataStream<ReplicationResult> results,
            DataStream<byte[]> deadLetters,
            DataStream<CopyDeletion> deletions) {}

    private static Streams streams(
            StreamExecutionEnvironment env,
            EbsLineageSource.EbsLineageSourceBuilder builder,
            Configuration options,
            BlockTransform transform,
            EbsProxyFactory factory,
            PipelineHook hook) {
        EbsLineageSource source =
                builder.proxyFactory(factory)
                        .settings(EnumeratorSettings.of(options))
                        .listPageSize(options.get(EbsReplicationOptions.LIST_PAGE_SIZE))
                        .build();
        DataStream<BlockTask> emitted =
                env.fromSource(source, WatermarkStrategy.noWatermarks(), "EBS lineage source")
                        .uid(SOURCE_UID);
        SingleOutputStreamOperator<BlockTask> tasks =
                hooked(emitted, hook, PipelineHook.SOURCE)
                        .process(new DeadLetterSplitter())
                        .uid(DEAD_LETTER_UID)
                        .name("EBS dead-letter split");

        Duration total = options.get(EbsReplicationOptions.TOTAL_TIMEOUT);
        // A block may retry its read and each write for the total timeout; past three of those it
        // is reported failed rather than failing the job.
        long copyTimeoutMillis = total.toMillis() * 3;
        DataStream<BlockCopied> copied =
                AsyncDataStream.unorderedWait(
                                hooked(
                                        tasks.keyBy(BlockTask::copyKey, Types.INT),
                                        hook,
                                        PipelineHook.COPIER),
                                new BlockCopyFunction(
                                        factory,
                                        transform,
                                        options.get(EbsReplicationOptions.READ_ATTEMPTS)),
                                copyTimeoutMillis,
                                TimeUnit.MILLISECONDS,
                                options.get(EbsReplicationOptions.MAX_IN_FLIGHT))
                        .uid(COPIER_UID)
                        .name("EBS block copier");

        ReplicationCompletionFunction completion =
                new ReplicationCompletionFunction(
                        factory,
                        options.get(EbsReplicationOptions.COMPLETION_POLL_INTERVAL),
                        options.get(EbsReplicationOptions.COMPLETION_FIRST_POLL),
                        options.get(EbsReplicationOptions.TARGET_TIMEOUT),
                        options.get(EbsReplicationOptions.VERIFY));
        KeySelector<BlockCopied, String> completionKey = BlockCopied::completionKey;
        KeyedStream<BlockCopied, String> toComplete = copied.keyBy(completionKey, Types.STRING);
        if (hook != PipelineHook.NONE) {
            toComplete =
                    DataStreamUtils.reinterpretAsKeyedStream(
                            hooked(toComplete, hook, PipelineHook.COMPLETION),
                            completionKey,
                            Types.STRING);
        }
        DataStream<ReplicationResult> results =
                toComplete
                        .transform(
                                "EBS completion",
                                TypeInformation.of(ReplicationResult.class),
                                new CompletionOperator(completion))
                        .uid(COMPLETION_UID);
        return new Streams(
                results,
                tasks.getSideOutput(DeadLetterSplitter.DEAD_LETTERS),
                tasks.getSideOutput(DeadLetterSplitter.COPY_DELETIONS));
    }

    /**
     * {@code stream} with {@code hook} run for each record on its way into {@code operator},
     * chained into that operator's task; {@code stream} itself when there is no hook (production).
     */
    private static <T> DataStream<T> hooked(
            DataStream<T> stream, PipelineHook hook, String operator) {
        if (hook == PipelineHook.NONE) {
            return stream;
        }
        return stream.map(new PipelineHookFunction<T>(hook, operator))
                .returns(stream.getType())
                .name("test hook: " + operator);
    }
}
