package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Snapshot;

import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.testutils.junit.SharedObjectsExtension;
import org.apache.flink.testutils.junit.SharedReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Stop-with-savepoint in the middle of a copy, then restore at another parallelism (2 -> 4 and 4 ->
 * 2). The copy is slowed by ebs-local latency and the source is paced so that the stop lands with
 * blocks written and blocks still to list. Across both runs: one COMPLETED result per target,
 * targets equal to the source, exactly one target snapshot per region, CompleteSnapshot accepted
 * once, and no block copied twice beyond the copier's in-flight window at the savepoint.
 */
class SavepointRescaleITCase {

    static final String SOURCE = ReplicationScenario.SOURCE;
    static final String DR = ReplicationScenario.DR;
    static final String DR2 = ReplicationScenario.DR2;
    static final List<String> TARGETS = List.of(DR, DR2);

    static final int BLOCKS = 600;
    static final int MAX_IN_FLIGHT = 4;
    static final long SOURCE_PACE_MILLIS = 10;

    @RegisterExtension static final EbsLocalExtension EBS = ReplicationScenario.ebsLocal(b -> {});

    @RegisterExtension static final MiniClusterExtension FLINK = ReplicationScenario.miniCluster();

    @RegisterExtension final SharedObjectsExtension shared = SharedObjectsExtension.create();

    static String source;

    @BeforeAll
    static void sourceSnapshot() throws Exception {
        source = ReplicationScenario.largeSnapshot(EBS.server(), SOURCE, 2, BLOCKS, 7);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"2, 4", "4, 2"})
    void stopWithSavepointMidCopyAndRestoreAtAnotherParallelism(
            int before, int after, @TempDir Path dir) throws Exception {
        String requestId = "rescale-" + before + "-to-" + after;
        ReplicationRequest request =
                new ReplicationRequest(
                        requestId,
                        SOURCE,
                        source,
                        null,
                        List.of(ReplicationTarget.of(DR), ReplicationTarget.of(DR2)),
                        null,
                        false,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0);
        Map<String, Set<String>> snapshotsBefore = ReplicationScenario.snapshotIds(EBS, TARGETS);
        Queue<ReplicationResult> results = new ConcurrentLinkedQueue<>();
        SharedReference<Queue<ReplicationResult>> resultsRef = shared.add(results);
        SharedReference<HookProbe> probe = shared.add(new HookProbe());
        EBS.setFaults(FaultProfile.builder().latency(30, 5).build());

        // Run 1: stop with a savepoint once some blocks are in the DR target.
        StreamExecutionEnvironment env1 = environment(before, new Configuration());
        build(env1, request, before, probe, resultsRef);
        JobClient first = env1.executeAsync(requestId + "-1");
        Snapshot target = awaitTargetWith(snapshotsBefore.get(DR), 40, first);
        String savepoint =
                first.stopWithSavepoint(
                                false, dir.toUri().toString(), SavepointFormatType.CANONICAL)
                        .get(60, TimeUnit.SECONDS);
        assertThat(first.getJobStatus().get(60, TimeUnit.SECONDS)).isEqualTo(JobStatus.FINISHED);
        long writtenAtStop = target.ownBlockCount();
        System.out.printf(
                "[%s] stopped with %s; DR blocks at stop %d of %d, results so far %s%n",
                requestId, savepoint, writtenAtStop, BLOCKS, results);
        assertThat(writtenAtStop).as("stopped mid-copy").isGreaterThan(0).isLessThan(BLOCKS);

        // Run 2: restore at the other parallelism and run to the end.
        Configuration restore = new Configuration();
        restore.set(StateRecoveryOptions.SAVEPOINT_PATH, savepoint);
        StreamExecutionEnvironment env2 = environment(after, restore);
        build(env2, request, after, probe, resultsRef);
        env2.execute(requestId + "-2");

        Map<String, Long> recopied =
                ReplicationScenario.assertReplicated(
                        EBS, SOURCE, source, TARGETS, snapshotsBefore, results);
        // After a stop-with-savepoint nothing is emitted past the savepoint barrier, so the only
        // blocks copied twice are those in the copier's async queue at the savepoint: restored
        // and invoked again by run 2.
        long bound = (long) MAX_IN_FLIGHT * before;
        System.out.printf("[%s] re-copied blocks %s, bound %d%n", requestId, recopied, bound);
        assertThat(recopied.values()).allSatisfy(n -> assertThat(n).isBetween(0L, bound));
    }

    private static StreamExecutionEnvironment environment(int parallelism, Configuration conf) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        env.enableCheckpointing(500);
        return env;
    }

    private static void build(
            StreamExecutionEnvironment env,
            ReplicationRequest request,
            int parallelism,
            SharedReference<HookProbe> probe,
            SharedReference<Queue<ReplicationResult>> results) {
        Configuration options = ReplicationScenario.options(EBS, List.of(SOURCE, DR, DR2));
        options.set(EbsReplicationOptions.MAX_IN_FLIGHT, MAX_IN_FLIGHT);
        options.set(EbsReplicationOptions.SPLITS_PER_REQUEST, 8);
        SdkEbsProxyFactory factory =
                new SdkEbsProxyFactory(
                        EbsProxyConfig.fromConfiguration(options).withShare(parallelism));
        EbsReplicationPipeline.build(
                        env,
                        List.of(request),
                        options,
                        BlockTransform.IDENTITY,
                        factory,
                        InjectingHook.pacing(probe, SOURCE_PACE_MILLIS))
                .sinkTo(new SharedListSink<>(results))
                .uid("test-results");
    }

    /** Waits until the running job has written at least {@code blocks} blocks to its DR target. */
    private static Snapshot awaitTargetWith(Set<String> before, int blocks, JobClient job)
            throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            Snapshot s = ReplicationScenario.newSnapshot(EBS, DR, before);
            if (s != null && s.putRequestsAccepted() >= blocks) {
                return s;
            }
            assertThat(job.getJobStatus().get().isTerminalState()).as("job ended early").isFalse();
            Thread.sleep(10);
        }
        throw new AssertionError("No DR target with " + blocks + " blocks within 30 s");
    }
}
