package io.ebsreplicator.connector.ebs.source.reader;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.model.CopyDeletion;

/**
 * What the split reader hands the record emitter: a listed block, the end of the split, a failure
 * of the split's request, the dead letter a dead-letter split carries, or what became of a copy
 * deletion. Lives only inside one reader; never serialized.
 */
public record ListedRecord(
        Kind kind,
        int blockIndex,
        String blockToken,
        Failure failure,
        byte[] deadLetter,
        CopyDeletion deletion) {

    public enum Kind {
        BLOCK,
        END,
        FAILED,
        DEAD_LETTER,
        COPY_DELETION
    }

    static ListedRecord deadLetter(byte[] encoded) {
        return new ListedRecord(Kind.DEAD_LETTER, -1, null, null, encoded, null);
    }

    static ListedRecord block(int index, String token) {
        return new ListedRecord(Kind.BLOCK, index, token, null, null, null);
    }

    static ListedRecord end() {
        return new ListedRecord(Kind.END, -1, null, null, null, null);
    }

    static ListedRecord failed(Failure failure) {
        return new ListedRecord(Kind.FAILED, -1, null, failure, null, null);
    }

    static ListedRecord deleted(CopyDeletion deletion) {
        return new ListedRecord(Kind.COPY_DELETION, -1, null, null, null, deletion);
    }
}
