package io.ebsreplicator.connector.ebs.proxy;

import java.io.Serializable;

/**
 * Creates the proxy of a region where it is used (an enumerator's {@code start}, a reader, an
 * operator's {@code open}). Serializable: it is shipped with the job and carries configuration
 * only, never clients.
 */
@FunctionalInterface
public interface EbsProxyFactory extends Serializable {

    EbsProxy create(String region);

    /**
     * A proxy that reports its call attempts to {@code listener} (e.g. Flink metrics created in the
     * operator's {@code open}). The listener is handed over where the proxy is built and never
     * serialized with the factory. The default ignores it, for factories whose proxies make no
     * remote calls.
     */
    default EbsProxy create(String region, EbsProxyListener listener) {
        return create(region);
    }

    /**
     * A proxy that calls {@code region} as the IAM role {@code roleArn} ({@code null}: the job's
     * own credentials). The default ignores the role, for factories whose proxies make no remote
     * calls.
     */
    default EbsProxy create(String region, String roleArn, EbsProxyListener listener) {
        return create(region, listener);
    }

    /** The role that reads source snapshots, or {@code null} for the job's own credentials. */
    default String sourceRoleArn() {
        return null;
    }

    /**
     * The role that writes target snapshots in {@code region}, or {@code null} for the job's own
     * credentials.
     */
    default String targetRoleArn(String region) {
        return null;
    }

    /** Whether a request may name {@code roleArn} for its target in {@code region}. */
    default boolean allowsRole(String region, String roleArn) {
        return roleArn == null || roleArn.equals(targetRoleArn(region));
    }

    /** The cache key of the proxy of {@code region} as {@code roleArn}. */
    static String key(String region, String roleArn) {
        return roleArn == null ? region : region + " as " + roleArn;
    }
}
