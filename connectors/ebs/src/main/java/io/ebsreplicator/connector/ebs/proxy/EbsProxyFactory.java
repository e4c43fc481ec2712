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
}
