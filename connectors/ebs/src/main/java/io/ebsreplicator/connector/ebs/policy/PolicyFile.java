package io.ebsreplicator.connector.ebs.policy;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Where the job's policy comes from: a JSON file that every JobManager the job may run on can read
 * (a ConfigMap on Kubernetes, a shared or copied file elsewhere). Loaded when the enumerator starts
 * and checked again periodically ({@link #reload}): a file that changed is parsed again and, when
 * valid, replaces the policy; an invalid one is reported and the policy in use stays. Serializable:
 * the path travels with the job; the policy itself never enters state.
 */
public final class PolicyFile implements Serializable {

    private static final long serialVersionUID = 1L;

    private final String path;

    public PolicyFile(String path) {
        this.path = Objects.requireNonNull(path, "path");
    }

    public String path() {
        return path;
    }

    /** The policy as the file says now; {@link PolicyException} or {@link UncheckedIOException}. */
    public Loaded load() {
        byte[] bytes = read();
        return new Loaded(PolicyParser.parse(path, bytes), digest(bytes));
    }

    /**
     * What a periodic check of the file found, compared with the policy in use: {@code null} when
     * the file's content is unchanged (it is read, bounded, and hashed: a modification time can
     * stay the same across an edit, a ConfigMap update swaps a symlink).
     */
    public Reload reload(Loaded current) {
        byte[] bytes;
        try {
            bytes = read();
        } catch (UncheckedIOException e) {
            return new Reload.Invalid(
                    new PolicyException(path, List.of("$ cannot be read: " + e.getCause())));
        }
        byte[] digest = digest(bytes);
        if (Arrays.equals(digest, current.digest)) {
            return null;
        }
        try {
            ReplicationPolicy policy = PolicyParser.parse(path, bytes);
            return new Reload.Changed(
                    new Loaded(policy, digest), policy.changesFrom(current.policy()));
        } catch (PolicyException e) {
            return new Reload.Invalid(e);
        }
    }

    private byte[] read() {
        Path p = Path.of(path);
        try {
            BasicFileAttributes a = Files.readAttributes(p, BasicFileAttributes.class);
            if (!a.isRegularFile()) {
                throw new IOException(path + " is not a regular file");
            }
            try (InputStream in = Files.newInputStream(p)) {
                // One byte more than the bound, so that the parser can say the file is too large.
                return in.readNBytes(PolicyParser.MAX_BYTES + 1);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("The policy " + path + " cannot be read: " + e, e);
        }
    }

    private static byte[] digest(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A policy with the digest of the file it was read from. */
    public static final class Loaded {
        private final ReplicationPolicy policy;
        private final byte[] digest;

        Loaded(ReplicationPolicy policy, byte[] digest) {
            this.policy = policy;
            this.digest = digest;
        }

        public ReplicationPolicy policy() {
            return policy;
        }
    }

    /** What changed in the file since it was last loaded. */
    public sealed interface Reload {

        /** A valid new policy and the changes, one line per rule. */
        record Changed(Loaded loaded, List<String> changes) implements Reload {}

        /** The file cannot be used (it stays in use as it was). */
        record Invalid(PolicyException problem) implements Reload {}
    }
}
