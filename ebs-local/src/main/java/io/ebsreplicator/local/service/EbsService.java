package io.ebsreplicator.local.service;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.fault.FaultInjector;
import io.ebsreplicator.local.service.ServiceResults.BlockPage;
import io.ebsreplicator.local.service.ServiceResults.ChangePage;
import io.ebsreplicator.local.service.ServiceResults.ListedBlock;
import io.ebsreplicator.local.service.ServiceResults.ListedChange;
import io.ebsreplicator.local.store.BlockStore;
import io.ebsreplicator.local.store.DamagedBlockException;
import io.ebsreplicator.local.store.Journal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The EBS direct API semantics: snapshots, lineage, block tokens, idempotency, states, quotas and
 * validation, over a {@link BlockStore} and a {@link Journal}. Transport-neutral; the HTTP layer
 * parses requests into calls here and renders the results. Thread-safe; one per server, serving
 * every region, each region's snapshots isolated from the others'.
 */
public final class EbsService {

    private static final Logger LOG = LoggerFactory.getLogger(EbsService.class);

    /** Largest volume EBS supports: 64 TiB. */
    public static final long MAX_VOLUME_GIB = 65536;

    private static final Pattern SNAPSHOT_ID = Pattern.compile("^snap-[0-9a-f]+$");
    private static final Pattern CHECKSUM = Pattern.compile("^[A-Za-z0-9+/=]+$");
    private static final Pattern CLIENT_TOKEN = Pattern.compile("^\\S+$");

    /**
     * Integers on the wire: an optional minus and up to 10 digits, nothing else. Java's parsers
     * also take a leading '+', which no AWS SDK sends and EBS refuses.
     */
    private static final Pattern INTEGER = Pattern.compile("^-?[0-9]{1,10}$");

    private static final Pattern KMS_ARN =
            Pattern.compile("^arn:aws[a-z\\-]*:kms:([^:]*):([0-9]{12}):key/.*$");
    private static final int MAX_TAGS = 50;
    private static final int DEFAULT_TIMEOUT_MINUTES = 60;
    private static final int MIN_PAGE = 100;
    private static final int MAX_PAGE = 10_000;

    private final Map<String, RegionState> regions = new ConcurrentHashMap<>();
    private final EbsClock clock;
    private final Duration sealDelay;
    private final Duration blockTokenTtl;
    private final Duration pageTokenTtl;
    private final Quotas quotas;
    private final FaultInjector faults;
    private final BlockStore blocks;
    private final StateJournal journal;
    private final JournalRecovery recovery;
    private final Tokens tokens;
    private final SecureRandom random = new SecureRandom();
    private final Map<String, int[]> changedBlocksCache = new ConcurrentHashMap<>();

    public EbsService(
            Collection<String> regionNames,
            EbsClock clock,
            Duration sealDelay,
            Duration blockTokenTtl,
            Duration pageTokenTtl,
            Quotas quotas,
            FaultInjector faults,
            BlockStore blocks,
            Journal journal,
            byte[] tokenSecret,
            JournalPolicy journalPolicy)
            throws IOException {
        this.clock = clock;
        this.sealDelay = sealDelay;
        this.blockTokenTtl = blockTokenTtl;
        this.pageTokenTtl = pageTokenTtl;
        this.quotas = quotas;
        this.faults = faults;
        this.blocks = blocks;
        this.journal = new StateJournal(journal, journalPolicy);
        this.tokens = new Tokens(tokenSecret);
        for (String r : regionNames) {
            regions.put(r, new RegionState(r, quotas));
        }
        this.recovery = this.journal.replay(this::regionForReplay, regions::values);
    }

    // ---------------------------------------------------------------- recovery

    /** A data directory may hold regions this run does not serve; keep them, isolated. */
    private RegionState regionForReplay(String name) {
        return regions.computeIfAbsent(name, n -> new RegionState(n, quotas));
    }

    /** What the start recovered from the journal, and what it could not. */
    public JournalRecovery recovery() {
        return recovery;
    }

    // ---------------------------------------------------------------- StartSnapshot

