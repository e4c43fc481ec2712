package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.local.EbsLocalStats;
import io.ebsreplicator.local.fault.FaultInjector.Disruption;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.testutils.junit.SharedObjectsExtension;
import org.apache.flink.testutils.junit.SharedReference;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Failover: one exception injected after a checkpoint in each operator (source, copier,
 * completion), and once together with ebs-local faults (throttling, 5xx, resets, corrupted reads,
 * "snapshot does not exist" after start). Every time: one COMPLETED result per target, targets
 * equal to the source, exactly one target snapshot per region and none pending, CompleteSnapshot
 * accepted once, and the blocks copied twice bounded by the copier's in-flight window plus what the
 * source emitted again after the restore.
 */
class FailoverITCase {

    static final String SOURCE = ReplicationScenario.SOURCE;
    static final String DR = ReplicationScenario.DR;
    static final String DR2 = ReplicationScenario.DR2;
    static final List<String> TARGETS = List.of(DR, DR2);

    static final int PARALLELISM = 2;
    static final int MAX_IN_FLIGHT = 16;
    static final int BLOCKS = 600;
    static final int VOLUME_GIB = 2;

    /** 8 ranges of 512 block indexes (a 2 GiB volume has 4,096). */
    static final int SPLITS = 8;

    /** 300 source records per subtask at 8 ms: the source lists for ~2.4 s, many checkpoints. */
    static final long SOURCE_PACE_MILLIS = 8;

    @RegisterExtension static final EbsLocalExtension EBS = ReplicationScenario.ebsLocal(b -> {});

    @RegisterExtension static final MiniClusterExtension FLINK = ReplicationScenario.miniCluster();

    @RegisterExtension final SharedObjectsExtension shared = SharedObjectsExtension.create();

    static String source;

    @BeforeAll
    static void sourceSnapshot() throws Exception {
        source = ReplicationScenario.largeSnapshot(EBS.server(), SOURCE, VOLUME_GIB, BLOCKS, 42);
    }

    @ParameterizedTest(name = "failure in {0}")
    @ValueSource(strings = {PipelineHook.SOURCE, PipelineHook.COPIER, PipelineHook.COMPLETION})
    void recoversFromAFailureAfterACheckpoint(String operator) throws Exception {
        failOnceAndCheck("fail-in-" + operator, operator);
    }

    @Test
    void recoversFromAFailureInTheCopierAndEbsFaultsAtOnce() throws Exception {
        EbsLocalStats stats = EBS.server().stats();
        long resets = stats.faults(Disruption.RESET);
        long throttles = stats.faults(Disruption.THROTTLE);
        long serverErrors = stats.faults(Disruption.SERVER_ERROR);
        long corrupted = stats.corruptedReads();
        long notFound = stats.errors("ResourceNotFoundException/SNAPSHOT_NOT_FOUND");
        EBS.setFaults(
                FaultProfile.builder()
                        .throttleRate(0.05)
                        .serverErrorRate(0.03)
                        .resetRate(0.01)
                        .corruptReadRate(0.03)
                        // Long enough that the first puts land in it even on a loaded machine,
                        // where the copier may start writing a couple of seconds after the start.
                        .notFoundAfterStartSeconds(5)
                        .seed(7)
                        .build());

        failOnceAndCheck("fail-with-faults", PipelineHook.COPIER);

        assertThat(stats.faults(Disruption.RESET)).as("resets").isGreaterThan(resets);
        assertThat(stats.faults(Disruption.THROTTLE)).as("throttles").isGreaterThan(throttles);
        assertThat(stats.faults(Disruption.SERVER_ERROR)).as("5xx").isGreaterThan(serverErrors);
        assertThat(stats.corruptedReads()).as("corrupted reads").isGreaterThan(corrupted);
        assertThat(stats.errors("ResourceNotFoundException/SNAPSHOT_NOT_FOUND"))
                .as("'snapshot does not exist' after StartSnapshot")
                .isGreaterThan(notFound);
    }

    private void failOnceAndCheck(String requestId, String operator) throws Exception {
        HookProbe probe = new HookProbe();
        SharedReference<HookProbe> ref = shared.add(probe);
        InjectingHook hook = InjectingHook.failingOnce(ref, operator, SOURCE_PACE_MILLIS);

        Map<String, Set<String>> before = ReplicationScenario.snapshotIds(EBS, TARGETS);
        List<ReplicationResult> results = run(requestId, hook);

        System.out.printf("[%s] probe: %s%n", requestId, probe);
        assertThat(probe.failures.get()).as("the injected failure was thrown").isEqualTo(1);
        // One hook instance per source task attempt that called it: at most two attempts, so the
        // only restart is the injected one (ebs-local faults are absorbed by retries).
        assertThat(probe.sourceAttempts.size())
                .as("source task attempts")
                .isBetween(PARALLELISM + 1, 2 * PARALLELISM);
        Map<String, Long> recopied =
                ReplicationScenario.assertReplicated(EBS, SOURCE, source, TARGETS, before, results);

        // What the source emitted again after the restore: every record beyond one per block and
        // one end marker per split. It can be no more than what the failed attempt emitted after
        // the checkpoint the job restored from (else the source resumed from an older position).
        long replayed = probe.sourceRecords.get() - BLOCKS - SPLITS;
        assertThat(replayed)
                .as("records the source replayed")
                .isBetween(0L, probe.failedAttemptTail());
        // A block is copied twice only if it was in the copier's async queue at the checkpoint
        // (at most max-in-flight per subtask; restored and invoked again), or if the source
        // emitted it after the checkpoint and emits it again after the restore.
        long bound = (long) MAX_IN_FLIGHT * PARALLELISM + replayed;
        System.out.printf(
                "[%s] re-copied blocks %s, bound %d (in-flight %d x %d + replayed %d; failed-attempt tail %d)%n",
                requestId,
                recopied,
                bound,
                MAX_IN_FLIGHT,
                PARALLELISM,
                replayed,
                probe.failedAttemptTail());
        assertThat(recopied.values()).allSatisfy(n -> assertThat(n).isBetween(0L, bound));
    }

    private List<ReplicationResult> run(String requestId, PipelineHook hook) throws Exception {
        Configuration conf = new Configuration();
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 5);
        conf.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(PARALLELISM);
        env.enableCheckpointing(200);

        Configuration options = ReplicationScenario.options(EBS, List.of(SOURCE, DR, DR2));
        options.set(EbsReplicationOptions.MAX_IN_FLIGHT, MAX_IN_FLIGHT);
        options.set(EbsReplicationOptions.SPLITS_PER_REQUEST, SPLITS);
        SdkEbsProxyFactory factory =
                new SdkEbsProxyFactory(
                        EbsProxyConfig.fromConfiguration(options).withShare(PARALLELISM));
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
        List<ReplicationResult> out = new ArrayList<>();
        try (CloseableIterator<ReplicationResult> it =
                EbsReplicationPipeline.build(
                                env,
                                List.of(request),
                                options,
                                BlockTransform.IDENTITY,
                                factory,
                                hook)
                        .executeAndCollect(requestId)) {
            it.forEachRemaining(out::add);
        }
        return out;
    }
}
