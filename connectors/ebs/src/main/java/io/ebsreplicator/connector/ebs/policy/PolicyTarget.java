package io.ebsreplicator.connector.ebs.policy;

/**
 * One region a rule copies to: the KMS key that encrypts full copies there ({@code null}: as the
 * source), and how many copies the region keeps ({@code null}: all). Part of a loaded {@link
 * ReplicationPolicy}.
 */
public record PolicyTarget(String region, String kmsKeyArn, Retention retention) {

    /** As a log line shows it: {@code us-west-2 (kms arn:..., keep last 3)}. */
    @Override
    public String toString() {
        StringBuilder b = new StringBuilder(region);
        java.util.List<String> parts = new java.util.ArrayList<>();
        if (kmsKeyArn != null) {
            parts.add("kms " + kmsKeyArn);
        }
        if (retention != null) {
            parts.add(retention.toString());
        }
        if (!parts.isEmpty()) {
            b.append(" (").append(String.join(", ", parts)).append(')');
        }
        return b.toString();
    }
}
