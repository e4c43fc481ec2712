package io.ebsreplicator.local.service;

import io.ebsreplicator.local.store.FileJournal;
import io.ebsreplicator.local.store.JournalContents;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * The offline scrub of a data directory ({@code ebs-local --check DIR}): reads the journal without
 * changing it and reports damage in it, checks every block file against its SHA-256, and names, for
 * every damaged or missing block, each snapshot whose block set holds it (its own writes and what
 * its children inherit). Changes nothing; run it while no server uses the directory.
 */
public final class DataDirCheck {

    /**
     * A snapshot as the journal describes it: enough to know which blocks it holds. A deleted one
     * uses no block itself, but its children inherit through it.
     */
    private static final class Known {
        final String region;
        final String id;
        final String parentId;
        final Map<Integer, String> own = new TreeMap<>();
        boolean deleted;

        Known(String region, String id, String parentId) {
            this.region = region;
            this.id = id;
            this.parentId = parentId;
        }

        String region() {
            return region;
        }

        String id() {
            return id;
        }

        String parentId() {
            return parentId;
        }

        Map<Integer, String> own() {
            return own;
        }
    }

    private final Path dir;
    private final PrintStream out;
    private int problems;

    private DataDirCheck(Path dir, PrintStream out) {
        this.dir = dir;
        this.out = out;
    }

    /** Runs the check, printing one line per finding; returns the number of problems found. */
    public static int run(Path dir, PrintStream out) throws IOException {
        return new DataDirCheck(dir, out).check();
    }

    private int check() throws IOException {
        Path journalFile = dir.resolve("journal.log");
        Map<String, Known> snapshots = new LinkedHashMap<>();
        if (Files.exists(journalFile)) {
            readJournal(FileJournal.read(journalFile), snapshots);
        } else {
            out.println("journal: none (an empty data directory)");
        }
        Map<String, List<String>> users = users(snapshots);
        TreeSet<String> damaged = new TreeSet<>();
        long files = 0;
        Path blocks = dir.resolve("blocks");
        TreeSet<String> present = new TreeSet<>();
        if (Files.isDirectory(blocks)) {
            try (Stream<Path> walk = Files.walk(blocks)) {
                for (Path p : (Iterable<Path>) walk::iterator) {
                    if (!Files.isRegularFile(p) || p.getFileName().toString().endsWith(".tmp")) {
                        continue;
                    }
                    files++;
                    String hex = p.getFileName().toString();
                    present.add(hex);
                    String why = damage(p, hex);
                    if (why != null) {
                        report("block " + hex + ": " + why, users.get(hex));
                        damaged.add(hex);
                    }
                }
            }
        }
        for (Map.Entry<String, List<String>> e : users.entrySet()) {
            if (!present.contains(e.getKey())) {
                report("block " + e.getKey() + ": its file is missing", e.getValue());
                damaged.add(e.getKey());
            }
        }
        out.println(
                "checked "
                        + snapshots.size()
                        + " snapshots and "
                        + files
                        + " block files: "
                        + (problems == 0 ? "no damage" : problems + " problems")
                        + (damaged.isEmpty() ? "" : ", " + damaged.size() + " damaged blocks"));
        return problems;
    }

    private void report(String line, List<String> usedBy) {
        problems++;
        out.println(line);
        if (usedBy == null) {
            out.println("  used by no snapshot");
            return;
        }
        for (String u : usedBy) {
            out.println("  used by " + u);
        }
    }

    private void readJournal(JournalContents contents, Map<String, Known> snapshots) {
        for (JournalContents.Damage d : contents.damaged()) {
            problems++;
            out.println(
                    "journal: "
                            + d.length()
                            + " damaged bytes at offset "
                            + d.offset()
                            + ", with intact records after them (start with --salvage to keep"
                            + " those)");
        }
        if (contents.tornTailOffset() >= 0) {
            out.println(
                    "journal: a torn tail at offset "
                            + contents.tornTailOffset()
                            + " (an interrupted write; the next start cuts it)");
        }
        for (JournalContents.Entry e : contents.records()) {
            String problem = apply(e.bytes(), snapshots);
            if (problem != null) {
                problems++;
                out.println("journal: the record at offset " + e.offset() + ": " + problem);
            }
        }
    }

    private static String apply(byte[] bytes, Map<String, Known> snapshots) {
        JournalRecord r;
        try {
            r = JournalRecord.decode(bytes);
        } catch (RuntimeException e) {
            return "cannot be decoded";
        }
        if (r instanceof JournalRecord.Start s) {
            String key = s.region() + " " + s.snapshotId();
            if (s.parentId() != null && !snapshots.containsKey(s.region() + " " + s.parentId())) {
                return "starts " + s.snapshotId() + " on " + s.parentId() + ", never started";
            }
            snapshots.put(key, new Known(s.region(), s.snapshotId(), s.parentId()));
        } else if (r instanceof JournalRecord.Put p) {
            Known k = snapshots.get(p.region() + " " + p.snapshotId());
            if (k == null) {
                return "writes block "
                        + p.blockIndex()
                        + " of "
                        + p.snapshotId()
                        + ", never started";
            }
            k.own().put(p.blockIndex(), p.digest().hex());
        } else if (r instanceof JournalRecord.Delete d) {
            Known k = snapshots.get(d.region() + " " + d.snapshotId());
            if (k == null || k.deleted) {
                return "deletes " + d.snapshotId() + ", never started or deleted before";
            }
            k.deleted = true;
        }
        return null;
    }

    /** For each block digest, every snapshot whose block set holds it, and at which index. */
    private static Map<String, List<String>> users(Map<String, Known> snapshots) {
        Map<String, List<String>> users = new TreeMap<>();
        for (Known s : snapshots.values()) {
            if (s.deleted) {
                continue;
            }
            Map<Integer, String> effective = new TreeMap<>();
            List<Known> chain = new ArrayList<>();
            for (Known k = s;
                    k != null;
                    k =
                            k.parentId() == null
                                    ? null
                                    : snapshots.get(k.region() + " " + k.parentId())) {
                chain.add(0, k);
            }
            for (Known k : chain) {
                effective.putAll(k.own());
            }
            for (Map.Entry<Integer, String> e : effective.entrySet()) {
                boolean inherited = !e.getValue().equals(s.own().get(e.getKey()));
                users.computeIfAbsent(e.getValue(), x -> new ArrayList<>())
                        .add(
                                s.region()
                                        + " "
                                        + s.id()
                                        + " block "
                                        + e.getKey()
                                        + (inherited ? " (inherited)" : ""));
            }
        }
        return users;
    }

    /** Why a block file does not hold the block its name promises, or {@code null}. */
    private static String damage(Path file, String hex) throws IOException {
        if (!hex.matches("[0-9a-f]{64}")) {
            return "not a block file name";
        }
        MessageDigest md = Digest.newSha256();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            if (ch.size() != Snapshot.BLOCK_SIZE) {
                return ch.size() + " bytes, not " + Snapshot.BLOCK_SIZE;
            }
            ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
            while (ch.read(buf) >= 0) {
                md.update(buf.flip());
                buf.clear();
            }
        }
        return HexFormat.of().formatHex(md.digest()).equals(hex)
                ? null
                : "its content does not match its SHA-256";
    }
}