    public Snapshot startSnapshot(Caller caller, StartSnapshotParams p) {
        RegionState region = region(caller);
        region.accountQuota(caller.accountId(), Operation.START_SNAPSHOT);

        if (p.volumeSize() == null) {
            throw EbsError.invalidParameter("VolumeSize is required.");
        }
        if (p.volumeSize() < 1 || p.volumeSize() > MAX_VOLUME_GIB) {
            throw EbsError.validation(
                    "INVALID_VOLUME_SIZE",
                    "VolumeSize must be between 1 and "
                            + MAX_VOLUME_GIB
                            + " GiB, not "
                            + p.volumeSize()
                            + ".");
        }
        if (p.description() != null
                && (p.description().isEmpty() || p.description().length() > 255)) {
            throw EbsError.invalidParameter("Description must have 1 to 255 characters.");
        }
        List<Tag> tags = p.tags() == null ? List.of() : p.tags();
        validateTags(tags);
        if (p.clientToken() != null
                && (p.clientToken().length() > 255
                        || !CLIENT_TOKEN.matcher(p.clientToken()).matches())) {
            throw EbsError.invalidParameter(
                    "ClientToken must have 1 to 255 characters and no whitespace.");
        }
        int timeout = p.timeout() == null ? DEFAULT_TIMEOUT_MINUTES : p.timeout();
        if (timeout < 10 || timeout > 4320) {
            throw EbsError.invalidParameter(
                    "Timeout must be between 10 and 4320 minutes, not " + timeout + ".");
        }
        if (p.parentSnapshotId() != null && p.encryptedPresent()) {
            throw EbsError.invalidParameter(
                    "Encrypted cannot be specified together with ParentSnapshotId; a child"
                            + " snapshot inherits the encryption of its parent.");
        }
        if (p.kmsKeyArn() != null) {
            var m = KMS_ARN.matcher(p.kmsKeyArn());
            if (p.kmsKeyArn().length() > 2048 || !m.matches()) {
                throw EbsError.validation(
                        "INVALID_CUSTOMER_KEY", "KmsKeyArn is not a valid KMS key ARN.");
            }
            if (!m.group(1).equals(caller.region())) {
                throw EbsError.validation(
                        "INVALID_CUSTOMER_KEY",
                        "The KMS key is in region '"
                                + m.group(1)
                                + "', not in '"
                                + caller.region()
                                + "' where the snapshot is.");
            }
            if (!m.group(2).equals(caller.accountId())) {
                throw EbsError.accessDenied(
                        "DEPENDENCY_ACCESS_DENIED",
                        "Account "
                                + caller.accountId()
                                + " has no access to KMS key "
                                + p.kmsKeyArn()
                                + ".");
            }
            if (p.parentSnapshotId() == null && !p.encrypted()) {
                throw EbsError.invalidParameter("KmsKeyArn requires Encrypted to be true.");
            }
        }

        Snapshot parent = null;
        if (p.parentSnapshotId() != null) {
            requireSnapshotIdFormat(p.parentSnapshotId(), "ParentSnapshotId");
            parent = region.snapshots.get(p.parentSnapshotId());
            if (parent == null) {
                throw EbsError.notFound(
                        "DEPENDENCY_RESOURCE_NOT_FOUND",
                        "The parent snapshot '" + p.parentSnapshotId() + "' does not exist.");
            }
            requireOwner(caller, parent);
            refresh(parent);
            if (parent.status() != SnapshotStatus.COMPLETED) {
                throw EbsError.validation(
                        "INVALID_DEPENDENCY_REQUEST",
                        "The parent snapshot '"
                                + parent.id
                                + "' is "
                                + parent.status().wire()
                                + "; only a completed snapshot can be a parent.");
            }
            if (p.volumeSize() < parent.volumeSizeGib) {
                throw EbsError.validation(
                        "INVALID_VOLUME_SIZE",
                        "VolumeSize "
                                + p.volumeSize()
                                + " GiB is smaller than the "
                                + parent.volumeSizeGib
                                + " GiB of the parent snapshot.");
            }
        }
        boolean encrypted = parent != null ? parent.encrypted : p.encrypted();
        String kmsKey =
                p.kmsKeyArn() != null ? p.kmsKeyArn() : parent != null ? parent.kmsKeyArn : null;
        String fingerprint =
                String.join(
                        "\u0000",
                        String.valueOf(p.volumeSize()),
                        String.valueOf(p.parentSnapshotId()),
                        String.valueOf(p.description()),
                        tags.toString(),
                        String.valueOf(p.encryptedPresent() ? p.encrypted() : null),
                        String.valueOf(p.kmsKeyArn()),
                        String.valueOf(timeout));

        Snapshot parentSnapshot = parent;
        Snapshot started =
                journal.mutation(
                        () -> {
                            synchronized (region) {
                                if (p.clientToken() != null) {
                                    String existingId =
                                            region.clientTokens.get(
                                                    caller.accountId() + "/" + p.clientToken());
                                    if (existingId != null) {
                                        // The original answer, even when the snapshot has been
                                        // deleted since (as EBS answers a replayed token).
                                        Snapshot existing = region.snapshotOrDeleted(existingId);
                                        if (!existing.fingerprint.equals(fingerprint)) {
                                            throw EbsError.conflict(
                                                    "The request uses the same client token as a previous, but"
                                                            + " non-identical request.");
                                        }
                                        refresh(existing);
                                        return existing;
                                    }
                                }
                                int pending = 0;
                                for (Snapshot s : region.pendingSnapshots()) {
                                    refresh(s);
                                    if (s.ownerId.equals(caller.accountId())
                                            && s.status() == SnapshotStatus.PENDING) {
                                        pending++;
                                    }
                                }
                                if (quotas.enabled()
                                        && pending >= quotas.pendingSnapshotsPerAccount()) {
                                    throw EbsError.quotaExceeded(
                                            "DEPENDENCY_SERVICE_QUOTA_EXCEEDED",
                                            "The maximum number of pending snapshots ("
                                                    + quotas.pendingSnapshotsPerAccount()
                                                    + ") for this account has been reached.");
                                }
                                String id;
                                do {
                                    id = newSnapshotId();
                                } while (region.snapshots.containsKey(id));
                                long now = clock.nowMillis();
                                JournalRecord.Start record =
                                        new JournalRecord.Start(
                                                caller.region(),
                                                id,
                                                caller.accountId(),
                                                p.volumeSize(),
                                                p.parentSnapshotId(),
                                                p.description(),
                                                tags,
                                                encrypted,
                                                kmsKey,
                                                timeout,
                                                now,
                                                p.clientToken(),
                                                fingerprint);
                                append(record);
                                Snapshot snap = Snapshot.started(record, parentSnapshot);
                                region.add(snap);
                                return snap;
                            }
                        });
        compactIfDue();
        return started;
    }

