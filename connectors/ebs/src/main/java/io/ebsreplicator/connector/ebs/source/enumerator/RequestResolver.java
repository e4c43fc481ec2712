package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.EbsErrorClassifier;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureException;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.exception.InvalidRequestException;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;
import io.ebsreplicator.connector.ebs.proxy.BlockListing;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.connector.ebs.proxy.StartedSnapshot;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;
import io.ebsreplicator.schemas.ResourceIds;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BiFunction;
import java.util.function.Supplier;

/**
 * Turns a request into splits: validates it, checks that the source (and, for an incremental copy,
 * the base and the lineage between them) can be read, starts the target snapshot in every target
 * region with a deterministic ClientToken, and cuts the source's block-index space into ranges.
 * Called on the enumerator's coordinator thread; its work continues on the proxies' threads as
 * their calls complete, so no thread waits for EBS.
 */
public final class RequestResolver {

    /** Blocks per GiB of volume. */
    static final int BLOCKS_PER_GIB = 2048;

    private final BiFunction<String, String, EbsProxy> proxies;
    private final EbsProxyFactory roles;
    private final int splitsPerRequest;
    private final int minSplitBlocks;
    private final int timeoutMinutes;

    /**
     * @param proxies the proxy of a region as a role ({@code null}: the job's own credentials),
     *     created and cached by the enumerator
     * @param roles which roles read the source and write each target, and which a request may name
     * @param splitsPerRequest the most splits one request is cut into
     * @param minSplitBlocks the smallest block range worth a split
     * @param timeoutMinutes StartSnapshot Timeout of the targets
     */
    public RequestResolver(
            BiFunction<String, String, EbsProxy> proxies,
            EbsProxyFactory roles,
            int splitsPerRequest,
            int minSplitBlocks,
            int timeoutMinutes) {
        this.proxies = proxies;
        this.roles = roles;
        this.splitsPerRequest = Math.max(1, splitsPerRequest);
        this.minSplitBlocks = Math.max(1, minSplitBlocks);
        this.timeoutMinutes = timeoutMinutes;
    }

    /** Validates the request's own fields; throws {@link InvalidRequestException}. */
    public static void validate(ReplicationRequest r) {
        if (r.requestId().isBlank() || r.requestId().length() > 128) {
            throw new InvalidRequestException("requestId must have 1 to 128 characters");
        }
        requireSnapshotId(r.sourceSnapshotId(), "sourceSnapshotId");
        requireRegion(r.sourceRegion(), "sourceRegion");
        if (r.baseSnapshotId() != null) {
            requireSnapshotId(r.baseSnapshotId(), "baseSnapshotId");
            if (r.baseSnapshotId().equals(r.sourceSnapshotId())) {
                throw new InvalidRequestException("baseSnapshotId equals sourceSnapshotId");
            }
        }
        if (r.targets().isEmpty()) {
            throw new InvalidRequestException("at least one target region is required");
        }
        Set<String> regions = new HashSet<>();
        for (ReplicationTarget t : r.targets()) {
            requireRegion(t.region(), "target region");
            if (!regions.add(t.region())) {
                throw new InvalidRequestException("target region " + t.region() + " is repeated");
            }
            if (r.baseSnapshotId() != null && t.parentSnapshotId() == null) {
                throw new InvalidRequestException(
                        "an incremental copy (baseSnapshotId) needs the target parent, the copy of"
                                + " the base in "
                                + t.region());
            }
            if (r.baseSnapshotId() == null && t.parentSnapshotId() != null) {
                throw new InvalidRequestException(
                        "a target parent in " + t.region() + " needs baseSnapshotId");
            }
            if (t.parentSnapshotId() != null) {
                requireSnapshotId(t.parentSnapshotId(), "target parent");
            }
        }
    }

    /**
     * The role that writes {@code r}'s target in {@code region}: the one the request names, else
     * the one configured for the region; {@code null} for the job's own credentials.
     */
    static String targetRole(ReplicationRequest r, String region, EbsProxyFactory roles) {
        for (ReplicationTarget t : r.targets()) {
            if (t.region().equals(region) && t.roleArn() != null) {
                return t.roleArn();
            }
        }
        return roles.targetRoleArn(region);
    }

