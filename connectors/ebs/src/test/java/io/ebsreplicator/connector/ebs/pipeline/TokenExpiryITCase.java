package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.local.EbsLocalStats;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.testutils.junit.SharedObjectsExtension;
import org.apache.flink.testutils.junit.SharedReference;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Block tokens and list NextTokens expire while the job runs: ebs-local issues tokens that live 2
 * seconds, and either the copy is slow enough that tokens listed early are stale when their block
 * is read, or the job "pauses" (ebs-local's clock jumps a minute) in the middle of the copy. The
 * job lists again from the block index and still produces a target equal to its source.
 */
class TokenExpiryITCase {

    static final String SOURCE = "us-east-1";
    static final String DR = "us-west-2";
    static final List<String> TARGETS = List.of(DR);
    static final int BLOCKS = 600;
    static final String EXPIRED_BLOCK_TOKEN = "ValidationException/INVALID_BLOCK_TOKEN";
    static final String EXPIRED_PAGE_TOKEN = "ValidationException/INVALID_PAGE_TOKEN";

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(
                            b ->
                                    b.regions(SOURCE, DR)
                                            .sealDelay(Duration.ofMillis(200))
                                            .blockTokenTtl(Duration.ofSeconds(2))
                                            .pageTokenTtl(Duration.ofSeconds(2)))
                    .build();

    @RegisterExtension static final MiniClusterExtension FLINK = ReplicationScenario.miniCluster();

    @RegisterExtension final SharedObjectsExtension shared = SharedObjectsExtension.create();

    static String source;

    @BeforeAll
    static void sourceSnapshot() throws Exception {
        source = ReplicationScenario.largeSnapshot(EBS.server(), SOURCE, 2, BLOCKS, 11);
    }

    @Test
    void blockTokensExpireWhileTheCopyIsSlow() throws Exception {
        EbsLocalStats stats = EBS.server().stats();
        long expiredBefore = stats.errors(EXPIRED_BLOCK_TOKEN);
        // ~90 ms per block (read, then write) and 16 blocks in flight: ~4 s for 600 blocks,
        // while every token was listed in the first few hundred milliseconds.
        EBS.setFaults(FaultProfile.builder().latency(40, 5).build());
        SharedReference<HookProbe> probe = shared.add(new HookProbe());

        copyAndCheck(
                "slow-copy",
                InjectingHook.pacing(probe, 0),
                o -> o.set(EbsReplicationOptions.MAX_IN_FLIGHT, 8));

        long expired = stats.errors(EXPIRED_BLOCK_TOKEN) - expiredBefore;
        System.out.printf("[slow-copy] expired block tokens refused: %d; %s%n", expired, stats);
        assertThat(expired).as("block tokens refused as expired, then listed again").isPositive();
    }

    @Test
    void tokensExpireDuringAPause() throws Exception {
        EbsLocalStats stats = EBS.server().stats();
        long blockBefore = stats.errors(EXPIRED_BLOCK_TOKEN);
        long pageBefore = stats.errors(EXPIRED_PAGE_TOKEN);
        long listsBefore = stats.requests(Operation.LIST_SNAPSHOT_BLOCKS);
        HookProbe p = new HookProbe();
        // After 40 blocks, the job "pauses" for a minute: every token issued so far is stale.
        p.actionAfterCopierRecords = 40;
        long[] sourceAtPause = new long[1];
        p.action =
                () -> {
                    sourceAtPause[0] = p.sourceRecords.get();
                    EBS.clock().advance(Duration.ofMinutes(1));
                };
        SharedReference<HookProbe> probe = shared.add(p);

        // One split listed in pages of 100 while the copy runs (paced source): the reader holds a
        // NextToken across the pause (its fetcher runs at most a couple of pages ahead).
        copyAndCheck(
                "pause",
                InjectingHook.pacing(probe, 4),
                o -> {
                    o.set(EbsReplicationOptions.SPLITS_PER_REQUEST, 1);
                    o.set(EbsReplicationOptions.LIST_PAGE_SIZE, 100);
                });

        assertThat(p.actionDone).as("the pause happened mid-copy").isTrue();
        long blocks = stats.errors(EXPIRED_BLOCK_TOKEN) - blockBefore;
        long pages = stats.errors(EXPIRED_PAGE_TOKEN) - pageBefore;
        System.out.printf(
                "[pause] source records at the pause %d; expired block tokens %d, expired page tokens %d; %s%n",
                sourceAtPause[0], blocks, pages, stats);
        assertThat(blocks).as("block tokens refused after the pause").isPositive();
        assertThat(pages).as("NextTokens refused after the pause").isPositive();
        // Refused tokens are replaced a page at a time, not with one List call per block: the
        // readers' own pages (100 blocks each) plus a few re-list pages.
        long lists = stats.requests(Operation.LIST_SNAPSHOT_BLOCKS) - listsBefore;
        assertThat(lists)
                .as("List calls for %d refused block tokens", blocks)
                .isLessThan(blocks / 10);
    }

    private void copyAndCheck(String requestId, PipelineHook hook, Consumer<Configuration> tune)
            throws Exception {
        Map<String, Set<String>> before = ReplicationScenario.snapshotIds(EBS, TARGETS);
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        env.enableCheckpointing(500);
        Configuration options = ReplicationScenario.options(EBS, List.of(SOURCE, DR));
        tune.accept(options);
        SdkEbsProxyFactory factory =
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options).withShare(2));
        ReplicationRequest request =
                new ReplicationRequest(
                        requestId,
                        SOURCE,
                        source,
                        null,
                        List.of(ReplicationTarget.of(DR)),
                        null,
                        false,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0);
        List<ReplicationResult> results = new ArrayList<>();
        try (CloseableIterator<ReplicationResult> it =
                EbsReplicationPipeline.build(
                                env,
                                List.of(request),
                                options,
                                BlockTransform.IDENTITY,
                                factory,
                                hook)
                        .executeAndCollect(requestId)) {
            it.forEachRemaining(results::add);
        }
        ReplicationScenario.assertReplicated(EBS, SOURCE, source, TARGETS, before, results);
    }
}