    private static void validateTags(List<Tag> tags) {
        if (tags.size() > MAX_TAGS) {
            throw EbsError.validation(
                    "INVALID_TAG",
                    "A snapshot has at most " + MAX_TAGS + " tags, not " + tags.size() + ".");
        }
        Set<String> keys = new HashSet<>();
        for (Tag t : tags) {
            if (t.key() == null || t.key().isEmpty() || t.key().length() > 127) {
                throw EbsError.validation(
                        "INVALID_TAG", "A tag key must have 1 to 127 characters.");
            }
            if (t.key().startsWith("aws:")) {
                throw EbsError.validation(
                        "INVALID_TAG", "Tag keys starting with 'aws:' are reserved.");
            }
            if (t.value() == null || t.value().length() > 255) {
                throw EbsError.validation(
                        "INVALID_TAG", "A tag value must have 0 to 255 characters.");
            }
            if (!keys.add(t.key())) {
                throw EbsError.validation("INVALID_TAG", "Duplicate tag key '" + t.key() + "'.");
            }
        }
    }

    private String newSnapshotId() {
        // 17 hex digits, the length of current EBS snapshot ids.
        long hi = random.nextLong() & 0xfffffffffffffffL;
        return String.format("snap-%01x%016x", random.nextInt(16), hi).substring(0, 22);
    }

    // ---------------------------------------------------------------- PutSnapshotBlock

    /** Writes one block; returns the checksum EBS computed. */
    public Digest putSnapshotBlock(
            Caller caller,
            String snapshotId,
            String blockIndexRaw,
            ByteBuffer[] data,
            int length,
            Digest bodyDigest,
            String dataLengthRaw,
            String checksum,
            String checksumAlgorithm,
            String progressRaw,
            String contentEncoding,
            boolean uploadConflict) {
        RegionState region = region(caller);
        region.accountQuota(caller.accountId(), Operation.PUT_SNAPSHOT_BLOCK);
        if (contentEncoding != null
                && !contentEncoding.isEmpty()
                && !contentEncoding.equalsIgnoreCase("identity")) {
            throw EbsError.validation(
                    "INVALID_CONTENT_ENCODING",
                    "Content-Encoding '" + contentEncoding + "' is not supported for block data.");
        }
        Snapshot snap = lookup(caller, region, snapshotId);
        region.snapshotQuota(snap, Operation.PUT_SNAPSHOT_BLOCK);
        notFoundWhilePropagating(snap);
        int blockIndex = parseBlockIndex(blockIndexRaw, snap);
        if (dataLengthRaw == null) {
            throw EbsError.invalidParameter("The x-amz-Data-Length header is required.");
        }
        int dataLength = parseInt(dataLengthRaw, "x-amz-Data-Length");
        if (dataLength != Snapshot.BLOCK_SIZE) {
            throw EbsError.invalidParameter(
                    "DataLength must be "
                            + Snapshot.BLOCK_SIZE
                            + " bytes, not "
                            + dataLength
                            + ".");
        }
        if (length != dataLength) {
            throw EbsError.invalidParameter(
                    "Failed to read block data: received "
                            + length
                            + " bytes, x-amz-Data-Length says "
                            + dataLength
                            + ".");
        }
        if (checksumAlgorithm == null || !checksumAlgorithm.equals("SHA256")) {
            throw EbsError.invalidParameter(
                    "x-amz-Checksum-Algorithm must be SHA256, not " + checksumAlgorithm + ".");
        }
        if (checksum == null || checksum.length() > 64 || !CHECKSUM.matcher(checksum).matches()) {
            throw EbsError.invalidParameter("x-amz-Checksum must be a base64 SHA-256 checksum.");
        }
        int progress = -1;
        if (progressRaw != null) {
            progress = parseInt(progressRaw, "x-amz-Progress");
            if (progress < 0 || progress > 100) {
                throw EbsError.invalidParameter("x-amz-Progress must be between 0 and 100.");
            }
        }
        if (!bodyDigest.base64().equals(checksum)) {
            throw EbsError.invalidParameter(
                    "The checksum of the block data ("
                            + bodyDigest.base64()
                            + ") does not match x-amz-Checksum ("
                            + checksum
                            + ").");
        }
        requirePendingForWrite(snap);
        if (uploadConflict || !snap.writesInFlight.add(blockIndex)) {
            throw EbsError.validation(
                    "CONFLICTING_BLOCK_UPDATE",
                    "Another write to block "
                            + blockIndex
                            + " of "
                            + snapshotId
                            + " is in progress.");
        }
        try {
            blocks.put(bodyDigest, data);
            int written = progress;
            journal.mutation(
                    () -> {
                        synchronized (snap) {
                            requirePendingForWrite(snap);
                            long now = clock.nowMillis();
                            append(
                                    new JournalRecord.Put(
                                            caller.region(),
                                            snap.id,
                                            blockIndex,
                                            bodyDigest,
                                            now,
                                            written));
                            snap.own.put(blockIndex, bodyDigest);
                            snap.lastWriteMillis = Math.max(snap.lastWriteMillis, now);
                            if (written >= 0) {
                                snap.progress = written;
                            }
                        }
                        return null;
                    });
            snap.putRequestsAccepted.incrementAndGet();
            compactIfDue();
            return bodyDigest;
        } catch (IOException | UncheckedIOException e) {
            throw EbsError.internal(LOG, "Failed to store block " + blockIndex, e);
        } finally {
            snap.writesInFlight.remove(blockIndex);
        }
    }

