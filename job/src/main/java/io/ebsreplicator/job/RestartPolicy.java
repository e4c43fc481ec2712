package io.ebsreplicator.job;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ReadableConfig;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.TimeUtils;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;

/**
 * The restart strategy of {@code replicate} and {@code serve}: a disaster-recovery copy waits out a
 * lost TaskManager instead of giving up. Runs in the client, where the job graph is built.
 *
 * <p>Precedence, highest first:
 *
 * <ol>
 *   <li>{@code -D restart-strategy.*} on this command line: an explicit choice for this job;
 *   <li>the configuration the execution environment was created with: the cluster's {@code
 *       config.yaml} and {@code flink run -D...} under {@code flink run}, the JobManager's
 *       configuration in application mode (the Kubernetes operator);
 *   <li>the defaults below: exponential delay, no attempt limit.
 * </ol>
 *
 * <p>Why the job looks at all: Flink takes a restart strategy from the job's configuration before
 * the JobManager's own (RestartBackoffTimeStrategyFactoryLoader), so a job that always set one
 * would silence the cluster's. The defaults therefore fill in only what neither of the first two
 * names; once a configuration names {@code restart-strategy.type} it is used as it stands.
 */
final class RestartPolicy {

    /** The first restart comes quickly: most failures are one lost process or one bad moment. */
    static final Duration INITIAL_BACKOFF = Duration.ofSeconds(1);

    /**
     * The cap. Long enough that a job waiting for a lost TaskManager does not restart (and log a
     * NoResourceAvailableException) every few seconds for hours; short enough that it takes up the
     * replacement within two minutes of its arrival. Each restart resumes from the last checkpoint,
     * so waiting costs nothing already copied.
     */
    static final Duration MAX_BACKOFF = Duration.ofMinutes(2);

    /** Doubling reaches the cap in 7 attempts (about 2 minutes after the failure). */
    static final double BACKOFF_MULTIPLIER = 2.0;

    /** A job that ran this long without failing starts again from the initial backoff. */
    static final Duration RESET_BACKOFF_THRESHOLD = Duration.ofHours(1);

    /** Spreads the restarts of many jobs on one cluster that lost the same TaskManager. */
    static final double JITTER_FACTOR = 0.1;

    /**
     * No attempt limit: a copy is worth finishing however long the cluster needs to recover; a
     * request that cannot succeed ends in a FAILED result, not in a failed job.
     */
    static final int ATTEMPTS = Integer.MAX_VALUE;

    private static final String PREFIX = "restart-strategy.";

    private RestartPolicy() {}

    /**
     * The {@code restart-strategy.*} pairs of the command line's {@code -D} options: they are job
     * settings, not connector options.
     */
    static Configuration fromDynamicProperties(Map<String, String> dynamic) {
        Configuration c = new Configuration();
        dynamic.forEach(
                (k, v) -> {
                    if (k.equals("restart-strategy") || k.startsWith(PREFIX)) {
                        c.setString(k, v);
                    }
                });
        return c;
    }

    /**
     * The job-level settings to add to an environment whose configuration is {@code environment}
     * and whose command line gave {@code explicit}: empty when the environment's configuration
     * already names a strategy.
     */
    static Configuration resolve(ReadableConfig environment, Configuration explicit) {
        Configuration out = new Configuration(explicit);
        if (named(explicit) || named(environment)) {
            return out;
        }
        out.set(RestartStrategyOptions.RESTART_STRATEGY, "exponential-delay");
        setUnlessSet(
                out,
                environment,
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF,
                INITIAL_BACKOFF);
        setUnlessSet(
                out,
                environment,
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF,
                MAX_BACKOFF);
        setUnlessSet(
                out,
                environment,
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER,
                BACKOFF_MULTIPLIER);
        setUnlessSet(
                out,
                environment,
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD,
                RESET_BACKOFF_THRESHOLD);
        setUnlessSet(
                out,
                environment,
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_JITTER_FACTOR,
                JITTER_FACTOR);
        setUnlessSet(
                out,
                environment,
                RestartStrategyOptions.RESTART_STRATEGY_EXPONENTIAL_DELAY_ATTEMPTS,
                ATTEMPTS);
        return out;
    }

    /**
     * Applies the policy to {@code env}; returns one line for the operator saying which strategy
     * the job gets and where it comes from.
     */
    static String apply(StreamExecutionEnvironment env, Configuration explicit) {
        boolean fromCluster = !named(explicit) && named(env.getConfiguration());
        Configuration settings = resolve(env.getConfiguration(), explicit);
        env.configure(settings);
        ReadableConfig effective = env.getConfiguration();
        String type = effective.get(RestartStrategyOptions.RESTART_STRATEGY);
        if (named(explicit)) {
            return "Restart strategy: " + type + " (-D restart-strategy.* on the command line)";
        }
        if (fromCluster) {
            return "Restart strategy: " + type + " (the cluster's configuration)";
        }
        return String.format(
                Locale.ROOT,
                "Restart strategy: exponential-delay from %s to %s, no attempt limit"
                        + " (the job's default; restart-strategy.* in the cluster's configuration"
                        + " or -D on the command line take precedence)",
                TimeUtils.formatWithHighestUnit(
                        effective.get(
                                RestartStrategyOptions
                                        .RESTART_STRATEGY_EXPONENTIAL_DELAY_INITIAL_BACKOFF)),
                TimeUtils.formatWithHighestUnit(
                        effective.get(
                                RestartStrategyOptions
                                        .RESTART_STRATEGY_EXPONENTIAL_DELAY_MAX_BACKOFF)));
    }

    private static boolean named(ReadableConfig c) {
        return c.getOptional(RestartStrategyOptions.RESTART_STRATEGY).isPresent();
    }

    private static <T> void setUnlessSet(
            Configuration out, ReadableConfig environment, ConfigOption<T> option, T value) {
        if (environment.getOptional(option).isEmpty()) {
            out.set(option, value);
        }
    }
}
