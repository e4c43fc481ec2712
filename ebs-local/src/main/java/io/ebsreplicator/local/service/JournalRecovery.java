package io.ebsreplicator.local.service;

import io.ebsreplicator.local.store.JournalContents;

import java.util.ArrayList;
import java.util.List;

/**
 * What a start recovered from the journal, and what it could not: damaged stretches, a torn tail,
 * records that could not be applied (kept out by {@code --salvage}), and snapshots that lost blocks
 * and were put in {@code error} so that they are never served short.
 *
 * @param records intact records applied
 * @param damaged unreadable stretches with intact records after them
 * @param tornTailOffset where a torn tail was cut, or -1
 * @param skipped records that could not be applied, each with its offset and why
 * @param failedSnapshots snapshots put in error because their blocks no longer add up
 * @param damagedJournalKept where the damaged journal was kept, or {@code null}
 */
public record JournalRecovery(
        int records,
        List<JournalContents.Damage> damaged,
        long tornTailOffset,
        List<String> skipped,
        List<String> failedSnapshots,
        String damagedJournalKept) {

    public JournalRecovery {
        damaged = List.copyOf(damaged);
        skipped = List.copyOf(skipped);
        failedSnapshots = List.copyOf(failedSnapshots);
    }

    /** Whether anything acknowledged may have been lost. */
    public boolean lostData() {
        return !damaged.isEmpty() || !skipped.isEmpty() || !failedSnapshots.isEmpty();
    }

    /** One line per finding, for the log and the command line. */
    public List<String> describe() {
        List<String> out = new ArrayList<>();
        for (JournalContents.Damage d : damaged) {
            out.add(
                    "journal: "
                            + d.length()
                            + " damaged bytes at offset "
                            + d.offset()
                            + " could not be read; the records in them are lost");
        }
        if (tornTailOffset >= 0) {
            out.add("journal: a torn tail at offset " + tornTailOffset + " was cut");
        }
        for (String s : skipped) {
            out.add("journal: skipped " + s);
        }
        for (String s : failedSnapshots) {
            out.add("snapshot: " + s);
        }
        if (damagedJournalKept != null) {
            out.add("journal: the damaged journal was kept as " + damagedJournalKept);
        }
        return out;
    }
}
