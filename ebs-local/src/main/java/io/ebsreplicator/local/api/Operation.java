package io.ebsreplicator.local.api;

/** The operations ebs-local serves, named as in the service models. */
public enum Operation {
    START_SNAPSHOT("StartSnapshot"),
    PUT_SNAPSHOT_BLOCK("PutSnapshotBlock"),
    GET_SNAPSHOT_BLOCK("GetSnapshotBlock"),
    LIST_SNAPSHOT_BLOCKS("ListSnapshotBlocks"),
    LIST_CHANGED_BLOCKS("ListChangedBlocks"),
    COMPLETE_SNAPSHOT("CompleteSnapshot"),
    /** EC2 Query API, served because CompleteSnapshot only starts an asynchronous seal. */
    DESCRIBE_SNAPSHOTS("DescribeSnapshots"),
    /** EC2 Query API, served so that a client can prune the snapshots it made. */
    DELETE_SNAPSHOT("DeleteSnapshot");

    private final String apiName;

    Operation(String apiName) {
        this.apiName = apiName;
    }

    /** The name used on the wire and in fault profiles, for example {@code PutSnapshotBlock}. */
    public String apiName() {
        return apiName;
    }

    /** Whether this is an EC2 Query API action (signed for {@code ec2}, answered in XML). */
    public boolean ec2() {
        return this == DESCRIBE_SNAPSHOTS || this == DELETE_SNAPSHOT;
    }

    public static Operation fromApiName(String name) {
        for (Operation op : values()) {
            if (op.apiName.equals(name)) {
                return op;
            }
        }
        throw new IllegalArgumentException("Unknown operation '" + name + "'");
    }
}
