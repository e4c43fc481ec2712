package io.ebsreplicator.connector.ebs.source.split;

/**
 * The mutable progress of a split inside a reader: advanced by the record emitter as blocks go out,
 * turned back into a {@link BlockRangeSplit} for checkpoints. One per split in a reader.
 */
public final class BlockRangeSplitState {

    private final BlockRangeSplit split;
    private int nextIndex;
    private long emittedBlocks;

    public BlockRangeSplitState(BlockRangeSplit split) {
        this.split = split;
        this.nextIndex = split.nextIndex();
        this.emittedBlocks = split.emittedBlocks();
    }

    public BlockRangeSplit split() {
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

    public BlockRangeSplit toSplit() {
        return split.withProgress(nextIndex, emittedBlocks);
    }
}
