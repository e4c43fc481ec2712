package io.ebsreplicator.connector.ebs.source.event;

import org.apache.flink.api.connector.source.SourceEvent;

import java.util.List;

/**
 * Sent by a source reader to the enumerator when it has listed every block of some splits, so the
 * enumerator knows which target snapshots are still being read (those it watches for a cancellation
 * by their Timeout). Sent again for the same splits after a restore; the enumerator treats it
 * idempotently.
 */
public record SplitsFinishedEvent(List<String> splitIds) implements SourceEvent {

    private static final long serialVersionUID = 1L;

    public SplitsFinishedEvent {
        splitIds = List.copyOf(splitIds);
    }
}
