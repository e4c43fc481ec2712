package io.ebsreplicator.local.http;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.api.Operation;
import io.ebsreplicator.local.auth.SigV4Verifier;

import java.util.List;

/** Which operation a request line names, and its path members. */
record Route(Operation operation, String snapshotId, String blockIndex) {

    /** The signing name of the service each operation belongs to. */
    String service() {
        return operation.api().signingName();
    }

    /**
     * @param queryAction the {@code Action} of a Query request on {@code /} (EC2 or STS), empty
     *     when it has none, {@code null} for a rest-json request
     */
    static Route of(String method, List<String> seg, String queryAction) {
        int n = seg.size();
        if (n == 0 && queryAction != null) {
            Operation op = queryOperation(queryAction);
            if (op != null) {
                return new Route(op, null, null);
            }
            throw new EbsError(
                    400,
                    "InvalidAction",
                    "The action "
                            + (queryAction.length() <= 64
                                    ? queryAction
                                    : queryAction.substring(0, 64))
                            + " is not valid for this web service.",
                    null);
        }
        if (n >= 1 && seg.get(0).equals("snapshots")) {
            if (n == 1 && method.equals("POST")) {
                return new Route(Operation.START_SNAPSHOT, null, null);
            }
            if (n == 3 && method.equals("POST") && seg.get(1).equals("completion")) {
                return new Route(Operation.COMPLETE_SNAPSHOT, seg.get(2), null);
            }
            if (n == 3 && method.equals("GET") && seg.get(2).equals("blocks")) {
                return new Route(Operation.LIST_SNAPSHOT_BLOCKS, seg.get(1), null);
            }
            if (n == 3 && method.equals("GET") && seg.get(2).equals("changedblocks")) {
                return new Route(Operation.LIST_CHANGED_BLOCKS, seg.get(1), null);
            }
            if (n == 4 && seg.get(2).equals("blocks")) {
                if (method.equals("PUT")) {
                    return new Route(Operation.PUT_SNAPSHOT_BLOCK, seg.get(1), seg.get(3));
                }
                if (method.equals("GET")) {
                    return new Route(Operation.GET_SNAPSHOT_BLOCK, seg.get(1), seg.get(3));
                }
            }
        }
        throw new EbsError(
                404,
                "UnknownOperationException",
                "No operation matches " + method + " /" + String.join("/", seg),
                null);
    }

    /**
     * The format to answer a Query request on {@code /} in: its action's, or, when the action is
     * missing or unknown (or the body not read yet), that of the service its signature is scoped
     * to; EC2's when neither tells.
     */
    static Operation.Api queryFormat(String action, String authorization) {
        Operation op = action == null ? null : queryOperation(action);
        if (op != null) {
            return op.api();
        }
        return Operation.Api.STS.signingName().equals(SigV4Verifier.scopedService(authorization))
                ? Operation.Api.STS
                : Operation.Api.EC2;
    }

    /** The EC2 or STS action named {@code action}, or {@code null}. */
    static Operation queryOperation(String action) {
        for (Operation op : Operation.values()) {
            if (op.query() && op.apiName().equals(action)) {
                return op;
            }
        }
        return null;
    }
}