    private void requirePendingForWrite(Snapshot snap) {
        refresh(snap);
        synchronized (snap) {
            if (snap.status != SnapshotStatus.PENDING) {
                throw EbsError.validation(
                        null,
                        "The snapshot '"
                                + snap.id
                                + "' is "
                                + snap.status.wire()
                                + (snap.stateMessage == null ? "" : " (" + snap.stateMessage + ")")
                                + "; blocks can be written only while it is pending.");
            }
            if (snap.completeRequestedMillis >= 0) {
                throw EbsError.validation(
                        null,
                        "The snapshot '"
                                + snap.id
                                + "' is being completed; no more blocks can be written.");
            }
        }
    }

    private void notFoundWhilePropagating(Snapshot snap) {
        long window = faults.profile().notFoundAfterStartSeconds();
        if (window > 0 && clock.nowMillis() < snap.startMillis + window * 1000) {
            throw EbsError.snapshotNotFound(snap.id);
        }
    }

    // ---------------------------------------------------------------- GetSnapshotBlock

    /** Validates a read and returns the digest of the block to serve; see {@link #readBlock}. */
    public Digest getSnapshotBlock(
            Caller caller, String snapshotId, String blockIndexRaw, String blockToken) {
        RegionState region = region(caller);
        region.accountQuota(caller.accountId(), Operation.GET_SNAPSHOT_BLOCK);
        Snapshot snap = lookup(caller, region, snapshotId);
        region.snapshotQuota(snap, Operation.GET_SNAPSHOT_BLOCK);
        int blockIndex = parseBlockIndex(blockIndexRaw, snap);
        if (blockToken == null || blockToken.isEmpty()) {
            throw EbsError.validation(
                    "INVALID_BLOCK_TOKEN", "The blockToken parameter is required.");
        }
        requireCompleted(snap);
        tokens.verifyBlockToken(
                blockToken, caller.region(), snap.id, blockIndex, clock.nowMillis());
        Digest digest = snap.effective().get(blockIndex);
        if (digest == null) {
            throw EbsError.validation(
                    "INVALID_BLOCK",
                    "Snapshot " + snap.id + " has no data at block " + blockIndex + ".");
        }
        return digest;
    }

    /**
     * Reads a block found by {@link #getSnapshotBlock} into {@code target}, filling it. A block
     * whose stored bytes do not match its checksum is never served: it answers
     * InternalServerException.
     */
    public void readBlock(Digest digest, ByteBuffer target) {
        try {
            blocks.read(digest, target);
        } catch (DamagedBlockException e) {
            LOG.error("{}; refusing to serve it", e.getMessage());
            throw EbsError.internal(
                    "The stored data of this block is damaged and cannot be served; ebs-local"
                            + " --check lists the damaged blocks and the snapshots that use them.");
        } catch (IOException e) {
            throw EbsError.internal(LOG, "Failed to read a block", e);
        }
    }

    // ---------------------------------------------------------------- ListSnapshotBlocks

    public BlockPage listSnapshotBlocks(
            Caller caller,
            String snapshotId,
            String maxResultsRaw,
            String startingBlockIndexRaw,
            String pageToken) {
        RegionState region = region(caller);
        region.accountQuota(caller.accountId(), Operation.LIST_SNAPSHOT_BLOCKS);
        Snapshot snap = lookup(caller, region, snapshotId);
        int max = parseMaxResults(maxResultsRaw);
        requireCompleted(snap);
        String scope = "ListSnapshotBlocks\n" + caller.region() + "\n" + snap.id;
        int start = startIndex(scope, startingBlockIndexRaw, pageToken);
        long now = clock.nowMillis();
        Instant expiry = Instant.ofEpochSecond(now / 1000 + blockTokenTtl.toSeconds());
        if (faults.emptyPage(Operation.LIST_SNAPSHOT_BLOCKS)) {
            return new BlockPage(
                    List.of(), expiry, snap.volumeSizeGib, nextPageToken(scope, start));
        }
        BlockMap map = snap.effective();
        List<ListedBlock> out = new ArrayList<>(Math.min(max, map.size()));
        int pos = map.ceilingPosition(start);
        for (; pos < map.size() && out.size() < max; pos++) {
            int idx = map.indexAt(pos);
            out.add(
                    new ListedBlock(
                            idx,
                            tokens.blockToken(
                                    caller.region(), snap.id, idx, expiry.getEpochSecond())));
        }
        String next = pos < map.size() ? nextPageToken(scope, map.indexAt(pos)) : null;
        return new BlockPage(out, expiry, snap.volumeSizeGib, next);
    }

    // ---------------------------------------------------------------- ListChangedBlocks

