package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.service.Quotas;

import java.io.PrintStream;
import java.nio.file.Path;
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
                    "A faithful EBS direct API endpoint (plus EC2 DescribeSnapshots) for local use.",
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
                    "  --seal-delay DUR       pending time after CompleteSnapshot (default 500ms)",
                    "  --block-token-ttl DUR  block token lifetime (default 7d)",
                    "  --page-token-ttl DUR   NextToken lifetime (default 1h)",
                    "  --quota-scale F        multiply every request-rate quota by F (default 1)",
                    "  --pending-limit N      pending snapshots per account (default 100)",
                    "  --no-quotas            disable rate and pending-snapshot quotas",
                    "  --fsync                force every acknowledged write to the device",
                    "  --help                 this text",
                    "",
                    "Durations: 250ms, 30s, 10m, 2h, 7d.");

    private EbsLocalMain() {}

    public static void main(String[] args) throws Exception {
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
        EbsLocalServer server = EbsLocalServer.start(config);
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
                        case "--seal-delay" -> b.sealDelay(parseDuration(a, v));
                        case "--block-token-ttl" -> b.blockTokenTtl(parseDuration(a, v));
                        case "--page-token-ttl" -> b.pageTokenTtl(parseDuration(a, v));
                        case "--quota-scale" -> scale = Double.parseDouble(v);
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

    static Duration parseDuration(String option, String v) {
        var m = java.util.regex.Pattern.compile("^(\\d+)(ms|s|m|h|d)$").matcher(v.trim());
        if (!m.matches()) {
            throw new IllegalArgumentException(
                    option
                            + " needs a duration such as 250ms, 30s, 10m, 2h or 7d, not '"
                            + v
                            + "'");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }
}
