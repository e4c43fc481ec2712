package io.ebsreplicator.benchmarks;

import io.ebsreplicator.benchmarks.EndToEndBenchmark.Result;
import io.ebsreplicator.local.EbsLocalServer;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;

import static io.ebsreplicator.benchmarks.EndToEndBenchmark.BLOCK;
import static io.ebsreplicator.benchmarks.EndToEndBenchmark.MIB;

/**
 * What one run of {@link EndToEndBenchmark} measures: wall time, CPU without ebs-local's threads,
 * the JIT compiler's and the garbage collector's CPU apart, peak heap and the time to the first
 * written block.
 */
final class EndToEndMeasurement {
    final long t0 = System.nanoTime();
    final long cpu0;
    final long jit0 = ManagementFactory.getCompilationMXBean().getTotalCompilationTime();
    final long jitCpu0;
    final long gcCpu0;
    final EbsLocalServer ebs;
    final long throttled0;
    final long processCpu0;
    volatile long firstBlockCpuNanos = -1;
    final FirstBlockWatcher watcher;

    private EndToEndMeasurement(EbsLocalServer ebs) {
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                p.resetPeakUsage();
            }
        }
        System.gc();
        cpu0 = clientCpuNanos();
        processCpu0 = processCpuNanos();
        jitCpu0 = JvmThreadCpu.jitNanos();
        gcCpu0 = JvmThreadCpu.gcNanos();
        this.ebs = ebs;
        throttled0 = throttled(ebs);
        watcher = FirstBlockWatcher.start(ebs, () -> firstBlockCpuNanos = clientCpuNanos());
    }

    static EndToEndMeasurement start(EbsLocalServer ebs) {
        return new EndToEndMeasurement(ebs);
    }

    Result finish(String system, long latency, long blocks, int inFlight) {
        double seconds = (System.nanoTime() - t0) / 1e9;
        double cpu = (clientCpuNanos() - cpu0) / 1e9;
        try {
            watcher.stop(); // it may be reading the CPU at the first block
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        double peak = 0;
        for (MemoryPoolMXBean p : ManagementFactory.getMemoryPoolMXBeans()) {
            if (p.getType() == MemoryType.HEAP) {
                peak += p.getPeakUsage().getUsed();
            }
        }
        long first = watcher.firstBlockNanos();
        return new Result(
                system,
                0,
                latency,
                blocks,
                seconds,
                cpu / (blocks * (double) BLOCK / (1024 * MIB)),
                peak / MIB,
                inFlight,
                first < 0 ? -1 : (first - t0) / 1e9,
                first < 0 || firstBlockCpuNanos < 0 ? -1 : (firstBlockCpuNanos - cpu0) / 1e9,
                (ManagementFactory.getCompilationMXBean().getTotalCompilationTime() - jit0) / 1e3,
                (JvmThreadCpu.jitNanos() - jitCpu0) / 1e9,
                (JvmThreadCpu.gcNanos() - gcCpu0) / 1e9,
                throttled(ebs) - throttled0,
                (processCpuNanos() - processCpu0)
                        / 1e9
                        / (seconds * Runtime.getRuntime().availableProcessors()));
    }

    /** CPU of the whole process: the copier and ebs-local, which share the machine's cores. */
    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean)
                        ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    /** RequestThrottledException answers so far, whatever the operation. */
    static long throttled(EbsLocalServer ebs) {
        return ebs.stats().errors("RequestThrottledException");
    }

    /** Process CPU minus ebs-local's threads (its I/O loops and request workers). */
    static long clientCpuNanos() {
        long total = processCpuNanos();
        var mx = ManagementFactory.getThreadMXBean();
        for (var ti : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (ti != null
                    && (ti.getThreadName().startsWith("nioEventLoopGroup")
                            || ti.getThreadName().startsWith("defaultEventExecutorGroup"))) {
                total -= Math.max(0, mx.getThreadCpuTime(ti.getThreadId()));
            }
        }
        return total;
    }
}