    private static void requireSnapshotId(String id, String what) {
        if (!ResourceIds.isSnapshotId(id)) {
            throw new InvalidRequestException(
                    what
                            + " '"
                            + id
                            + "' is not a snapshot id (snap- and 8 or 17 lowercase hex digits)");
        }
    }

    private static void requireRegion(String region, String what) {
        if (!ResourceIds.isRegionName(region)) {
            throw new InvalidRequestException(what + " '" + region + "' is not a region");
        }
    }

    /**
     * Resolves a request into splits that write to target snapshots of {@code generation}: 0 for a
     * new request, n for the n-th replacement of targets that EBS cancelled (a new ClientToken, so
     * a new snapshot; the source is checked again first, so a request whose source has gone
     * meanwhile fails instead of starting a target it cannot fill). Waits on no thread: one small
     * listing proves the source readable, then every target region's StartSnapshot goes at once.
     *
     * <p>Completes exceptionally with {@link InvalidRequestException} or a FATAL {@link
     * EbsProxyException} when the request cannot succeed, and with a RETRYABLE one (or the
     * pending-snapshot quota, {@code QUOTA_EXCEEDED}) when it should be tried again later: targets
     * already started are found again by their ClientToken. A target region whose StartSnapshot
     * fails fatally otherwise gets a {@link FailedRequestSplit} of its own, so that one bad region
     * does not hold back the others. Once the source is proven readable, {@code startGate} is asked
     * (on a proxy thread) for leave to start the targets; the StartSnapshot calls go out when the
     * future it returns completes.
     */
    public CompletableFuture<List<LineageSplit>> resolveAsync(
            ReplicationRequest r,
            long acceptedMillis,
            int generation,
            Supplier<CompletableFuture<Void>> startGate) {
        try {
            validate(r);
        } catch (InvalidRequestException e) {
            return CompletableFuture.failedFuture(e);
        }
        Map<String, String> targetRoles = new LinkedHashMap<>();
        for (ReplicationTarget t : r.targets()) {
            if (!roles.allowsRole(t.region(), t.roleArn())) {
                return CompletableFuture.failedFuture(
                        new FailureException(
                                Failure.of(
                                        FailureReason.ROLE_NOT_ALLOWED,
                                        "The job may not assume role "
                                                + t.roleArn()
                                                + " for target region "
                                                + t.region()
                                                + ": it is neither the role configured for the"
                                                + " region nor on the allow-list"
                                                + " (ebs.credentials.allowed-role-arns)")));
            }
            String role = targetRole(r, t.region(), roles);
            if (role != null) {
                targetRoles.put(t.region(), role);
            }
        }
        EbsProxy source = proxies.apply(r.sourceRegion(), roles.sourceRoleArn());
        // One small page proves the source (and the lineage from the base) readable and tells the
        // volume size; the readers list for real from their own ranges.
        CompletableFuture<BlockListing> probe =
                r.incremental()
                        ? source.listChangedBlocksAsync(
                                r.baseSnapshotId(), r.sourceSnapshotId(), 0, null, 100)
                        : source.listSnapshotBlocksAsync(r.sourceSnapshotId(), 0, null, 100);
        return probe.thenCompose(listing -> startGate.get().thenApply(v -> listing))
                .thenCompose(
                        listing -> {
                            long volumeGib = listing.volumeSizeGib();
                            Map<String, CompletableFuture<StartedSnapshot>> starts =
                                    new LinkedHashMap<>();
                            for (ReplicationTarget t : r.targets()) {
                                starts.put(
                                        t.region(),
                                        proxies.apply(t.region(), targetRoles.get(t.region()))
                                                .startSnapshotAsync(
                                                        spec(r, t, volumeGib, generation)));
                            }
                            return CompletableFuture.allOf(
                                            starts.values().toArray(CompletableFuture[]::new))
                                    .handle(
                                            (v, ignored) ->
                                                    splits(
                                                            r,
                                                            volumeGib,
                                                            starts,
                                                            targetRoles,
                                                            acceptedMillis,
                                                            generation));
                        });
    }

