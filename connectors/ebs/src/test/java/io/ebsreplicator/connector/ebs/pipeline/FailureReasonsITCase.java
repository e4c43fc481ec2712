package io.ebsreplicator.connector.ebs.pipeline;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.junit.EbsLocalExtension;
import io.ebsreplicator.local.service.Quotas;
import io.ebsreplicator.local.service.Snapshot;
import io.ebsreplicator.local.service.SnapshotStatus;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The failure reasons that EBS causes, each produced by its real cause: ebs-local over HTTP with
 * the real SDK, the whole pipeline on a MiniCluster. Every failed request ends in exactly one
 * result per target with its reason and a message that names what failed, while a good request
 * beside it completes. (The reasons of the job's own decisions are produced by the tests of the
 * components that decide them; see {@code FailureReasonTest}.)
 */
class FailureReasonsITCase {

    static final String SOURCE = "us-east-1";

    /** One target region per case, so that no case's pending targets count against another's. */
    static final String GOOD = "us-west-2";

    static final String BAD_KEY = "eu-west-1";
    static final String FULL = "ap-south-1";
    static final String FLAKY = "ca-central-1";
    static final String CORRUPT = "sa-east-1";
    static final String VERIFIED = "eu-central-1";

    /** Pending snapshots an account may have per region; FULL is filled up to it. */
    static final int PENDING_LIMIT = 3;

    /** A seal slow enough to change the faults between CompleteSnapshot and verification. */
    static final Duration SEAL = Duration.ofSeconds(3);

    @RegisterExtension
    static final EbsLocalExtension EBS =
            EbsLocalExtension.builder()
                    .configure(
                            b ->
                                    b.regions(SOURCE, GOOD, BAD_KEY, FULL, FLAKY, CORRUPT, VERIFIED)
                                            .sealDelay(SEAL)
                                            .quotas(
                                                    Quotas.defaults()
                                                            .withPendingSnapshotsPerAccount(
                                                                    PENDING_LIMIT)))
                    .build();

    @RegisterExtension static final MiniClusterExtension FLINK = ReplicationScenario.miniCluster();

    static EbsFixture source;

    @BeforeAll
    static void fixtures() {
        source = new EbsFixture(EBS.server(), SOURCE);
    }

    @AfterAll
    static void close() {
        source.close();
    }

    @Test
    void ebsRefusingTheTargetsEndsEachRequestWithItsReasonWhileAGoodOneCompletes()
            throws Exception {
        String first = source.snapshot(1, null, blocks(3, 0, 5));
        String second = source.snapshot(1, null, blocks(4, 1, 7));
        // The request id was used before, for another source: the same ClientToken with other
        // parameters.
        List<ReplicationResult> earlier =
                run(List.of(request("reused", first, target(GOOD))), c -> {});
        assertThat(earlier).singleElement().satisfies(r -> assertThat(r.succeeded()).isTrue());
        try (EbsFixture full = new EbsFixture(EBS.server(), FULL)) {
            for (int i = 0; i < PENDING_LIMIT; i++) {
                full.pending(1);
            }
        }
        ReplicationTarget keyOfAnotherRegion =
                new ReplicationTarget(
                        BAD_KEY,
                        null,
                        "arn:aws:kms:" + GOOD + ":111122223333:key/replicas",
                        Map.of(),
                        null);

        Map<String, ReplicationResult> byId =
                byRequest(
                        run(
                                List.of(
                                        request("reused", second, target(GOOD)),
                                        request("over-quota", first, target(FULL)),
                                        request("bad-key", first, keyOfAnotherRegion),
                                        request("good", second, target(GOOD))),
                                // A full region is waited for; past the quota wait, it fails.
                                c ->
                                        c.set(
                                                EbsReplicationOptions.TARGET_QUOTA_WAIT,
                                                Duration.ofSeconds(2))));

        assertThat(byId).containsOnlyKeys("reused", "over-quota", "bad-key", "good");
        assertFailed(
                byId.get("reused"), FailureReason.REQUEST_ID_REUSED, "ConflictException", GOOD);
        assertFailed(
                byId.get("over-quota"),
                FailureReason.QUOTA_EXCEEDED,
                "ServiceQuotaExceededException",
                FULL);
        assertFailed(
                byId.get("bad-key"),
                FailureReason.REJECTED_BY_EBS,
                "INVALID_CUSTOMER_KEY",
                BAD_KEY);
        for (String id : List.of("reused", "over-quota", "bad-key")) {
            assertThat(byId.get(id).targetSnapshotId()).as("%s started no target", id).isNull();
        }
        ReplicationResult good = byId.get("good");
        assertThat(good.succeeded()).as(good.toJson()).isTrue();
        assertThat(good.error()).isNull();
        assertThat(EBS.service().snapshot(GOOD, good.targetSnapshotId()).status())
                .isEqualTo(SnapshotStatus.COMPLETED);
    }

    @Test
    void writesThatFailTransientlyPastTheTotalTimeoutEndAsEbsUnavailable() throws Exception {
        String snap = source.snapshot(1, null, blocks(5, 0, 2, 9));
        EBS.setFaults(
                FaultProfile.builder()
                        .serverErrorRate(1.0)
                        .operations(Operation.PUT_SNAPSHOT_BLOCK)
                        .build());

        List<ReplicationResult> results =
                run(
                        List.of(request("flaky", snap, target(FLAKY))),
                        c -> c.set(EbsReplicationOptions.TOTAL_TIMEOUT, Duration.ofSeconds(2)));

        assertThat(results).hasSize(1);
        ReplicationResult r = results.get(0);
        assertFailed(r, FailureReason.EBS_UNAVAILABLE, "PutSnapshotBlock", FLAKY);
        assertThat(r.error().message()).contains("InternalServerException");
        assertThat(r.targetSnapshotId()).as("the target was started").isNotNull();
    }

