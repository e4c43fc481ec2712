package io.ebsreplicator.connector.ebs.source.enumerator;

import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link AcceptedRequestIds}: dedupe memory against a plain map, and its state format. */
class AcceptedRequestIdsTest {

    @Test
    void anIdIsAcceptedOnceUntilItIsForgotten() {
        AcceptedRequestIds ids = new AcceptedRequestIds();
        assertThat(ids.add("req-1", 1_000)).isTrue();
        assertThat(ids.add("req-1", 2_000)).as("a duplicate").isFalse();
        assertThat(ids.contains("req-1")).isTrue();
        assertThat(ids.contains("req-2")).isFalse();

        assertThat(ids.forgetBefore(1_000)).as("accepted at the bound: kept").isZero();
        assertThat(ids.forgetBefore(2_000)).isEqualTo(1);
        assertThat(ids.contains("req-1")).isFalse();
        assertThat(ids.add("req-1", 3_000)).as("accepted again once forgotten").isTrue();
    }

    @Test
    void behavesLikeAMapOfIdsInAcceptanceOrderThroughGrowthWrapAndForgetting() {
        Random random = new Random(42);
        AcceptedRequestIds ids = new AcceptedRequestIds();
        Map<String, Long> reference = new HashMap<>();
        Deque<String> order = new ArrayDeque<>();
        long now = 1_700_000_000_000L;
        for (int step = 0; step < 200_000; step++) {
            now += random.nextInt(50);
            String id = "req-" + random.nextInt(30_000);
            boolean fresh = !reference.containsKey(id);
            assertThat(ids.add(id, now)).isEqualTo(fresh);
            if (fresh) {
                reference.put(id, now / 1000);
                order.addLast(id);
            }
            if (step % 997 == 0) {
                long oldest = now - random.nextInt(400_000);
                int expected = 0;
                while (!order.isEmpty() && reference.get(order.peekFirst()) < oldest / 1000) {
                    reference.remove(order.pollFirst());
                    expected++;
                }
                assertThat(ids.forgetBefore(oldest)).isEqualTo(expected);
            }
            if (step % 1999 == 0) {
                for (int k = 0; k < 200; k++) {
                    String probe = "req-" + random.nextInt(30_000);
                    assertThat(ids.contains(probe)).isEqualTo(reference.containsKey(probe));
                }
            }
        }
        assertThat(ids.size()).isEqualTo(reference.size());
    }

    @Test
    void stateKeepsEveryIdItsTimeAndOrder() throws Exception {
        AcceptedRequestIds ids = new AcceptedRequestIds();
        long t = 1_700_000_000_000L;
        for (int i = 0; i < 5_000; i++) {
            ids.add("req-" + i, t + i * 1_000L);
        }
        ids.add("stepped-back-clock", t - 60_000);

        DataOutputSerializer out = new DataOutputSerializer(64);
        ids.writeTo(out);
        assertThat(out.length())
                .as("about %d bytes per id", AcceptedRequestIds.APPROX_BYTES_PER_ID)
                .isLessThan(5_001 * (AcceptedRequestIds.APPROX_BYTES_PER_ID + 2) + 4);
        AcceptedRequestIds back =
                AcceptedRequestIds.readFrom(new DataInputDeserializer(out.getCopyOfBuffer()));

        assertThat(back.size()).isEqualTo(5_001);
        assertThat(back.contains("req-0")).isTrue();
        assertThat(back.contains("req-4999")).isTrue();
        assertThat(back.contains("stepped-back-clock")).isTrue();
        assertThat(back.contains("req-5000")).isFalse();
        // Times came back: forgetting before req-2500 drops exactly 2500 ids.
        assertThat(back.forgetBefore(t + 2_500_000)).isEqualTo(2_500);
        assertThat(back.contains("req-2499")).isFalse();
        assertThat(back.contains("req-2500")).isTrue();
    }
}
