package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.auth.Role;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.service.DataDirCheck;
import io.ebsreplicator.local.service.Quotas;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;

/**
 * The command line: {@code java -jar ebs-local.jar --port P --data-dir D [--regions a,b] [--tls]
 * [--faults FILE] ...}. Prints one line {@code ebs-local listening on URL ...} once it serves, and
 * serves until killed.
 */
public final class EbsLocalMain {

    static final String USAGE =
            String.join(
                    "\n",
                    "Usage: java -jar ebs-local.jar [options]",
                    "",
                    "A faithful EBS direct API endpoint for local use, with EC2 DescribeSnapshots and",
                    "DeleteSnapshot, and STS AssumeRole (all on the same port).",
                    "",
                    "  --port P               port to listen on; 0 picks a free one (default 0)",
                    "  --host H               address to bind (default 127.0.0.1)",
                    "  --data-dir D           persist to directory D (default: in memory, lost on exit)",
                    "  --regions a,b          regions to serve (default us-east-1,us-west-2)",
                    "  --tls                  serve HTTPS with a self-signed certificate",
                    "  --faults FILE          fault profile (JSON), see the README",
                    "  --key AK:SECRET[:ACCT] accept this key pair (repeatable; default: the documented",
                    "                         local pair AKIAEBSLOCAL00000000 / "
                            + AccessKey.DEFAULT.secretAccessKey()
                            + ")",
                    "  --role ARN:ACCT[:EXTERNAL_ID]",
                    "                         a role STS AssumeRole lets every key assume (repeatable),",
                    "                         e.g. arn:aws:iam::222222222222:role/dr:222222222222:ext-1;",
                    "                         the ARN ends at its sixth colon, the external id may",
                    "                         hold colons; sessions act as ACCT (the ARN's account)",
                    "  --sts-max-session DUR  cap the lifetime of issued session credentials",
                    "                         (default: none, DurationSeconds as asked, 1h if not)",
                    "  --seal-delay DUR       pending time after CompleteSnapshot (default 500ms)",
                    "  --block-token-ttl DUR  block token lifetime (default 7d)",
                    "  --page-token-ttl DUR   NextToken lifetime (default 1h)",
                    "  --quota-scale F        multiply every request-rate quota by F (default 1)",
                    "  --pending-limit N      pending snapshots per account (default 100)",
                    "  --no-quotas            disable rate and pending-snapshot quotas",
                    "  --fsync                force every acknowledged write to the device",
                    "  --header-timeout DUR   time for a request head to arrive (default 20s)",
                    "  --write-timeout DUR    time a request body may stall (default 60s)",
                    "  --idle-timeout DUR     time a kept-alive connection may sit idle (default 120s)",
                    "  --max-connections N    connections open at once, more are refused (default 4096)",
                    "  --max-unauthenticated-bytes SIZE",
                    "                         body bytes held before their signature is checked,",
                    "                         across all connections (default 64m)",
                    "  --compact-ratio F      compact the journal at F times the state (default 4)",
                    "  --compact-min SIZE     never compact a smaller journal (default 64m)",
                    "  --salvage              start on a journal damaged in the middle: keep every",
                    "                         intact record, move the damaged journal aside",
                    "  --check DIR            check the data directory DIR offline and exit:",
                    "                         0 no damage, 1 damage found (listed), 2 cannot check",
                    "  --help                 this text",
                    "",
                    "Durations (as Flink writes them): 250ms, 30s, 2min, 2 min, 2h, 7d. Sizes: 4096, 64k, 64m, 1g.");

    private EbsLocalMain() {}