    @Test
    void aSourceBlockThatNeverMatchesItsChecksumEndsAsChecksumMismatch() throws Exception {
        String snap = source.snapshot(1, null, blocks(6, 4));
        EBS.setFaults(everyReadCorrupted());

        List<ReplicationResult> results =
                run(
                        List.of(request("corrupt", snap, target(CORRUPT))),
                        c -> c.set(EbsReplicationOptions.READ_ATTEMPTS, 2));

        assertThat(results).hasSize(1);
        assertFailed(
                results.get(0), FailureReason.CHECKSUM_MISMATCH, "Block 4 of " + snap, CORRUPT);
        assertThat(results.get(0).error().message()).contains("2 reads");
    }

    @Test
    void aTargetThatReadsBackDifferentlyFromTheSourceFailsVerification() throws Exception {
        String snap = source.snapshot(1, null, blocks(7, 1, 3));
        CompletableFuture<List<ReplicationResult>> job =
                CompletableFuture.supplyAsync(
                        () ->
                                runUnchecked(
                                        List.of(request("verified", snap, target(VERIFIED))),
                                        c -> c.set(EbsReplicationOptions.VERIFY, true)));
        // Once CompleteSnapshot is accepted every block is written; from then on the target's
        // blocks read back with a flipped byte, as a target damaged after the copy would.
        Snapshot sealing = awaitCompleteSnapshotAccepted(VERIFIED, job);
        EBS.setFaults(everyReadCorrupted());

        List<ReplicationResult> results = job.get(2, TimeUnit.MINUTES);

        assertThat(results).hasSize(1);
        ReplicationResult r = results.get(0);
        assertFailed(r, FailureReason.VERIFICATION_FAILED, sealing.id(), VERIFIED);
        assertThat(r.error().message()).contains("differs from the source");
        assertThat(r.targetSnapshotId()).isEqualTo(sealing.id());
    }

    // ------------------------------------------------------------------ helpers

    /** Every GetSnapshotBlock answers with a flipped byte and the original checksum. */
    private static FaultProfile everyReadCorrupted() {
        return FaultProfile.builder()
                .corruptReadRate(1.0)
                .operations(Operation.GET_SNAPSHOT_BLOCK)
                .build();
    }

    private static void assertFailed(
            ReplicationResult r, FailureReason reason, String inMessage, String region) {
        assertThat(r.status()).as(r.toJson()).isEqualTo(ReplicationResult.FAILED);
        assertThat(r.error().reason()).as(r.toJson()).isEqualTo(reason);
        assertThat(r.error().message()).as(r.toJson()).contains(inMessage);
        assertThat(r.targetRegion()).isEqualTo(region);
    }

    private static Snapshot awaitCompleteSnapshotAccepted(String region, CompletableFuture<?> job)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline && !job.isDone()) {
            for (Snapshot s : EBS.service().snapshots(region)) {
                if (s.completionsAccepted() > 0) {
                    return s;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError(
                "No CompleteSnapshot in " + region + " (job done: " + job.isDone() + ")");
    }

    private static ReplicationRequest request(
            String id, String snapshot, ReplicationTarget target) {
        return new ReplicationRequest(
                id,
                SOURCE,
                snapshot,
                null,
                List.of(target),
                null,
                false,
                Map.of(),
                ReplicationRequest.NO_DEADLINE,
                0);
    }

    private static ReplicationTarget target(String region) {
        return ReplicationTarget.of(region);
    }

    private static Map<Integer, byte[]> blocks(long seed, int... indexes) {
        Map<Integer, byte[]> m = new TreeMap<>();
        for (int i : indexes) {
            m.put(i, EbsFixture.block(seed * 100 + i + 1));
        }
        return m;
    }

    private static Map<String, ReplicationResult> byRequest(List<ReplicationResult> results) {
        Map<String, ReplicationResult> out = new HashMap<>();
        for (ReplicationResult r : results) {
            assertThat(out.put(r.requestId(), r)).as("one result for %s", r.requestId()).isNull();
        }
        return out;
    }

    private static List<ReplicationResult> runUnchecked(
            List<ReplicationRequest> requests, Consumer<Configuration> options) {
        try {
            return run(requests, options);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static List<ReplicationResult> run(
            List<ReplicationRequest> requests, Consumer<Configuration> more) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.setParallelism(2);
        env.enableCheckpointing(500);
        Configuration options =
                ReplicationScenario.options(
                        EBS, Set.of(SOURCE, GOOD, BAD_KEY, FULL, FLAKY, CORRUPT, VERIFIED));
        more.accept(options);
        List<ReplicationResult> out = new ArrayList<>();
        try (CloseableIterator<ReplicationResult> it =
                EbsReplicationPipeline.build(env, requests, options, BlockTransform.IDENTITY)
                        .executeAndCollect("failure-reasons")) {
            it.forEachRemaining(out::add);
        }
        return out;
    }
}
