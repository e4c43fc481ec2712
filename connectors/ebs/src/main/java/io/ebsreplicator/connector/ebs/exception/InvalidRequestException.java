package io.ebsreplicator.connector.ebs.exception;

/**
 * A request that cannot be served as given; it ends in failure results of reason {@link
 * FailureReason#INVALID_REQUEST}. An {@link IllegalArgumentException}, so that the command line
 * reports it as a usage error before any job starts.
 */
public final class InvalidRequestException extends IllegalArgumentException {

    private static final long serialVersionUID = 1L;

    public InvalidRequestException(String message) {
        super(message);
    }
}
