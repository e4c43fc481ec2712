package io.ebsreplicator.local.fault;

import io.ebsreplicator.local.api.Operation;

import java.util.Random;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Draws faults from the active {@link FaultProfile}. One per server, shared by all connections; the
 * profile can be replaced while requests are in flight.
 */
public final class FaultInjector {

    /** What happens to one request before it reaches the service. */
    public enum Disruption {
        NONE,
        RESET,
        STALL,
        THROTTLE,
        SERVER_ERROR,
        READ_FAILURE,
        CONCURRENT_LIMIT
    }

    private final AtomicReference<State> state = new AtomicReference<>();

    public FaultInjector(FaultProfile profile) {
        set(profile);
    }

    public void set(FaultProfile profile) {
        long seed = profile.seed() == 0 ? System.nanoTime() : profile.seed();
        state.set(new State(profile, new Random(seed)));
    }

    public FaultProfile profile() {
        return state.get().profile;
    }

    /** The delay to add before handling a request, in milliseconds. */
    public long latencyMillis() {
        State s = state.get();
        FaultProfile p = s.profile;
        if (p.latencyMs() == 0) {
            return 0;
        }
        if (p.jitterMs() == 0) {
            return p.latencyMs();
        }
        long j;
        synchronized (s.random) {
            j = (long) ((s.random.nextDouble() * 2 - 1) * p.jitterMs());
        }
        return Math.max(0, p.latencyMs() + j);
    }

    /** Draws the disruption, if any, for one request of {@code op}. */
    public Disruption draw(Operation op) {
        State s = state.get();
        FaultProfile p = s.profile;
        if (!p.appliesTo(op)) {
            return Disruption.NONE;
        }
        double r;
        synchronized (s.random) {
            r = s.random.nextDouble();
        }
        double edge = p.resetRate();
        if (r < edge) {
            return Disruption.RESET;
        }
        edge += p.stallRate();
        if (r < edge) {
            return Disruption.STALL;
        }
        edge += p.throttleRate();
        if (r < edge) {
            return Disruption.THROTTLE;
        }
        edge += p.serverErrorRate();
        if (r < edge) {
            return Disruption.SERVER_ERROR;
        }
        if (op == Operation.PUT_SNAPSHOT_BLOCK) {
            edge += p.readFailureRate();
            if (r < edge) {
                return Disruption.READ_FAILURE;
            }
        }
        if (op == Operation.START_SNAPSHOT) {
            edge += p.concurrentLimitRate();
            if (r < edge) {
                return Disruption.CONCURRENT_LIMIT;
            }
        }
        return Disruption.NONE;
    }

    /** Whether this GetSnapshotBlock response should be corrupted. */
    public boolean corruptRead() {
        return chance(Operation.GET_SNAPSHOT_BLOCK, state.get().profile.corruptReadRate());
    }

    /** Whether this list page should come back empty. */
    public boolean emptyPage(Operation op) {
        return chance(op, state.get().profile.emptyPageRate());
    }

    private boolean chance(Operation op, double rate) {
        State s = state.get();
        if (rate == 0 || !s.profile.appliesTo(op)) {
            return false;
        }
        synchronized (s.random) {
            return s.random.nextDouble() < rate;
        }
    }

    private record State(FaultProfile profile, Random random) {}
}
