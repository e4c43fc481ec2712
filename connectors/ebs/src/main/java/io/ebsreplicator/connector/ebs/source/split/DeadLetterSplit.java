package io.ebsreplicator.connector.ebs.source.split;

import java.util.Arrays;
import java.util.Objects;

/**
 * A message the intake could not accept, carried to a reader so that its dead-letter record leaves
 * through the pipeline's dead-letter sink, once. Created by the enumerator on the JobManager.
 *
 * @param id names the message, unique per message (its stream and offset)
 * @param record the encoded dead-letter record, with the original message inside
 */
public record DeadLetterSplit(String id, byte[] record) implements LineageSplit {

    public DeadLetterSplit {
        Objects.requireNonNull(id, "id");
        record = record.clone();
    }

    @Override
    public String splitId() {
        // As dead-letter splits were named when they were one kind of failure split.
        return id + "#0!failed";
    }

    /** A copy of the encoded dead-letter record. */
    @Override
    public byte[] record() {
        return record.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DeadLetterSplit d && id.equals(d.id) && Arrays.equals(record, d.record);
    }

    @Override
    public int hashCode() {
        return 31 * id.hashCode() + Arrays.hashCode(record);
    }

    @Override
    public String toString() {
        return "DeadLetterSplit{" + splitId() + ", " + record.length + " bytes}";
    }
}
