package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.source.intake.IntakeRecord;
import io.ebsreplicator.connector.ebs.source.intake.RequestIntake;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where the enumerator is in its intake (a long-running job's requests topic), and which request
 * ids it accepted: positions (stream to the next offset) and accepted ids are checkpointed together
 * with the requests taken, so a restore neither loses nor repeats a request, and a request id seen
 * within the retention is replicated once.
 *
 * <p>Threads: {@link #poll} runs on the enumerator's worker thread (through {@code callAsync}), the
 * only thread that touches the intake itself (a Kafka consumer is single-threaded); it opens the
 * intake at the positions last taken and reopens it after a failure. Everything else runs on the
 * coordinator thread. The positions the worker seeks to are a copy published by the coordinator.
 */
public final class IntakeCursor {

    private static final Logger LOG = LoggerFactory.getLogger(IntakeCursor.class);

    private final RequestIntake.Factory factory;
    private final long retentionMillis;
    private final Map<String, Long> positions = new LinkedHashMap<>();
    private final AcceptedRequestIds accepted;

    /** The positions as of the last take, for the worker to seek to. */
    private volatile Map<String, Long> published;

    /** Used on the worker thread only; read by {@link #close} from any thread. */
    private volatile RequestIntake intake;

    private volatile boolean reopen;
    private volatile boolean closed;

    /**
     * @param factory where the intake is opened
     * @param retention how long an accepted request id is remembered
     * @param positions the checkpointed positions (stream to next offset)
     * @param accepted the checkpointed accepted ids
     */
    public IntakeCursor(
            RequestIntake.Factory factory,
            Duration retention,
            Map<String, Long> positions,
            AcceptedRequestIds accepted) {
        this.factory = factory;
        this.retentionMillis = retention.toMillis();
        this.positions.putAll(positions);
        this.accepted = accepted;
        this.published = Map.copyOf(positions);
    }

    // ------------------------------------------------------------------ worker thread

    /**
     * What arrived within {@code timeout}; opens the intake at the last positions taken on first
     * use and after a failure. Worker thread only.
     */
    public List<IntakeRecord> poll(Duration timeout) {
        if (closed) {
            return List.of();
        }
        if (reopen && intake != null) {
            closeQuietly(intake);
            intake = null;
        }
        if (intake == null) {
            reopen = false;
            intake = factory.open();
            intake.seek(published);
        }
        return intake.poll(timeout);
    }

    // ------------------------------------------------------------------ coordinator thread

    /**
     * Takes what {@link #poll} returned: advances the positions past every record and returns the
     * records to act on, leaving out requests whose id was accepted before (each logged). Ids older
     * than the retention are forgotten.
     */
    public List<IntakeRecord> take(List<IntakeRecord> records, long nowMillis) {
        accepted.forgetBefore(nowMillis - retentionMillis);
        List<IntakeRecord> fresh = new ArrayList<>(records.size());
        for (IntakeRecord r : records) {
            positions.put(r.stream(), r.offset() + 1);
            if (r.request() != null && !accepted.add(r.request().requestId(), nowMillis)) {
                LOG.info(
                        "Request {} at {}@{} was accepted before; this copy is ignored",
                        r.request().requestId(),
                        r.stream(),
                        r.offset());
                continue;
            }
            fresh.add(r);
        }
        if (!records.isEmpty()) {
            published = Map.copyOf(positions);
        }
        return fresh;
    }

    /**
     * Taking failed: the intake is reopened at the last positions taken, which loses nothing and
     * repeats nothing (records count only once they are taken).
     */
    public void failed(Throwable error) {
        LOG.warn("Taking requests failed; reopening the intake at its last position", error);
        reopen = true;
    }

    /** The positions after the last record taken, for state. */
    public Map<String, Long> positions() {
        return Collections.unmodifiableMap(positions);
    }

    /** The accepted ids, for state. */
    public AcceptedRequestIds accepted() {
        return accepted;
    }

    /** Closes the intake from any thread; a poll in progress is woken and closes it itself. */
    public void close() {
        closed = true;
        RequestIntake open = intake;
        if (open != null) {
            closeQuietly(open);
        }
    }

    private static void closeQuietly(RequestIntake intake) {
        try {
            intake.close();
        } catch (RuntimeException e) {
            LOG.debug("Closing the intake failed", e);
        }
    }
}
