package io.ebsreplicator.local;

import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.fault.FaultInjector.Disruption;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Request, error and fault counters since start, for tests and the shutdown summary. Not persisted.
 */
public final class EbsLocalStats {

    private final Map<Operation, LongAdder> requests = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();
    private final Map<Disruption, LongAdder> faults = new ConcurrentHashMap<>();
    private final LongAdder corruptedReads = new LongAdder();

    void request(Operation op) {
        requests.computeIfAbsent(op, k -> new LongAdder()).increment();
    }

    void error(String type, String reason) {
        errors.computeIfAbsent(reason == null ? type : type + "/" + reason, k -> new LongAdder())
                .increment();
    }

    void fault(Disruption d) {
        faults.computeIfAbsent(d, k -> new LongAdder()).increment();
    }

    void corruptedRead() {
        corruptedReads.increment();
    }

    /** Requests received for an operation, whatever their outcome. */
    public long requests(Operation op) {
        LongAdder a = requests.get(op);
        return a == null ? 0 : a.sum();
    }

    /** Errors answered, by {@code Type} or {@code Type/REASON}. */
    public long errors(String typeOrTypeAndReason) {
        LongAdder a = errors.get(typeOrTypeAndReason);
        long n = a == null ? 0 : a.sum();
        if (!typeOrTypeAndReason.contains("/")) {
            for (Map.Entry<String, LongAdder> e : errors.entrySet()) {
                if (e.getKey().startsWith(typeOrTypeAndReason + "/")) {
                    n += e.getValue().sum();
                }
            }
        }
        return n;
    }

    /** Faults injected of one kind. */
    public long faults(Disruption d) {
        LongAdder a = faults.get(d);
        return a == null ? 0 : a.sum();
    }

    public long corruptedReads() {
        return corruptedReads.sum();
    }

    @Override
    public String toString() {
        Map<String, Long> out = new TreeMap<>();
        requests.forEach((k, v) -> out.put(k.apiName(), v.sum()));
        errors.forEach((k, v) -> out.put("error " + k, v.sum()));
        faults.forEach((k, v) -> out.put("fault " + k, v.sum()));
        if (corruptedReads.sum() > 0) {
            out.put("fault CORRUPT_READ", corruptedReads.sum());
        }
        return out.toString();
    }
}
