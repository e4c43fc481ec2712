package io.ebsreplicator.connector.ebs.metrics;

import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A metric group for tests that keeps what is registered in it and its subgroups, by dotted path
 * from this group ({@code ebs.region.us-east-1.api.GetSnapshotBlock.requests}), so tests can read
 * the values and the exact names. Like Flink's groups, a second registration of a name is ignored.
 * Runs in the test JVM.
 */
public final class CollectingMetricGroup extends UnregisteredMetricsGroup {

    private final Map<String, Metric> metrics;
    private final String prefix;

    public CollectingMetricGroup() {
        this(new ConcurrentHashMap<>(), "");
    }

    private CollectingMetricGroup(Map<String, Metric> metrics, String prefix) {
        this.metrics = metrics;
        this.prefix = prefix;
    }

    @Override
    public Counter counter(String name) {
        return counter(name, new SimpleCounter());
    }

    @Override
    public <C extends Counter> C counter(String name, C counter) {
        metrics.putIfAbsent(prefix + name, counter);
        return counter;
    }

    @Override
    public <T, G extends Gauge<T>> G gauge(String name, G gauge) {
        metrics.putIfAbsent(prefix + name, gauge);
        return gauge;
    }

    @Override
    public MetricGroup addGroup(String name) {
        return new CollectingMetricGroup(metrics, prefix + name + ".");
    }

    @Override
    public MetricGroup addGroup(String key, String value) {
        return new CollectingMetricGroup(metrics, prefix + key + "." + value + ".");
    }

    /** The count of counter {@code path}; fails when there is no such counter. */
    public long count(String path) {
        Metric m = metrics.get(path);
        if (!(m instanceof Counter c)) {
            throw new AssertionError("No counter " + path + " in " + names());
        }
        return c.getCount();
    }

    /** The value of gauge {@code path}; fails when there is no such gauge. */
    public Object value(String path) {
        Metric m = metrics.get(path);
        if (!(m instanceof Gauge<?> g)) {
            throw new AssertionError("No gauge " + path + " in " + names());
        }
        return g.getValue();
    }

    /** Every registered path, sorted. */
    public java.util.Set<String> names() {
        return new TreeMap<>(metrics).keySet();
    }
}
