package io.ebsreplicator.local.service;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.NavigableMap;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One snapshot in one region: its immutable attributes, the blocks written to it, and its state.
 * State changes happen under the object's monitor, after their journal record is written.
 */
public final class Snapshot {

    /** A GiB holds 2,048 blocks of 512 KiB. */
    public static final int BLOCKS_PER_GIB = 2048;

    public static final int BLOCK_SIZE = 512 * 1024;

    final String region;
    final String id;
    final String ownerId;
    final long volumeSizeGib;
    final Snapshot parent;
    final String lineageRootId;
    final String description;
    final List<Tag> tags;
    final boolean encrypted;
    final String kmsKeyArn;
    final int timeoutMinutes;
    final long startMillis;
    final String clientToken;
    final String fingerprint;

    /** Blocks written to this snapshot itself (not inherited), by index. */
    final ConcurrentSkipListMap<Integer, Digest> own = new ConcurrentSkipListMap<>();

    /** Indexes with a PutSnapshotBlock in progress, to detect conflicting concurrent writes. */
    final Set<Integer> writesInFlight = ConcurrentHashMap.newKeySet();

    final AtomicLong putRequestsAccepted = new AtomicLong();
    final AtomicInteger completionsAccepted = new AtomicInteger();

    // Guarded by this.
    SnapshotStatus status = SnapshotStatus.PENDING;
    String stateMessage;
    long lastWriteMillis = -1;
    long completeRequestedMillis = -1;
    int completeChangedBlocks = -1;
    String completeChecksum;
    long completedMillis = -1;
    int progress = -1;

    /** When EC2 DeleteSnapshot took it out of its region, or -1. */
    long deletedMillis = -1;

    private volatile BlockMap effective;

    Snapshot(
            String region,
            String id,
            String ownerId,
            long volumeSizeGib,
            Snapshot parent,
            String description,
            List<Tag> tags,
            boolean encrypted,
            String kmsKeyArn,
            int timeoutMinutes,
            long startMillis,
            String clientToken,
            String fingerprint) {
        this.region = region;
        this.id = id;
        this.ownerId = ownerId;
        this.volumeSizeGib = volumeSizeGib;
        this.parent = parent;
        this.lineageRootId = parent == null ? id : parent.lineageRootId;
        this.description = description;
        this.tags = List.copyOf(tags);
        this.encrypted = encrypted;
        this.kmsKeyArn = kmsKeyArn;
        this.timeoutMinutes = timeoutMinutes;
        this.startMillis = startMillis;
        this.clientToken = clientToken;
        this.fingerprint = fingerprint;
    }

    /** The snapshot a journaled StartSnapshot creates, on {@code parent} (or none). */
    static Snapshot started(JournalRecord.Start s, Snapshot parent) {
        return new Snapshot(
                s.region(),
                s.snapshotId(),
                s.ownerId(),
                s.volumeSizeGib(),
                parent,
                s.description(),
                s.tags(),
                s.encrypted(),
                s.kmsKeyArn(),
                s.timeoutMinutes(),
                s.startMillis(),
                s.clientToken(),
                s.fingerprint());
    }

    /** The StartSnapshot record that {@link #started} turns back into this snapshot. */
    JournalRecord.Start startRecord() {
        return new JournalRecord.Start(
                region,
                id,
                ownerId,
                volumeSizeGib,
                parentId(),
                description,
                tags,
                encrypted,
                kmsKeyArn,
                timeoutMinutes,
                startMillis,
                clientToken,
                fingerprint);
    }

    /**
     * Applies the transitions that time alone causes: a requested completion seals after {@code
     * sealDelay}; a pending snapshot with no write (or no completion after its last write) for
     * {@code Timeout} minutes is cancelled into {@code error}. Returns the transition made, if any,
     * so the caller can journal it.
     */
    synchronized SnapshotStatus refresh(long nowMillis, Duration sealDelay) {
        if (status != SnapshotStatus.PENDING) {
            return null;
        }
        if (completeRequestedMillis >= 0) {
            if (nowMillis >= completeRequestedMillis + sealDelay.toMillis()) {
                status = SnapshotStatus.COMPLETED;
                completedMillis = completeRequestedMillis + sealDelay.toMillis();
                return status;
            }
            return null;
        }
        long lastActivity = Math.max(startMillis, lastWriteMillis);
        if (nowMillis > lastActivity + timeoutMinutes * 60_000L) {
            status = SnapshotStatus.ERROR;
            stateMessage =
                    lastWriteMillis < 0
                            ? "Cancelled: no block was written within the "
                                    + timeoutMinutes
                                    + " minute timeout"
                            : "Cancelled: not completed within the "
                                    + timeoutMinutes
                                    + " minute timeout after the last block was written";
            return status;
        }
        return null;
    }

    /** The full block set; only for completed snapshots. */
    BlockMap effective() {
        BlockMap m = effective;
        if (m == null) {
            synchronized (this) {
                m = effective;
                if (m == null) {
                    m = BlockMap.overlay(parent == null ? BlockMap.EMPTY : parent.effective(), own);
                    effective = m;
                }
            }
        }
        return m;
    }

    NavigableMap<Integer, Digest> ownBlocks() {
        return own;
    }

    public String id() {
        return id;
    }

    public String region() {
        return region;
    }

    public String ownerId() {
        return ownerId;
    }

    public long volumeSizeGib() {
        return volumeSizeGib;
    }

    public String parentId() {
        return parent == null ? null : parent.id;
    }

    public String description() {
        return description;
    }

    public List<Tag> tags() {
        return tags;
    }

    public boolean encrypted() {
        return encrypted;
    }

    public String kmsKeyArn() {
        return kmsKeyArn;
    }

    public Instant startTime() {
        return Instant.ofEpochMilli(startMillis);
    }

    public synchronized SnapshotStatus status() {
        return status;
    }

    public synchronized String stateMessage() {
        return stateMessage;
    }

    public synchronized int progress() {
        if (status == SnapshotStatus.COMPLETED) {
            return 100;
        }
        return Math.max(progress, 0);
    }

    public synchronized Instant completionTime() {
        return completedMillis < 0 ? null : Instant.ofEpochMilli(completedMillis);
    }

    /** Blocks written to this snapshot (not inherited). */
    public int ownBlockCount() {
        return own.size();
    }

    /**
     * PutSnapshotBlock requests accepted for this snapshot, overwrites included (not persisted).
     */
    public long putRequestsAccepted() {
        return putRequestsAccepted.get();
    }

    /** CompleteSnapshot requests that started the seal (not persisted; at most 1 per process). */
    public int completionsAccepted() {
        return completionsAccepted.get();
    }
}
