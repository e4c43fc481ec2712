package io.ebsreplicator.connector.ebs.source.split;

import org.apache.flink.api.connector.source.SourceSplit;

/**
 * A unit of work of the lineage source, one of four kinds: a {@link BlockRangeSplit} (block indexes
 * of a request's source to list), a {@link FailedRequestSplit} (a request that failed for some
 * target regions before any block was listed), a {@link DeadLetterSplit} (a message the intake
 * could not accept) or a {@link CopyDeletionSplit} (a copy a DR policy's retention let go). Created
 * by the enumerator on the JobManager, read by the readers.
 *
 * <p>Stored in reader and enumerator state; see {@link LineageSplitSerializer}. Split ids stay as
 * they were written by earlier versions, since old state holds them.
 */
public sealed interface LineageSplit extends SourceSplit
        permits BlockRangeSplit, FailedRequestSplit, DeadLetterSplit, CopyDeletionSplit {

    /**
     * The id part that tells the splits of a replacement generation apart: none for generation 0,
     * else {@code @g<generation>:<regions>}, since they cover the same ranges for some regions.
     */
    static String generationSuffix(int generation, java.util.List<String> regions) {
        return generation == 0 ? "" : "@g" + generation + ":" + String.join(",", regions);
    }
}