    public ChangePage listChangedBlocks(
            Caller caller,
            String secondSnapshotId,
            String firstSnapshotId,
            String maxResultsRaw,
            String startingBlockIndexRaw,
            String pageToken) {
        RegionState region = region(caller);
        region.accountQuota(caller.accountId(), Operation.LIST_CHANGED_BLOCKS);
        Snapshot second = lookup(caller, region, secondSnapshotId);
        Snapshot first = firstSnapshotId == null ? null : lookup(caller, region, firstSnapshotId);
        int max = parseMaxResults(maxResultsRaw);
        requireCompleted(second);
        if (first != null) {
            requireCompleted(first);
            if (!first.lineageRootId.equals(second.lineageRootId)) {
                throw EbsError.validation(
                        "UNRELATED_SNAPSHOTS",
                        "Snapshots "
                                + first.id
                                + " and "
                                + second.id
                                + " are not of the same snapshot lineage.");
            }
        }
        String scope =
                "ListChangedBlocks\n"
                        + caller.region()
                        + "\n"
                        + (first == null ? "" : first.id)
                        + "\n"
                        + second.id;
        int start = startIndex(scope, startingBlockIndexRaw, pageToken);
        long now = clock.nowMillis();
        Instant expiry = Instant.ofEpochSecond(now / 1000 + blockTokenTtl.toSeconds());
        long volume = second.volumeSizeGib;
        if (faults.emptyPage(Operation.LIST_CHANGED_BLOCKS)) {
            return new ChangePage(List.of(), expiry, volume, nextPageToken(scope, start));
        }
        BlockMap secondMap = second.effective();
        BlockMap firstMap = first == null ? BlockMap.EMPTY : first.effective();
        int[] changed = first == null ? null : changedIndexes(first, second);
        int total = first == null ? secondMap.size() : changed.length;
        int pos = first == null ? secondMap.ceilingPosition(start) : ceiling(changed, start);
        long exp = expiry.getEpochSecond();
        List<ListedChange> out = new ArrayList<>(Math.min(max, total));
        for (; pos < total && out.size() < max; pos++) {
            int idx = first == null ? secondMap.indexAt(pos) : changed[pos];
            String firstToken =
                    firstMap.get(idx) == null
                            ? null
                            : tokens.blockToken(caller.region(), first.id, idx, exp);
            String secondToken =
                    secondMap.get(idx) == null
                            ? null
                            : tokens.blockToken(caller.region(), second.id, idx, exp);
            out.add(new ListedChange(idx, firstToken, secondToken));
        }
        String next = null;
        if (pos < total) {
            next = nextPageToken(scope, first == null ? secondMap.indexAt(pos) : changed[pos]);
        }
        return new ChangePage(out, expiry, volume, next);
    }

    /**
     * Indexes written on the path between two snapshots of one lineage: the own writes of every
     * snapshot below their common ancestor, on either side. EBS reports a block as changed because
     * it was written, even with the same content.
     */
    private int[] changedIndexes(Snapshot first, Snapshot second) {
        String key = first.region + "/" + first.id + "/" + second.id;
        int[] cached = changedBlocksCache.get(key);
        if (cached != null) {
            return cached;
        }
        Set<Snapshot> firstChain = new HashSet<>();
        for (Snapshot s = first; s != null; s = s.parent) {
            firstChain.add(s);
        }
        Snapshot common = second;
        while (common != null && !firstChain.contains(common)) {
            common = common.parent;
        }
        TreeSet<Integer> changed = new TreeSet<>();
        for (Snapshot s = second; s != common; s = s.parent) {
            changed.addAll(s.own.keySet());
        }
        for (Snapshot s = first; s != common; s = s.parent) {
            changed.addAll(s.own.keySet());
        }
        int[] result = changed.stream().mapToInt(Integer::intValue).toArray();
        if (changedBlocksCache.size() > 1024) {
            changedBlocksCache.clear();
        }
        changedBlocksCache.put(key, result);
        return result;
    }

    private static int ceiling(int[] sorted, int value) {
        int pos = java.util.Arrays.binarySearch(sorted, value);
        return pos >= 0 ? pos : -pos - 1;
    }

    private int startIndex(String scope, String startingBlockIndexRaw, String pageToken) {
        if (pageToken != null) {
            // The NextToken wins over StartingBlockIndex, as in EBS.
            return tokens.verifyPageToken(pageToken, scope, clock.nowMillis());
        }
        if (startingBlockIndexRaw == null) {
            return 0;
        }
        int start = parseInt(startingBlockIndexRaw, "startingBlockIndex");
        if (start < 0) {
            throw EbsError.invalidParameter("StartingBlockIndex must be >= 0.");
        }
        return start;
    }

    private String nextPageToken(String scope, int nextIndex) {
        long expiry = clock.nowMillis() / 1000 + pageTokenTtl.toSeconds();
        return tokens.pageToken(scope, nextIndex, expiry);
    }

    /**
     * MaxResults: values above 10,000 are rejected; values below 100 are raised to 100, as the EBS
     * FAQ documents ("the API will return at least 100 results").
     */
    private static int parseMaxResults(String raw) {
        if (raw == null) {
            return MAX_PAGE;
        }
        int max = parseInt(raw, "maxResults");
        if (max > MAX_PAGE || max < 0) {
            throw EbsError.invalidParameter(
                    "MaxResults must be between " + MIN_PAGE + " and " + MAX_PAGE + ".");
        }
        return Math.max(max, MIN_PAGE);
    }

    // ---------------------------------------------------------------- CompleteSnapshot

