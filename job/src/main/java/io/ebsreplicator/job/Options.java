package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;

import org.apache.flink.configuration.Configuration;

import java.net.URI;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;

/** Builds the connector configuration from command-line flags. Runs in the client. */
final class Options {

    private Options() {}

    /**
     * The configuration: {@code -D} pairs first, then endpoint overrides for the source and target
     * regions from {@code --source-endpoint} / {@code --target-endpoint}.
     */
    static Configuration connectorOptions(
            Flags flags, String sourceRegion, Collection<String> targetRegions) {
        Configuration c = Configuration.fromMap(flags.dynamicProperties());
        Map<String, String> endpoints = new LinkedHashMap<>(c.get(EbsReplicationOptions.ENDPOINTS));
        String source = flags.get("--source-endpoint");
        if (source != null) {
            endpoints.put(sourceRegion, checkUrl(source, "--source-endpoint"));
        }
        String target = flags.get("--target-endpoint");
        if (target != null) {
            for (String r : targetRegions) {
                endpoints.put(r, checkUrl(target, "--target-endpoint"));
            }
        }
        c.set(EbsReplicationOptions.ENDPOINTS, endpoints);
        if (flags.has("--max-in-flight")) {
            c.set(EbsReplicationOptions.MAX_IN_FLIGHT, flags.intValue("--max-in-flight", 32));
        }
        if (flags.has("--verify")) {
            c.set(EbsReplicationOptions.VERIFY, true);
        }
        return c;
    }

    private static String checkUrl(String url, String flag) {
        try {
            URI u = URI.create(url);
            if (u.getScheme() == null || u.getHost() == null) {
                throw new IllegalArgumentException();
            }
            return url;
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(
                    flag + " needs a URL such as http://127.0.0.1:4566, not '" + url + "'");
        }
    }
}
