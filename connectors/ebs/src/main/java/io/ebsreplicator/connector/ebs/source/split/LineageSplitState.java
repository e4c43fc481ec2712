package io.ebsreplicator.connector.ebs.source.split;

/**
 * The mutable progress of a split inside a reader: for a block range, advanced by the record
 * emitter as blocks go out and turned back into a {@link BlockRangeSplit} for checkpoints; a
 * failure, dead-letter or copy-deletion split has no progress. One per split in a reader, task
 * thread only.
 */
public final class LineageSplitState {

    private final LineageSplit split;
    private int nextIndex;
    private long emittedBlocks;

    public LineageSplitState(LineageSplit split) {
        this.split = split;
        if (split instanceof BlockRangeSplit range) {
            this.nextIndex = range.nextIndex();
            this.emittedBlocks = range.emittedBlocks();
        }
    }

    public LineageSplit split() {
        return split;
    }

    /** Records that block {@code blockIndex} was emitted. */
    public void emitted(int blockIndex) {
        nextIndex = blockIndex + 1;
        emittedBlocks++;
    }

    public int nextIndex() {
        return nextIndex;
    }

    public long emittedBlocks() {
        return emittedBlocks;
    }

    public LineageSplit toSplit() {
        return split instanceof BlockRangeSplit range
                ? range.withProgress(nextIndex, emittedBlocks)
                : split;
    }
}
