package io.ebsreplicator.connector.ebs.pipeline;

import org.apache.flink.testutils.junit.SharedReference;

import java.util.UUID;

/**
 * A {@link PipelineHook} for the failover, savepoint and token tests. It can (1) throw one {@link
 * RuntimeException} from one operator, on the first record after a checkpoint completed in that
 * operator; (2) pace the source, so that listing lasts long enough for checkpoints, savepoints and
 * failures to land mid-copy; (3) run a test action once after N copier records (a "pause" of the
 * job that moves ebs-local's clock). What it sees goes to a {@link HookProbe} shared with the test.
 *
 * <p>Every task attempt deserializes its own copy of the hook, so the transient fields below are
 * per task attempt; everything shared lives in the probe.
 */
final class InjectingHook implements PipelineHook {

    private static final long serialVersionUID = 1L;

    private final SharedReference<HookProbe> probe;
    private final String failIn;
    private final long sourcePaceMillis;

    private transient String attempt;
    private transient long emitted;

    /** Records emitted when the source took its state, by checkpoint id (this attempt only). */
    private transient java.util.Map<Long, Long> emittedAtSnapshot;

    /** Records emitted at the barrier of the last checkpoint this attempt learned completed. */
    private transient long atLastCompletedBarrier;

    private transient int subtask;

    /** When this attempt first called the hook, in the order of all attempts. */
    private transient long sequence;

    private InjectingHook(SharedReference<HookProbe> probe, String failIn, long sourcePaceMillis) {
        this.probe = probe;
        this.failIn = failIn;
        this.sourcePaceMillis = sourcePaceMillis;
    }

    /** Never fails; paces the source by {@code sourcePaceMillis} per record. */
    static InjectingHook pacing(SharedReference<HookProbe> probe, long sourcePaceMillis) {
        return new InjectingHook(probe, null, sourcePaceMillis);
    }

    /** Fails once in {@code operator} after its first completed checkpoint; paces the source. */
    static InjectingHook failingOnce(
            SharedReference<HookProbe> probe, String operator, long sourcePaceMillis) {
        return new InjectingHook(probe, operator, sourcePaceMillis);
    }

    @Override
    public void onRecord(String operator, int subtask) {
        HookProbe p = probe.get();
        if (operator.equals(failIn)
                && p.checkpointed.contains(operator)
                && p.failed.compareAndSet(false, true)) {
            p.failures.incrementAndGet();
            throw new RuntimeException(
                    "Injected failure in "
                            + operator
                            + " subtask "
                            + subtask
                            + " after a checkpoint");
        }
        switch (operator) {
            case SOURCE -> {
                begin(p, subtask);
                emitted++;
                p.sourceRecords.incrementAndGet();
                publish(p);
                if (sourcePaceMillis > 0) {
                    try {
                        Thread.sleep(sourcePaceMillis);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
            case COPIER -> {
                long n = p.copierRecords.incrementAndGet();
                Runnable action = p.action;
                if (action != null
                        && n >= p.actionAfterCopierRecords
                        && p.actionDone.compareAndSet(false, true)) {
                    action.run();
                }
            }
            default -> {}
        }
    }

    @Override
    public void onSnapshot(String operator, int subtask, long checkpointId) {
        if (SOURCE.equals(operator)) {
            HookProbe p = probe.get();
            begin(p, subtask);
            snapshots().put(checkpointId, emitted);
            publish(p);
        }
    }

    @Override
    public void onCheckpointComplete(String operator, int subtask, long checkpointId) {
        HookProbe p = probe.get();
        p.checkpointed.add(operator);
        if (SOURCE.equals(operator) && attempt != null) {
            Long atBarrier = snapshots().get(checkpointId);
            if (atBarrier != null) {
                atLastCompletedBarrier = Math.max(atLastCompletedBarrier, atBarrier);
            }
            publish(p);
        }
    }

    /**
     * Registers this source task attempt at its first call (a record or a checkpoint), so that an
     * attempt that emits nothing after a restore still tells that its subtask's earlier attempt was
     * superseded.
     */
    private void begin(HookProbe p, int subtask) {
        if (attempt == null) {
            attempt = UUID.randomUUID().toString();
            this.subtask = subtask;
            sequence = p.attemptSequence.incrementAndGet();
        }
    }

    private void publish(HookProbe p) {
        p.sourceAttempts.put(
                attempt, new long[] {emitted, atLastCompletedBarrier, subtask, sequence});
    }

    private java.util.Map<Long, Long> snapshots() {
        if (emittedAtSnapshot == null) {
            emittedAtSnapshot = new java.util.HashMap<>();
        }
        return emittedAtSnapshot;
    }
}