    public static void main(String[] args) throws Exception {
        if (args.length > 0 && args[0].equals("--check")) {
            System.exit(check(args));
            return;
        }
        EbsLocalConfig config;
        try {
            config = parse(args, System.out);
        } catch (IllegalArgumentException e) {
            System.err.println("ebs-local: " + e.getMessage());
            System.err.println();
            System.err.println(USAGE);
            System.exit(2);
            return;
        }
        if (config == null) {
            return;
        }
        EbsLocalServer server;
        try {
            server = EbsLocalServer.start(config);
        } catch (IOException e) {
            System.err.println("ebs-local: " + e.getMessage());
            System.exit(1);
            return;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(
                        new Thread(
                                () -> {
                                    server.close();
                                    stopped.countDown();
                                },
                                "ebs-local-shutdown"));
        StringBuilder line = new StringBuilder("ebs-local listening on ").append(server.endpoint());
        line.append(" regions=").append(String.join(",", config.regions));
        line.append(" data-dir=").append(config.dataDir == null ? "(memory)" : config.dataDir);
        if (server.certificatePem() != null) {
            line.append(" ca-bundle=").append(server.certificatePem());
        }
        System.out.println(line);
        System.out.flush();
        stopped.await();
    }

    /** Parses the arguments; returns {@code null} after printing help. */
    static EbsLocalConfig parse(String[] args, PrintStream out) {
        EbsLocalConfig.Builder b = EbsLocalConfig.builder();
        Quotas quotas = Quotas.defaults();
        double scale = 1;
        Integer pending = null;
        boolean noQuotas = false;
        List<String> list = Arrays.asList(args);
        for (int i = 0; i < list.size(); i++) {
            String a = list.get(i);
            switch (a) {
                case "--help", "-h" -> {
                    out.println(USAGE);
                    return null;
                }
                case "--tls" -> b.tls(true);
                case "--fsync" -> b.fsync(true);
                case "--salvage" -> b.salvage(true);
                case "--no-quotas" -> noQuotas = true;
                default -> {
                    if (!a.startsWith("--")) {
                        throw new IllegalArgumentException("Unexpected argument '" + a + "'");
                    }
                    if (i + 1 >= list.size()) {
                        throw new IllegalArgumentException(a + " needs a value");
                    }
                    String v = list.get(++i);
                    switch (a) {
                        case "--port" -> b.port(parseInt(a, v));
                        case "--host" -> b.host(v);
                        case "--data-dir" -> b.dataDir(Path.of(v));
                        case "--regions" -> b.regions(Arrays.asList(v.split(",")));
                        case "--faults" -> {
                            try {
                                b.faults(FaultProfile.fromJson(Path.of(v)));
                            } catch (Exception e) {
                                throw new IllegalArgumentException(
                                        "Cannot read the fault profile "
                                                + v
                                                + ": "
                                                + e.getMessage());
                            }
                        }
                        case "--key" -> b.addKey(AccessKey.parse(v));
                        case "--role" -> b.addRole(Role.parse(v));
                        case "--sts-max-session" -> b.stsMaxSession(parseDuration(a, v));
                        case "--seal-delay" -> b.sealDelay(parseDuration(a, v));
                        case "--block-token-ttl" -> b.blockTokenTtl(parseDuration(a, v));
                        case "--page-token-ttl" -> b.pageTokenTtl(parseDuration(a, v));
                        case "--quota-scale" -> scale = Double.parseDouble(v);
                        case "--header-timeout" -> b.headerTimeout(parseDuration(a, v));
                        case "--write-timeout" -> b.writeTimeout(parseDuration(a, v));
                        case "--idle-timeout" -> b.idleTimeout(parseDuration(a, v));
                        case "--max-connections" -> b.maxConnections(parseInt(a, v));
                        case "--max-unauthenticated-bytes" ->
                                b.maxUnauthenticatedBytes(parseSize(a, v));
                        case "--compact-ratio" -> b.journalCompactionRatio(parseDouble(a, v));
                        case "--compact-min" -> b.journalCompactionMinBytes(parseSize(a, v));
                        case "--check" ->
                                throw new IllegalArgumentException(
                                        "--check DIR runs alone, not with other options");
                        case "--pending-limit" -> pending = parseInt(a, v);
                        default -> throw new IllegalArgumentException("Unknown option " + a);
                    }
                }
            }
        }
        if (noQuotas) {
            quotas = Quotas.unlimited();
        } else {
            quotas = quotas.scaled(scale);
            if (pending != null) {
                quotas = quotas.withPendingSnapshotsPerAccount(pending);
            }
        }
        return b.quotas(quotas).build();
    }

    private static int parseInt(String option, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs an integer, not '" + v + "'");
        }
    }

    /** {@code --check DIR}: the offline scrub; returns the exit code. */
    static int check(String[] args) {
        if (args.length != 2) {
            System.err.println("ebs-local: --check needs exactly one data directory");
            return 2;
        }
        Path dir = Path.of(args[1]);
        if (!Files.isDirectory(dir)) {
            System.err.println("ebs-local: " + dir + " is not a directory");
            return 2;
        }
        // A running server changes the directory under the check: refuse rather than misreport.
        try (FileChannel ch =
                FileChannel.open(
                        dir.resolve("ebs-local.lock"),
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE)) {
            FileLock lock = ch.tryLock();
            if (lock == null) {
                System.err.println(
                        "ebs-local: a server is using " + dir + "; stop it before checking");
                return 2;
            }
            System.out.println("ebs-local check of " + dir);
            int problems = DataDirCheck.run(dir, System.out);
            return problems == 0 ? 0 : 1;
        } catch (IOException e) {
            System.err.println("ebs-local: cannot check " + dir + ": " + e.getMessage());
            return 2;
        }
    }

    private static double parseDouble(String option, String v) {
        try {
            return Double.parseDouble(v);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + " needs a number, not '" + v + "'");
        }
    }

    static long parseSize(String option, String v) {
        var m = java.util.regex.Pattern.compile("^(\\d+)([kmg]?)$").matcher(v.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    option + " needs a size such as 4096, 64k, 64m or 1g, not '" + v + "'");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "k" -> n << 10;
            case "m" -> n << 20;
            case "g" -> n << 30;
            default -> n;
        };
    }

    static Duration parseDuration(String option, String v) {
        try {
            return Durations.parse(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage());
        }
    }
}
