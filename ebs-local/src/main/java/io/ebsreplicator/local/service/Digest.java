package io.ebsreplicator.local.service;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;

/** A SHA-256 digest of one block; blocks are stored and deduplicated by it. Immutable. */
public final class Digest {

    public static final int LENGTH = 32;

    private final byte[] bytes;
    private final int hash;

    private Digest(byte[] bytes) {
        this.bytes = bytes;
        this.hash = Arrays.hashCode(bytes);
    }

    public static Digest of(byte[] bytes) {
        if (bytes.length != LENGTH) {
            throw new IllegalArgumentException(
                    "A SHA-256 digest has 32 bytes, not " + bytes.length);
        }
        return new Digest(bytes.clone());
    }

    public static Digest sha256(byte[] data, int offset, int length) {
        MessageDigest md = newSha256();
        md.update(data, offset, length);
        return new Digest(md.digest());
    }

    public static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    public byte[] bytes() {
        return bytes.clone();
    }

    /** Feeds the raw digest into an aggregate, without copying it. */
    public void updateInto(MessageDigest md) {
        md.update(bytes);
    }

    public String base64() {
        return Base64.getEncoder().encodeToString(bytes);
    }

    public String hex() {
        return HexFormat.of().formatHex(bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Digest && Arrays.equals(bytes, ((Digest) o).bytes);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    @Override
    public String toString() {
        return base64();
    }
}
