package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.enumerator.TargetWatcher.Outcome;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link TargetWatcher}: batches, intervals, outcomes and room per region, by hand-driven time. */
class TargetWatcherTest {

    private static final String WEST = "us-west-2";
    private static final String EU = "eu-west-1";
    private static final long WATCH = 30_000;
    private static final long SEAL = 1_000;
    private static final long GRACE = 120_000;
    private static final long MISSING = 60_000;

    @Test
    void aRegionHasRoomWhilePendingTargetsAndStartsAreBelowTheLimit() {
        TargetWatcher w = new TargetWatcher(WATCH, SEAL, GRACE, MISSING, 2);
        w.reserve(WEST);
        w.unreserve(WEST);
        w.watch(request("a"), WEST, "snap-a", List.of("a#0"), 0, 0);
        assertThat(w.hasRoom(WEST)).isTrue();
        w.reserve(WEST);
        assertThat(w.hasRoom(WEST)).as("one pending, one starting").isFalse();
        assertThat(w.hasRoom(EU)).as("other regions are not affected").isTrue();
        w.unreserve(WEST);
        w.watch(request("b"), WEST, "snap-b", List.of("b#0"), 0, 0);
        assertThat(w.pending(WEST)).isEqualTo(2);

        w.due(WATCH);
        List<Outcome> out =
                w.described(
                        WEST,
                        List.of("snap-a", "snap-b"),
                        Map.of("snap-a", d("snap-a", "completed")),
                        WATCH);
        assertThat(out).hasSize(1).first().isInstanceOf(Outcome.Completed.class);
        assertThat(out.get(0).watch().target()).isEqualTo("snap-a");
        assertThat(w.get("a", WEST)).as("the watch ended").isNull();
        assertThat(w.pending(WEST)).isEqualTo(1);
        assertThat(w.hasRoom(WEST)).isTrue();
    }

    @Test
    void targetsAreDescribedInOneBatchPerRegionAndOftenerOnceTheirBlocksAreRead() {
        TargetWatcher w = new TargetWatcher(WATCH, SEAL, GRACE, MISSING, 100);
        w.watch(request("a"), WEST, "snap-a", List.of("a#0"), 0, 0);
        w.watch(request("b"), WEST, "snap-b", List.of("b#0"), 0, 0);
        w.watch(request("c"), EU, "snap-c", List.of("c#0"), 0, 0);

        assertThat(w.due(WATCH - 1)).isEmpty();
        Map<String, List<String>> due = w.due(WATCH);
        assertThat(due).containsOnlyKeys(WEST, EU);
        assertThat(due.get(WEST)).containsExactly("snap-a", "snap-b");
        assertThat(w.due(WATCH + 5_000))
                .as("a region is asked again only once it answered")
                .isEmpty();

        w.described(
                WEST,
                due.get(WEST),
                Map.of("snap-a", d("snap-a", "pending"), "snap-b", d("snap-b", "pending")),
                WATCH);
        w.splitsFinished(List.of("a#0"), WATCH + 100);
        assertThat(w.due(WATCH + 100 + SEAL)).containsExactly(Map.entry(WEST, List.of("snap-a")));
        w.describeFailed(WEST, WATCH + 100 + SEAL);
        assertThat(w.due(WATCH + 100 + 2 * SEAL))
                .as("asked again after a failed call")
                .containsExactly(Map.entry(WEST, List.of("snap-a")));
    }

    @Test
    void anErrorDuringTheCopyIsACancellationAfterTheGraceOnlyTheEnd() {
        TargetWatcher w = new TargetWatcher(WATCH, SEAL, GRACE, MISSING, 100);
        long t0 = 1_000_000; // times are real epoch milliseconds, never 0
        w.watch(request("a"), WEST, "snap-a", List.of("a#0"), 0, t0);
        w.watch(request("b"), WEST, "snap-b", List.of(), 0, t0);

        assertThat(w.settle(t0 + GRACE)).isEmpty();
        List<Outcome> settled = w.settle(t0 + GRACE + 1);
        assertThat(settled).hasSize(1);
        assertThat(settled.get(0)).isInstanceOf(Outcome.Settled.class);
        assertThat(settled.get(0).watch().target()).isEqualTo("snap-b");
        assertThat(w.settle(t0 + GRACE + 2)).as("once").isEmpty();

        w.due(t0 + GRACE + WATCH);
        List<Outcome> out =
                w.described(
                        WEST,
                        List.of("snap-a", "snap-b"),
                        Map.of("snap-a", d("snap-a", "error"), "snap-b", d("snap-b", "error")),
                        t0 + GRACE + WATCH);
        assertThat(out).hasSize(2);
        assertThat(out.get(0)).isInstanceOf(Outcome.Cancelled.class);
        assertThat(out.get(1)).isInstanceOf(Outcome.Abandoned.class);
        assertThat(w.isEmpty()).isTrue();
        assertThat(w.pending(WEST)).isZero();
    }

    @Test
    void aTargetMissingLongerThanEbsTakesToShowItIsGivenUp() {
        TargetWatcher w = new TargetWatcher(WATCH, SEAL, GRACE, MISSING, 100);
        w.watch(request("a"), WEST, "snap-a", List.of(), 0, 0);
        long t = SEAL;
        w.due(t);
        assertThat(w.described(WEST, List.of("snap-a"), Map.of(), t)).isEmpty();
        t += MISSING;
        w.due(t);
        assertThat(w.described(WEST, List.of("snap-a"), Map.of(), t))
                .as("within the grace")
                .isEmpty();
        t += SEAL;
        w.due(t);
        List<Outcome> out = w.described(WEST, List.of("snap-a"), Map.of(), t);
        assertThat(out).hasSize(1).first().isInstanceOf(Outcome.Abandoned.class);
        assertThat(w.pending(WEST)).isZero();
    }

    private static SnapshotDescription d(String id, String status) {
        return new SnapshotDescription(
                id, status, status.equals("error") ? "timed out" : null, 1, null);
    }

    private static PendingRequest request(String id) {
        return new PendingRequest(
                new ReplicationRequest(
                        id,
                        "us-east-1",
                        "snap-0123456789abcdef0",
                        null,
                        List.of(ReplicationTarget.of(WEST)),
                        null,
                        false,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0),
                0,
                0);
    }
}
