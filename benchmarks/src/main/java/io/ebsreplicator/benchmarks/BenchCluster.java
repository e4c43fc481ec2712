package io.ebsreplicator.benchmarks;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;

/** The long-lived embedded cluster the harnesses submit their jobs to. */
public final class BenchCluster {

    private BenchCluster() {}

    /** A started MiniCluster of one TaskManager with {@code slots} slots. */
    public static MiniCluster start(int slots) throws Exception {
        Configuration cluster = new Configuration();
        // Any free port: builds and tests on this machine may hold Flink's default 8081.
        cluster.set(RestOptions.BIND_PORT, "0");
        MiniCluster mini =
                new MiniCluster(
                        new MiniClusterConfiguration.Builder()
                                .setConfiguration(cluster)
                                .setNumTaskManagers(1)
                                .setNumSlotsPerTaskManager(slots)
                                .build());
        mini.start();
        return mini;
    }
}
