package io.ebsreplicator.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * CPU time of this JVM's own service threads, read from {@code /proc/self/task}: the JIT compiler
 * and the garbage collector are not Java threads, so the MXBeans cannot report their CPU, and the
 * JIT's "total compilation time" is elapsed time, which on busy cores counts waiting as compiling.
 * Linux only; elsewhere every figure is 0. Threads that exited take their CPU with them: run with
 * {@code -XX:-UseDynamicNumberOfCompilerThreads} so that the compiler threads stay.
 */
final class JvmThreadCpu {

    private static final Path TASKS = Path.of("/proc/self/task");

    /** Clock ticks per second of {@code /proc}'s CPU times (USER_HZ, 100 on Linux). */
    private static final long TICKS = ticks();

    private JvmThreadCpu() {}

    /** CPU nanoseconds of the JIT compiler threads (C1, C2) and the code sweeper. */
    static long jitNanos() {
        return sum("C1 CompilerThre", "C2 CompilerThre", "Sweeper thread");
    }

    /**
     * CPU nanoseconds of the garbage collector's threads and the VM thread that runs its pauses.
     */
    static long gcNanos() {
        return sum("GC Thread", "G1 ", "VM Thread");
    }

    private static long sum(String... prefixes) {
        if (!Files.isDirectory(TASKS)) {
            return 0;
        }
        long ticks = 0;
        try (Stream<Path> tasks = Files.list(TASKS)) {
            for (Path task : (Iterable<Path>) tasks::iterator) {
                try {
                    String stat = Files.readString(task.resolve("stat"));
                    // pid (comm) state ...: comm may hold spaces and parentheses, so cut at the
                    // last ')'.
                    int open = stat.indexOf('(');
                    int close = stat.lastIndexOf(')');
                    String comm = stat.substring(open + 1, close);
                    boolean match = false;
                    for (String p : prefixes) {
                        match |= comm.startsWith(p);
                    }
                    if (match) {
                        String[] f = stat.substring(close + 2).split(" ");
                        // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the state.
                        ticks += Long.parseLong(f[11]) + Long.parseLong(f[12]);
                    }
                } catch (IOException | RuntimeException e) {
                    // The thread exited while we looked: its CPU is gone with it.
                }
            }
        } catch (IOException e) {
            return 0;
        }
        return ticks * 1_000_000_000L / TICKS;
    }

    private static long ticks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes()).trim();
            p.waitFor();
            return Long.parseLong(out);
        } catch (Exception e) {
            return 100;
        }
    }
}
