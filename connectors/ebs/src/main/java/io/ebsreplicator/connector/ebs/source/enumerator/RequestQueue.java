package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The requests waiting to start, and the order they start in. When more requests are ready than
 * EBS's control-plane quotas let start (StartSnapshot: 10 per second, and at most 100 pending
 * snapshots per account and region), the order decides which copies meet their deadlines.
 *
 * <p>The order ({@link Order#DEADLINE}, the default): earliest deadline first, then higher
 * priority, then arrival. Requests of one lineage form a chain that starts in arrival order: only
 * the first request of a chain can start, and not while the chain is held (its previous copy is
 * being written or sealed, so its outcome, and the base of the next copy, is not known yet). A
 * chain is ranked by the most urgent of its requests (the earliest deadline and highest priority
 * among them), so that an urgent later copy pulls the copies it depends on forward instead of
 * waiting behind them. {@link Order#ARRIVAL} ranks by arrival alone (for comparison).
 *
 * <p>A request that could not be resolved yet (a transient failure) goes back to the front of its
 * chain and waits a backoff that doubles per attempt, from {@link #FIRST_RETRY_MILLIS} up to {@link
 * #MAX_RETRY_MILLIS}; the chain is not ready meanwhile.
 *
 * <p>Used on the enumerator's coordinator thread only; time is passed in by the caller.
 */
public final class RequestQueue {

    /** First delay before a transiently failed request is tried again; doubles per attempt. */
    static final long FIRST_RETRY_MILLIS = 500;

    /** The longest delay between two attempts: a region that is down is probed every minute. */
    static final long MAX_RETRY_MILLIS = 60_000;

    /** How requests are ranked against each other. */
    public enum Order {
        /** Earliest deadline first, then higher priority, then arrival. */
        DEADLINE,
        /** Arrival only. */
        ARRIVAL
    }

    /**
     * A queued request with what ranks it.
     *
     * @param chain the lineage chain it belongs to, or {@code null} when it has none (it is then a
     *     chain of its own)
     * @param deadlineMillis when it must be finished, {@link Long#MAX_VALUE} for no deadline
     * @param priority higher starts first among equal deadlines
     */
    public record Entry(PendingRequest request, String chain, long deadlineMillis, int priority) {

        /** The request, generation and regions: one entry per attempt to start targets. */
        String id() {
            StringBuilder regions = new StringBuilder();
            request.request().targets().forEach(t -> regions.append(',').append(t.region()));
            return request.request().requestId() + "@g" + request.generation() + regions;
        }
    }

    /** One chain: its queued entries in start order, and what ranks it. */
    private static final class Chain {
        final String key;
        final boolean anonymous;
        final Deque<Queued> entries = new ArrayDeque<>();
        int holds;
        long notBefore;
        // The rank while the chain is in `ready` (kept so it can be found and removed).
        long rankDeadline;
        int rankPriority;
        long rankSeq;

        Chain(String key, boolean anonymous) {
            this.key = key;
            this.anonymous = anonymous;
        }
    }

    private static final class Queued {
        final Entry entry;
        final long seq;
        Chain chain;
        int attempts;

        Queued(Entry entry, long seq) {
            this.entry = entry;
            this.seq = seq;
        }
    }

    private final Order order;
    private final Map<String, Chain> chains = new HashMap<>();
    private final TreeSet<Chain> ready;
    private final PriorityQueue<Chain> waiting =
            new PriorityQueue<>(Comparator.comparingLong(c -> c.notBefore));
    private final TreeSet<Queued> byDeadline =
            new TreeSet<>(
                    Comparator.<Queued>comparingLong(q -> q.entry.deadlineMillis())
                            .thenComparingLong(q -> q.seq));

    /** Taken entries not yet settled (for their attempt counts), by {@link Entry#id()}. */
    private final Map<String, Queued> pending = new HashMap<>();

    private long nextSeq;

    /** Sequence numbers of entries put back in front, below every arrival. */
    private long nextFrontSeq = -1;

    private int size;
    private long anonymousChains;

    public RequestQueue(Order order) {
        this.order = order;
        Comparator<Chain> rank =
                order == Order.DEADLINE
                        ? Comparator.<Chain>comparingLong(c -> c.rankDeadline)
                                .thenComparing(
                                        Comparator.<Chain>comparingInt(c -> c.rankPriority)
                                                .reversed())
                                .thenComparingLong(c -> c.rankSeq)
                        : Comparator.comparingLong(c -> c.rankSeq);
        this.ready = new TreeSet<>(rank.thenComparing(c -> c.key));
    }

    /** Requests queued (not started). */
    public int size() {
        return size;
    }

    public boolean isEmpty() {
        return size == 0;
    }

    /** Queues a request behind those of its chain. */
    public void add(Entry entry) {
        enqueue(entry, nextSeq++, false);
    }

    /**
     * Queues a request in front of its chain: a replacement of targets that EBS cancelled, which
     * redoes a copy that was due before anything queued behind it.
     */
    public void addFirst(Entry entry) {
        enqueue(entry, nextFrontSeq--, true);
    }

    private void enqueue(Entry entry, long seq, boolean first) {
        Chain c = chain(entry.chain());
        unrank(c);
        Queued q = new Queued(entry, seq);
        q.chain = c;
        if (first) {
            c.entries.addFirst(q);
        } else {
            c.entries.addLast(q);
        }
        if (entry.deadlineMillis() != Long.MAX_VALUE) {
            byDeadline.add(q);
        }
        size++;
        rank(c);
    }

    /**
     * Takes the first request in order that may start now: its chain is ready (not held, not
     * waiting a backoff) and {@code canStart} accepts it (e.g. its target regions have room).
     * Requests that {@code canStart} refuses keep their place. The taken request's chain is held
     * until {@link #release}.
     */
    public Entry next(long nowMillis, Predicate<Entry> canStart) {
        wake(nowMillis);
        for (Chain c : ready) {
            Queued head = c.entries.peekFirst();
            if (canStart.test(head.entry)) {
                unrank(c);
                c.entries.pollFirst();
                byDeadline.remove(head);
                size--;
                if (!c.anonymous) {
                    c.holds++;
                }
                pending.put(head.entry.id(), head);
                forgetIfEmpty(c);
                return head.entry;
            }
        }
        return null;
    }

    /**
     * A taken request could not be resolved yet: back to the front of its chain, which waits {@link
     * #backoffMillis} and is released from the hold {@link #next} put on it.
     *
     * @return the delay before it is tried again
     */
    public long retry(Entry entry, long nowMillis) {
        Queued q = pending.remove(entry.id());
        if (q == null) {
            q = new Queued(entry, nextFrontSeq--);
        }
        q.attempts++;
        long delay = backoffMillis(q.attempts);
        Chain c = chain(entry.chain());
        q.chain = c;
        unrank(c);
        if (!c.anonymous) {
            c.holds = Math.max(0, c.holds - 1);
        }
        c.entries.addFirst(q);
        if (entry.deadlineMillis() != Long.MAX_VALUE) {
            byDeadline.add(q);
        }
        size++;
        c.notBefore = Math.max(c.notBefore, nowMillis + delay);
        rank(c);
        return delay;
    }

    /** The request was resolved (or failed for good): it leaves the queue's memory. */
    public void started(Entry entry) {
        pending.remove(entry.id());
    }

    /**
     * Holds a chain: its next request waits until as many {@link #release}s. The enumerator holds a
     * lineage while a copy of it is written or sealed; {@link #next} holds it too.
     */
    public void hold(String chainKey) {
        if (chainKey == null) {
            return;
        }
        Chain c = chain(chainKey);
        unrank(c);
        c.holds++;
        rank(c);
    }

    /** Releases one hold of a chain. */
    public void release(String chainKey) {
        if (chainKey == null) {
            return;
        }
        Chain c = chains.get(chainKey);
        if (c == null) {
            return;
        }
        unrank(c);
        c.holds = Math.max(0, c.holds - 1);
        rank(c);
        forgetIfEmpty(c);
    }

    /** Removes and returns the queued requests whose deadline is before {@code nowMillis}. */
    public List<Entry> expire(long nowMillis) {
        List<Entry> late = new ArrayList<>();
        while (!byDeadline.isEmpty() && byDeadline.first().entry.deadlineMillis() < nowMillis) {
            Queued q = byDeadline.pollFirst();
            Chain c = q.chain;
            unrank(c);
            c.entries.remove(q);
            size--;
            if (c.entries.isEmpty()) {
                c.notBefore = 0; // nothing left to back off
            }
            rank(c);
            forgetIfEmpty(c);
            late.add(q.entry);
        }
        return late;
    }

    /** The earliest time a waiting chain becomes ready, or {@link Long#MAX_VALUE}. */
    public long nextWakeMillis() {
        Chain c = waiting.peek();
        return c == null ? Long.MAX_VALUE : c.notBefore;
    }

    /** Every queued request in arrival order (replacements and retries first), for state. */
    public List<PendingRequest> snapshot() {
        List<Queued> all = new ArrayList<>(size);
        for (Chain c : chains.values()) {
            all.addAll(c.entries);
        }
        all.sort(Comparator.comparingLong(q -> q.seq));
        List<PendingRequest> out = new ArrayList<>(all.size());
        for (Queued q : all) {
            out.add(q.entry.request());
        }
        return out;
    }

    /** The delay after {@code attempts} transient failures: doubling, capped. */
    static long backoffMillis(int attempts) {
        return Math.min(MAX_RETRY_MILLIS, FIRST_RETRY_MILLIS << Math.min(attempts - 1, 16));
    }

    // ------------------------------------------------------------------ internals

    private Chain chain(String key) {
        if (key == null) {
            // A request without lineage is a chain of its own, under a key no lineage can have.
            Chain c = new Chain("\u0000" + anonymousChains++, true);
            chains.put(c.key, c);
            return c;
        }
        return chains.computeIfAbsent(key, k -> new Chain(k, false));
    }

    /** Moves chains whose backoff passed from waiting to ready. */
    private void wake(long nowMillis) {
        while (!waiting.isEmpty() && waiting.peek().notBefore <= nowMillis) {
            Chain c = waiting.poll();
            c.notBefore = 0;
            rank(c);
        }
    }

    /** Takes a chain out of the ranked sets before its rank changes. */
    private void unrank(Chain c) {
        ready.remove(c);
        waiting.remove(c);
    }

    /** Puts a chain back where it belongs: ready, waiting a backoff, or held (in neither). */
    private void rank(Chain c) {
        if (c.entries.isEmpty() || c.holds > 0) {
            return;
        }
        if (c.notBefore > 0) {
            waiting.add(c);
            return;
        }
        long deadline = Long.MAX_VALUE;
        int priority = Integer.MIN_VALUE;
        for (Queued q : c.entries) {
            deadline = Math.min(deadline, q.entry.deadlineMillis());
            priority = Math.max(priority, q.entry.priority());
        }
        c.rankDeadline = deadline;
        c.rankPriority = priority;
        c.rankSeq = c.entries.peekFirst().seq;
        ready.add(c);
    }

    private void forgetIfEmpty(Chain c) {
        if (c.entries.isEmpty() && c.holds == 0 && c.notBefore == 0) {
            chains.remove(c.key);
        }
    }
}
