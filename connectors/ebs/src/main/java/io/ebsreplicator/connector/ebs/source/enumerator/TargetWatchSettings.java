package io.ebsreplicator.connector.ebs.source.enumerator;

import java.io.Serializable;
import java.time.Duration;

/**
 * How the enumerator watches the target snapshots it started: how often it asks DescribeSnapshots
 * whether EBS cancelled one (its StartSnapshot Timeout passed without progress, as during a long
 * outage or while the job was down), how long after all of a target's blocks were read it keeps
 * watching, and how many replacement generations one request and region may have.
 *
 * @param interval how often the watched targets are described
 * @param grace how long a target stays watched after its last split was read
 * @param maxGenerations replacements allowed per request and region before the request fails
 */
public record TargetWatchSettings(Duration interval, Duration grace, int maxGenerations)
        implements Serializable {

    /** The defaults of the {@code ebs.target.*} options. */
    public static final TargetWatchSettings DEFAULT =
            new TargetWatchSettings(Duration.ofSeconds(30), Duration.ofMinutes(2), 3);

    public TargetWatchSettings {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("watch interval must be positive: " + interval);
        }
        if (grace.isNegative()) {
            throw new IllegalArgumentException("watch grace must not be negative: " + grace);
        }
        if (maxGenerations < 0) {
            throw new IllegalArgumentException(
                    "max generations must not be negative: " + maxGenerations);
        }
    }
}
