package io.ebsreplicator.local.sts;

import io.ebsreplicator.local.api.EbsError;
import io.ebsreplicator.local.auth.Role;
import io.ebsreplicator.local.auth.Session;
import io.ebsreplicator.local.auth.SessionStore;
import io.ebsreplicator.local.auth.SigV4Verifier;

import io.netty.handler.codec.http.FullHttpResponse;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.format.DateTimeFormatter;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * STS {@code AssumeRole} over the Query protocol (form parameters in, XML out): checks the role
 * exists and its external id, validates the session name and duration as STS does, and issues
 * temporary credentials into the {@link SessionStore}. The signature has been verified before;
 * every configured key pair may assume every configured role, and so may a role session (role
 * chaining, limited to one hour as in AWS). Stateless apart from the store; runs on the server's
 * worker threads.
 */
public final class AssumeRole {

    static final String VERSION = "2011-06-15";

    /** STS's bounds on DurationSeconds: 15 minutes to the 12 hours a role may allow at most. */
    static final int MIN_DURATION_SECONDS = 900;

    static final int MAX_DURATION_SECONDS = 43_200;

    /** What STS issues when no DurationSeconds is given. */
    static final int DEFAULT_DURATION_SECONDS = 3600;

    /** AWS limits a session assumed with a role session's credentials to one hour. */
    static final int CHAINED_MAX_DURATION_SECONDS = 3600;

    private static final Pattern SESSION_NAME = Pattern.compile("^[\\w+=,.@-]{2,64}$");
    private static final Pattern DIGITS = Pattern.compile("^[0-9]{1,10}$");

    /** The parameters served; STS's others (policies, tags, MFA, ...) are refused by name. */
    private static final Set<String> PARAMETERS =
            Set.of(
                    "Action",
                    "Version",
                    "RoleArn",
                    "RoleSessionName",
                    "ExternalId",
                    "DurationSeconds");

    private final Map<String, Role> roles = new HashMap<>();
    private final SessionStore sessions;
    private final Duration maxSession;

    /**
     * @param maxSession a cap on every issued lifetime, below what the caller asked for (so that
     *     tests can see credentials expire in seconds), or {@code null} for none
     */
    public AssumeRole(Collection<Role> roles, SessionStore sessions, Duration maxSession) {
        for (Role r : roles) {
            this.roles.put(r.arn(), r);
        }
        this.sessions = sessions;
        this.maxSession = maxSession;
    }

    /** Answers one AssumeRole request from the verified caller. */
    public FullHttpResponse handle(
            SigV4Verifier.Verified caller, List<Map.Entry<String, String>> params) {
        Map<String, String> p = new LinkedHashMap<>();
        for (Map.Entry<String, String> e : params) {
            if (!PARAMETERS.contains(e.getKey())) {
                throw validation(
                        "ebs-local's AssumeRole does not take the parameter '"
                                + abbreviate(e.getKey())
                                + "'; it takes RoleArn, RoleSessionName, ExternalId and"
                                + " DurationSeconds.");
            }
            if (p.put(e.getKey(), e.getValue()) != null) {
                throw validation("The parameter '" + e.getKey() + "' is given more than once.");
            }
        }
        String version = p.get("Version");
        if (version == null) {
            throw new EbsError(
                    400,
                    "MissingParameter",
                    "The request must contain the parameter Version.",
                    null);
        }
        if (!version.equals(VERSION)) {
            throw new EbsError(
                    400,
                    "InvalidAction",
                    "Could not find operation AssumeRole for version " + abbreviate(version),
                    null);
        }
        String roleArn = required(p, "RoleArn", "roleArn");
        if (roleArn.length() < 20 || roleArn.length() > 2048) {
            throw validation(
                    "1 validation error detected: Value at 'roleArn' failed to satisfy constraint:"
                            + " Member must have length between 20 and 2048");
        }
        String sessionName = required(p, "RoleSessionName", "roleSessionName");
        if (!SESSION_NAME.matcher(sessionName).matches()) {
            throw validation(
                    "1 validation error detected: Value '"
                            + abbreviate(sessionName)
                            + "' at 'roleSessionName' failed to satisfy constraint: Member must"
                            + " have length between 2 and 64 and satisfy regular expression"
                            + " pattern: [\\w+=,.@-]*");
        }
        String externalId = p.get("ExternalId");
        if (externalId != null && (externalId.length() < 2 || externalId.length() > 1224)) {
            throw validation(
                    "1 validation error detected: Value at 'externalId' failed to satisfy"
                            + " constraint: Member must have length between 2 and 1224");
        }
        int seconds = duration(p.get("DurationSeconds"));
        if (caller.session() != null && seconds > CHAINED_MAX_DURATION_SECONDS) {
            throw validation(
                    "The requested DurationSeconds exceeds the 1 hour session limit for roles"
                            + " assumed by role chaining.");
        }

        Role role = roles.get(roleArn);
        if (role == null || !externalIdMatches(role, externalId)) {
            // STS does not tell a missing role from a refused one.
            throw new EbsError(
                    403,
                    "AccessDenied",
                    "User: "
                            + callerArn(caller)
                            + " is not authorized to perform: sts:AssumeRole on resource: "
                            + abbreviate(roleArn),
                    null);
        }
        Duration lifetime = Duration.ofSeconds(seconds);
        if (maxSession != null && maxSession.compareTo(lifetime) < 0) {
            lifetime = maxSession;
        }
        Session s = sessions.issue(role, sessionName, lifetime);
        String xml =
                "    <AssumedRoleUser>\n      <AssumedRoleId>"
                        + roleId(role)
                        + ":"
                        + sessionName
                        + "</AssumedRoleId>\n      <Arn>"
                        + StsResponses.escape(s.assumedRoleArn())
                        + "</Arn>\n    </AssumedRoleUser>\n    <Credentials>\n      <AccessKeyId>"
                        + s.key().accessKeyId()
                        + "</AccessKeyId>\n      <SecretAccessKey>"
                        + s.key().secretAccessKey()
                        + "</SecretAccessKey>\n      <SessionToken>"
                        + s.sessionToken()
                        + "</SessionToken>\n      <Expiration>"
                        + DateTimeFormatter.ISO_INSTANT.format(s.expiration())
                        + "</Expiration>\n    </Credentials>\n";
        return StsResponses.result("AssumeRole", xml);
    }

