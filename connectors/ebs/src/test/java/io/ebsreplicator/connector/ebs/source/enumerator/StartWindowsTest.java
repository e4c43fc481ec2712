package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link StartWindows}: a plan counts against its source, then its targets, never both. */
class StartWindowsTest {

    private final TargetWatcher watcher = new TargetWatcher(30_000, 1_000, 120_000, 120_000, 3);
    private final StartWindows windows = new StartWindows(watcher, 2, 1);

    @Test
    void aSourceWindowFillsWithPlansThatHaveNotReachedTheirGate() {
        assertThat(windows.mayPlan(request("a", "us-east-1", "eu-west-1"), 0)).isTrue();
        windows.planning("a", request("a", "us-east-1", "eu-west-1"));
        windows.planning("b", request("b", "us-east-1", "ap-south-1"));

        assertThat(windows.mayPlan(request("c", "us-east-1", "ap-south-1"), 0))
                .as("two plans still reading us-east-1")
                .isFalse();
        assertThat(windows.mayPlan(request("d", "us-west-2", "eu-west-1"), 0))
                .as("another source is not held by them")
                .isTrue();

        windows.atGate("a", request("a", "us-east-1", "eu-west-1"), new CompletableFuture<>());
        assertThat(windows.mayPlan(request("c", "us-east-1", "ap-south-1"), 0))
                .as("a left its source's window at the gate")
                .isTrue();
    }

    @Test
    void aGateOpensWhenEveryTargetRegionHasAStartWindowFree() {
        CompletableFuture<Void> first = new CompletableFuture<>();
        CompletableFuture<Void> second = new CompletableFuture<>();
        windows.planning("a", request("a", "us-east-1", "eu-west-1"));
        windows.planning("b", request("b", "us-east-1", "eu-west-1"));
        windows.atGate("a", request("a", "us-east-1", "eu-west-1"), first);
        windows.atGate("b", request("b", "us-east-1", "eu-west-1"), second);

        assertThat(first).isCompleted();
        assertThat(second).as("eu-west-1 has one StartSnapshot in flight already").isNotDone();

        windows.ended("a", request("a", "us-east-1", "eu-west-1"));
        assertThat(second).isCompleted();
    }

    @Test
    void everyPlanHoldsAPendingSlotInItsTargetRegionsUntilItEnds() {
        for (String id : List.of("a", "b", "c")) {
            windows.planning(id, request(id, "us-west-2", "eu-west-1"));
        }
        assertThat(windows.mayPlan(request("d", "us-east-1", "eu-west-1"), 0))
                .as("three of three pending slots reserved")
                .isFalse();
        windows.ended("a", request("a", "us-west-2", "eu-west-1"));
        assertThat(windows.mayPlan(request("d", "us-east-1", "eu-west-1"), 0)).isTrue();
    }

    @Test
    void aRegionThatAnsweredItIsFullTakesNoPlanUntilLaterOrUntilATargetCompletes() {
        windows.full("eu-west-1", 5_000);
        assertThat(windows.mayPlan(request("a", "us-east-1", "eu-west-1"), 4_999)).isFalse();
        assertThat(windows.mayPlan(request("a", "us-east-1", "eu-west-1"), 5_000)).isTrue();
        windows.full("eu-west-1", 9_000);
        windows.freed("eu-west-1");
        assertThat(windows.mayPlan(request("a", "us-east-1", "eu-west-1"), 6_000)).isTrue();
    }

    private static ReplicationRequest request(String id, String source, String target) {
        return new ReplicationRequest(
                id,
                source,
                "snap-0123456789abcdef0",
                null,
                List.of(ReplicationTarget.of(target)),
                null,
                false,
                Map.of(),
                ReplicationRequest.NO_DEADLINE,
                0);
    }
}