    /** The splits of the targets started, and a failure split for those that cannot be. */
    private List<LineageSplit> splits(
            ReplicationRequest r,
            long volumeGib,
            Map<String, CompletableFuture<StartedSnapshot>> starts,
            Map<String, String> targetRoles,
            long acceptedMillis,
            int generation) {
        Map<String, String> started = new LinkedHashMap<>();
        List<String> failedRegions = new ArrayList<>();
        Failure failure = null;
        for (Map.Entry<String, CompletableFuture<StartedSnapshot>> e : starts.entrySet()) {
            try {
                started.put(e.getKey(), e.getValue().join().snapshotId());
            } catch (CompletionException | CancellationException ex) {
                Throwable cause = EbsErrorClassifier.unwrap(ex);
                if (!(cause instanceof EbsProxyException p)
                        || p.kind() != EbsProxyException.Kind.FATAL
                        || p.failureReason() == FailureReason.QUOTA_EXCEEDED) {
                    // Tried again later as a whole; started targets are found again by token.
                    throw new CompletionException(cause);
                }
                failedRegions.add(e.getKey());
                failure = Failure.of(p);
            }
        }
        List<LineageSplit> splits = new ArrayList<>();
        if (!started.isEmpty()) {
            splits.addAll(
                    cut(
                            r,
                            volumeGib,
                            TargetSnapshots.of(started, targetRoles),
                            acceptedMillis,
                            generation));
        }
        if (!failedRegions.isEmpty()) {
            splits.add(
                    FailedRequestSplit.of(
                            r, failedRegions, failure, acceptedMillis, generation, null));
        }
        return splits;
    }

    StartSnapshotSpec spec(ReplicationRequest r, ReplicationTarget t, long volumeGib, int gen) {
        Map<String, String> tags = new LinkedHashMap<>(t.tags());
        tags.putIfAbsent("ebs-replicator:source", r.sourceRegion() + "/" + r.sourceSnapshotId());
        tags.putIfAbsent("ebs-replicator:request", r.requestId());
        String description =
                t.description() != null
                        ? t.description()
                        : "Copy of " + r.sourceSnapshotId() + " from " + r.sourceRegion();
        boolean full = t.parentSnapshotId() == null;
        return new StartSnapshotSpec(
                volumeGib,
                t.parentSnapshotId(),
                clientToken(r.requestId(), t.region(), gen),
                description,
                tags,
                full && t.kmsKeyArn() != null ? Boolean.TRUE : null,
                t.kmsKeyArn(),
                timeoutMinutes);
    }

    /**
     * The StartSnapshot ClientToken: derived from request, region and generation only, so a
     * StartSnapshot replayed after a failover returns the same target snapshot.
     */
    public static String clientToken(String requestId, String region, int generation) {
        try {
            byte[] d =
                    MessageDigest.getInstance("SHA-256")
                            .digest(
                                    (requestId + "\n" + region + "\n" + generation)
                                            .getBytes(StandardCharsets.UTF_8));
            return "ebsr-" + HexFormat.of().formatHex(d, 0, 24);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Equal block-index ranges over the volume, at least {@code minSplitBlocks} each. */
    List<BlockRangeSplit> cut(
            ReplicationRequest r,
            long volumeGib,
            TargetSnapshots targets,
            long acceptedMillis,
            int generation) {
        long blocks = volumeGib * BLOCKS_PER_GIB;
        int n =
                (int)
                        Math.max(
                                1,
                                Math.min(
                                        splitsPerRequest,
                                        (blocks + minSplitBlocks - 1) / minSplitBlocks));
        long size = (blocks + n - 1) / n;
        List<BlockRangeSplit> splits = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int start = (int) Math.min(blocks, i * size);
            int end = (int) Math.min(blocks, (i + 1) * size);
            splits.add(
                    BlockRangeSplit.builder()
                            .request(r)
                            .split(i, n)
                            .targets(targets)
                            .range(start, end)
                            .requestStartMillis(acceptedMillis)
                            .generation(generation)
                            .build());
        }
        return splits;
    }
}
