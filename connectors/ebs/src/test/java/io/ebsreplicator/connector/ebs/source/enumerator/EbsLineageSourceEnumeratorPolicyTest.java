package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.policy.PolicyRule;
import io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.Coordinator;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.CopyDeletionSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.OTHER_TARGET;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.SOURCE;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.TARGET;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.ranges;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.settings;
import static io.ebsreplicator.connector.ebs.source.enumerator.EnumeratorHarness.startSpec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The enumerator with a DR policy: a request without targets is planned from the first rule that
 * selects its source (described first), a request with targets overrides the policy, an unmatched
 * one is counted and skipped, a request being planned survives a checkpoint, and the policy is
 * reloaded when its file changes. Against {@link FakeEbsProxy} regions (see {@link
 * EnumeratorHarness}).
 */
class EbsLineageSourceEnumeratorPolicyTest {

    private static final String KEY_EU =
            "arn:aws:kms:eu-west-1:111122223333:key/0123abcd-0123-0123-0123-0123456789ab";
    private static final String VOLUME = "vol-0123456789abcdef0";

    private static final String POLICY =
            """
            {"version": 1, "rules": [
              {"name": "gold", "select": {"tags": {"tier": "gold"}},
               "targets": [{"region": "eu-west-1", "kmsKeyArn": "%s", "retention": {"keepLast": 3}},
                           {"region": "ap-south-1", "retention": {"keepLast": 3}}],
               "copyTags": ["tier"], "description": "DR copy of ${snapshotId} (${volumeId})"},
              {"name": "db", "select": {"volumeIds": ["%s"]},
               "targets": [{"region": "ap-south-1", "retention": {"maxAge": "14d"}}]}
            ]}
            """
                    .formatted(KEY_EU, VOLUME);

    @TempDir Path dir;

    private EnumeratorHarness h;
    private FakeEbsProxy source;
    private Path policyFile;

    @BeforeEach
    void setUp() throws Exception {
        h = new EnumeratorHarness();
        source = h.region(SOURCE);
        policyFile = dir.resolve("policy.json");
        Files.writeString(policyFile, POLICY);
    }

    @AfterEach
    void tearDown() throws Exception {
        h.close();
    }

    /** A request as a snapshot event makes it: no targets, the volume as lineage and attribute. */
    private static ReplicationRequest event(String id, String snapshot, String volume) {
        return new ReplicationRequest(
                id,
                SOURCE,
                snapshot,
                null,
                List.of(),
                volume,
                true,
                Map.of(ReplicationRequest.VOLUME_ATTRIBUTE, volume),
                ReplicationRequest.NO_DEADLINE,
                0);
    }

    private Coordinator start(ReplicationRequest... requests) throws Exception {
        Coordinator c =
                h.bounded(
                                1,
                                EnumeratorHarness.state(h.now(), requests),
                                settings().policy(policyFile))
                        .start();
        c.context.settle();
        return c;
    }

