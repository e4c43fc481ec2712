package io.ebsreplicator.local.auth;

import io.ebsreplicator.local.service.EbsClock;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The temporary credentials {@code AssumeRole} has issued, by access key id. In memory only, never
 * journaled: a restart of ebs-local invalidates every session, and clients assume their role again
 * (the SDKs' assume-role credential providers do so on their own). Bounded: once it holds {@link
 * #capacity} sessions, issuing one first drops the expired ones and then, if it is still full, the
 * oldest; a dropped session's key is unknown from then on. Thread-safe; shared by the verifier (on
 * the I/O threads and the workers) and AssumeRole (on the workers).
 */
public final class SessionStore {

    /**
     * Sessions held at most. An SDK provider keeps one session per client and renews it before it
     * expires (every 55 minutes by default), so even a test suite that assumes roles thousands of
     * times with short lifetimes stays far below this; each session costs well under a kilobyte.
     */
    public static final int DEFAULT_CAPACITY = 10_000;

    /** STS access key ids of temporary credentials start with this. */
    public static final String ACCESS_KEY_PREFIX = "ASIA";

    private static final char[] KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".toCharArray();

    private final EbsClock clock;
    private final int capacity;
    private final SecureRandom random = new SecureRandom();

    /** Insertion order is issue order, so the eldest entry is the oldest session. */
    private final LinkedHashMap<String, Session> sessions = new LinkedHashMap<>();

    public SessionStore(EbsClock clock, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be >= 1, not " + capacity);
        }
        this.clock = clock;
        this.capacity = capacity;
    }

    /**
     * Issues credentials for {@code role} that expire {@code lifetime} from now (rounded down to
     * whole seconds, as STS answers them): the answered {@code Expiration} is the moment the server
     * stops accepting them.
     */
    public Session issue(Role role, String sessionName, Duration lifetime) {
        Instant serviceNow = clock.now();
        Instant wallNow = clock.wallNow();
        Instant expiration = wallNow.plus(lifetime).truncatedTo(ChronoUnit.SECONDS);
        long expiresAtService =
                serviceNow.toEpochMilli() + (expiration.toEpochMilli() - wallNow.toEpochMilli());
        Session s;
        synchronized (sessions) {
            String id;
            do {
                id = newAccessKeyId();
            } while (sessions.containsKey(id));
            s =
                    new Session(
                            new AccessKey(id, randomBase64(30), role.accountId()),
                            randomBase64(96),
                            role,
                            sessionName,
                            expiration,
                            expiresAtService);
            makeRoom(serviceNow.toEpochMilli());
            sessions.put(id, s);
        }
        return s;
    }

    private void makeRoom(long serviceNowMillis) {
        if (sessions.size() < capacity) {
            return;
        }
        for (Iterator<Session> it = sessions.values().iterator(); it.hasNext(); ) {
            if (it.next().expiredAt(serviceNowMillis)) {
                it.remove();
            }
        }
        Iterator<Map.Entry<String, Session>> oldest = sessions.entrySet().iterator();
        while (sessions.size() >= capacity && oldest.hasNext()) {
            oldest.next();
            oldest.remove();
        }
    }

    /** The session of a temporary access key id, or {@code null}. */
    public Session find(String accessKeyId) {
        synchronized (sessions) {
            return sessions.get(accessKeyId);
        }
    }

    /** Whether the session's credentials have expired (on the service clock). */
    public boolean expired(Session session) {
        return session.expiredAt(clock.nowMillis());
    }

    /** Sessions held now, expired ones included until they are dropped. */
    public int size() {
        synchronized (sessions) {
            return sessions.size();
        }
    }

    public int capacity() {
        return capacity;
    }

    /** Whether {@code token} is the session's token, compared in constant time. */
    public static boolean tokenMatches(Session session, String token) {
        return token != null
                && MessageDigest.isEqual(
                        session.sessionToken().getBytes(StandardCharsets.UTF_8),
                        token.getBytes(StandardCharsets.UTF_8));
    }

    /** {@code ASIA} and 16 characters of the base32 alphabet, as STS's own key ids look. */
    private String newAccessKeyId() {
        StringBuilder sb = new StringBuilder(ACCESS_KEY_PREFIX);
        for (int i = 0; i < 16; i++) {
            sb.append(KEY_ID_ALPHABET[random.nextInt(KEY_ID_ALPHABET.length)]);
        }
        return sb.toString();
    }

    private String randomBase64(int bytes) {
        byte[] b = new byte[bytes];
        random.nextBytes(b);
        return Base64.getEncoder().encodeToString(b);
    }
}
