package io.ebsreplicator.connector.ebs.proxy;

/**
 * The calls a proxy makes, with their API names (as in errors, fault profiles and metrics) and the
 * request budget each one spends. Used wherever a proxy runs.
 */
public enum EbsOperation {
    START_SNAPSHOT("StartSnapshot", RequestBudget.Group.START),
    PUT_SNAPSHOT_BLOCK("PutSnapshotBlock", RequestBudget.Group.PUT),
    GET_SNAPSHOT_BLOCK("GetSnapshotBlock", RequestBudget.Group.GET),
    LIST_SNAPSHOT_BLOCKS("ListSnapshotBlocks", RequestBudget.Group.LIST),
    LIST_CHANGED_BLOCKS("ListChangedBlocks", RequestBudget.Group.LIST),
    COMPLETE_SNAPSHOT("CompleteSnapshot", RequestBudget.Group.COMPLETE),
    DESCRIBE_SNAPSHOTS("DescribeSnapshots", RequestBudget.Group.DESCRIBE),
    /** EC2, like DescribeSnapshots: it spends the same EC2 budget, not an EBS quota. */
    DELETE_SNAPSHOT("DeleteSnapshot", RequestBudget.Group.DESCRIBE);

    private final String apiName;
    private final RequestBudget.Group group;

    EbsOperation(String apiName, RequestBudget.Group group) {
        this.apiName = apiName;
        this.group = group;
    }

    /** The API name, e.g. {@code PutSnapshotBlock}. */
    public String apiName() {
        return apiName;
    }

    /** The request budget this operation spends. */
    public RequestBudget.Group group() {
        return group;
    }

    /**
     * Whether this is a control-plane call (StartSnapshot, CompleteSnapshot, DescribeSnapshots,
     * DeleteSnapshot): made by the enumerator and completion, which retry it on their own schedule,
     * so it runs with the shorter control-plane timeouts.
     */
    public boolean controlPlane() {
        return group == RequestBudget.Group.START
                || group == RequestBudget.Group.COMPLETE
                || group == RequestBudget.Group.DESCRIBE;
    }
}
