package io.ebsreplicator.job;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Starts {@code java -jar ebs-replicator.jar <command>} again with the JVM flags a one-shot run
 * wants, which a jar's manifest cannot carry: an application class-data sharing (AppCDS) archive of
 * the classes that command loads, and a JIT set-up for a short process. Runs in the first JVM,
 * before anything but this class is loaded; that JVM then only waits for the second and passes on
 * its exit status.
 *
 * <p>The archive is made by the command's first run ({@code -XX:ArchiveClassesAtExit}; that run
 * takes about ten seconds more at exit on two cores) and used by every later run of the same jar
 * ({@code -XX:SharedArchiveFile}): class loading and verification of Flink, Pekko, the AWS SDK and
 * Netty are most of the fixed cost of a cold run. Archives live in {@code ~/.cache/ebs-replicator}
 * (or {@code -Debs.launcher.cache=DIR}), one per jar (path, size, modification time) and command,
 * so a rebuilt jar makes new ones and a read-only install still gets them. A half-written archive
 * is never used: it is written under a temporary name and renamed when its run succeeded.
 *
 * <p>On Java 25 and later the archive is an AOT cache instead ({@code -XX:AOTCacheOutput}, then
 * {@code -XX:AOTCache}; JEPs 483, 514 and 515): it also holds the classes linked and the method
 * profiles of the first run, so that the JIT starts from them. The JVM assembles it in a second
 * process at the first run's exit, which takes about as long as the archive on Java 17.
 *
 * <p>The JIT set-up ({@link #JIT_FLAGS}) lets the C2 compiler wait ten times longer before it takes
 * a method: on two cores a short run's C2 compilations took about a third of its CPU, for code that
 * ran only seconds after. The methods that stay hot (SHA-256, the block copy) still reach C2 within
 * the first blocks. A JIT flag of the user's, or {@code -Debs.launcher.jit=default}, leaves the
 * JVM's own thresholds.
 *
 * <p>Nothing is relaunched under {@code flink run} (the cluster's JVM runs the command), from a
 * class path that is not this jar (tests, IDEs), for {@code serve} (long-running: the JVM's own
 * defaults suit it), or with {@code -Debs.launcher=false} (or {@code EBS_REPLICATOR_LAUNCHER=off});
 * flags the user passes to {@code java} are passed on, and an archive flag of the user's wins.
 */
public final class Relauncher {

    /** Set on the second JVM, so that it runs the command itself. */
    static final String CHILD_PROPERTY = "ebs.launcher.child";

    static final String ENABLED_PROPERTY = "ebs.launcher";
    static final String ENABLED_ENV = "EBS_REPLICATOR_LAUNCHER";
    static final String CACHE_PROPERTY = "ebs.launcher.cache";
    static final String JIT_PROPERTY = "ebs.launcher.jit";

    /** Commands that do not profit from a relaunch: long-running, or printing text only. */
    private static final Set<String> NOT_RELAUNCHED = Set.of("serve", "help", "--help", "-h");

    /**
     * JVM flags of every relaunched run. CDS messages are off: a stale or missing archive is not an
     * error (the JVM then loads classes as usual), and they would go to stdout, where the command's
     * results go.
     */
    static final List<String> RUN_FLAGS = List.of("-Xshare:auto", "-Xlog:cds*=off");

    /**
     * {@link #RUN_FLAGS} on Java 25 and later, where the cache's messages have their own tag; an
     * AOT cache refuses {@code -Xshare}, and a stale or missing one is passed over as well. The run
     * that makes the cache reports it outside the logging system, on stdout unless told otherwise.
     */
    static final List<String> AOT_RUN_FLAGS =
            List.of("-Xlog:cds*=off", "-Xlog:aot*=off", "-XX:+DisplayVMOutputToStderr");

    /**
     * Java 24 and later warn on stderr at the first {@code sun.misc.Unsafe} memory access, which
     * Pekko makes; a one-shot run's stderr is the user's progress display.
     */
    static final String ALLOW_UNSAFE = "--sun-misc-unsafe-memory-access=allow";

    /** Flags of the user's that choose an archive or cache themselves. */
    private static final List<String> USER_ARCHIVE_FLAGS =
            List.of(
                    "-XX:SharedArchiveFile",
                    "-XX:ArchiveClassesAtExit",
                    "-Xshare",
                    "-XX:AOTCache",
                    "-XX:AOTMode",
                    "-XX:AOTConfiguration");

    /**
     * The C2 (tier 4) thresholds at ten times the JVM's defaults (5000, 600, 15000, 40000).
     * Measured cold on two cores (RESULTS.md, "Cold one-shot copies"): less CPU and wall time for
     * 16 blocks, 512 MiB and 4 GiB alike.
     */
    static final List<String> JIT_FLAGS =
            List.of(
                    "-XX:Tier4InvocationThreshold=50000",
                    "-XX:Tier4MinInvocationThreshold=6000",
                    "-XX:Tier4CompileThreshold=150000",
                    "-XX:Tier4BackEdgeThreshold=400000");

    /**
     * User flags that set up the JIT themselves; with any of them, {@link #JIT_FLAGS} are left out.
     */
    private static final List<String> USER_JIT_FLAGS =
            List.of(
                    "-XX:Tier",
                    "-XX:+TieredCompilation",
                    "-XX:-TieredCompilation",
                    "-XX:CompileThreshold",
                    "-Xint",
                    "-Xcomp");

    private Relauncher() {}

    /**
     * Runs the command in a second JVM if this one should hand it over; returns that JVM's exit
     * status, or empty when this JVM runs the command itself.
     */
    static OptionalInt relaunch(String[] args) {
        Optional<Plan> plan = plan(args, System.getenv());
        if (plan.isEmpty()) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(plan.get().run());
        } catch (IOException e) {
            // The command runs here instead, just without the archive.
            return OptionalInt.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalInt.of(130);
        }
    }

    /** What to start, or empty when this JVM runs the command itself. */
    static Optional<Plan> plan(String[] args, Map<String, String> env) {
        if (args.length == 0
                || NOT_RELAUNCHED.contains(args[0])
                || Boolean.getBoolean(CHILD_PROPERTY)
                || "false".equalsIgnoreCase(System.getProperty(ENABLED_PROPERTY, "true"))
                || "off".equalsIgnoreCase(env.getOrDefault(ENABLED_ENV, "on"))) {
            return Optional.empty();
        }
        Optional<Path> jar = runningJar();
        Optional<String> java = ProcessHandle.current().info().command();
        Optional<String[]> commandLine = ProcessHandle.current().info().arguments();
        if (jar.isEmpty() || java.isEmpty() || commandLine.isEmpty()) {
            return Optional.empty();
        }
        Optional<List<String>> jvmFlags = jvmFlags(commandLine.get(), jar.get());
        if (jvmFlags.isEmpty()) {
            return Optional.empty();
        }
        Path cache =
                Path.of(
                        System.getProperty(
                                CACHE_PROPERTY,
                                Path.of(System.getProperty("user.home"), ".cache", "ebs-replicator")
                                        .toString()));
        int javaFeature = Runtime.version().feature();
        Path archive;
        try {
            archive = cache.resolve(archiveName(jar.get(), args[0], javaFeature));
        } catch (IOException e) {
            return Optional.empty();
        }
        boolean tuneJit =
                !"default".equalsIgnoreCase(System.getProperty(JIT_PROPERTY, "short-run"));
        return Optional.of(
                new Plan(
                        java.get(),
                        jvmFlags.get(),
                        jar.get(),
                        archive,
                        args,
                        tuneJit,
                        javaFeature));
    }

    /**
     * The flags given to {@code java} before {@code -jar}, if this JVM was started as {@code java
     * [flags] -jar <this jar> ...}; empty otherwise.
     */
    static Optional<List<String>> jvmFlags(String[] commandLine, Path jar) {
        List<String> flags = new ArrayList<>();
        for (int i = 0; i < commandLine.length; i++) {
            if ("-jar".equals(commandLine[i])) {
                boolean thisJar =
                        i + 1 < commandLine.length
                                && Path.of(commandLine[i + 1])
                                        .toAbsolutePath()
                                        .normalize()
                                        .equals(jar);
                return thisJar ? Optional.of(flags) : Optional.empty();
            }
            flags.add(commandLine[i]);
        }
        return Optional.empty();
    }

    /** The jar this class was loaded from, when the class path is that jar alone. */
    private static Optional<Path> runningJar() {
        String classPath = System.getProperty("java.class.path", "");
        if (!classPath.endsWith(".jar") || classPath.contains(java.io.File.pathSeparator)) {
            return Optional.empty();
        }
        Path jar = Path.of(classPath).toAbsolutePath().normalize();
        return Files.isRegularFile(jar) ? Optional.of(jar) : Optional.empty();
    }

    /**
     * One archive per jar, command and Java version: an archive only serves the jar file it was
     * made from (the JVM checks its size and time) and the JVM that made it, and each command loads
     * its own classes. The name starts with the command, the jar's path and the Java version, so
     * that a jar rebuilt in place replaces its archives for that Java.
     */
    static String archiveName(Path jar, String command, int javaFeature) throws IOException {
        BasicFileAttributes a = Files.readAttributes(jar, BasicFileAttributes.class);
        String build = a.size() + "|" + a.lastModifiedTime().toMillis() + "|" + javaVersion();
        return String.format(
                Locale.ROOT,
                "%s%08x%s",
                archivePrefix(jar, command, javaFeature),
                hash(build),
                archiveSuffix(javaFeature));
    }

    /** What the names of every archive of this jar path, command and Java version start with. */
    static String archivePrefix(Path jar, String command, int javaFeature) {
        return commandAndJar(jar, command) + "java" + javaFeature + "-";
    }

    /**
     * Globs of the archives a new one of this jar path, command and Java version replaces: those of
     * earlier builds, and those named before archive names carried the Java version ({@code
     * <command>-<jar path hash>-<build hash>.jsa}).
     */
    static List<String> replacedArchives(Path jar, String command, int javaFeature) {
        return List.of(
                archivePrefix(jar, command, javaFeature) + "*" + archiveSuffix(javaFeature),
                commandAndJar(jar, command) + "????????.jsa");
    }

    private static String commandAndJar(Path jar, String command) {
        String safeCommand = command.replaceAll("[^A-Za-z0-9-]", "_");
        return String.format(Locale.ROOT, "%s-%08x-", safeCommand, hash(jar.toString()));
    }

    /**
     * The archive flags of a relaunched JVM on Java {@code javaFeature}: use {@code archive}, or,
     * with {@code make}, write it at exit. Public, with {@link #jitFlags}, so that the cold-start
     * benchmark can start a copier of its own the way a one-shot command is started.
     */
    public static List<String> archiveFlags(int javaFeature, Path archive, boolean make) {
        boolean aot = usesAotCache(javaFeature);
        List<String> flags = new ArrayList<>(aot ? AOT_RUN_FLAGS : RUN_FLAGS);
        String flag =
                make
                        ? (aot ? "-XX:AOTCacheOutput=" : "-XX:ArchiveClassesAtExit=")
                        : (aot ? "-XX:AOTCache=" : "-XX:SharedArchiveFile=");
        flags.add(flag + archive);
        return flags;
    }

    /** The JIT set-up of a relaunched JVM ({@link #JIT_FLAGS}). */
    public static List<String> jitFlags() {
        return JIT_FLAGS;
    }

    /** An AOT cache from Java 25 on, a class-data sharing archive before. */
    static boolean usesAotCache(int javaFeature) {
        return javaFeature >= 25;
    }

    static String archiveSuffix(int javaFeature) {
        return usesAotCache(javaFeature) ? ".aot" : ".jsa";
    }

    private static long hash(String s) {
        return s.hashCode() & 0xffffffffL;
    }

    private static String javaVersion() {
        return System.getProperty("java.vm.version", "") + System.getProperty("java.home", "");
    }

    /**
     * The second JVM to start: its command line, the archive it uses or makes, whether it gets
     * {@link #JIT_FLAGS}, and the Java version it runs on (the first JVM's: the same {@code java}).
     */
    record Plan(
            String java,
            List<String> userFlags,
            Path jar,
            Path archive,
            String[] args,
            boolean tuneJit,
            int javaFeature) {

        /** Whether the archive is there to use; otherwise this run makes it. */
        boolean archiveReady() {
            return Files.isRegularFile(archive);
        }

        /** The second JVM's command line; {@code making} names the archive it writes at exit. */
        List<String> command(Path making) {
            List<String> cmd = new ArrayList<>();
            cmd.add(java);
            if (!userSetsAny(USER_ARCHIVE_FLAGS)) {
                cmd.addAll(
                        making == null
                                ? archiveFlags(javaFeature, archive, false)
                                : archiveFlags(javaFeature, making, true));
            }
            if (javaFeature >= 24 && !userSetsAny(List.of("--sun-misc-unsafe-memory-access"))) {
                cmd.add(ALLOW_UNSAFE);
            }
            if (tuneJit && !userSetsAny(USER_JIT_FLAGS)) {
                cmd.addAll(JIT_FLAGS);
            }
            cmd.addAll(userFlags);
            cmd.add("-D" + CHILD_PROPERTY + "=true");
            cmd.add("-jar");
            cmd.add(jar.toString());
            cmd.addAll(List.of(args));
            return cmd;
        }

        /** Whether a flag of the user's starts with one of {@code prefixes}. */
        private boolean userSetsAny(List<String> prefixes) {
            return userFlags.stream().anyMatch(f -> prefixes.stream().anyMatch(f::startsWith));
        }

        /** Starts the second JVM, waits for it and returns its exit status. */
        int run() throws IOException, InterruptedException {
            Path making = null;
            if (!archiveReady()) {
                Files.createDirectories(archive.getParent());
                making =
                        archive.resolveSibling(
                                archive.getFileName() + "." + ProcessHandle.current().pid());
            }
            Process child = new ProcessBuilder(command(making)).inheritIO().start();
            // Ctrl-C reaches both JVMs; a kill of this one must not leave the other running.
            Thread stop = new Thread(child::destroy, "stop-relaunched");
            Runtime.getRuntime().addShutdownHook(stop);
            int status = child.waitFor();
            if (making != null) {
                keep(making, status);
            }
            return status;
        }

        /**
         * Publishes an archive made by a successful run under its final name, in place of those of
         * earlier builds of the jar; drops it otherwise.
         */
        private void keep(Path made, int status) {
            try {
                if (status != 0 || !Files.isRegularFile(made) || Files.size(made) == 0) {
                    Files.deleteIfExists(made);
                    return;
                }
                Files.move(
                        made,
                        archive,
                        StandardCopyOption.ATOMIC_MOVE,
                        StandardCopyOption.REPLACE_EXISTING);
                for (String glob : replacedArchives(jar, args[0], javaFeature)) {
                    try (var earlier = Files.newDirectoryStream(archive.getParent(), glob)) {
                        for (Path p : earlier) {
                            if (!p.equals(archive)) {
                                Files.deleteIfExists(p);
                            }
                        }
                    }
                }
            } catch (IOException e) {
                // Without an archive the next run makes one again.
            }
        }
    }
}
