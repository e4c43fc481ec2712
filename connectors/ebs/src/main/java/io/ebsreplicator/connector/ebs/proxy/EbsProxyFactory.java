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
}
