package io.ebsreplicator.local.service;

/** Snapshot states, spelled as on the wire. */
public enum SnapshotStatus {
    PENDING("pending"),
    COMPLETED("completed"),
    ERROR("error");

    private final String wire;

    SnapshotStatus(String wire) {
        this.wire = wire;
    }

    public String wire() {
        return wire;
    }

    public static SnapshotStatus fromWire(String s) {
        for (SnapshotStatus v : values()) {
            if (v.wire.equals(s)) {
                return v;
            }
        }
        throw new IllegalArgumentException("Unknown snapshot status " + s);
    }
}