    public SnapshotStatus completeSnapshot(
            Caller caller,
            String snapshotId,
            String changedBlocksCountRaw,
            String checksum,
            String checksumAlgorithm,
            String aggregationMethod) {
        RegionState region = region(caller);
        region.accountQuota(caller.accountId(), Operation.COMPLETE_SNAPSHOT);
        Snapshot snap = lookup(caller, region, snapshotId);
        notFoundWhilePropagating(snap);
        if (changedBlocksCountRaw == null) {
            throw EbsError.invalidParameter("The x-amz-ChangedBlocksCount header is required.");
        }
        int count = parseInt(changedBlocksCountRaw, "x-amz-ChangedBlocksCount");
        if (count < 0) {
            throw EbsError.invalidParameter("ChangedBlocksCount must be >= 0.");
        }
        if (checksumAlgorithm != null && !checksumAlgorithm.equals("SHA256")) {
            throw EbsError.invalidParameter(
                    "x-amz-Checksum-Algorithm must be SHA256, not " + checksumAlgorithm + ".");
        }
        if (aggregationMethod != null && !aggregationMethod.equals("LINEAR")) {
            throw EbsError.invalidParameter(
                    "x-amz-Checksum-Aggregation-Method must be LINEAR, not "
                            + aggregationMethod
                            + ".");
        }
        if (checksum != null) {
            if (checksum.length() > 64 || !CHECKSUM.matcher(checksum).matches()) {
                throw EbsError.invalidParameter(
                        "x-amz-Checksum must be a base64 SHA-256 checksum.");
            }
            if (checksumAlgorithm == null || aggregationMethod == null) {
                throw EbsError.invalidParameter(
                        "An aggregate checksum needs x-amz-Checksum-Algorithm and"
                                + " x-amz-Checksum-Aggregation-Method.");
            }
        }
        refresh(snap);
        SnapshotStatus retried =
                journal.mutation(
                        () -> {
                            synchronized (snap) {
                                if (snap.completeRequestedMillis >= 0
                                        || snap.status != SnapshotStatus.PENDING) {
                                    boolean same =
                                            snap.completeRequestedMillis >= 0
                                                    && snap.completeChangedBlocks == count
                                                    && java.util.Objects.equals(
                                                            snap.completeChecksum, checksum);
                                    if (same && snap.status != SnapshotStatus.ERROR) {
                                        return snap.status; // a retry of the accepted completion
                                    }
                                    throw EbsError.validation(
                                            null,
                                            "The snapshot '"
                                                    + snap.id
                                                    + "' is "
                                                    + snap.status.wire()
                                                    + (snap.completeRequestedMillis >= 0
                                                            ? " and already being completed"
                                                            : "")
                                                    + "; it cannot be completed again.");
                                }
                                int written = snap.own.size();
                                if (count != written) {
                                    throw EbsError.invalidParameter(
                                            "ChangedBlocksCount "
                                                    + count
                                                    + " does not match the "
                                                    + written
                                                    + " blocks written to snapshot "
                                                    + snap.id
                                                    + ".");
                                }
                                if (checksum != null) {
                                    String expected = linearChecksum(snap.own.values());
                                    if (!expected.equals(checksum)) {
                                        throw EbsError.invalidParameter(
                                                "The aggregate checksum "
                                                        + checksum
                                                        + " does not match the LINEAR aggregate of the blocks written ("
                                                        + expected
                                                        + ").");
                                    }
                                }
                                long now = clock.nowMillis();
                                append(
                                        new JournalRecord.Complete(
                                                caller.region(), snap.id, count, checksum, now));
                                snap.completeRequestedMillis = now;
                                snap.completeChangedBlocks = count;
                                snap.completeChecksum = checksum;
                                snap.completionsAccepted.incrementAndGet();
                            }
                            return null;
                        });
        if (retried != null) {
            return retried;
        }
        compactIfDue();
        refresh(snap);
        return snap.status();
    }

    /**
     * LINEAR aggregate: SHA-256 over the raw 32-byte block digests in ascending block index order,
     * base64-encoded (as AWS's coldsnap computes it).
     */
    public static String linearChecksum(Collection<Digest> digestsInIndexOrder) {
        MessageDigest md = Digest.newSha256();
        for (Digest d : digestsInIndexOrder) {
            d.updateInto(md);
        }
        return java.util.Base64.getEncoder().encodeToString(md.digest());
    }

    // ---------------------------------------------------------------- DeleteSnapshot

    /**
     * EC2 DeleteSnapshot. The snapshot leaves its region at once: it is no longer described, read,
     * listed or usable as a parent, and a second deletion answers {@code InvalidSnapshot.NotFound}.
     * Its blocks stay for every snapshot that inherits them (children keep reading them, and
     * ListChangedBlocks between two remaining snapshots still walks through it); block files are
     * stored once per content and are never removed. A {@code pending} snapshot cannot be deleted
     * ({@code IncorrectState}). Journaled, so a restart keeps the deletion.
     */
    public void deleteSnapshot(Caller caller, String snapshotId) {
        RegionState region = region(caller);
        journal.mutation(
                () -> {
                    synchronized (region) {
                        Snapshot snap = deletable(caller, region, snapshotId);
                        long now = clock.nowMillis();
                        append(new JournalRecord.Delete(caller.region(), snap.id, now));
                        region.delete(snap, now);
                    }
                    return null;
                });
        compactIfDue();
    }

    /** Throws what {@link #deleteSnapshot} would throw, and changes nothing (EC2's DryRun). */
    public void checkDeletable(Caller caller, String snapshotId) {
        RegionState region = region(caller);
        journal.mutation(
                () -> {
                    synchronized (region) {
                        deletable(caller, region, snapshotId);
                    }
                    return null;
                });
    }

