package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.enumerator.RequestQueue.Entry;
import io.ebsreplicator.connector.ebs.source.enumerator.RequestQueue.Order;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link RequestQueue}: start order, lineage chains, backoff and deadlines, by hand-driven time.
 */
class RequestQueueTest {

    private static final long NONE = Long.MAX_VALUE;

    @Test
    void earliestDeadlineFirstThenHigherPriorityThenArrival() {
        RequestQueue q = new RequestQueue(Order.DEADLINE);
        q.add(entry("plain-1", null, NONE, 0));
        q.add(entry("urgent-prio", null, NONE, 5));
        q.add(entry("late-deadline", null, 9_000, 0));
        q.add(entry("early-deadline", null, 5_000, 0));
        q.add(entry("plain-2", null, NONE, 0));

        assertThat(drain(q, 0))
                .containsExactly(
                        "early-deadline", "late-deadline", "urgent-prio", "plain-1", "plain-2");
    }

    @Test
    void arrivalOrderIgnoresDeadlinesAndPriorities() {
        RequestQueue q = new RequestQueue(Order.ARRIVAL);
        q.add(entry("a", null, NONE, 0));
        q.add(entry("b", null, NONE, 9));
        q.add(entry("c", null, 1_000, 0));
        assertThat(drain(q, 0)).containsExactly("a", "b", "c");
    }

    @Test
    void aLineageStartsInArrivalOrderOneCopyAtATime() {
        RequestQueue q = new RequestQueue(Order.DEADLINE);
        q.add(entry("vol-a-1", "vol-a", NONE, 0));
        q.add(entry("vol-a-2", "vol-a", NONE, 0));
        q.add(entry("vol-b-1", "vol-b", NONE, 0));

        assertThat(q.next(0, e -> true).request().request().requestId()).isEqualTo("vol-a-1");
        assertThat(q.next(0, e -> true).request().request().requestId())
                .as("vol-a is held while its first copy runs")
                .isEqualTo("vol-b-1");
        assertThat(q.next(0, e -> true)).isNull();

        q.release("vol-a");
        assertThat(q.next(0, e -> true).request().request().requestId()).isEqualTo("vol-a-2");
        assertThat(q.isEmpty()).isTrue();
    }

    @Test
    void anUrgentLaterCopyPullsItsLineageForward() {
        RequestQueue q = new RequestQueue(Order.DEADLINE);
        q.add(entry("other", null, 20_000, 0));
        q.add(entry("vol-a-1", "vol-a", NONE, 0));
        q.add(entry("vol-a-2", "vol-a", 10_000, 0));

        assertThat(q.next(0, e -> true).request().request().requestId())
                .as("vol-a-2 needs vol-a-1 first, and is due before 'other'")
                .isEqualTo("vol-a-1");
    }

    @Test
    void aRequestThatCannotStartKeepsItsPlaceAndOthersGoAhead() {
        RequestQueue q = new RequestQueue(Order.DEADLINE);
        q.add(entry("to-full-region", null, 1_000, 0, "us-west-2"));
        q.add(entry("to-open-region", null, 2_000, 0, "eu-west-1"));

        Entry taken =
                q.next(
                        0,
                        e -> !e.request().request().targets().get(0).region().equals("us-west-2"));
        assertThat(taken.request().request().requestId()).isEqualTo("to-open-region");
        assertThat(q.next(0, e -> true).request().request().requestId())
                .isEqualTo("to-full-region");
    }

    @Test
    void aTransientFailureWaitsADoublingBackoffAtTheFrontOfItsChain() {
        RequestQueue q = new RequestQueue(Order.DEADLINE);
        q.add(entry("vol-a-1", "vol-a", NONE, 0));
        q.add(entry("vol-a-2", "vol-a", NONE, 0));

        Entry first = q.next(0, e -> true);
        assertThat(q.retry(first, 1_000)).isEqualTo(RequestQueue.FIRST_RETRY_MILLIS);
        assertThat(q.next(1_499, e -> true)).as("still backing off").isNull();
        assertThat(q.nextWakeMillis()).isEqualTo(1_500);
        Entry again = q.next(1_500, e -> true);
        assertThat(again.request().request().requestId()).isEqualTo("vol-a-1");
        assertThat(q.retry(again, 2_000)).isEqualTo(2 * RequestQueue.FIRST_RETRY_MILLIS);

        long t = 2_000;
        long delay = 2 * RequestQueue.FIRST_RETRY_MILLIS;
        for (int i = 0; i < 20; i++) {
            t += delay;
            Entry e = q.next(t, x -> true);
            delay = q.retry(e, t);
        }
        assertThat(delay).as("capped").isEqualTo(RequestQueue.MAX_RETRY_MILLIS);
        assertThat(q.size()).isEqualTo(2);
    }

