package io.ebsreplicator.job;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.OptionalInt;

/**
 * The command line: {@code replicate}, {@code verify} and {@code demo}; the long-running {@code
 * serve}; and the Kafka operator tools {@code request}, {@code results} and {@code topics}. The
 * same entry point runs under {@code java -jar ebs-replicator.jar} (an embedded Flink) and under
 * {@code flink run ebs-replicator-job.jar} (the cluster). Exit status: 0 success, 1 a target failed
 * or differs, 2 a usage error.
 */
public final class EbsReplicatorCli {

    static final String USAGE =
            String.join(
                    "\n",
                    "ebs-replicator: disaster-recovery replication of EBS snapshots across regions",
                    "",
                    "Usage: java -jar ebs-replicator.jar <command> [options]",
                    "       flink run ebs-replicator-job.jar <command> [options]",
                    "",
                    "Commands:",
                    "  replicate   copy a snapshot (in full, or incrementally from a base) to other regions",
                    "  verify      compare two snapshots block by block",
                    "  demo        run ebs-local, build a lineage and replicate it, all in this process",
                    "  serve       the long-running job: requests from Kafka, results and dead letters to Kafka",
                    "  request     publish a replication request to the requests topic (Kafka, Avro)",
                    "  results     print the results from the results topic as JSON lines",
                    "  topics      create (or check) the requests, results, dead-letter and lifecycle topics",
                    "  status      per lineage and region of a DR policy: the newest copy, its age, its RPO",
                    "  help        this text; 'help <command>' for a command's options");

    private EbsReplicatorCli() {}

    public static void main(String[] args) {
        OptionalInt relaunched = Relauncher.relaunch(args);
        int status =
                relaunched.isPresent() ? relaunched.getAsInt() : run(args, System.out, System.err);
        System.exit(status);
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            err.println(USAGE);
            return 2;
        }
        String command = args[0];
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (command) {
                case "replicate" -> ReplicateCommand.run(rest, out, err);
                case "verify" -> VerifyCommand.run(rest, out, err);
                case "demo" -> DemoCommand.run(rest, out, err);
                case "serve" -> ServeCommand.run(rest, out, err);
                case "request" -> RequestCommand.run(rest, out, err);
                case "results" -> ResultsCommand.run(rest, out, err);
                case "topics" -> TopicsCommand.run(rest, out, err);
                case "status" -> StatusCommand.run(rest, out, err);
                case "help", "--help", "-h" -> {
                    out.println(rest.length == 0 ? USAGE : usage(rest[0]));
                    yield 0;
                }
                default -> {
                    err.println("Unknown command '" + command + "'\n\n" + USAGE);
                    yield 2;
                }
            };
        } catch (Flags.UsageException | IllegalArgumentException e) {
            err.println(
                    "ebs-replicator " + command + ": " + e.getMessage() + "\n\n" + usage(command));
            return 2;
        } catch (Throwable e) {
            // Reported and turned into a status, so that main always exits: a command that failed
            // half way may leave threads behind (an embedded Flink's) that would keep the JVM up.
            Throwable root = e;
            while (root.getCause() != null && root.getCause() != root) {
                root = root.getCause();
            }
            err.println("ebs-replicator " + command + ": failed: " + root);
            e.printStackTrace(err);
            return 1;
        }
    }

    private static String usage(String command) {
        return switch (command) {
            case "replicate" -> ReplicateCommand.USAGE;
            case "verify" -> VerifyCommand.USAGE;
            case "demo" -> DemoCommand.USAGE;
            case "serve" -> ServeCommand.USAGE;
            case "request" -> RequestCommand.USAGE;
            case "results" -> ResultsCommand.USAGE;
            case "topics" -> TopicsCommand.USAGE;
            case "status" -> StatusCommand.USAGE;
            default -> USAGE;
        };
    }
}
