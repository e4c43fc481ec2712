package io.ebsreplicator.connector.ebs.source.reader;

/**
 * What the split reader hands the record emitter: a listed block, the end of the split, or a
 * failure of the split's request. Lives only inside one reader; never serialized.
 */
public record ListedRecord(Kind kind, int blockIndex, String blockToken, String failure) {

    public enum Kind {
        BLOCK,
        END,
        FAILED
    }

    static ListedRecord block(int index, String token) {
        return new ListedRecord(Kind.BLOCK, index, token, null);
    }

    static ListedRecord end() {
        return new ListedRecord(Kind.END, -1, null, null);
    }

    static ListedRecord failed(String reason) {
        return new ListedRecord(Kind.FAILED, -1, null, reason);
    }
}