    @Test
    void aRequestWithoutTargetsIsPlannedFromTheFirstRuleThatSelectsItsSource() throws Exception {
        String gold = h.sourceSnapshot(1);
        source.describeAs(gold, "vol-00000000000000001", Map.of("tier", "gold"), "nightly");
        String db = h.sourceSnapshot(1);
        source.describeAs(db, VOLUME, Map.of(), null);

        Coordinator c =
                start(event("e-gold", gold, "vol-00000000000000001"), event("e-db", db, VOLUME));

        List<BlockRangeSplit> splits = ranges(c.unassigned());
        assertThat(splits)
                .extracting(BlockRangeSplit::requestId)
                .containsOnly("e-gold", "e-db")
                .contains("e-gold", "e-db");
        assertThat(splits)
                .filteredOn(s -> s.requestId().equals("e-gold"))
                .allSatisfy(
                        s ->
                                assertThat(s.targets().regions())
                                        .containsExactlyInAnyOrder(TARGET, OTHER_TARGET));
        assertThat(splits)
                .filteredOn(s -> s.requestId().equals("e-db"))
                .allSatisfy(s -> assertThat(s.targets().regions()).containsExactly(OTHER_TARGET));
        StartSnapshotSpec eu = startSpec(h.region(TARGET), 0);
        assertThat(eu.kmsKeyArn()).as("the rule's key for eu-west-1").isEqualTo(KEY_EU);
        assertThat(eu.encrypted()).isTrue();
        assertThat(eu.tags())
                .containsEntry("tier", "gold")
                .containsEntry(PolicyRule.LINEAGE_TAG, "vol-00000000000000001")
                .containsEntry(PolicyRule.RULE_TAG, "gold");
        assertThat(eu.description()).isEqualTo("DR copy of " + gold + " (vol-00000000000000001)");
        assertThat(h.region(OTHER_TARGET).calls("StartSnapshot"))
                .extracting(call -> ((StartSnapshotSpec) call.args().get(0)).kmsKeyArn())
                .as("no key given for ap-south-1")
                .containsOnlyNulls();
        assertThat(c.call(EbsLineageSourceEnumerator::policyCounts)).containsExactly(2, 0, 0);
    }

    @Test
    void aRequestWithTargetsOverridesThePolicy() throws Exception {
        String gold = h.sourceSnapshot(1);
        source.describeAs(gold, null, Map.of("tier", "gold"), null);
        ReplicationRequest explicit =
                EnumeratorHarness.request("explicit", gold).to(OTHER_TARGET).build();

        Coordinator c = start(explicit);

        assertThat(ranges(c.unassigned()))
                .isNotEmpty()
                .allSatisfy(s -> assertThat(s.targets().regions()).containsExactly(OTHER_TARGET));
        assertThat(h.region(TARGET).calls("StartSnapshot")).isEmpty();
        assertThat(source.calls("DescribeSnapshots"))
                .as("the policy is not asked: no describe for it")
                .isEmpty();
        assertThat(c.call(EbsLineageSourceEnumerator::policyCounts)).containsExactly(0, 0, 0);
    }

    @Test
    void anUnmatchedSourceIsSkippedAndAMissingOneFailsWithItsReasonAndTheJobEnds()
            throws Exception {
        String plain = h.sourceSnapshot(1);
        source.describeAs(plain, "vol-0000000000000000f", Map.of("tier", "bronze"), null);

        Coordinator c =
                start(
                        event("e-plain", plain, "vol-0000000000000000f"),
                        event("e-gone", "snap-0000000000000dead", "vol-0000000000000000f"));

        assertThat(c.unassigned())
                .as("the unmatched one leaves nothing; the missing one one failure")
                .singleElement()
                .isInstanceOfSatisfying(
                        FailedRequestSplit.class,
                        f -> {
                            assertThat(f.requestId()).isEqualTo("e-gone");
                            assertThat(f.targetRegions())
                                    .as("no rule chose targets: keyed by the source region")
                                    .containsExactly(SOURCE);
                            assertThat(f.failure().reason())
                                    .isEqualTo(FailureReason.SNAPSHOT_NOT_FOUND);
                        });
        assertThat(c.checkpoint().pendingRequests()).isEmpty();
        assertThat(c.call(EbsLineageSourceEnumerator::policyCounts)).containsExactly(0, 1, 1);
        c.readers(1);
        c.requestSplit(0);
        c.requestSplit(0);
        assertThat(c.context.hasNoMoreSplits(0)).as("nothing left to do").isTrue();
    }

    @Test
    void aSourceThatIsRefusedFailsAtOnceWithTheReasonEbsGave() throws Exception {
        String denied = h.sourceSnapshot(1);
        source.failNext(
                "DescribeSnapshots", () -> FakeEbsProxy.fatal("UnauthorizedOperation", null));

        Coordinator c = start(event("e-denied", denied, "vol-00000000000000001"));

        assertThat(c.unassigned())
                .singleElement()
                .isInstanceOfSatisfying(
                        FailedRequestSplit.class,
                        f -> {
                            assertThat(f.failure().reason()).isEqualTo(FailureReason.ACCESS_DENIED);
                            assertThat(f.failure().message()).contains(denied, SOURCE);
                        });
        assertThat(source.calls("DescribeSnapshots")).as("not retried").hasSize(1);
    }

