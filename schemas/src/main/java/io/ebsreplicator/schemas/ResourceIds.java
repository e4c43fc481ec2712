package io.ebsreplicator.schemas;

import java.util.regex.Pattern;

/**
 * The one rule for each AWS name that enters the job: region names, snapshot and volume ids, IAM
 * role ARNs. Every entry point uses these (the request validator behind {@code request} and {@code
 * serve}, the resolver behind {@code replicate}, the policy file, EventBridge events and the
 * cross-account roles), so an id one of them accepts, every other accepts too.
 */
public final class ResourceIds {

    /** EC2 region names: a two-letter area, one or more words, a number (us-gov-west-1). */
    private static final Pattern REGION = Pattern.compile("[a-z]{2}(-[a-z]+)+-[0-9]+");

    /** EBS snapshot ids: 8 hex digits (before 2016) or 17 (since), always lowercase. */
    private static final Pattern SNAPSHOT_ID = Pattern.compile("snap-([0-9a-f]{8}|[0-9a-f]{17})");

    /** EBS volume ids: 8 hex digits (before 2016) or 17 (since), always lowercase. */
    private static final Pattern VOLUME_ID = Pattern.compile("vol-([0-9a-f]{8}|[0-9a-f]{17})");

    /**
     * An IAM role ARN, with an optional path: what STS AssumeRole takes as its RoleArn (20 to 2,048
     * characters).
     */
    private static final Pattern ROLE_ARN =
            Pattern.compile("arn:aws[a-z\\-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]{1,2000}");

    /** The longest region name read; the longest today (ap-southeast-5) has 14 characters. */
    private static final int MAX_REGION = 64;

    private ResourceIds() {}

    /** Whether {@code region} looks like an AWS region name such as us-east-1. */
    public static boolean isRegionName(String region) {
        return region != null && region.length() <= MAX_REGION && REGION.matcher(region).matches();
    }

    /** Whether {@code id} is an EBS snapshot id: snap- and 8 or 17 lowercase hex digits. */
    public static boolean isSnapshotId(String id) {
        return id != null && id.length() <= 22 && SNAPSHOT_ID.matcher(id).matches();
    }

    /** Whether {@code id} is an EBS volume id: vol- and 8 or 17 lowercase hex digits. */
    public static boolean isVolumeId(String id) {
        return id != null && id.length() <= 21 && VOLUME_ID.matcher(id).matches();
    }

    /** Whether {@code arn} names an IAM role, as STS AssumeRole takes it. */
    public static boolean isRoleArn(String arn) {
        return arn != null && arn.length() <= 2048 && ROLE_ARN.matcher(arn).matches();
    }
}
