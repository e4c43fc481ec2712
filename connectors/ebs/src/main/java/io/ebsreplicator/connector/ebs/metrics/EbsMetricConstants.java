package io.ebsreplicator.connector.ebs.metrics;

/**
 * The name of every metric the connector registers, so that the code, the README table and the
 * tests agree. Constants only; used wherever an operator, reader or enumerator registers metrics.
 *
 * <p>Every metric lives under the operator's (or the enumerator's) metric group, in the group
 * {@value #GROUP}. Proxy call metrics go one level deeper, under a key-value group for the region
 * and a group {@value #API_GROUP}: {@code ebs.region.<region>.api.<Operation>.requests}. Names stay
 * bounded: regions and operations are few, and error names come from a fixed set.
 *
 * <p>Per-request progress is deliberately not a metric: a gauge per active request (or per target
 * snapshot) would register thousands of metrics for a fleet of volumes, and each would linger in
 * reporters after its request ended. Completion exposes subtask-level gauges instead ({@link
 * #ACTIVE_TARGETS}, {@link #BLOCKS_RECEIVED_ACTIVE}, {@link #OLDEST_REQUEST_LAG_MS}) and logs one
 * progress line per active target at a bounded rate.
 */
public final class EbsMetricConstants {

    /** The group under the operator's metric group that holds every connector metric. */
    public static final String GROUP = "ebs";

    // ------------------------------------------------------------------ source readers

    /** Counter: blocks listed by this source reader and emitted as block tasks. */
    public static final String BLOCKS_LISTED = "blocksListed";

    /** Counter: ListSnapshotBlocks / ListChangedBlocks pages this source reader received. */
    public static final String LIST_PAGES = "listPages";

    /** Counter: block-range splits this source reader finished listing. */
    public static final String SPLITS_FINISHED = "splitsFinished";

    // ------------------------------------------------------------------ copier

    /** Counter: source blocks read (GetSnapshotBlock) whose checksum matched. */
    public static final String BLOCKS_READ = "blocksRead";

    /** Counter: bytes of source blocks read and verified. */
    public static final String BYTES_READ = "bytesRead";

    /** Counter: blocks written (PutSnapshotBlock accepted), one per target region. */
    public static final String BLOCKS_COPIED = "blocksCopied";

    /** Counter: bytes written to targets, all target regions together. */
    public static final String BYTES_WRITTEN = "bytesWritten";

    /** Counter: source reads whose data did not match the checksum EBS sent (read again). */
    public static final String CHECKSUM_MISMATCHES = "checksumMismatches";

    /** Counter: block tokens EBS refused (expired or invalid) and replaced by listing again. */
    public static final String BLOCK_TOKEN_REFRESHES = "blockTokenRefreshes";

    /** Gauge: blocks this copier subtask is reading or writing right now. */
    public static final String BLOCKS_IN_FLIGHT = "blocksInFlight";

    // ------------------------------------------------------------------ completion

    /** Counter: target blocks read back and found equal to the source (verification pass). */
    public static final String BLOCKS_VERIFIED = "blocksVerified";

    /** Counter: targets completed and reported as such. */
    public static final String TARGETS_COMPLETED = "targetsCompleted";

    /** Counter: targets reported as failed. */
    public static final String TARGETS_FAILED = "targetsFailed";

    /** Counter: targets that EBS cancelled and that a new generation replaced. */
    public static final String TARGETS_REPLACED = "targetsReplaced";

    /** Gauge: targets this completion subtask has seen and not reported yet. */
    public static final String ACTIVE_TARGETS = "activeTargets";

    /** Gauge: distinct blocks received so far for the active targets of this subtask. */
    public static final String BLOCKS_RECEIVED_ACTIVE = "activeTargetBlocksReceived";

    /**
     * Gauge: milliseconds since the oldest request still in progress on this subtask arrived (its
     * {@code requestStartMillis}); 0 when none is in progress.
     */
    public static final String OLDEST_REQUEST_LAG_MS = "oldestRequestLagMs";

    // ------------------------------------------------------------------ proxy calls

    // ------------------------------------------------------------------ enumerator

    /** Gauge: requests waiting to start (the enumerator's queue). */
    public static final String REQUESTS_QUEUED = "requestsQueued";

    /** Gauge: requests whose targets are being started (StartSnapshot in flight). */
    public static final String REQUESTS_STARTING = "requestsStarting";

    /** Gauge: target snapshots watched until EBS lets them go (pending in EBS). */
    public static final String TARGETS_WATCHED = "targetsWatched";

    /** Gauge: request ids remembered to drop duplicates (a long-running job only). */
    public static final String REQUEST_IDS_REMEMBERED = "requestIdsRemembered";

    /** Enumerator: requests without targets that a policy rule planned. */
    public static final String REQUESTS_PLANNED_BY_POLICY = "requestsPlannedByPolicy";

    /** Enumerator: requests without targets (snapshot events) that no policy rule selects. */
    public static final String REQUESTS_UNMATCHED = "requestsUnmatched";

    /**
     * Enumerator: requests without targets that cannot be planned (the source is gone, or EBS
     * refuses to describe it); no result can be addressed to them, so they are counted and logged.
     */
    public static final String REQUESTS_UNPLANNABLE = "requestsUnplannable";

    /**
     * Enumerator: milliseconds since the newest copy completed, for the lineage and target region
     * whose newest copy is oldest (copies made under a policy since the job started).
     */
    public static final String RPO_WORST_MS = "rpoWorstMs";

    /** Enumerator: lineage and target region pairs whose newest copy is older than the RPO. */
    public static final String LINEAGES_OVER_RPO = "lineagesOverRpo";

    /** Source reader: copies a policy's retention deleted (or found already gone). */
    public static final String COPIES_DELETED = "copiesDeleted";

    /** Source reader: deletions that failed (tried again after the lineage's next copy). */
    public static final String COPY_DELETIONS_FAILED = "copyDeletionsFailed";

    /** The key of the key-value group that holds a region's proxy call metrics. */
    public static final String REGION_GROUP = "region";

    /** The group, under the region, with the per-operation and per-error counters. */
    public static final String API_GROUP = "api";

    /** Counter per operation ({@code api.<Operation>.requests}): attempts sent. */
    public static final String REQUESTS = "requests";

    /** Counter per operation: failed attempts that will be retried after a backoff. */
    public static final String RETRIES = "retries";

    /** Counter per operation: attempts answered with a throttling error. */
    public static final String THROTTLES = "throttles";

    /**
     * The group of failed attempts by error ({@code api.errors.<name>}); the name is the modelled
     * reason when EBS gave a known one (e.g. {@code INVALID_BLOCK_TOKEN}), else the error code when
     * the classifier knows it (e.g. {@code RequestThrottledException}), else {@link #OTHER_ERROR}.
     */
    public static final String ERRORS_GROUP = "errors";

    /** The error counter of every failure that is not in the known set. */
    public static final String OTHER_ERROR = "OTHER";

    private EbsMetricConstants() {}
}