    @Test
    void aTransientDescribeFailureIsRetriedAndPlannedWhenTheRegionAnswers() throws Exception {
        String gold = h.sourceSnapshot(1);
        source.describeAs(gold, null, Map.of("tier", "gold"), null);
        for (int i = 0; i < PolicyPlanning.MAX_PLAN_ATTEMPTS - 1; i++) {
            source.failNext("DescribeSnapshots", FakeEbsProxy::throttled);
        }

        Coordinator c = start(event("e-1", gold, "vol-00000000000000001"));
        for (int i = 0; i < PolicyPlanning.MAX_PLAN_ATTEMPTS; i++) {
            c.tick();
            c.context.settle();
        }

        assertThat(c.unassigned()).isNotEmpty().allMatch(s -> s instanceof BlockRangeSplit);
        assertThat(c.call(EbsLineageSourceEnumerator::policyCounts)).containsExactly(1, 0, 0);
    }

    @Test
    void aSourceRegionThatKeepsFailingFailsTheRequestAfterBoundedAttempts() throws Exception {
        String gold = h.sourceSnapshot(1);
        source.describeAs(gold, null, Map.of("tier", "gold"), null);
        source.failAlways("DescribeSnapshots", FakeEbsProxy::throttled);

        Coordinator c = start(event("e-1", gold, "vol-00000000000000001"));
        for (int i = 0; i < PolicyPlanning.MAX_PLAN_ATTEMPTS + 3; i++) {
            c.tick();
            c.context.settle();
        }

        assertThat(source.calls("DescribeSnapshots"))
                .as("bounded")
                .hasSize(PolicyPlanning.MAX_PLAN_ATTEMPTS);
        assertThat(c.unassigned())
                .singleElement()
                .isInstanceOfSatisfying(
                        FailedRequestSplit.class,
                        f ->
                                assertThat(f.failure().reason())
                                        .isEqualTo(FailureReason.EBS_UNAVAILABLE));
        assertThat(c.checkpoint().pendingRequests()).isEmpty();
    }

    @Test
    void aRequestBeingPlannedIsCheckpointedAndPlannedAgainAfterARestore() throws Exception {
        String gold = h.sourceSnapshot(1);
        source.describeAs(gold, null, Map.of("tier", "gold"), null);
        source.hold("DescribeSnapshots");
        Coordinator first = start(event("e-1", gold, "vol-00000000000000001"));

        EbsLineageEnumeratorState state = first.checkpoint();
        assertThat(state.pendingRequests())
                .extracting(p -> p.request().requestId())
                .containsExactly("e-1");
        assertThat(state.pendingRequests().get(0).request().targets())
                .as("checkpointed unplanned")
                .isEmpty();
        first.close();
        source.release();

        Coordinator restored = h.bounded(1, state, settings().policy(policyFile)).start();
        restored.context.settle();

        assertThat(ranges(restored.unassigned()))
                .isNotEmpty()
                .allSatisfy(
                        s ->
                                assertThat(s.targets().regions())
                                        .containsExactlyInAnyOrder(TARGET, OTHER_TARGET));
    }

