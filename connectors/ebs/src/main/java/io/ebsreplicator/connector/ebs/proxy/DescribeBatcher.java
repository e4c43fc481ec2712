package io.ebsreplicator.connector.ebs.proxy;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * DescribeSnapshots of one region for many callers, in as few calls as possible: one call in flight
 * at a time, and the ids asked for meanwhile go together in the next call (up to {@link
 * #IDS_PER_CALL}). EC2 refills its Describe bucket at about 20 calls per second per account, and a
 * fleet asks about hundreds of snapshots per second (sources before they are planned, targets while
 * they seal): one call per snapshot would be throttled, one call per round trip is not.
 *
 * <p>Thread-safe: asked from the enumerator's coordinator thread, an operator's task thread or
 * future callbacks; answers complete on the proxy's threads. The caller owns the proxy.
 */
public final class DescribeBatcher {

    /** Ids per call: EC2's limit on values per filter. */
    public static final int IDS_PER_CALL = 200;

    private final EbsProxy proxy;

    // Guarded by this.
    private final Map<String, List<CompletableFuture<SnapshotDescription>>> waiting =
            new LinkedHashMap<>();
    private boolean inFlight;

    public DescribeBatcher(EbsProxy proxy) {
        this.proxy = proxy;
    }

    /**
     * The snapshot as DescribeSnapshots sees it, with {@code null} when it does not exist (or is
     * not visible yet); fails with the call's {@code EbsProxyException}.
     */
    public CompletableFuture<SnapshotDescription> describe(String snapshotId) {
        CompletableFuture<SnapshotDescription> answer = new CompletableFuture<>();
        synchronized (this) {
            waiting.computeIfAbsent(snapshotId, k -> new ArrayList<>()).add(answer);
        }
        sendNext();
        return answer;
    }

    private void sendNext() {
        Map<String, List<CompletableFuture<SnapshotDescription>>> batch = new LinkedHashMap<>();
        synchronized (this) {
            if (inFlight || waiting.isEmpty()) {
                return;
            }
            var it = waiting.entrySet().iterator();
            while (it.hasNext() && batch.size() < IDS_PER_CALL) {
                var e = it.next();
                batch.put(e.getKey(), e.getValue());
                it.remove();
            }
            inFlight = true;
        }
        CompletableFuture<Map<String, SnapshotDescription>> call;
        try {
            call = proxy.describeSnapshotsAsync(batch.keySet());
        } catch (RuntimeException e) {
            call = CompletableFuture.failedFuture(e);
        }
        call.whenComplete(
                (found, error) -> {
                    synchronized (this) {
                        inFlight = false;
                    }
                    batch.forEach(
                            (id, answers) -> {
                                for (CompletableFuture<SnapshotDescription> a : answers) {
                                    if (error != null) {
                                        a.completeExceptionally(error);
                                    } else {
                                        a.complete(found.get(id));
                                    }
                                }
                            });
                    sendNext();
                });
    }
}
