package io.ebsreplicator.connector.ebs.proxy;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds {@link SdkEbsProxy}s from an {@link EbsProxyConfig}. Serializable, carrying configuration
 * only: created on the client with the job, shipped to the JobManager and the TaskManagers, where
 * {@link #create} builds a proxy and its clients in {@code open}/{@code start}/{@code
 * createReader}.
 */
public final class SdkEbsProxyFactory implements EbsProxyFactory {

    private static final Logger LOG = LoggerFactory.getLogger(SdkEbsProxyFactory.class);

    private static final long serialVersionUID = 1L;

    private final EbsProxyConfig config;

    public SdkEbsProxyFactory(EbsProxyConfig config) {
        this.config = java.util.Objects.requireNonNull(config, "config");
    }

    public EbsProxyConfig config() {
        return config;
    }

    /** This factory with the per-region rates split among {@code users} (e.g. a parallelism). */
    public SdkEbsProxyFactory withShare(int users) {
        return new SdkEbsProxyFactory(config.withShare(users));
    }

    @Override
    public SdkEbsProxy create(String region) {
        return create(region, null, EbsProxyListener.NO_OP);
    }

    /** A proxy that reports requests, retries and throttling to {@code listener} (e.g. metrics). */
    @Override
    public SdkEbsProxy create(String region, EbsProxyListener listener) {
        return create(region, null, listener);
    }

    /**
     * The proxy of {@code region} that calls as {@code roleArn}, assumed through STS with the job's
     * credentials ({@code null}: the job's credentials themselves), from its two parts: the clients
     * and the retrying caller.
     */
    @Override
    public SdkEbsProxy create(String region, String roleArn, EbsProxyListener listener) {
        EbsClients clients = EbsClients.create(config, region, roleArn);
        SdkEbsProxy proxy =
                new SdkEbsProxy(region, clients, new RetryingCaller(region, config, listener));
        LOG.info("EBS proxy for {} built: {}", region, config);
        return proxy;
    }

    @Override
    public String sourceRoleArn() {
        return config.roles().sourceRoleArn();
    }

    @Override
    public String targetRoleArn(String region) {
        return config.roles().targetRoleArn(region);
    }

    @Override
    public boolean allowsRole(String region, String roleArn) {
        return config.roles().allows(region, roleArn);
    }

    @Override
    public String toString() {
        return "SdkEbsProxyFactory{" + config + "}";
    }
}