    @Test
    void aChangedPolicyIsUsedForTheNextRequestAndAnInvalidEditKeepsTheOne() throws Exception {
        String silver = h.sourceSnapshot(1);
        source.describeAs(silver, null, Map.of("tier", "silver"), null);
        PolicyPlanning planning =
                new PolicyPlanning(
                        new io.ebsreplicator.connector.ebs.policy.PolicyFile(
                                policyFile.toString()));
        planning.load();
        io.ebsreplicator.connector.ebs.proxy.DescribeBatcher describer =
                new io.ebsreplicator.connector.ebs.proxy.DescribeBatcher(source);
        EbsLineageEnumeratorState.PendingRequest p =
                new EbsLineageEnumeratorState.PendingRequest(
                        event("e-1", silver, "vol-00000000000000001"), h.now(), 0);

        assertThat(planning.plan(p, describer).get())
                .isInstanceOf(PolicyPlanning.Outcome.Unmatched.class);

        Files.writeString(policyFile, POLICY.replace("\"gold\"}", "\"silver\"}"));
        planning.apply(planning.reload());
        PolicyPlanning.Outcome planned = planning.plan(p, describer).get();
        Files.writeString(policyFile, "{\"version\": 1, \"rules\": [{\"name\": \"x\"}]}");
        planning.apply(planning.reload());
        PolicyPlanning.Outcome stillPlanned = planning.plan(p, describer).get();

        assertThat(planned).isInstanceOf(PolicyPlanning.Outcome.Planned.class);
        assertThat(((PolicyPlanning.Outcome.Planned) planned).request().request().targets())
                .extracting(ReplicationTarget::region)
                .containsExactly(TARGET, OTHER_TARGET);
        assertThat(stillPlanned)
                .as("the invalid edit is not used: the policy loaded before stays")
                .isInstanceOf(PolicyPlanning.Outcome.Planned.class);
    }

    /**
     * Four snapshots of lineage vol-1 arrive as events; the rule keeps the last 2 copies in {@link
     * TARGET}. Each copy is completed in turn; returns the copies, oldest first.
     */
    private List<String> copyLineageOfFour(Coordinator c, FakeEbsProxy target) throws Exception {
        List<String> copies = new java.util.ArrayList<>();
        for (int i = 1; i <= 4; i++) {
            c.context.settle();
            BlockRangeSplit split = EnumeratorHarness.splitOf(c.unassigned(), "e-" + i);
            String copy = split.targets().snapshotId(TARGET);
            copies.add(copy);
            c.finished(0, split.splitId());
            target.setStatus(copy, "completed", null);
            h.advance(java.time.Duration.ofSeconds(1));
            c.tick();
            c.context.settle();
        }
        return copies;
    }

    private Coordinator startLineageOfFour(boolean dryRun) throws Exception {
        Files.writeString(
                policyFile,
                """
                {"version": 1, "rules": [{"name": "keep2", "select": {"lineages": ["vol-1"]},
                  "targets": [{"region": "eu-west-1", "retention": {"keepLast": 2}}],
                  "rpo": "1h"}]}
                """);
        String s1 = h.sourceSnapshot(1);
        String s2 = h.nextSourceSnapshot(s1);
        String s3 = h.nextSourceSnapshot(s2);
        String s4 = h.nextSourceSnapshot(s3);
        Coordinator c =
                h.bounded(
                                1,
                                EnumeratorHarness.state(
                                        h.now(),
                                        event("e-1", s1, "vol-1"),
                                        event("e-2", s2, "vol-1"),
                                        event("e-3", s3, "vol-1"),
                                        event("e-4", s4, "vol-1")),
                                settings()
                                        .splitsPerRequest(1)
                                        .policy(policyFile)
                                        .retentionDryRun(dryRun))
                        .readers(1)
                        .start();
        return c;
    }

