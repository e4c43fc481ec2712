package io.ebsreplicator.local.auth;

import io.ebsreplicator.local.api.EbsError;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Verifies AWS Signature Version 4 header authentication, as the AWS front end does: the canonical
 * request rebuilt from the request as received, the credential scope (date, region, service), the
 * signing key derived from the secret, a constant-time comparison, and the clock skew. Regions and
 * services come from the credential scope. Thread-safe.
 */
public final class SigV4Verifier {

    public static final String UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

    private static final String ALGORITHM = "AWS4-HMAC-SHA256";
    private static final DateTimeFormatter AMZ_DATE =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT);

    /**
     * Signing keys kept, at most. A key lives for one (access key, day, region, service); a normal
     * server sees a few dozen. Only keys of signatures that verified are kept, so this bound is
     * reached only by many configured keys or regions, and then the cache starts over.
     */
    static final int MAX_CACHED_SIGNING_KEYS = 1024;

    /** The signing names served: EBS direct APIs, EC2 DescribeSnapshots, STS AssumeRole. */
    private static final Set<String> SERVICES = Set.of("ebs", "ec2", "sts");

    /**
     * The region the SDKs sign STS requests for when they use the global endpoint; accepted for
     * {@code sts} whatever regions are served.
     */
    private static final String STS_GLOBAL_SIGNING_REGION = "us-east-1";

    /** The answer AWS gives for temporary credentials past their expiration. */
    public static final String EXPIRED_TOKEN = "ExpiredTokenException";

    private final Map<String, AccessKey> keys = new HashMap<>();
    private final Duration maxSkew;
    private final Set<String> regions;
    private final Map<String, byte[]> signingKeys = new ConcurrentHashMap<>();
    private final SessionStore sessions;

    /** A verifier that accepts any region in the credential scope; the service checks it. */
    public SigV4Verifier(Collection<AccessKey> accessKeys, Duration maxSkew) {
        this(accessKeys, maxSkew, null, null);
    }

    /**
     * A verifier that refuses a credential scope naming a region outside {@code regions} (or any
     * region, when {@code null}) before it derives a key for it, and that also accepts the
     * temporary credentials of {@code sessions} (none when {@code null}) with their session token.
     */
    public SigV4Verifier(
            Collection<AccessKey> accessKeys,
            Duration maxSkew,
            Set<String> regions,
            SessionStore sessions) {
        for (AccessKey k : accessKeys) {
            keys.put(k.accessKeyId(), k);
        }
        this.maxSkew = maxSkew;
        this.regions = regions == null ? null : Set.copyOf(regions);
        this.sessions = sessions;
    }

    /**
     * What a verified signature establishes: the key (and so the account) the request acts as, and
     * the session when the key is a temporary one ({@code null} for a long-term key).
     */
    public record Verified(AccessKey key, String region, String service, Session session) {}

    /** The parts of a request the signature covers. */
    public interface SignedRequest {
        String method();

        /** The path exactly as sent on the request line (still percent-encoded). */
        String rawPath();

        /** Query parameters, percent-decoded, in any order; repeated names allowed. */
        List<Map.Entry<String, String>> queryParameters();

        /** Every value of a header, case-insensitively, or an empty list. */
        List<String> headerValues(String name);

        /**
         * Query parameters exactly as sent (still percent-encoded), or {@code null} when only the
         * decoded ones are known. The canonical query is built from the bytes the client encoded,
         * so a value that is not valid UTF-8 still verifies.
         */
        default List<Map.Entry<String, String>> rawQueryParameters() {
            return null;
        }

        /** The names of every header sent, or {@code null} when they are not known. */
        default Collection<String> headerNames() {
            return null;
        }
    }

    /**
     * Verifies the request's signature; throws {@link EbsError} (403) when it fails.
     *
     * @param payloadSha256Hex computes the hex SHA-256 of the body when the signature needs it
     */
    public Verified verify(SignedRequest request, Supplier<String> payloadSha256Hex) {
        return verify(request, payloadSha256Hex, true);
    }

    /**
     * Verifies a request from its head alone, before its body arrives: possible when it carries
     * {@code X-Amz-Content-SHA256}, which the signature covers. Whether the body matches a claimed
     * hash is left to {@link #verify} once it has arrived. Returns {@code null} when the head alone
     * cannot be verified; throws {@link EbsError} (403) when it fails.
     */
    public Verified verifyHead(SignedRequest head) {
        if (head.headerValues("X-Amz-Content-SHA256").isEmpty()) {
            return null;
        }
        return verify(head, () -> null, false);
    }

    private Verified verify(
            SignedRequest request, Supplier<String> payloadSha256Hex, boolean checkPayload) {
        List<String> auth = request.headerValues("Authorization");
        if (auth.isEmpty()) {
            throw EbsError.authFailure(
                    "MissingAuthenticationTokenException", "Missing Authentication Token");
        }
        String header = auth.get(0).trim();
        if (!header.startsWith(ALGORITHM + " ")) {
            throw EbsError.authFailure(
                    "IncompleteSignatureException",
                    "Authorization header requires the " + ALGORITHM + " algorithm.");
        }
        Map<String, String> parts = new HashMap<>();
        for (String part : header.substring(ALGORITHM.length() + 1).split(",")) {
            int eq = part.indexOf('=');
            if (eq > 0) {
                parts.put(part.substring(0, eq).trim(), part.substring(eq + 1).trim());
            }
        }
        String credential = parts.get("Credential");
        String signedHeaders = parts.get("SignedHeaders");
        String signature = parts.get("Signature");
        if (credential == null || signedHeaders == null || signature == null) {
            throw EbsError.authFailure(
                    "IncompleteSignatureException",
                    "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.");
        }
        String[] scope = credential.split("/");
        if (scope.length != 5 || !scope[4].equals("aws4_request")) {
            throw EbsError.authFailure(
                    "IncompleteSignatureException", "Credential is malformed: " + credential);
        }
        List<String> tokens = request.headerValues("X-Amz-Security-Token");
        AccessKey key = keys.get(scope[0]);
        Session session = null;
        if (key == null && sessions != null) {
            session = sessions.find(scope[0]);
            // A temporary key without its own token (none, or another) is not a known credential.
            if (session != null
                    && tokens.size() == 1
                    && SessionStore.tokenMatches(session, tokens.get(0).trim())) {
                key = session.key();
            }
        } else if (key != null && !tokens.isEmpty()) {
            key = null; // a long-term key has no session token
        }
        if (key == null) {
            throw EbsError.authFailure(
                    "UnrecognizedClientException",
                    "The security token included in the request is invalid.");
        }
        List<String> dates = request.headerValues("X-Amz-Date");
        if (dates.isEmpty()) {
            throw EbsError.authFailure(
                    "IncompleteSignatureException", "The request needs an X-Amz-Date header.");
        }
        String amzDate = dates.get(0).trim();
        Instant signedAt;
        try {
            signedAt = LocalDateTime.parse(amzDate, AMZ_DATE).toInstant(ZoneOffset.UTC);
        } catch (DateTimeParseException e) {
            throw EbsError.authFailure(
                    "IncompleteSignatureException", "X-Amz-Date is malformed: " + amzDate);
        }
        if (!amzDate.startsWith(scope[1])) {
            throw EbsError.authFailure(
                    "InvalidSignatureException",
                    "Date in Credential scope does not match YYYYMMDD from X-Amz-Date.");
        }
        Instant now = Instant.now();
        if (Duration.between(signedAt, now).abs().compareTo(maxSkew) > 0) {
            throw EbsError.authFailure(
                    "InvalidSignatureException",
                    "Signature expired: "
                            + amzDate
                            + " is now earlier or later than "
                            + now
                            + " by more than "
                            + maxSkew.toMinutes()
                            + " minutes.");
        }
        String region = scope[2];
        String service = scope[3];
        if (!SERVICES.contains(service)) {
            throw EbsError.authFailure(
                    "InvalidSignatureException",
                    "Credential should be scoped to correct service: 'ebs', 'ec2' or 'sts'.");
        }
        if (regions != null
                && !regions.contains(region)
                && !(service.equals("sts") && region.equals(STS_GLOBAL_SIGNING_REGION))) {
            throw EbsError.authFailure(
                    "InvalidSignatureException",
                    "Credential should be scoped to a valid region, not '"
                            + abbreviate(region)
                            + "'.");
        }
        requireSignedHeaders(request, signedHeaders);

        List<String> claimed = request.headerValues("X-Amz-Content-SHA256");
        String payloadHash = claimed.isEmpty() ? payloadSha256Hex.get() : claimed.get(0).trim();

        String canonical = canonicalRequest(request, signedHeaders, payloadHash);
        String stringToSign =
                ALGORITHM
                        + "\n"
                        + amzDate
                        + "\n"
                        + scope[1]
                        + "/"
                        + region
                        + "/"
                        + service
                        + "/aws4_request\n"
                        + hex(sha256(canonical.getBytes(StandardCharsets.UTF_8)));
        // Keyed by the access key id, not the secret: nothing secret is ever a map key.
        String cacheKey = key.accessKeyId() + "/" + scope[1] + "/" + region + "/" + service;
        byte[] signingKey = signingKeys.get(cacheKey);
        boolean cached = signingKey != null;
        if (!cached) {
            signingKey = deriveKey(key.secretAccessKey(), scope[1], region, service);
        }
        String expected = hex(hmac(signingKey, stringToSign));
        if (!MessageDigest.isEqual(
                expected.getBytes(StandardCharsets.US_ASCII),
                signature.toLowerCase(Locale.ROOT).getBytes(StandardCharsets.US_ASCII))) {
            throw EbsError.authFailure(
                    "InvalidSignatureException",
                    "The request signature we calculated does not match the signature you"
                            + " provided. Check your AWS Secret Access Key and signing method.");
        }
        if (!cached) {
            // Only a key that just verified a signature is kept, so that bad requests cannot
            // fill the cache; the bound covers many keys or regions.
            if (signingKeys.size() >= MAX_CACHED_SIGNING_KEYS) {
                signingKeys.clear();
            }
            signingKeys.put(cacheKey, signingKey);
        }
        if (session != null && sessions.expired(session)) {
            // Checked once the signature shows the caller holds the secret, as AWS answers it.
            throw new EbsError(
                    403,
                    EXPIRED_TOKEN,
                    "The security token included in the request is expired",
                    null);
        }
        if (checkPayload
                && !claimed.isEmpty()
                && !payloadHash.equals(UNSIGNED_PAYLOAD)
                && !payloadHash.equalsIgnoreCase(payloadSha256Hex.get())) {
            throw EbsError.authFailure(
                    "InvalidSignatureException",
                    "The provided 'x-amz-content-sha256' header does not match what was computed.");
        }
        return new Verified(key, region, service, session);
    }

    /**
     * The service named by the credential scope of an {@code Authorization} header, or {@code null}
     * when it names none; nothing is verified. Used to answer a request whose operation is not
     * known in the format its client expects.
     */
    public static String scopedService(String authorization) {
        if (authorization == null) {
            return null;
        }
        int at = authorization.indexOf("Credential=");
        if (at < 0) {
            return null;
        }
        int end = authorization.indexOf(',', at);
        String[] scope =
                authorization
                        .substring(
                                at + "Credential=".length(), end < 0 ? authorization.length() : end)
                        .trim()
                        .split("/");
        return scope.length == 5 ? scope[3] : null;
    }

    /** Signing keys held; for tests of the bound. */
    int cachedSigningKeys() {
        return signingKeys.size();
    }

    /**
     * AWS requires {@code host} and every {@code x-amz-*} header sent to be signed, and a signed
     * header that was not sent cannot have been signed as sent.
     */
    private static void requireSignedHeaders(SignedRequest request, String signedHeaders) {
        Set<String> signed = new HashSet<>();
        for (String name : signedHeaders.split(";", -1)) {
            if (name.isEmpty() || !name.equals(name.toLowerCase(Locale.ROOT))) {
                throw EbsError.authFailure(
                        "IncompleteSignatureException",
                        "SignedHeaders must list lowercase header names separated by ';'.");
            }
            if (request.headerValues(name).isEmpty()) {
                throw EbsError.authFailure(
                        "IncompleteSignatureException",
                        "The signed header '" + abbreviate(name) + "' is not in the request.");
            }
            signed.add(name);
        }
        if (!signed.contains("host")) {
            throw EbsError.authFailure(
                    "IncompleteSignatureException",
                    "'Host' must be a 'SignedHeader' in the AWS Authorization.");
        }
        Collection<String> sent = request.headerNames();
        if (sent == null) {
            return;
        }
        for (String name : sent) {
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.startsWith("x-amz-") && !signed.contains(lower)) {
                throw EbsError.authFailure(
                        "IncompleteSignatureException",
                        "The header '" + abbreviate(name) + "' is sent but not signed.");
            }
        }
    }

    /** Client-chosen text in an error message, cut short: a message is not an echo service. */
    private static String abbreviate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }

    static String canonicalRequest(
            SignedRequest request, String signedHeaders, String payloadHash) {
        StringBuilder sb = new StringBuilder(512);
        sb.append(request.method()).append('\n');
        sb.append(canonicalUri(request.rawPath())).append('\n');
        List<String[]> query = new ArrayList<>();
        List<Map.Entry<String, String>> raw = request.rawQueryParameters();
        if (raw != null) {
            for (Map.Entry<String, String> e : raw) {
                query.add(
                        new String[] {canonicalEncode(e.getKey()), canonicalEncode(e.getValue())});
            }
        } else {
            for (Map.Entry<String, String> e : request.queryParameters()) {
                query.add(
                        new String[] {uriEncode(e.getKey(), true), uriEncode(e.getValue(), true)});
            }
        }
        query.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
        for (int i = 0; i < query.size(); i++) {
            if (i > 0) {
                sb.append('&');
            }
            sb.append(query.get(i)[0]).append('=').append(query.get(i)[1]);
        }
        sb.append('\n');
        for (String name : signedHeaders.split(";")) {
            List<String> values = request.headerValues(name);
            sb.append(name.toLowerCase(Locale.ROOT)).append(':');
            for (int i = 0; i < values.size(); i++) {
                if (i > 0) {
                    sb.append(',');
                }
                sb.append(values.get(i).trim().replaceAll(" +", " "));
            }
            sb.append('\n');
        }
        sb.append('\n').append(signedHeaders).append('\n').append(payloadHash);
        return sb.toString();
    }

    /**
     * Re-encodes a query component as sent: percent-escapes become the bytes they stand for, any
     * other character one byte (the request line is read as ISO-8859-1), and the bytes are encoded
     * as SigV4 specifies. Working on bytes, not on a decoded string, keeps values that are not
     * UTF-8 (such as {@code %FF%FE}) exactly as the client signed them.
     */
    static String canonicalEncode(String raw) {
        StringBuilder sb = new StringBuilder(raw.length() + 16);
        for (int i = 0; i < raw.length(); i++) {
            int b = raw.charAt(i) & 0xff;
            if (b == '%' && i + 2 < raw.length()) {
                int hi = Character.digit(raw.charAt(i + 1), 16);
                int lo = Character.digit(raw.charAt(i + 2), 16);
                if (hi >= 0 && lo >= 0) {
                    b = hi * 16 + lo;
                    i += 2;
                }
            }
            appendEncoded(sb, b, true);
        }
        return sb.toString();
    }

    private static void appendEncoded(StringBuilder sb, int b, boolean encodeSlash) {
        char c = (char) b;
        if ((c >= 'A' && c <= 'Z')
                || (c >= 'a' && c <= 'z')
                || (c >= '0' && c <= '9')
                || c == '-'
                || c == '_'
                || c == '.'
                || c == '~'
                || (c == '/' && !encodeSlash)) {
            sb.append(c);
        } else {
            sb.append('%')
                    .append(Character.toUpperCase(Character.forDigit((b >> 4) & 0xf, 16)))
                    .append(Character.toUpperCase(Character.forDigit(b & 0xf, 16)));
        }
    }

    /** Every service but S3 encodes the already-encoded path a second time. */
    private static String canonicalUri(String rawPath) {
        if (rawPath.isEmpty()) {
            return "/";
        }
        return uriEncode(normalize(rawPath), false);
    }

    private static String normalize(String path) {
        if (!path.contains("/.")) {
            return path;
        }
        List<String> out = new ArrayList<>();
        for (String seg : path.split("/", -1)) {
            if (seg.equals(".")) {
                continue;
            }
            if (seg.equals("..")) {
                if (!out.isEmpty()) {
                    out.remove(out.size() - 1);
                }
                continue;
            }
            out.add(seg);
        }
        String joined = String.join("/", out);
        return joined.startsWith("/") ? joined : "/" + joined;
    }

    /** RFC 3986 percent-encoding as SigV4 specifies it; '/' kept unless {@code encodeSlash}. */
    public static String uriEncode(String s, boolean encodeSlash) {
        StringBuilder sb = new StringBuilder(s.length() + 16);
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            appendEncoded(sb, b & 0xff, encodeSlash);
        }
        return sb.toString();
    }

    private static byte[] deriveKey(String secret, String date, String region, String service) {
        byte[] k = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), date);
        k = hmac(k, region);
        k = hmac(k, service);
        return hmac(k, "aws4_request");
    }

    private static byte[] hmac(byte[] key, String data) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String hex(byte[] b) {
        return HexFormat.of().formatHex(b);
    }
}
