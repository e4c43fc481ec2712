package io.ebsreplicator.connector.ebs.proxy;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link DescribeBatcher}: one call in flight, the ids asked meanwhile together in the next. */
class DescribeBatcherTest {

    @Test
    void idsAskedWhileACallIsInFlightGoTogetherInTheNextCall() throws Exception {
        FakeEbsProxy ebs = new FakeEbsProxy("us-west-2");
        String a = ebs.createSnapshot(1, null, Map.of(0, FakeEbsProxy.block(1)));
        String b = ebs.createSnapshot(1, null, Map.of(0, FakeEbsProxy.block(2)));
        String c = ebs.createSnapshot(1, null, Map.of(0, FakeEbsProxy.block(3)));
        DescribeBatcher batcher = new DescribeBatcher(ebs);
        ebs.hold("DescribeSnapshots");

        CompletableFuture<SnapshotDescription> first = batcher.describe(a);
        List<CompletableFuture<SnapshotDescription>> later = new ArrayList<>();
        later.add(batcher.describe(b));
        later.add(batcher.describe(c));
        later.add(batcher.describe("snap-00000000000000abc"));
        later.add(batcher.describe(b));
        assertThat(ebs.heldCalls()).as("one call in flight").isEqualTo(1);

        ebs.release();

        assertThat(first.get().snapshotId()).isEqualTo(a);
        assertThat(later.get(0).get().snapshotId()).isEqualTo(b);
        assertThat(later.get(1).get().snapshotId()).isEqualTo(c);
        assertThat(later.get(2).get()).as("a missing snapshot").isNull();
        assertThat(later.get(3).get().snapshotId()).isEqualTo(b);
        assertThat(ebs.calls("DescribeSnapshots"))
                .extracting(call -> call.args().get(0))
                .containsExactly(List.of(a), List.of(b, c, "snap-00000000000000abc"));
    }

    @Test
    void aFailedCallFailsEveryAnswerItCarriedAndTheNextCallStillGoes() throws Exception {
        FakeEbsProxy ebs = new FakeEbsProxy("us-west-2");
        String a = ebs.createSnapshot(1, null, Map.of(0, FakeEbsProxy.block(1)));
        ebs.failNext("DescribeSnapshots", FakeEbsProxy::throttled);
        DescribeBatcher batcher = new DescribeBatcher(ebs);

        assertThat(batcher.describe(a)).isCompletedExceptionally();
        assertThat(batcher.describe(a).get().snapshotId()).isEqualTo(a);
    }
}