    @Test
    void afterEachNewerCopyRetentionDeletesWhatItNoLongerKeepsNeverTheNewest() throws Exception {
        FakeEbsProxy target = h.region(TARGET);
        Coordinator c = startLineageOfFour(false);

        List<String> copies = copyLineageOfFour(c, target);

        assertThat(deletions(c))
                .as("the two oldest copies are decided to go, each once")
                .extracting(CopyDeletionSplit::snapshotId)
                .containsExactly(copies.get(0), copies.get(1));
        assertThat(deletions(c))
                .allSatisfy(
                        d -> {
                            assertThat(d.region()).isEqualTo(TARGET);
                            assertThat(d.lineage()).isEqualTo("vol-1");
                            assertThat(d.rule()).isEqualTo("keep2");
                            assertThat(d.dryRun()).isFalse();
                        });
        assertThat(target.deleted())
                .as("the enumerator decides; a reader deletes, after the decision is checkpointed")
                .isEmpty();
        assertThat(c.call(EbsLineageSourceEnumerator::deletionsInFlight))
                .containsExactlyInAnyOrder(
                        CopyDeletionSplit.idOf(TARGET, copies.get(0)),
                        CopyDeletionSplit.idOf(TARGET, copies.get(1)));
        assertThat(EnumeratorHarness.startSpec(target, 3).parentSnapshotId())
                .as("the fourth copy was written onto the third, which stays")
                .isEqualTo(copies.get(2));

        assertThat(c.call(EbsLineageSourceEnumerator::rpoGauges)[1])
                .as("just copied: within the 1 h objective")
                .isZero();
        h.advance(java.time.Duration.ofMinutes(61));
        long[] late = c.call(EbsLineageSourceEnumerator::rpoGauges);
        assertThat(late[0]).isGreaterThanOrEqualTo(java.time.Duration.ofMinutes(61).toMillis());
        assertThat(late[1]).as("its events stopped: over objective").isEqualTo(1);
        assertThat(EnumeratorHarness.startSpec(target, 3).tags())
                .containsEntry(PolicyRule.RULE_TAG, "keep2");
    }

    /** Completes the copy of request {@code id} in {@link TARGET}; returns the copy. */
    private String completeCopy(Coordinator c, FakeEbsProxy target, String id) throws Exception {
        c.context.settle();
        BlockRangeSplit split = EnumeratorHarness.splitOf(c.unassigned(), id);
        String copy = split.targets().snapshotId(TARGET);
        c.finished(0, split.splitId());
        target.setStatus(copy, "completed", null);
        h.advance(java.time.Duration.ofSeconds(1));
        c.tick();
        c.context.settle();
        return copy;
    }

    /** The copy deletions decided so far: unassigned, or assigned to a reader. */
    private static List<CopyDeletionSplit> deletions(Coordinator c) throws Exception {
        List<LineageSplit> all = new java.util.ArrayList<>(c.assigned());
        all.addAll(c.unassigned());
        return EnumeratorHarness.ofKind(all, CopyDeletionSplit.class);
    }

