package io.ebsreplicator.connector.ebs.exception;

/**
 * An error whose {@link Failure} was decided where it was thrown, carried through futures to the
 * code that reports it (see {@link Failure#of(Throwable)}).
 */
public final class FailureException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final transient Failure failure;

    public FailureException(Failure failure) {
        super(failure.message());
        this.failure = failure;
    }

    public Failure failure() {
        return failure;
    }
}