    @Test
    void requestsPastTheirDeadlineLeaveTheQueue() {
        RequestQueue q = new RequestQueue(Order.DEADLINE);
        q.add(entry("on-time", null, 10_000, 0));
        q.add(entry("late", "vol-a", 5_000, 0));
        q.add(entry("no-deadline", "vol-a", NONE, 0));

        assertThat(q.expire(5_000)).isEmpty();
        assertThat(q.expire(5_001))
                .extracting(e -> e.request().request().requestId())
                .containsExactly("late");
        assertThat(drain(q, 5_001)).containsExactly("on-time", "no-deadline");
    }

    @Test
    void snapshotListsEveryQueuedRequestInArrivalOrderWithReplacementsFirst() {
        RequestQueue q = new RequestQueue(Order.DEADLINE);
        q.add(entry("a", "vol-a", NONE, 0));
        q.add(entry("b", null, 1_000, 0));
        q.add(entry("c", "vol-a", NONE, 0));
        q.addFirst(entry("replacement", null, NONE, 0));

        assertThat(q.snapshot())
                .extracting(p -> p.request().requestId())
                .containsExactly("replacement", "a", "b", "c");
    }

    /**
     * The backlog of the acceptance test: 200 requests at once, StartSnapshot at 10 per second,
     * each copy done 3 s after it starts; the last 20 to arrive must be done within 6 s. Earliest
     * deadline first meets all 20; arrival order meets none.
     */
    @Test
    void deadlineFirstMeetsTheDeadlinesThatArrivalOrderMisses() {
        int met = meetDeadlines(Order.DEADLINE);
        int metInArrivalOrder = meetDeadlines(Order.ARRIVAL);
        System.out.printf(
                "deadline backlog: %d of 20 met earliest-deadline-first, %d of 20 in arrival"
                        + " order%n",
                met, metInArrivalOrder);
        assertThat(met).isEqualTo(20);
        assertThat(metInArrivalOrder).isLessThan(20);
    }

    private static int meetDeadlines(Order order) {
        RequestQueue q = new RequestQueue(order);
        for (int i = 0; i < 180; i++) {
            q.add(entry("bulk-" + i, "vol-" + i, NONE, 0));
        }
        for (int i = 0; i < 20; i++) {
            q.add(entry("due-" + i, "due-vol-" + i, 6_000, 0));
        }
        int met = 0;
        // One start every 100 ms (10 per second); a copy is done 3 s after it starts.
        for (long t = 0; !q.isEmpty(); t += 100) {
            Entry e = q.next(t, x -> true);
            if (e != null && e.deadlineMillis() != NONE && t + 3_000 <= e.deadlineMillis()) {
                met++;
            }
        }
        return met;
    }

    private static List<String> drain(RequestQueue q, long now) {
        List<String> ids = new ArrayList<>();
        for (Entry e = q.next(now, x -> true); e != null; e = q.next(now, x -> true)) {
            ids.add(e.request().request().requestId());
            q.release(e.chain());
        }
        return ids;
    }

    private static Entry entry(String id, String chain, long deadline, int priority) {
        return entry(id, chain, deadline, priority, "us-west-2");
    }

    private static Entry entry(
            String id, String chain, long deadline, int priority, String targetRegion) {
        ReplicationRequest r =
                new ReplicationRequest(
                        id,
                        "us-east-1",
                        "snap-0123456789abcdef0",
                        null,
                        List.of(new ReplicationTarget(targetRegion, null, null, Map.of(), null)),
                        chain,
                        false,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0);
        return new Entry(new PendingRequest(r, 0, 0), chain, deadline, priority);
    }
}