    /**
     * The job fails over while deletions are decided and not yet run: one deletion split is held by
     * a reader (in its state), one waits in the enumerator's. The restored enumerator decides
     * neither again when the lineage's next copy completes (both are on their way, with their one
     * record each), decides the copy that now goes, and never a copy that stays.
     */
    @Test
    void afterARestoreNoDecidedDeletionIsDecidedAgainAndTheNewestStays() throws Exception {
        Files.writeString(
                policyFile,
                """
                {"version": 1, "rules": [{"name": "keep1", "select": {"lineages": ["vol-1"]},
                  "targets": [{"region": "eu-west-1", "retention": {"keepLast": 1}}]}]}
                """);
        String s1 = h.sourceSnapshot(1);
        String s2 = h.nextSourceSnapshot(s1);
        String s3 = h.nextSourceSnapshot(s2);
        String s4 = h.nextSourceSnapshot(s3);
        EnumeratorHarness.Settings settings = settings().splitsPerRequest(1).policy(policyFile);
        FakeEbsProxy target = h.region(TARGET);
        Coordinator first =
                h.bounded(
                                1,
                                EnumeratorHarness.state(
                                        h.now(),
                                        event("e-1", s1, "vol-1"),
                                        event("e-2", s2, "vol-1"),
                                        event("e-3", s3, "vol-1")),
                                settings)
                        .readers(1)
                        .start();
        String c1 = completeCopy(first, target, "e-1");
        String c2 = completeCopy(first, target, "e-2");
        String c3 = completeCopy(first, target, "e-3");
        EbsLineageEnumeratorState checkpoint = first.checkpoint();
        first.close();
        assertThat(EnumeratorHarness.ofKind(checkpoint.unassignedSplits(), CopyDeletionSplit.class))
                .extracting(CopyDeletionSplit::snapshotId)
                .containsExactly(c1, c2);
        assertThat(checkpoint.deletionsInFlight()).hasSize(2);

        // Restored: c1's deletion is held by a reader (its state), c2's waits in the enumerator's;
        // the lineage's next event is taken after the restore.
        List<EbsLineageEnumeratorState.PendingRequest> pending =
                new java.util.ArrayList<>(checkpoint.pendingRequests());
        pending.add(
                new EbsLineageEnumeratorState.PendingRequest(
                        event("e-4", s4, "vol-1"), h.now(), 0));
        List<LineageSplit> unassigned = new java.util.ArrayList<>(checkpoint.unassignedSplits());
        unassigned.removeIf(s -> s instanceof CopyDeletionSplit d && d.snapshotId().equals(c1));
        EbsLineageEnumeratorState restoredState =
                new EbsLineageEnumeratorState(
                        pending,
                        unassigned,
                        checkpoint.watchedTargets(),
                        checkpoint.intakePositions(),
                        checkpoint.acceptedIds(),
                        checkpoint.lineageCopies(),
                        checkpoint.recoveryPoints(),
                        checkpoint.retentionPasses(),
                        checkpoint.deletionsInFlight());
        Coordinator restored = h.bounded(1, restoredState, settings).readers(1).start();
        String c4 = completeCopy(restored, target, "e-4");

        assertThat(deletions(restored))
                .as("c2 still waits, c3 is decided now; c1 (with a reader) is not decided again")
                .extracting(CopyDeletionSplit::snapshotId)
                .containsExactlyInAnyOrder(c2, c3);
        assertThat(deletions(restored))
                .extracting(CopyDeletionSplit::snapshotId)
                .doesNotContain(c4);
        assertThat(EnumeratorHarness.startSpec(target, 3).parentSnapshotId())
                .as("the fourth copy was written onto the third, decided only after it completed")
                .isEqualTo(c3);

        restored.finished(0, CopyDeletionSplit.idOf(TARGET, c1));
        assertThat(restored.call(EbsLineageSourceEnumerator::deletionsInFlight))
                .as("a reader reported c1's deletion finished")
                .containsExactlyInAnyOrder(
                        CopyDeletionSplit.idOf(TARGET, c2), CopyDeletionSplit.idOf(TARGET, c3));
    }

    @Test
    void aRetentionPassCutShortByAFailureRunsAgainAfterTheRestore() throws Exception {
        Files.writeString(
                policyFile,
                """
                {"version": 1, "rules": [{"name": "keep1", "select": {"lineages": ["vol-1"]},
                  "targets": [{"region": "eu-west-1", "retention": {"keepLast": 1}}]}]}
                """);
        String s1 = h.sourceSnapshot(1);
        String s2 = h.nextSourceSnapshot(s1);
        EnumeratorHarness.Settings settings = settings().splitsPerRequest(1).policy(policyFile);
        FakeEbsProxy target = h.region(TARGET);
        Coordinator first =
                h.bounded(
                                1,
                                EnumeratorHarness.state(
                                        h.now(),
                                        event("e-1", s1, "vol-1"),
                                        event("e-2", s2, "vol-1")),
                                settings)
                        .readers(1)
                        .start();
        String c1 = completeCopy(first, target, "e-1");
        String c2 = completeCopy(first, target, "e-2");
        EbsLineageEnumeratorState decided = first.checkpoint();
        first.close();

        // The checkpoint of the moment the pass listed the copies: under way, nothing decided.
        List<LineageSplit> undecided = new java.util.ArrayList<>(decided.unassignedSplits());
        undecided.removeIf(s -> s instanceof CopyDeletionSplit);
        EbsLineageEnumeratorState checkpoint =
                new EbsLineageEnumeratorState(
                        decided.pendingRequests(),
                        undecided,
                        decided.watchedTargets(),
                        decided.intakePositions(),
                        decided.acceptedIds(),
                        decided.lineageCopies(),
                        decided.recoveryPoints(),
                        List.of(
                                new EbsLineageEnumeratorState.RetentionPass(
                                        SOURCE, "vol-1", TARGET, "keep1")),
                        List.of());
        Coordinator restored = h.bounded(1, checkpoint, settings).readers(1).start();
        restored.context.settle();

        assertThat(deletions(restored))
                .as("the pass ran again after the restore, without a new copy")
                .extracting(CopyDeletionSplit::snapshotId)
                .containsExactly(c1);
        assertThat(target.status(c2)).isEqualTo("completed");
        assertThat(restored.checkpoint().retentionPasses()).as("and ended").isEmpty();
    }

