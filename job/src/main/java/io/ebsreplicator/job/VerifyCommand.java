package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.EbsProxyConfig;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;

import org.apache.flink.configuration.Configuration;

import java.io.PrintStream;
import java.util.List;
import java.util.Set;

/** {@code verify}: compares a source and a target snapshot block by block. Runs in the client. */
final class VerifyCommand {

    static final String USAGE =
            String.join(
                    "\n",
                    "Usage: verify --source-region R --source-snapshot S --target-region R2 --target-snapshot T",
                    "              [--source-endpoint URL] [--target-endpoint URL] [-D key=value ...]",
                    "",
                    "Lists both snapshots, reads every block of both and compares their SHA-256. Prints one",
                    "JSON object with the differences (the first 20 of each kind); exits 1 if they differ.");

    private static final Set<String> WITH_VALUE =
            Set.of(
                    "--source-region",
                    "--source-snapshot",
                    "--target-region",
                    "--target-snapshot",
                    "--source-endpoint",
                    "--target-endpoint");

    private VerifyCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags flags = Flags.parse(args, WITH_VALUE, Set.of());
        String sourceRegion = flags.require("--source-region");
        String targetRegion = flags.require("--target-region");
        Configuration options =
                Options.connectorOptions(flags, sourceRegion, List.of(targetRegion));
        SdkEbsProxyFactory factory =
                new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(options));
        try (EbsProxy source = factory.create(sourceRegion);
                EbsProxy target = factory.create(targetRegion)) {
            SnapshotComparison.Report report =
                    SnapshotComparison.compare(
                            source,
                            flags.require("--source-snapshot"),
                            target,
                            flags.require("--target-snapshot"));
            out.println(report.toJson());
            err.println(
                    report.identical()
                            ? "Identical: " + report.sourceBlocks() + " blocks"
                            : "DIFFERENT: see the JSON above");
            return report.identical() ? 0 : 1;
        }
    }
}
