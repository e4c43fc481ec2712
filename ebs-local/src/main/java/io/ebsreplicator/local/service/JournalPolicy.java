package io.ebsreplicator.local.service;

/**
 * How the journal is recovered on start and kept small while serving.
 *
 * @param salvage on damage in the middle of the journal, keep every intact record, move the damaged
 *     journal aside and start, instead of refusing to start
 * @param compactionRatio rewrite the journal as the current state once it is this many times larger
 *     than that state
 * @param compactionMinBytes never compact a journal smaller than this
 */
public record JournalPolicy(boolean salvage, double compactionRatio, long compactionMinBytes) {

    /**
     * Compact at 4 times the state and 64 MiB: rewriting costs one pass over the state, so a
     * journal allowed to grow to 4 times it spends at most a third of its writes on compaction;
     * below 64 MiB a journal replays in well under a second and is not worth rewriting.
     */
    public static final double DEFAULT_COMPACTION_RATIO = 4;

    public static final long DEFAULT_COMPACTION_MIN_BYTES = 64L << 20;

    public JournalPolicy {
        if (!(compactionRatio > 1)) {
            throw new IllegalArgumentException(
                    "The compaction ratio must be above 1, not " + compactionRatio);
        }
        if (compactionMinBytes < 0) {
            throw new IllegalArgumentException("The compaction minimum must be >= 0");
        }
    }

    public static JournalPolicy defaults() {
        return new JournalPolicy(false, DEFAULT_COMPACTION_RATIO, DEFAULT_COMPACTION_MIN_BYTES);
    }
}