    /**
     * A deletion a reader reported finished (deleted, or failed) is no longer in flight: a later
     * pass decides again whatever EC2 still lists, so a failed deletion is tried again.
     */
    @Test
    void aDeletionReportedFinishedIsDecidedAgainWhileTheCopyStillExists() throws Exception {
        FakeEbsProxy target = h.region(TARGET);
        Coordinator c = startLineageOfFour(false);
        List<String> copies = copyLineageOfFour(c, target);
        List<CopyDeletionSplit> first = deletions(c);

        c.finished(0, first.get(0).splitId(), first.get(1).splitId());
        assertThat(c.call(EbsLineageSourceEnumerator::deletionsInFlight))
                .as("both reported finished")
                .isEmpty();
        EbsLineageEnumeratorState ran = c.checkpoint();
        c.close();

        // Their deletions failed: the copies still exist. The lineage's next pass (here the one
        // a restore runs again) decides them again.
        List<LineageSplit> left = new java.util.ArrayList<>(ran.unassignedSplits());
        left.removeIf(s -> s instanceof CopyDeletionSplit);
        EbsLineageEnumeratorState withPass =
                new EbsLineageEnumeratorState(
                        ran.pendingRequests(),
                        left,
                        ran.watchedTargets(),
                        ran.intakePositions(),
                        ran.acceptedIds(),
                        ran.lineageCopies(),
                        ran.recoveryPoints(),
                        List.of(
                                new EbsLineageEnumeratorState.RetentionPass(
                                        SOURCE, "vol-1", TARGET, "keep2")),
                        ran.deletionsInFlight());
        Coordinator restored =
                h.bounded(1, withPass, settings().splitsPerRequest(1).policy(policyFile))
                        .readers(1)
                        .start();
        restored.context.settle();

        assertThat(deletions(restored))
                .extracting(CopyDeletionSplit::snapshotId)
                .containsExactly(copies.get(0), copies.get(1));
    }

    @Test
    void theRpoGaugesAreRebuiltFromTheCheckpointOnRestore() throws Exception {
        FakeEbsProxy target = h.region(TARGET);
        Coordinator c = startLineageOfFour(false);
        copyLineageOfFour(c, target);
        h.advance(java.time.Duration.ofMinutes(30));
        long[] before = c.call(EbsLineageSourceEnumerator::rpoGauges);
        EbsLineageEnumeratorState checkpoint = c.checkpoint();
        c.close();

        Coordinator restored =
                h.bounded(1, checkpoint, settings().splitsPerRequest(1).policy(policyFile))
                        .readers(1)
                        .start();

        assertThat(before[0]).isGreaterThanOrEqualTo(java.time.Duration.ofMinutes(30).toMillis());
        assertThat(restored.call(EbsLineageSourceEnumerator::rpoGauges))
                .as("the newest copy's age, as before the restore (not zero)")
                .containsExactly(before);
        h.advance(java.time.Duration.ofMinutes(31));
        assertThat(restored.call(EbsLineageSourceEnumerator::rpoGauges)[1])
                .as("over the 1 h objective of the rule, as the restored policy says")
                .isEqualTo(1);
    }

