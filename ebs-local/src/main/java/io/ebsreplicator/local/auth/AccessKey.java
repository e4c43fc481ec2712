package io.ebsreplicator.local.auth;

/** A key pair ebs-local accepts, and the account its requests act as. */
public record AccessKey(String accessKeyId, String secretAccessKey, String accountId) {

    /**
     * The documented key pair for local use. Not a secret: anyone can read it here, so ebs-local
     * must never listen on anything but loopback with it.
     */
    public static final AccessKey DEFAULT =
            new AccessKey(
                    "AKIAEBSLOCAL00000000",
                    "ebs-local/secret/key/for/local/use/only0",
                    "111122223333");

    public AccessKey {
        if (accessKeyId == null || accessKeyId.isBlank()) {
            throw new IllegalArgumentException("accessKeyId is empty");
        }
        if (secretAccessKey == null || secretAccessKey.isBlank()) {
            throw new IllegalArgumentException("secretAccessKey is empty");
        }
        if (accountId == null || !accountId.matches("[0-9]{12}")) {
            throw new IllegalArgumentException("accountId must be 12 digits, not " + accountId);
        }
    }

    /** Parses {@code ACCESS_KEY:SECRET[:ACCOUNT]}; the account defaults to the default one. */
    public static AccessKey parse(String spec) {
        String[] parts = spec.split(":", -1);
        if (parts.length < 2 || parts.length > 3) {
            throw new IllegalArgumentException(
                    "A key is ACCESS_KEY:SECRET[:ACCOUNT_ID], not '" + spec + "'");
        }
        return new AccessKey(parts[0], parts[1], parts.length == 3 ? parts[2] : DEFAULT.accountId);
    }
}
