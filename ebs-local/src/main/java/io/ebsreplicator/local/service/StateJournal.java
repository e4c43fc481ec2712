package io.ebsreplicator.local.service;

import io.ebsreplicator.local.store.Journal;
import io.ebsreplicator.local.store.JournalContents;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The service's side of the {@link Journal}: replays it into the regions on start (refusing, or
 * with {@code salvage} skipping, records it cannot apply), appends each state change, and compacts
 * the journal into the current state once it has grown past {@link JournalPolicy#compactionRatio}
 * times that state. One per {@link EbsService}; thread-safe.
 *
 * <p>Compaction must not miss a change whose record is in the old journal but whose effect is not
 * yet in memory. Every change therefore runs as a {@link #mutation}, under the read side of a lock
 * that covers its append and its effect; compaction takes the write side, so it sees no change half
 * done. A mutation takes the lock before any snapshot or region monitor, and compaction takes no
 * region monitor, so the two cannot deadlock.
 */
final class StateJournal {

    private static final Logger LOG = LoggerFactory.getLogger(StateJournal.class);

    private final Journal journal;
    private final JournalPolicy policy;
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private final AtomicBoolean compacting = new AtomicBoolean();
    private volatile long nextCompactionCheck;

    StateJournal(Journal journal, JournalPolicy policy) {
        this.journal = journal;
        this.policy = policy;
        this.nextCompactionCheck = policy.compactionMinBytes();
    }

    // ---------------------------------------------------------------- replay

    /**
     * Replays the journal into the regions {@code regionOf} returns. Damage in the middle of the
     * journal, or a record that cannot be applied, stops the start with an {@link IOException} that
     * names its offset, unless the policy salvages.
     */
    JournalRecovery replay(
            Function<String, EbsService.RegionState> regionOf,
            Supplier<Collection<EbsService.RegionState>> regions)
            throws IOException {
        JournalContents contents = journal.read();
        if (!contents.damaged().isEmpty() && !policy.salvage()) {
            throw new IOException(damageMessage(contents));
        }
        List<String> skipped = new ArrayList<>();
        int applied = 0;
        for (JournalContents.Entry e : contents.records()) {
            String problem = apply(e.bytes(), regionOf);
            if (problem == null) {
                applied++;
                continue;
            }
            String what = "the record at offset " + e.offset() + ": " + problem;
            if (!policy.salvage()) {
                throw new IOException(
                        "The journal cannot be replayed: "
                                + what
                                + ". Nothing was changed. Start with --salvage to keep every"
                                + " record that applies and move the journal aside, or restore"
                                + " the data directory from a copy.");
            }
            skipped.add(what);
        }
        List<String> failed = new ArrayList<>();
        String kept = null;
        if (policy.salvage() && (!contents.damaged().isEmpty() || !skipped.isEmpty())) {
            failed = failShortSnapshots(regions.get());
            kept = journal.salvage(stateRecords(regions.get()));
        } else {
            journal.openForAppend(contents);
        }
        JournalRecovery recovery =
                new JournalRecovery(
                        applied,
                        contents.damaged(),
                        contents.tornTailOffset(),
                        skipped,
                        failed,
                        kept);
        for (String line : recovery.describe()) {
            if (recovery.lostData()) {
                LOG.error("Recovery: {}", line);
            } else {
                LOG.warn("Recovery: {}", line);
            }
        }
        compactIfDue(regions);
        return recovery;
    }

    private static String damageMessage(JournalContents contents) {
        JournalContents.Damage first = contents.damaged().get(0);
        long after = contents.records().stream().filter(e -> e.offset() > first.offset()).count();
        return "The journal is damaged at offset "
                + first.offset()
                + ": "
                + first.length()
                + " bytes cannot be read and "
                + after
                + " intact records follow them, so this is not a torn tail. Nothing was changed."
                + " Start with --salvage to keep every intact record and move the damaged"
                + " journal aside, or restore the data directory from a copy.";
    }

    /** Applies one replayed record; returns why it cannot be applied, or {@code null}. */
    private static String apply(byte[] bytes, Function<String, EbsService.RegionState> regionOf) {
        JournalRecord r;
        try {
            r = JournalRecord.decode(bytes);
        } catch (UncheckedIOException | IllegalArgumentException e) {
            return "it cannot be decoded ("
                    + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage())
                    + "); was it written by a newer ebs-local?";
        }
        if (r instanceof JournalRecord.Start s) {
            EbsService.RegionState region = regionOf.apply(s.region());
            if (region.snapshots.containsKey(s.snapshotId())) {
                return "StartSnapshot of " + s.snapshotId() + " a second time";
            }
            Snapshot parent = null;
            if (s.parentId() != null) {
                parent = region.snapshots.get(s.parentId());
                if (parent == null) {
                    return "StartSnapshot of "
                            + s.snapshotId()
                            + " on parent "
                            + s.parentId()
                            + ", which the journal never started";
                }
            }
            region.add(Snapshot.started(s, parent));
            return null;
        }
        if (r instanceof JournalRecord.Delete d) {
            EbsService.RegionState region = regionOf.apply(d.region());
            Snapshot snap = region.snapshots.get(d.snapshotId());
            if (snap == null) {
                return "DeleteSnapshot of "
                        + d.snapshotId()
                        + ", which the journal never started or deleted before";
            }
            region.delete(snap, d.timeMillis());
            return null;
        }
        String region;
        String id;
        String kind;
        if (r instanceof JournalRecord.Put p) {
            region = p.region();
            id = p.snapshotId();
            kind = "PutSnapshotBlock of block " + p.blockIndex();
        } else if (r instanceof JournalRecord.Complete c) {
            region = c.region();
            id = c.snapshotId();
            kind = "CompleteSnapshot";
        } else {
            JournalRecord.State st = (JournalRecord.State) r;
            region = st.region();
            id = st.snapshotId();
            kind = "state change to " + st.status().wire();
        }
        Snapshot snap = regionOf.apply(region).snapshots.get(id);
        if (snap == null) {
            return kind + " of " + id + ", which the journal never started";
        }
        synchronized (snap) {
            if (r instanceof JournalRecord.Put p) {
                snap.own.put(p.blockIndex(), p.digest());
                snap.lastWriteMillis = Math.max(snap.lastWriteMillis, p.timeMillis());
                if (p.progress() >= 0) {
                    snap.progress = p.progress();
                }
            } else if (r instanceof JournalRecord.Complete c) {
                snap.completeRequestedMillis = c.timeMillis();
                snap.completeChangedBlocks = c.changedBlocksCount();
                snap.completeChecksum = c.checksum();
            } else {
                JournalRecord.State st = (JournalRecord.State) r;
                snap.status = st.status();
                snap.stateMessage = st.message();
                if (st.status() == SnapshotStatus.COMPLETED) {
                    snap.completedMillis = st.timeMillis();
                }
            }
        }
        return null;
    }

    /**
     * After a salvage, a snapshot whose completion no longer adds up (blocks lost with the damaged
     * records) would be served short. It goes to {@code error}, and so does every snapshot built on
     * it, which inherits the loss.
     */
    private static List<String> failShortSnapshots(Collection<EbsService.RegionState> regions) {
        List<String> out = new ArrayList<>();
        for (EbsService.RegionState region : regions) {
            Set<Snapshot> failed = new HashSet<>();
            for (Snapshot s : sorted(region, true)) {
                String why = null;
                synchronized (s) {
                    if (s.parent != null && failed.contains(s.parent)) {
                        why = "its parent " + s.parent.id + " lost blocks";
                    } else if (s.completeRequestedMillis >= 0
                            && (s.own.size() != s.completeChangedBlocks
                                    || (s.completeChecksum != null
                                            && !s.completeChecksum.equals(
                                                    EbsService.linearChecksum(s.own.values()))))) {
                        why =
                                "it holds "
                                        + s.own.size()
                                        + " of the "
                                        + s.completeChangedBlocks
                                        + " blocks it was completed with";
                    }
                    if (why != null) {
                        s.status = SnapshotStatus.ERROR;
                        s.stateMessage = "Salvaged from a damaged journal: " + why;
                        failed.add(s);
                    }
                }
                if (why != null) {
                    out.add(s.region + " " + s.id + " is now in error: " + why);
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- appends and compaction

    /** Runs a change (its append and its effect) so that no compaction runs in between. */
    <T> T mutation(Supplier<T> change) {
        lock.readLock().lock();
        try {
            return change.get();
        } finally {
            lock.readLock().unlock();
        }
    }

    void append(JournalRecord record) {
        try {
            journal.append(JournalRecord.encode(record));
        } catch (IOException e) {
            throw new UncheckedIOException("Journal append failed", e);
        }
    }

    /**
     * Compacts when the journal has outgrown the state by the policy's ratio. Called after changes,
     * outside any lock; one thread compacts at a time, the others go on.
     */
    void compactIfDue(Supplier<Collection<EbsService.RegionState>> regions) {
        if (journal.size() < nextCompactionCheck || !compacting.compareAndSet(false, true)) {
            return;
        }
        lock.writeLock().lock();
        try {
            long before = journal.size();
            List<byte[]> state = stateRecords(regions.get());
            long stateBytes = 8;
            for (byte[] r : state) {
                stateBytes += 8 + r.length;
            }
            if (before >= policy.compactionRatio() * stateBytes) {
                journal.rewrite(state);
                LOG.info(
                        "Compacted the journal from {} to {} bytes ({} records)",
                        before,
                        journal.size(),
                        state.size());
            }
            nextCompactionCheck =
                    Math.max(
                            policy.compactionMinBytes(),
                            (long) (policy.compactionRatio() * stateBytes));
        } catch (IOException e) {
            // The old journal is intact and still appended to; the next change tries again.
            LOG.error("Journal compaction failed; the journal keeps growing", e);
        } finally {
            lock.writeLock().unlock();
            compacting.set(false);
        }
    }

    /**
     * The current state as journal records that replay to it: per snapshot, parents first, its
     * start, its own blocks, its completion request and its state; then the deletion of each
     * deleted snapshot that a remaining one is built on. A deleted snapshot nothing is built on is
     * left out (and with it the original answer to its ClientToken).
     */
    static List<byte[]> stateRecords(Collection<EbsService.RegionState> regions) {
        List<byte[]> out = new ArrayList<>();
        for (EbsService.RegionState region : regions) {
            Set<Snapshot> done = new LinkedHashSet<>();
            for (Snapshot s : sorted(region, false)) {
                emit(s, done, out);
            }
            // After every start: a child's start needs its parent still in the region.
            for (Snapshot s : done) {
                synchronized (s) {
                    if (s.deletedMillis >= 0) {
                        out.add(
                                JournalRecord.encode(
                                        new JournalRecord.Delete(s.region, s.id, s.deletedMillis)));
                    }
                }
            }
        }
        return out;
    }

    /** The region's snapshots by start time; with {@code deleted}, the deleted ones too. */
    private static List<Snapshot> sorted(EbsService.RegionState region, boolean deleted) {
        List<Snapshot> all = new ArrayList<>(region.snapshots.values());
        if (deleted) {
            all.addAll(region.deleted.values());
        }
        all.sort(Comparator.comparingLong((Snapshot s) -> s.startMillis).thenComparing(s -> s.id));
        return all;
    }

    private static void emit(Snapshot s, Set<Snapshot> done, List<byte[]> out) {
        if (!done.add(s)) {
            return;
        }
        if (s.parent != null) {
            emit(s.parent, done, out);
        }
        synchronized (s) {
            out.add(JournalRecord.encode(s.startRecord()));
            int left = s.own.size();
            for (Map.Entry<Integer, Digest> b : s.own.entrySet()) {
                // The progress of the last write is the snapshot's; the others carry none.
                int progress = --left == 0 ? s.progress : -1;
                out.add(
                        JournalRecord.encode(
                                new JournalRecord.Put(
                                        s.region,
                                        s.id,
                                        b.getKey(),
                                        b.getValue(),
                                        s.lastWriteMillis,
                                        progress)));
            }
            if (s.completeRequestedMillis >= 0) {
                out.add(
                        JournalRecord.encode(
                                new JournalRecord.Complete(
                                        s.region,
                                        s.id,
                                        s.completeChangedBlocks,
                                        s.completeChecksum,
                                        s.completeRequestedMillis)));
            }
            if (s.status != SnapshotStatus.PENDING) {
                out.add(
                        JournalRecord.encode(
                                new JournalRecord.State(
                                        s.region,
                                        s.id,
                                        s.status,
                                        s.stateMessage,
                                        s.completedMillis)));
            }
        }
    }
}
