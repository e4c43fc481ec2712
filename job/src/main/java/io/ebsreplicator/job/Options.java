package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;

import org.apache.flink.configuration.Configuration;

import java.net.URI;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Builds the connector configuration from command-line flags. Runs in the client. */
final class Options {

    /** The flags of assumed roles, shared by {@code replicate} and {@code serve}. */
    static final Set<String> ROLE_FLAGS =
            Set.of(
                    "--source-role-arn",
                    "--target-role-arn",
                    "--role-external-id",
                    "--role-session-name",
                    "--allowed-role-arn",
                    "--sts-endpoint");

    /** Their usage lines. */
    static final String ROLE_USAGE =
            String.join(
                    "\n",
                    "Roles: [--source-role-arn ARN] [--target-role-arn REGION=ARN ...] [--role-external-id ID]",
                    "       [--role-session-name NAME] [--allowed-role-arn ARN|PREFIX*|* ...] [--sts-endpoint URL]",
                    "       The job assumes these roles (through STS, with its own credentials) to read the source",
                    "       and to write each target region, e.g. in a separate DR account; a request may name a",
                    "       target's role (targets[].roleArn) only if it is that region's or on the allow-list.");

    private Options() {}

    /** Sets the role options from their flags, over any {@code -D} values. */
    static void roles(Flags flags, Configuration c) {
        if (flags.has("--source-role-arn")) {
            c.set(EbsReplicationOptions.SOURCE_ROLE_ARN, flags.get("--source-role-arn"));
        }
        if (flags.has("--target-role-arn")) {
            List<String> targets = new ArrayList<>(c.get(EbsReplicationOptions.TARGET_ROLE_ARNS));
            targets.addAll(flags.all("--target-role-arn"));
            c.set(EbsReplicationOptions.TARGET_ROLE_ARNS, targets);
        }
        if (flags.has("--role-external-id")) {
            c.set(EbsReplicationOptions.ROLE_EXTERNAL_ID, flags.get("--role-external-id"));
        }
        if (flags.has("--role-session-name")) {
            c.set(EbsReplicationOptions.ROLE_SESSION_NAME, flags.get("--role-session-name"));
        }
        if (flags.has("--allowed-role-arn")) {
            List<String> allowed = new ArrayList<>(c.get(EbsReplicationOptions.ALLOWED_ROLE_ARNS));
            allowed.addAll(flags.all("--allowed-role-arn"));
            c.set(EbsReplicationOptions.ALLOWED_ROLE_ARNS, allowed);
        }
        if (flags.has("--sts-endpoint")) {
            c.set(
                    EbsReplicationOptions.STS_ENDPOINT,
                    checkUrl(flags.get("--sts-endpoint"), "--sts-endpoint"));
        }
        try {
            // Every mistake in a role is a usage error now, not a failing job later.
            EbsProxyConfig.fromConfiguration(c);
        } catch (IllegalArgumentException e) {
            throw new Flags.UsageException(e.getMessage());
        }
    }

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
        roles(flags, c);
        return c;
    }

    static String checkUrl(String url, String flag) {
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