    /** A role without an external id accepts any; one with an id needs exactly that id. */
    private static boolean externalIdMatches(Role role, String given) {
        if (role.externalId() == null) {
            return true;
        }
        return given != null
                && MessageDigest.isEqual(
                        role.externalId().getBytes(StandardCharsets.UTF_8),
                        given.getBytes(StandardCharsets.UTF_8));
    }

    private static int duration(String raw) {
        if (raw == null) {
            return DEFAULT_DURATION_SECONDS;
        }
        if (!DIGITS.matcher(raw).matches()) {
            throw validation(
                    "1 validation error detected: Value '"
                            + abbreviate(raw)
                            + "' at 'durationSeconds' failed to satisfy constraint: Member must be"
                            + " an integer");
        }
        long v = Long.parseLong(raw);
        if (v < MIN_DURATION_SECONDS) {
            throw validation(
                    "1 validation error detected: Value '"
                            + v
                            + "' at 'durationSeconds' failed to satisfy constraint: Member must"
                            + " have value greater than or equal to "
                            + MIN_DURATION_SECONDS);
        }
        if (v > MAX_DURATION_SECONDS) {
            throw validation(
                    "1 validation error detected: Value '"
                            + v
                            + "' at 'durationSeconds' failed to satisfy constraint: Member must"
                            + " have value less than or equal to "
                            + MAX_DURATION_SECONDS);
        }
        return (int) v;
    }

    private static String required(Map<String, String> p, String name, String member) {
        String v = p.get(name);
        if (v == null) {
            throw validation(
                    "1 validation error detected: Value null at '"
                            + member
                            + "' failed to satisfy constraint: Member must not be null");
        }
        return v;
    }

    /** The ARN of the caller, as STS names it in a refusal. */
    private static String callerArn(SigV4Verifier.Verified caller) {
        return caller.session() != null
                ? caller.session().assumedRoleArn()
                : "arn:aws:iam::" + caller.key().accountId() + ":root";
    }

    /**
     * A role's unique id: {@code AROA} and 17 characters, stable for one ARN (derived from it) as
     * AWS keeps it for the life of the role.
     */
    static String roleId(Role role) {
        byte[] h;
        try {
            h =
                    MessageDigest.getInstance("SHA-256")
                            .digest(role.arn().getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        String alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        StringBuilder sb = new StringBuilder("AROA");
        for (int i = 0; i < 17; i++) {
            sb.append(alphabet.charAt((h[i] & 0xff) % alphabet.length()));
        }
        return sb.toString();
    }

    private static EbsError validation(String message) {
        return new EbsError(400, "ValidationError", message, null);
    }

    /** Client-chosen text in an error message, cut short. */
    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }
}
