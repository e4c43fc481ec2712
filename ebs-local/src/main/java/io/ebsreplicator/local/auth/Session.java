package io.ebsreplicator.local.auth;

import java.time.Instant;

/**
 * Temporary credentials issued by {@code AssumeRole}: a key pair acting as the role's account, the
 * session token that must come with every request signed with it, and when it stops working.
 *
 * @param key the {@code ASIA...} access key id and its secret, acting as the role's account
 * @param sessionToken sent as {@code X-Amz-Security-Token}; compared in constant time
 * @param role the role assumed
 * @param sessionName the {@code RoleSessionName} given
 * @param expiration the {@code Expiration} answered to the client (whole seconds, wall clock)
 * @param expiresAtServiceMillis the same instant on the service clock, which tests may have moved
 */
public record Session(
        AccessKey key,
        String sessionToken,
        Role role,
        String sessionName,
        Instant expiration,
        long expiresAtServiceMillis) {

    /** Whether the credentials have expired at {@code serviceNowMillis}. */
    public boolean expiredAt(long serviceNowMillis) {
        return serviceNowMillis >= expiresAtServiceMillis;
    }

    /** {@code arn:aws:sts::ACCOUNT:assumed-role/ROLE_NAME/SESSION_NAME}. */
    public String assumedRoleArn() {
        return "arn:"
                + role.partition()
                + ":sts::"
                + role.accountId()
                + ":assumed-role/"
                + role.name()
                + "/"
                + sessionName;
    }

    @Override
    public String toString() {
        // Never the secret or the token.
        return "Session["
                + key.accessKeyId()
                + " "
                + assumedRoleArn()
                + " until "
                + expiration
                + "]";
    }
}
