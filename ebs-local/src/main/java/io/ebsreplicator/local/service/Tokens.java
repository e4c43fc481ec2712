package io.ebsreplicator.local.service;

import io.ebsreplicator.local.api.EbsError;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Base64;

/**
 * Block tokens and page tokens: opaque, unforgeable (HMAC-SHA256 under a per-data-directory
 * secret), bound to what they were issued for, and expiring. A block token is bound to region,
 * snapshot and block index; a page token to the operation, region, snapshot pair and resume index.
 */
final class Tokens {

    private static final byte BLOCK_TOKEN_VERSION = 1;
    private static final byte PAGE_TOKEN_VERSION = 2;

    /** 128 bits of MAC: forging one is out of reach, and the token stays short. */
    private static final int MAC_BYTES = 16;

    private final ThreadLocal<Mac> mac;

    Tokens(byte[] secret) {
        SecretKeySpec key = new SecretKeySpec(secret.clone(), "HmacSHA256");
        this.mac =
                ThreadLocal.withInitial(
                        () -> {
                            try {
                                Mac m = Mac.getInstance("HmacSHA256");
                                m.init(key);
                                return m;
                            } catch (GeneralSecurityException e) {
                                throw new IllegalStateException(e);
                            }
                        });
    }

    String blockToken(String region, String snapshotId, int blockIndex, long expiryEpochSeconds) {
        ByteBuffer b = ByteBuffer.allocate(1 + 8 + MAC_BYTES);
        b.put(BLOCK_TOKEN_VERSION).putLong(expiryEpochSeconds);
        b.put(sign("block", region, snapshotId, blockIndex, expiryEpochSeconds));
        return Base64.getEncoder().encodeToString(b.array());
    }

    /** Checks a block token; throws ValidationException(INVALID_BLOCK_TOKEN) when it fails. */
    void verifyBlockToken(
            String token, String region, String snapshotId, int blockIndex, long nowMillis) {
        byte[] raw = decode(token, 1 + 8 + MAC_BYTES, "INVALID_BLOCK_TOKEN", "block token");
        ByteBuffer b = ByteBuffer.wrap(raw);
        if (b.get() != BLOCK_TOKEN_VERSION) {
            throw EbsError.validation("INVALID_BLOCK_TOKEN", "The block token is not valid.");
        }
        long expiry = b.getLong();
        byte[] given = new byte[MAC_BYTES];
        b.get(given);
        if (!MessageDigest.isEqual(given, sign("block", region, snapshotId, blockIndex, expiry))) {
            throw EbsError.validation(
                    "INVALID_BLOCK_TOKEN",
                    "The block token is not valid for block "
                            + blockIndex
                            + " of snapshot "
                            + snapshotId
                            + ".");
        }
        if (nowMillis / 1000 >= expiry) {
            throw EbsError.validation(
                    "INVALID_BLOCK_TOKEN",
                    "The block token has expired; list the blocks again for a new one.");
        }
    }

    String pageToken(String scope, int nextIndex, long expiryEpochSeconds) {
        ByteBuffer b = ByteBuffer.allocate(1 + 8 + 4 + MAC_BYTES);
        b.put(PAGE_TOKEN_VERSION).putLong(expiryEpochSeconds).putInt(nextIndex);
        b.put(sign("page", scope, "", nextIndex, expiryEpochSeconds));
        return Base64.getEncoder().encodeToString(b.array());
    }

    /** Returns the block index a page token resumes at; INVALID_PAGE_TOKEN when it fails. */
    int verifyPageToken(String token, String scope, long nowMillis) {
        byte[] raw = decode(token, 1 + 8 + 4 + MAC_BYTES, "INVALID_PAGE_TOKEN", "page token");
        ByteBuffer b = ByteBuffer.wrap(raw);
        if (b.get() != PAGE_TOKEN_VERSION) {
            throw EbsError.validation("INVALID_PAGE_TOKEN", "The page token is not valid.");
        }
        long expiry = b.getLong();
        int next = b.getInt();
        byte[] given = new byte[MAC_BYTES];
        b.get(given);
        if (!MessageDigest.isEqual(given, sign("page", scope, "", next, expiry))) {
            throw EbsError.validation(
                    "INVALID_PAGE_TOKEN", "The page token is not valid for this request.");
        }
        if (nowMillis / 1000 >= expiry) {
            throw EbsError.validation(
                    "INVALID_PAGE_TOKEN",
                    "The page token has expired; list again from StartingBlockIndex.");
        }
        return next;
    }

    private static byte[] decode(String token, int length, String reason, String what) {
        if (token.length() > 256 || !token.matches("[A-Za-z0-9+/=]+")) {
            throw EbsError.validation(reason, "The " + what + " is malformed.");
        }
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(token);
        } catch (IllegalArgumentException e) {
            throw EbsError.validation(reason, "The " + what + " is malformed.");
        }
        if (raw.length != length) {
            throw EbsError.validation(reason, "The " + what + " is not valid.");
        }
        return raw;
    }

    private byte[] sign(String kind, String a, String b, int index, long expiry) {
        Mac m = mac.get();
        m.update(
                (kind + "\n" + a + "\n" + b + "\n" + index + "\n" + expiry)
                        .getBytes(StandardCharsets.UTF_8));
        byte[] full = m.doFinal();
        byte[] out = new byte[MAC_BYTES];
        System.arraycopy(full, 0, out, 0, MAC_BYTES);
        return out;
    }
}
