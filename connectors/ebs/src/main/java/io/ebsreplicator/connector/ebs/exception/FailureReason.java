package io.ebsreplicator.connector.ebs.exception;

/**
 * Why a request failed for a target: decided once, where the failure is found (by {@link
 * EbsErrorClassifier} for an EBS error, by the job where it decides itself), and carried in a
 * {@link Failure} through splits, stream records and completion into the result. The constant's
 * {@link #name()} is the public code of the result's {@code error.reason}: never rename one, and
 * add one only for a cause that a test produces.
 */
public enum FailureReason {

    /**
     * The request cannot be served as written: a field is missing or malformed, a target region is
     * repeated, a target parent does not go with the copy mode (the request validator in the
     * intake, or {@link InvalidRequestException} from the resolver).
     */
    INVALID_REQUEST,

    /**
     * The request's deadline passed before it could start: already when the job took it from the
     * intake, or while it waited in the queue behind requests due earlier (a copy already started
     * runs to its end; its result's {@code completedAt} tells whether it met the deadline).
     */
    DEADLINE_EXCEEDED,

    /**
     * The base is not an ancestor of the source: EBS refused ListChangedBlocks with a {@code
     * ValidationException} of reason {@code UNRELATED_SNAPSHOTS}.
     */
    UNRELATED_BASE,

    /**
     * A snapshot the request names does not exist, or no longer does: {@code
     * ResourceNotFoundException} (after the grace a new target has), or EC2's {@code
     * InvalidSnapshot.NotFound}.
     */
    SNAPSHOT_NOT_FOUND,

    /**
     * The account may not use a snapshot or key the request names: {@code AccessDeniedException}.
     */
    ACCESS_DENIED,

    /**
     * A target names an IAM role the job may not assume for it: neither the role configured for
     * that region nor one on the allow-list ({@code ebs.credentials.allowed-role-arns}). Decided by
     * the job before it calls STS or EBS.
     */
    ROLE_NOT_ALLOWED,

    /**
     * An EBS quota that waiting does not lift refused the call, such as the pending snapshots per
     * account at StartSnapshot: {@code ServiceQuotaExceededException}.
     */
    QUOTA_EXCEEDED,

    /**
     * StartSnapshot's ClientToken was used before with other parameters: {@code ConflictException}.
     * The token is derived from the request id, the region and the generation, so the request id
     * was used before for another copy (a different source, size or target parent).
     */
    REQUEST_ID_REUSED,

    /**
     * EBS refused the request's input in another way: any other {@code ValidationException} (a KMS
     * key in another region, a source that is not completed, a token refused again after a fresh
     * listing).
     */
    REJECTED_BY_EBS,

    /**
     * EBS kept failing transiently (5xx, throttling, resets, timeouts) until a call's total timeout
     * ran out, or a block was not copied within the copier's timeout.
     */
    EBS_UNAVAILABLE,

    /** A source block did not match the checksum EBS sent with it, in every read attempt. */
    CHECKSUM_MISMATCH,

    /**
     * EBS cancelled the target snapshot (it went to {@code error}, its Timeout passed) and no
     * replacement could take its place: none started in time, the input ended first, or the targets
     * were replaced too often already.
     */
    TARGET_CANCELLED,

    /**
     * The verification pass read a block of the completed target back and it was missing or
     * differed.
     */
    VERIFICATION_FAILED,

    /**
     * Anything else that ended the request for the target: an unexpected error, a target not
     * completed within the seal timeout, the input ended before every block arrived, a failure
     * recorded by an earlier version that kept no reason.
     */
    TARGET_FAILED
}
