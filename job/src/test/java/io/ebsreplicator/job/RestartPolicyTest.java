package io.ebsreplicator.job;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Which restart strategy reaches the job graph: the job's default, the environment's (what the
 * cluster's configuration gives an environment under {@code flink run}) or the command line's.
 * Reads the configuration of the stream graph the client submits, which is what the JobManager
 * takes the strategy from before its own configuration.
 */
class RestartPolicyTest {

    private static Configuration jobConfiguration(
            Configuration environment, Map<String, String> dynamic) {
        StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(environment);
        RestartPolicy.apply(env, RestartPolicy.fromDynamicProperties(dynamic));
        env.fromData(1, 2, 3).sinkTo(new DiscardingSink<>());
        return env.getStreamGraph().getJobConfiguration();
    }

    @Test
    void withoutAnyConfigurationTheJobRestartsWithExponentialDelayAndNoAttemptLimit() {
        Configuration job = jobConfiguration(new Configuration(), Map.of());

        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("exponential-delay");
        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS))
                .as("no small attempt limit: a lost TaskManager is waited out")
                .isEqualTo(Integer.MAX_VALUE);
        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF))
                .isEqualTo(RestartPolicy.MAX_BACKOFF);
        assertThat(
                        job.get(
                                RestartStrategyOptions
                                        .RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF))
                .isEqualTo(RestartPolicy.INITIAL_BACKOFF);
        assertThat(
                        job.get(
                                RestartStrategyOptions
                                        .RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER))
                .isEqualTo(RestartPolicy.BACKOFF_MULTIPLIER);
    }

    @Test
    void aStrategyNamedByTheClustersConfigurationIsLeftAsItStands() {
        Configuration cluster = new Configuration();
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);

        Configuration job = jobConfiguration(cluster, Map.of());

        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("fixed-delay");
        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS))
                .isEqualTo(3);
        assertThat(
                        job.getOptional(
                                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS))
                .as("none of the job's defaults is mixed in")
                .isEmpty();
    }

    @Test
    void theLegacyKeyOfTheClusterCountsAsNamingAStrategy() {
        Configuration cluster = new Configuration();
        cluster.setString("restart-strategy", "none");

        Configuration job = jobConfiguration(cluster, Map.of());

        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("none");
    }

    @Test
    void exponentialSettingsOfTheClusterWithoutATypeKeepTheirValues() {
        Configuration cluster = new Configuration();
        cluster.set(
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF,
                Duration.ofMinutes(10));

        Configuration job = jobConfiguration(cluster, Map.of());

        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("exponential-delay");
        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF))
                .isEqualTo(Duration.ofMinutes(10));
        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS))
                .isEqualTo(RestartPolicy.ATTEMPTS);
    }

    @Test
    void theCommandLineOverridesTheCluster() {
        Configuration cluster = new Configuration();
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");

        Configuration job =
                jobConfiguration(
                        cluster,
                        Map.of(
                                "restart-strategy.type", "exponential-delay",
                                "restart-strategy.exponential-delay.max-backoff", "30 min",
                                "ebs.rate.put-per-second", "5"));

        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY)).isEqualTo("exponential-delay");
        assertThat(job.get(RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF))
                .isEqualTo(Duration.ofMinutes(30));
        assertThat(job.containsKey("ebs.rate.put-per-second"))
                .as("connector options stay out of the job's restart settings")
                .isFalse();
    }

    @Test
    void theLineForTheOperatorSaysWhereTheStrategyComesFrom() {
        Configuration cluster = new Configuration();
        cluster.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");

        assertThat(
                        RestartPolicy.apply(
                                StreamExecutionEnvironment.getExecutionEnvironment(cluster),
                                new Configuration()))
                .isEqualTo("Restart strategy: fixed-delay (the cluster's configuration)");
        assertThat(
                        RestartPolicy.apply(
                                StreamExecutionEnvironment.getExecutionEnvironment(
                                        new Configuration()),
                                new Configuration()))
                .startsWith("Restart strategy: exponential-delay from 1 s to 2 min,");
    }
}