    private Snapshot deletable(Caller caller, RegionState region, String snapshotId) {
        Snapshot snap = region.snapshots.get(snapshotId);
        if (snap == null || !snap.ownerId.equals(caller.accountId())) {
            // EC2 does not tell another account's snapshot from a missing one.
            throw new EbsError(
                    400,
                    "InvalidSnapshot.NotFound",
                    "The snapshot '" + snapshotId + "' does not exist.",
                    null);
        }
        refreshNow(snap);
        if (snap.status() == SnapshotStatus.PENDING) {
            throw new EbsError(
                    400,
                    "IncorrectState",
                    "The snapshot '"
                            + snapshotId
                            + "' is pending; it can be deleted once it is completed or in error.",
                    null);
        }
        return snap;
    }

    /** Whether {@code id} was deleted in {@code region} (and not forgotten by a compaction). */
    public boolean deleted(String region, String id) {
        RegionState r = regions.get(region);
        return r != null && r.deleted.containsKey(id);
    }

    // ---------------------------------------------------------------- DescribeSnapshots

    /** The caller's snapshots in its region, optionally only the given ids (all must exist). */
    public List<Snapshot> describeSnapshots(Caller caller, List<String> snapshotIds) {
        RegionState region = region(caller);
        List<Snapshot> out = new ArrayList<>();
        if (!snapshotIds.isEmpty()) {
            for (String id : snapshotIds) {
                Snapshot s = region.snapshots.get(id);
                if (s == null || !s.ownerId.equals(caller.accountId())) {
                    return null; // the caller reports the first missing id
                }
                refresh(s);
                out.add(s);
            }
            return out;
        }
        for (Snapshot s : region.snapshots.values()) {
            if (s.ownerId.equals(caller.accountId())) {
                refresh(s);
                out.add(s);
            }
        }
        out.sort(java.util.Comparator.comparingLong(s -> s.startMillis));
        return out;
    }

    /** Whether {@code id} is a snapshot the caller may see in its region. */
    public boolean visible(Caller caller, String id) {
        RegionState region = regions.get(caller.region());
        Snapshot s = region == null ? null : region.snapshots.get(id);
        return s != null && s.ownerId.equals(caller.accountId());
    }

    // ---------------------------------------------------------------- inspection for tests

    /** A snapshot by region and id, without access checks; for tests and tools. */
    public Snapshot snapshot(String region, String id) {
        RegionState r = regions.get(region);
        Snapshot s = r == null ? null : r.snapshots.get(id);
        if (s != null) {
            refresh(s);
        }
        return s;
    }

    /** Every snapshot of a region, without access checks; for tests and tools. */
    public List<Snapshot> snapshots(String region) {
        RegionState r = regions.get(region);
        if (r == null) {
            return List.of();
        }
        List<Snapshot> out = new ArrayList<>(r.snapshots.values());
        out.forEach(this::refresh);
        out.sort(java.util.Comparator.comparingLong(s -> s.startMillis));
        return out;
    }

    /** The full block set of a completed snapshot as index -> digest; for tests and tools. */
    public java.util.SortedMap<Integer, Digest> blocksOf(String region, String id) {
        Snapshot s = snapshot(region, id);
        if (s == null || s.status() != SnapshotStatus.COMPLETED) {
            throw new IllegalStateException(id + " is not a completed snapshot in " + region);
        }
        BlockMap m = s.effective();
        java.util.TreeMap<Integer, Digest> out = new java.util.TreeMap<>();
        for (int i = 0; i < m.size(); i++) {
            out.put(m.indexAt(i), m.digestAt(i));
        }
        return out;
    }

    public long storedBlockCount() {
        return blocks.blockCount();
    }

    // ---------------------------------------------------------------- helpers

    private RegionState region(Caller caller) {
        RegionState r = regions.get(caller.region());
        if (r == null) {
            throw EbsError.authFailure(
                    "InvalidSignatureException",
                    "Credential should be scoped to a valid region, not '"
                            + caller.region()
                            + "'.");
        }
        return r;
    }

    private Snapshot lookup(Caller caller, RegionState region, String snapshotId) {
        requireSnapshotIdFormat(snapshotId, "SnapshotId");
        Snapshot snap = region.snapshots.get(snapshotId);
        if (snap == null) {
            throw EbsError.snapshotNotFound(snapshotId);
        }
        requireOwner(caller, snap);
        refresh(snap);
        return snap;
    }

    private static void requireSnapshotIdFormat(String id, String member) {
        if (id == null || id.isEmpty() || id.length() > 64 || !SNAPSHOT_ID.matcher(id).matches()) {
            throw EbsError.validation(
                    "INVALID_SNAPSHOT_ID", member + " '" + id + "' is not a valid snapshot id.");
        }
    }

    private static void requireOwner(Caller caller, Snapshot snap) {
        if (!snap.ownerId.equals(caller.accountId())) {
            throw EbsError.accessDenied(
                    "UNAUTHORIZED_ACCOUNT",
                    "Account "
                            + caller.accountId()
                            + " is not authorized to access snapshot "
                            + snap.id
                            + ".");
        }
    }

    private void requireCompleted(Snapshot snap) {
        SnapshotStatus status = snap.status();
        if (status != SnapshotStatus.COMPLETED) {
            throw EbsError.validation(
                    null,
                    "The snapshot '"
                            + snap.id
                            + "' is "
                            + status.wire()
                            + "; only completed snapshots can be read or listed.");
        }
    }

