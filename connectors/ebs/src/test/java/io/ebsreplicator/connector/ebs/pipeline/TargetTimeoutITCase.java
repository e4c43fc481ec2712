package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.fault.FaultInjector.Disruption;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.SnapshotStatus;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.testutils.junit.SharedObjectsExtension;
import org.apache.flink.testutils.junit.SharedReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A target cancelled by its StartSnapshot Timeout during an outage: every PutSnapshotBlock stalls,
 * ebs-local's clock passes the 10 minute Timeout so the half-written target goes to {@code error},
 * then the link heals. The job notices (the source watches the targets it is still reading) and
 * copies into a new target (the next ClientToken generation), ending with one COMPLETED result and
 * a target equal to its source; the cancelled target stays in error.
 */
class TargetTimeoutITCase {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";
    static final List<String> TARGETS = List.of(DR);
    static final int BLOCKS = 300;

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(b -> b.regions(SOURCE, DR).sealDelay(Duration.ofMillis(200)))
                    .build();

    @RegisterExtension
    static final MiniClusterExtension FLINK =
            new MiniClusterExtension(
                    new MiniClusterResourceConfiguration.Builder()
                            .setNumberTaskManagers(1)
                            .setNumberSlotsPerTaskManager(4)
                            .build());

    @RegisterExtension final SharedObjectsExtension shared = SharedObjectsExtension.create();

    static String source;

    @BeforeAll
    static void sourceSnapshot() throws Exception {
        source = ReplicationScenario.largeSnapshot(EBS.server(), SOURCE, 1, BLOCKS, 23);
    }

    @Test
    void aTargetCancelledByItsTimeoutDuringAnOutageIsReplacedByANewOne() throws Exception {
        Map<String, Set<String>> before = ReplicationScenario.snapshotIds(EBS, TARGETS);
        Queue<ReplicationResult> results = new ConcurrentLinkedQueue<>();
        SharedReference<Queue<ReplicationResult>> resultsRef = shared.add(results);
        SharedReference<HookProbe> probe = shared.add(new HookProbe());

        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        env.enableCheckpointing(500);
        Configuration options = ReplicationScenario.options(EBS, List.of(SOURCE, DR));
        options.set(EbsReplicationOptions.TARGET_TIMEOUT, Duration.ofMinutes(10));
        options.set(EbsReplicationOptions.MAX_IN_FLIGHT, 8);
        options.set(EbsReplicationOptions.RETRY_MAX_BACKOFF, Duration.ofSeconds(1));
        options.set(EbsReplicationOptions.TARGET_WATCH_INTERVAL, Duration.ofMillis(200));
        SdkEbsProxyFactory factory =
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options).withShare(2));
        ReplicationRequest request =
                new ReplicationRequest(
                        "timeout",
                        SOURCE,
                        source,
                        null,
                        List.of(ReplicationTarget.of(DR)),
                        null,
                        false,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0);
        EbsReplicationPipeline.build(
                        env,
                        List.of(request),
                        options,
                        BlockTransform.IDENTITY,
                        factory,
                        InjectingHook.pacing(probe, 30))
                .sinkTo(new SharedListSink<>(resultsRef));
        JobClient job = env.executeAsync("target-timeout");

        // Some blocks are in the first target when the outage starts.
        Snapshot cancelled = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (cancelled == null || cancelled.putRequestsAccepted() < 30) {
            assertThat(System.nanoTime()).as("the copy started").isLessThan(deadline);
            Thread.sleep(10);
            cancelled = ReplicationScenario.newSnapshot(EBS, DR, before.get(DR));
        }
        long stallsBefore = EBS.server().stats().faults(Disruption.STALL);
        EBS.setFaults(
                FaultProfile.builder()
                        .stall(1.0, 1_000)
                        .operations(Operation.PUT_SNAPSHOT_BLOCK)
                        .build());
        Thread.sleep(1_500);
        EBS.clock().advance(Duration.ofMinutes(11));
        assertThat(EBS.service().snapshot(DR, cancelled.id()).status())
                .as("the first target was cancelled by its Timeout")
                .isEqualTo(SnapshotStatus.ERROR);
        assertThat(cancelled.ownBlockCount()).as("cancelled mid-copy").isLessThan(BLOCKS);
        assertThat(EBS.server().stats().faults(Disruption.STALL))
                .as("puts stalled")
                .isGreaterThan(stallsBefore);
        EBS.setFaults(FaultProfile.none()); // the link heals

        job.getJobExecutionResult().get(60, TimeUnit.SECONDS);
        System.out.printf("[timeout] cancelled %s; results %s%n", cancelled.id(), results);

        assertThat(results).hasSize(1);
        ReplicationResult result = results.peek();
        assertThat(result.status()).as(result.toJson()).isEqualTo(ReplicationResult.COMPLETED);
        assertThat(result.targetSnapshotId()).as("a new target").isNotEqualTo(cancelled.id());
        // The cancelled target stays in error; besides it, exactly one new completed target.
        before.get(DR).add(cancelled.id());
        ReplicationScenario.assertReplicated(EBS, SOURCE, source, TARGETS, before, results);
        assertThat(EBS.service().snapshot(DR, cancelled.id()).status())
                .isEqualTo(SnapshotStatus.ERROR);
    }
}
