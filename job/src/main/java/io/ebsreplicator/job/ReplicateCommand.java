package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.source.EbsLineageSource;

import org.apache.flink.configuration.Configuration;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;

/** {@code replicate}: copies one snapshot to one or more regions as a bounded job. */
final class ReplicateCommand {

    static final String USAGE =
            String.join(
                    "\n",
                    "Usage: replicate --source-region R --source-snapshot snap-B --target-region R2 [--target-region R3 ...]",
                    "                 [--base-snapshot snap-A --target-parent snap-A2 | --target-parent R2=snap-A2 ...]",
                    "                 [--source-endpoint URL] [--target-endpoint URL] [--kms-key-arn ARN]",
                    "                 [--tag k=v ...] [--description D] [--parallelism N] [--max-in-flight N]",
                    "                 [--verify] [--request-id ID] [--checkpoint-interval 10s]",
                    "                 [--checkpoint-dir URI] [-D key=value ...]",
                    Options.ROLE_USAGE,
                    "",
                    "Copies snap-B in full, or incrementally (the blocks changed since snap-A written onto",
                    "snap-A2, the target's copy of snap-A). Credentials come from the AWS default provider",
                    "chain unless -D ebs.credentials.access-key-id=... is given. Prints one JSON object per",
                    "target; exits 1 if any target failed. Re-running with the same --request-id resumes",
                    "the same target snapshots. Restarts: exponential delay up to 2 min, no attempt limit,",
                    "unless the cluster's configuration or -D restart-strategy.*=... names another.");

    private static final Set<String> WITH_VALUE =
            Flags.union(
                    Options.ROLE_FLAGS,
                    Set.of(
                            "--source-region",
                            "--source-snapshot",
                            "--base-snapshot",
                            "--target-parent",
                            "--target-region",
                            "--source-endpoint",
                            "--target-endpoint",
                            "--kms-key-arn",
                            "--tag",
                            "--description",
                            "--parallelism",
                            "--max-in-flight",
                            "--request-id",
                            "--checkpoint-interval",
                            "--checkpoint-dir"));
    private static final Set<String> SWITCHES = Set.of("--verify");

    private ReplicateCommand() {}

    static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
        Flags flags = Flags.parse(args, WITH_VALUE, SWITCHES);
        ReplicationRequest request = request(flags);
        EbsLineageSource.validate(request);
        List<String> regions = request.targets().stream().map(ReplicationTarget::region).toList();
        Configuration options = Options.connectorOptions(flags, request.sourceRegion(), regions);
        Replication.JobSettings settings =
                new Replication.JobSettings(
                        flags.intValue("--parallelism", 0),
                        flags.duration("--checkpoint-interval", Duration.ofSeconds(10)),
                        flags.get("--checkpoint-dir"),
                        RestartPolicy.fromDynamicProperties(flags.dynamicProperties()));
        List<ReplicationResult> results = Replication.run(List.of(request), options, settings, err);
        return print(results, regions.size(), out);
    }

    /** Prints one JSON line per result; the exit status is 0 only if every target completed. */
    static int print(List<ReplicationResult> results, int expected, PrintStream out) {
        boolean ok = results.size() == expected;
        for (ReplicationResult r : results) {
            out.println(r.toJson());
            ok &= r.succeeded();
        }
        out.flush();
        return ok ? 0 : 1;
    }

    static ReplicationRequest request(Flags flags) {
        String sourceRegion = flags.require("--source-region");
        String sourceSnapshot = flags.require("--source-snapshot");
        String base = flags.get("--base-snapshot");
        List<String> targetRegions = flags.all("--target-region");
        if (targetRegions.isEmpty()) {
            throw new Flags.UsageException("--target-region is required");
        }
        Map<String, String> parents = new LinkedHashMap<>();
        for (String p : flags.all("--target-parent")) {
            int eq = p.indexOf('=');
            if (eq > 0) {
                parents.put(p.substring(0, eq), p.substring(eq + 1));
            } else if (targetRegions.size() == 1) {
                parents.put(targetRegions.get(0), p);
            } else {
                throw new Flags.UsageException(
                        "With several target regions, give --target-parent REGION=snap-... for each");
            }
        }
        Map<String, String> tags = flags.pairs("--tag");
        List<ReplicationTarget> targets = new ArrayList<>();
        for (String r : targetRegions) {
            targets.add(
                    new ReplicationTarget(
                            r,
                            parents.get(r),
                            flags.get("--kms-key-arn"),
                            tags,
                            flags.get("--description")));
        }
        String id = flags.get("--request-id");
        return new ReplicationRequest(
                id == null ? UUID.randomUUID().toString() : id,
                sourceRegion,
                sourceSnapshot,
                base,
                targets,
                null,
                false,
                Map.of(),
                ReplicationRequest.NO_DEADLINE,
                0);
    }
}