    @Test
    void aDryRunDeletesNothingAndSaysWhatItWouldDelete() throws Exception {
        FakeEbsProxy target = h.region(TARGET);
        Coordinator c = startLineageOfFour(true);

        List<String> copies = copyLineageOfFour(c, target);

        assertThat(target.deleted()).isEmpty();
        assertThat(deletions(c))
                .as("the two oldest would go, each named once while its report is on its way")
                .extracting(CopyDeletionSplit::snapshotId)
                .containsExactly(copies.get(0), copies.get(1));
        assertThat(deletions(c)).allMatch(CopyDeletionSplit::dryRun);
        assertThat(EnumeratorHarness.startSpec(target, 3).parentSnapshotId())
                .isEqualTo(copies.get(2));
    }

    /** An intake that never delivers: the requests of these tests are in the state. */
    private static final class NoIntake
            implements io.ebsreplicator.connector.ebs.source.intake.RequestIntake {
        static io.ebsreplicator.connector.ebs.source.intake.RequestIntake open() {
            return new NoIntake();
        }

        @Override
        public void seek(Map<String, Long> positions) {}

        @Override
        public List<io.ebsreplicator.connector.ebs.source.intake.IntakeRecord> poll(
                java.time.Duration timeout) {
            return List.of();
        }

        @Override
        public void close() {}
    }

    /**
     * In a long-running job a decided deletion goes to no reader before a checkpoint that holds it
     * completes: a restore to an earlier checkpoint would forget the decision while its copy is
     * gone, so its record, in the aborted transaction, would never be written again.
     */
    @Test
    void inALongRunningJobADeletionRunsOnlyOnceACheckpointHoldingItCompleted() throws Exception {
        Files.writeString(
                policyFile,
                """
                {"version": 1, "rules": [{"name": "keep1", "select": {"lineages": ["vol-1"]},
                  "targets": [{"region": "eu-west-1", "retention": {"keepLast": 1}}]}]}
                """);
        String s1 = h.sourceSnapshot(1);
        String s2 = h.nextSourceSnapshot(s1);
        FakeEbsProxy target = h.region(TARGET);
        Coordinator c =
                h.withIntake(
                                EnumeratorHarness.state(
                                        h.now(),
                                        event("e-1", s1, "vol-1"),
                                        event("e-2", s2, "vol-1")),
                                settings().splitsPerRequest(1).policy(policyFile),
                                NoIntake::open)
                        .readers(1)
                        .start();
        String c1 = completeCopy(c, target, "e-1");
        completeCopy(c, target, "e-2"); // c1 is let go; the checkpoint taken here holds it
        for (int i = 0; i < 4; i++) {
            c.requestSplit(0);
        }

        assertThat(EnumeratorHarness.ofKind(c.assigned(), CopyDeletionSplit.class))
                .as("held until the checkpoint completes")
                .isEmpty();
        assertThat(EnumeratorHarness.ofKind(c.unassigned(), CopyDeletionSplit.class))
                .as("but in every checkpoint meanwhile")
                .extracting(CopyDeletionSplit::snapshotId)
                .containsExactly(c1);

        c.run(e -> e.notifyCheckpointComplete(Long.MAX_VALUE));
        c.requestSplit(0);

        assertThat(EnumeratorHarness.ofKind(c.assigned(), CopyDeletionSplit.class))
                .extracting(CopyDeletionSplit::snapshotId)
                .containsExactly(c1);
    }

    @Test
    void anInvalidPolicyFailsTheStartWithItsProblems() throws Exception {
        Files.writeString(policyFile, "{\"version\": 1, \"rules\": [{\"name\": \"x\"}]}");
        Coordinator c =
                h.bounded(1, EnumeratorHarness.state(h.now()), settings().policy(policyFile));

        assertThatThrownBy(c::start).hasStackTraceContaining("$.rules[0].select is required");
    }
}