    private static int parseBlockIndex(String raw, Snapshot snap) {
        if (raw == null || !INTEGER.matcher(raw).matches()) {
            throw EbsError.invalidParameter(
                    "BlockIndex '" + abbreviate(raw) + "' is not an integer.");
        }
        long index = Long.parseLong(raw);
        long limit = snap.volumeSizeGib * Snapshot.BLOCKS_PER_GIB;
        if (index < 0 || index >= limit) {
            throw EbsError.validation(
                    "INVALID_BLOCK",
                    "BlockIndex "
                            + index
                            + " is outside the volume of snapshot "
                            + snap.id
                            + " (0 to "
                            + (limit - 1)
                            + ").");
        }
        return (int) index;
    }

    private static int parseInt(String raw, String name) {
        String v = raw.trim();
        long value = INTEGER.matcher(v).matches() ? Long.parseLong(v) : Long.MIN_VALUE;
        if (value < Integer.MIN_VALUE || value > Integer.MAX_VALUE) {
            throw EbsError.invalidParameter(name + " '" + abbreviate(raw) + "' is not an integer.");
        }
        return (int) value;
    }

    /** Client-chosen text in an error message, cut short. */
    private static String abbreviate(String s) {
        return s == null || s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }

    private void refresh(Snapshot snap) {
        journal.mutation(
                () -> {
                    refreshNow(snap);
                    return null;
                });
    }

    private void refreshNow(Snapshot snap) {
        SnapshotStatus changed = snap.refresh(clock.nowMillis(), sealDelay);
        if (changed != null) {
            try {
                append(
                        new JournalRecord.State(
                                snap.region,
                                snap.id,
                                changed,
                                snap.stateMessage(),
                                clock.nowMillis()));
            } catch (EbsError e) {
                LOG.warn("Could not journal the transition of {} to {}", snap.id, changed, e);
            }
            if (changed == SnapshotStatus.COMPLETED) {
                snap.effective();
            }
        }
    }

    private void append(JournalRecord record) {
        journal.append(record);
    }

    /** After a change: compacts the journal when it has outgrown the state. */
    private void compactIfDue() {
        journal.compactIfDue(regions::values);
    }

    /** Per-region state: snapshots (live and deleted), client tokens and rate limiters. */
    static final class RegionState {
        final String name;
        final Quotas quotas;
        final Map<String, Snapshot> snapshots = new ConcurrentHashMap<>();
        final Map<String, String> clientTokens = new ConcurrentHashMap<>();

        /** Deleted snapshots: their children still read their blocks, their tokens still answer. */
        final Map<String, Snapshot> deleted = new ConcurrentHashMap<>();

        final Set<Snapshot> pending = ConcurrentHashMap.newKeySet();
        final Map<String, TokenBucket> buckets = new ConcurrentHashMap<>();

        RegionState(String name, Quotas quotas) {
            this.name = name;
            this.quotas = quotas;
        }

        void add(Snapshot snap) {
            snapshots.put(snap.id, snap);
            if (snap.clientToken != null) {
                clientTokens.put(snap.ownerId + "/" + snap.clientToken, snap.id);
            }
            pending.add(snap);
        }

        /** A live snapshot, or a deleted one. */
        Snapshot snapshotOrDeleted(String id) {
            Snapshot s = snapshots.get(id);
            return s != null ? s : deleted.get(id);
        }

        /** Takes a snapshot out of the region (see {@link EbsService#deleteSnapshot}). */
        void delete(Snapshot snap, long atMillis) {
            synchronized (snap) {
                snap.deletedMillis = atMillis;
            }
            snapshots.remove(snap.id);
            deleted.put(snap.id, snap);
            pending.remove(snap);
        }

        Collection<Snapshot> pendingSnapshots() {
            pending.removeIf(s -> s.status() != SnapshotStatus.PENDING);
            return pending;
        }

        void accountQuota(String account, Operation op) {
            if (!quotas.enabled()) {
                return;
            }
            double rate =
                    switch (op) {
                        case GET_SNAPSHOT_BLOCK -> quotas.getPerAccount();
                        case PUT_SNAPSHOT_BLOCK -> quotas.putPerAccount();
                        case LIST_SNAPSHOT_BLOCKS -> quotas.listSnapshotBlocksPerAccount();
                        case LIST_CHANGED_BLOCKS -> quotas.listChangedBlocksPerAccount();
                        case START_SNAPSHOT -> quotas.startPerAccount();
                        case COMPLETE_SNAPSHOT -> quotas.completePerAccount();
                        default -> 0;
                    };
            if (rate <= 0) {
                return;
            }
            TokenBucket b = buckets.computeIfAbsent(op + "/" + account, k -> new TokenBucket(rate));
            if (!b.tryAcquire()) {
                throw EbsError.throttled(
                        "ACCOUNT_THROTTLED",
                        "The "
                                + op.apiName()
                                + " request rate for account "
                                + account
                                + " exceeds "
                                + (long) rate
                                + " per second in "
                                + name
                                + ".");
            }
        }

        void snapshotQuota(Snapshot snap, Operation op) {
            if (!quotas.enabled()) {
                return;
            }
            double rate =
                    op == Operation.GET_SNAPSHOT_BLOCK
                            ? quotas.getPerSnapshot()
                            : quotas.putPerSnapshot();
            if (rate <= 0) {
                return;
            }
            TokenBucket b = buckets.computeIfAbsent(op + "/" + snap.id, k -> new TokenBucket(rate));
            if (!b.tryAcquire()) {
                throw EbsError.throttled(
                        "RESOURCE_LEVEL_THROTTLE",
                        "The "
                                + op.apiName()
                                + " request rate for snapshot "
                                + snap.id
                                + " exceeds "
                                + (long) rate
                                + " per second.");
            }
        }
    }
}
