package io.ebsreplicator.job;

import io.ebsreplicator.connector.ebs.completion.ReplicationCompletionFunction;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.pipeline.EbsReplicationPipeline;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.HeartbeatManagerOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Runs one bounded replication job and collects its results, reporting progress while it runs: a
 * line updated in place on a terminal, a log line every few seconds otherwise. Runs in the client;
 * the job runs wherever the execution environment points (an embedded MiniCluster under {@code java
 * -jar}, the cluster under {@code flink run}).
 */
final class Replication {

    private Replication() {}

    /** Job-level settings from the command line. */
    /**
     * Job-level settings from the command line; {@code restartStrategy} holds the {@code -D
     * restart-strategy.*} pairs (see {@link RestartPolicy}).
     */
    record JobSettings(
            int parallelism,
            Duration checkpointInterval,
            String checkpointDir,
            Configuration restartStrategy) {}

    static List<ReplicationResult> run(
            List<ReplicationRequest> requests,
            Configuration connectorOptions,
            JobSettings settings,
            PrintStream progress)
            throws Exception {
        Configuration jobConf = new Configuration();
        // Accumulators travel with heartbeats: report progress of an embedded run every second.
        // (Under flink run the cluster's own configuration applies.)
        jobConf.set(HeartbeatManagerOptions.HEARTBEAT_INTERVAL, Duration.ofSeconds(1));
        if (settings.checkpointDir() != null) {
            jobConf.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, settings.checkpointDir());
        }
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(jobConf);
        progress.println(RestartPolicy.apply(env, settings.restartStrategy()));
        if (settings.parallelism() > 0) {
            env.setParallelism(settings.parallelism());
        }
        env.enableCheckpointing(settings.checkpointInterval().toMillis());
        DataStream<ReplicationResult> results =
                EbsReplicationPipeline.build(
                        env, requests, connectorOptions, BlockTransform.IDENTITY);
        String name =
                requests.size() == 1
                        ? "ebs-replicator " + requests.get(0).requestId()
                        : "ebs-replicator (" + requests.size() + " requests)";
        CloseableIterator<ReplicationResult> it = results.collectAsync();
        JobClient job = env.executeAsync(name);
        progress.println("Submitted job " + job.getJobID() + " (" + name + ")");
        ScheduledExecutorService reporter =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "progress");
                            t.setDaemon(true);
                            return t;
                        });
        long start = System.nanoTime();
        boolean terminal = System.console() != null;
        reporter.scheduleAtFixedRate(
                () -> report(job, start, terminal, progress),
                terminal ? 1 : 5,
                terminal ? 1 : 5,
                TimeUnit.SECONDS);
        List<ReplicationResult> out = new ArrayList<>();
        try (it) {
            it.forEachRemaining(out::add);
        } finally {
            reporter.shutdownNow();
        }
        JobExecutionResult done = job.getJobExecutionResult().get();
        Object written =
                done.getAccumulatorResult(ReplicationCompletionFunction.BLOCKS_WRITTEN_ACCUMULATOR);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (terminal) {
            progress.print("\r");
        }
        progress.printf(
                Locale.ROOT,
                "Finished in %.1f s: %s block writes%n",
                seconds,
                written == null ? "0" : written.toString());
        return out;
    }

    private static void report(JobClient job, long start, boolean terminal, PrintStream out) {
        try {
            Map<String, Object> acc = job.getAccumulators().get(2, TimeUnit.SECONDS);
            Object v = acc.get(ReplicationCompletionFunction.BLOCKS_WRITTEN_ACCUMULATOR);
            long blocks = v instanceof Number n ? n.longValue() : 0;
            double seconds = (System.nanoTime() - start) / 1e9;
            double mib = blocks * 0.5;
            String line =
                    String.format(
                            Locale.ROOT,
                            "%6.0f s  %,9d blocks written  %,10.1f MiB  %7.1f MiB/s",
                            seconds,
                            blocks,
                            mib,
                            seconds > 0 ? mib / seconds : 0);
            if (terminal) {
                out.print("\r" + line);
            } else {
                out.println("progress: " + line.trim().replaceAll(" +", " "));
            }
            out.flush();
        } catch (Exception e) {
            // Progress is best effort; the job's own outcome is reported when it ends.
        }
    }
}
