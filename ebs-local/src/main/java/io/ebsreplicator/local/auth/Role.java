package io.ebsreplicator.local.auth;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A role that STS {@code AssumeRole} on ebs-local lets callers assume: its ARN, the account its
 * sessions act as, and the external id its trust policy requires ({@code null} when it requires
 * none). Every configured key pair may assume every configured role (the trust policy of each role
 * trusts every account ebs-local knows); the external id is the one condition checked.
 */
public record Role(String arn, String accountId, String externalId) {

    /**
     * {@code arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME}: a role name of 1..64 characters of
     * {@code [\w+=,.@-]}, a path of the same characters and slashes. The ARN has exactly five
     * colons, which is what lets {@link #parse} find where it ends.
     */
    private static final Pattern ARN =
            Pattern.compile(
                    "^arn:(aws[a-z-]*):iam::([0-9]{12}):role/((?:[\\w+=,.@-]+/)*)([\\w+=,.@-]{1,64})$");

    /** STS's ExternalId: 2..1224 characters of {@code [\w+=,.@:/-]}. */
    private static final Pattern EXTERNAL_ID = Pattern.compile("^[\\w+=,.@:/-]{2,1224}$");

    /** The colons of {@code arn:aws:iam::ACCOUNT:role/NAME}. */
    private static final int ARN_COLONS = 5;

    public Role {
        if (arn == null || arn.length() > 2048) {
            throw new IllegalArgumentException("A role ARN is needed, of at most 2048 characters");
        }
        Matcher m = ARN.matcher(arn);
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    "Not a role ARN (arn:aws:iam::ACCOUNT:role/NAME): '" + arn + "'");
        }
        if (accountId == null || !accountId.matches("[0-9]{12}")) {
            throw new IllegalArgumentException("accountId must be 12 digits, not " + accountId);
        }
        if (!accountId.equals(m.group(2))) {
            throw new IllegalArgumentException(
                    "The role "
                            + arn
                            + " belongs to account "
                            + m.group(2)
                            + "; its sessions act as that account, not "
                            + accountId);
        }
        if (externalId != null && !EXTERNAL_ID.matcher(externalId).matches()) {
            // The value itself is not repeated: an external id is a shared secret of sorts.
            throw new IllegalArgumentException(
                    "The external id of "
                            + arn
                            + " must be 2..1224 characters of letters, digits and _+=,.@:/-");
        }
    }

    /**
     * Parses {@code ARN:ACCOUNT[:EXTERNAL_ID]}, for example {@code
     * arn:aws:iam::222222222222:role/dr-target:222222222222:ext-123}. A role ARN always has exactly
     * five colons, so the ARN is the text before the sixth colon, the account the text up to the
     * next one, and the external id all the rest (it may hold colons itself).
     */
    public static Role parse(String spec) {
        int at = -1;
        for (int i = 0; i <= ARN_COLONS; i++) {
            at = spec.indexOf(':', at + 1);
            if (at < 0) {
                throw new IllegalArgumentException(
                        "A role is ARN:ACCOUNT[:EXTERNAL_ID], for example"
                                + " arn:aws:iam::222222222222:role/dr-target:222222222222:ext-123,"
                                + " not '"
                                + spec
                                + "'");
            }
        }
        String arn = spec.substring(0, at);
        String rest = spec.substring(at + 1);
        int colon = rest.indexOf(':');
        return colon < 0
                ? new Role(arn, rest, null)
                : new Role(arn, rest.substring(0, colon), rest.substring(colon + 1));
    }

    /** The role's name, the last part of its ARN (without the path). */
    public String name() {
        return arn.substring(arn.lastIndexOf('/') + 1);
    }

    /** The partition of the ARN ({@code aws}, {@code aws-cn}, ...). */
    public String partition() {
        return arn.substring("arn:".length(), arn.indexOf(':', "arn:".length()));
    }

    @Override
    public String toString() {
        // Never the external id: it is what a confused deputy would need.
        return "Role[" + arn + (externalId == null ? "" : ", with external id") + "]";
    }
}
