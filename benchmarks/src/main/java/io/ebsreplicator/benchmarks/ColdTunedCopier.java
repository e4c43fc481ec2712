package io.ebsreplicator.benchmarks;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.proxy.BlockListing;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;

import org.apache.flink.configuration.Configuration;

import java.util.Map;

import static io.ebsreplicator.benchmarks.EndToEndBenchmark.SOURCE;
import static io.ebsreplicator.benchmarks.EndToEndBenchmark.TARGET;

/**
 * The tuned direct copier ({@link EndToEndCopiers#tunedCopy}) as a process of its own, so that
 * {@link ColdStartBenchmark} can time it cold, next to a cold {@code replicate}. Prints the target
 * snapshot.
 *
 * <p>Usage: {@code ColdTunedCopier ENDPOINT SOURCE_SNAPSHOT ACCESS_KEY SECRET_KEY CONCURRENCY
 * [CA_BUNDLE]}; the credentials come as arguments because this is a benchmark against ebs-local's
 * documented local key pair.
 */
public final class ColdTunedCopier {

    private ColdTunedCopier() {}

    public static void main(String[] args) throws Exception {
        Configuration c = new Configuration();
        c.set(EbsReplicationOptions.ENDPOINTS, Map.of(SOURCE, args[0], TARGET, args[0]));
        c.set(EbsReplicationOptions.ACCESS_KEY_ID, args[2]);
        c.set(EbsReplicationOptions.SECRET_ACCESS_KEY, args[3]);
        if (args.length > 5) {
            c.set(EbsReplicationOptions.CA_BUNDLE, args[5]);
        }
        SdkEbsProxyFactory factory = new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(c));
        try (EbsProxy src = factory.create(SOURCE);
                EbsProxy dst = factory.create(TARGET)) {
            Map<Integer, String> tokens = BlockListing.allBlocks(src, args[1]);
            System.out.println(
                    EndToEndCopiers.tunedCopy(
                            src, dst, args[1], tokens, Integer.parseInt(args[4])));
        }
        System.exit(0);
    }
}
