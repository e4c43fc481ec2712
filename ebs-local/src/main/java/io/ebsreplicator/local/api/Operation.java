package io.ebsreplicator.local.api;

/** The operations ebs-local serves, named as in the service models. */
public enum Operation {
    START_SNAPSHOT("StartSnapshot", Api.EBS),
    PUT_SNAPSHOT_BLOCK("PutSnapshotBlock", Api.EBS),
    GET_SNAPSHOT_BLOCK("GetSnapshotBlock", Api.EBS),
    LIST_SNAPSHOT_BLOCKS("ListSnapshotBlocks", Api.EBS),
    LIST_CHANGED_BLOCKS("ListChangedBlocks", Api.EBS),
    COMPLETE_SNAPSHOT("CompleteSnapshot", Api.EBS),
    /** EC2 Query API, served because CompleteSnapshot only starts an asynchronous seal. */
    DESCRIBE_SNAPSHOTS("DescribeSnapshots", Api.EC2),
    /** EC2 Query API, served so that a client can prune the snapshots it made. */
    DELETE_SNAPSHOT("DeleteSnapshot", Api.EC2),
    /** STS Query API, served so that copies into another account can act through a role. */
    ASSUME_ROLE("AssumeRole", Api.STS);

    /** The service an operation belongs to: its signing name and its wire format. */
    public enum Api {
        /** EBS direct APIs: rest-json, errors in {@code x-amzn-ErrorType} and a JSON body. */
        EBS("ebs"),
        /** EC2 Query: form parameters on {@code /}, XML answers, {@code <Response><Errors>}. */
        EC2("ec2"),
        /** STS Query: form parameters on {@code /}, XML answers, {@code <ErrorResponse>}. */
        STS("sts");

        private final String signingName;

        Api(String signingName) {
            this.signingName = signingName;
        }

        /** The service name of the SigV4 credential scope. */
        public String signingName() {
            return signingName;
        }
    }

    private final String apiName;
    private final Api api;

    Operation(String apiName, Api api) {
        this.apiName = apiName;
        this.api = api;
    }

    /** The name used on the wire and in fault profiles, for example {@code PutSnapshotBlock}. */
    public String apiName() {
        return apiName;
    }

    public Api api() {
        return api;
    }

    /**
     * Whether this is a Query API action ({@code Action=} on {@code /}), of EC2 or STS, rather than
     * a rest-json EBS operation.
     */
    public boolean query() {
        return api != Api.EBS;
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
