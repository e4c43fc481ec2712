package io.ebsreplicator.local.store;

import io.ebsreplicator.local.service.Digest;

import java.io.IOException;

/**
 * A stored block whose bytes no longer hash to the digest it is stored under: flipped, truncated or
 * otherwise damaged on disk. Its data must not be served; the message names the digest only, never
 * a path, because it may reach a client.
 */
public final class DamagedBlockException extends IOException {

    private static final long serialVersionUID = 1L;

    private final transient Digest digest;

    public DamagedBlockException(Digest digest, String what) {
        super("Stored block " + digest.hex() + " is damaged: " + what);
        this.digest = digest;
    }

    public Digest digest() {
        return digest;
    }
}
