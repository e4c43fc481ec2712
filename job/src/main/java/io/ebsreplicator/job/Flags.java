package io.ebsreplicator.job;

import org.apache.flink.util.TimeUtils;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A small command-line parser: {@code --name value} options (repeatable), {@code --switch} booleans
 * and {@code -D key=value} pairs. Unknown options are errors. Runs in the client.
 */
final class Flags {

    /** A usage error; the command line prints it with the command's help and exits with 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    private final Map<String, List<String>> values = new LinkedHashMap<>();
    private final Map<String, String> dynamic = new LinkedHashMap<>();

    private Flags() {}

    static Flags parse(String[] args, Set<String> withValue, Set<String> switches) {
        Flags f = new Flags();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-D")) {
                if (i + 1 >= args.length) {
                    throw new UsageException("-D needs key=value");
                }
                putDynamic(f, args[++i]);
            } else if (a.startsWith("-D") && a.length() > 2) {
                putDynamic(f, a.substring(2));
            } else if (switches.contains(a)) {
                f.values.computeIfAbsent(a, k -> new ArrayList<>()).add("true");
            } else if (withValue.contains(a)) {
                if (i + 1 >= args.length) {
                    throw new UsageException(a + " needs a value");
                }
                f.values.computeIfAbsent(a, k -> new ArrayList<>()).add(args[++i]);
            } else {
                throw new UsageException("Unknown option '" + a + "'");
            }
        }
        return f;
    }

    private static void putDynamic(Flags f, String kv) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
            throw new UsageException("-D needs key=value, not '" + kv + "'");
        }
        f.dynamic.put(kv.substring(0, eq), kv.substring(eq + 1));
    }

    String get(String name) {
        List<String> v = values.get(name);
        if (v == null) {
            return null;
        }
        if (v.size() > 1) {
            throw new UsageException(name + " is given more than once");
        }
        return v.get(0);
    }

    String require(String name) {
        String v = get(name);
        if (v == null || v.isBlank()) {
            throw new UsageException(name + " is required");
        }
        return v;
    }

    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    boolean has(String name) {
        return values.containsKey(name);
    }

    int intValue(String name, int defaultValue) {
        String v = get(name);
        if (v == null) {
            return defaultValue;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException(name + " needs an integer, not '" + v + "'");
        }
    }

    /** The {@code key=value} values of a repeatable flag, in order; a repeated key is an error. */
    Map<String, String> pairs(String name) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String kv : all(name)) {
            int eq = kv.indexOf('=');
            if (eq <= 0) {
                throw new UsageException(name + " needs key=value, not '" + kv + "'");
            }
            if (out.put(kv.substring(0, eq), kv.substring(eq + 1)) != null) {
                throw new UsageException(name + " repeats " + kv.substring(0, eq));
            }
        }
        return out;
    }

    /** The {@code -D key=value} pairs, for the job and connector configuration. */
    Map<String, String> dynamicProperties() {
        return dynamic;
    }

    /** The flags of several sets, as one. */
    @SafeVarargs
    static Set<String> union(Set<String>... sets) {
        Set<String> out = new java.util.HashSet<>();
        for (Set<String> s : sets) {
            out.addAll(s);
        }
        return Set.copyOf(out);
    }

    /**
     * The duration flag {@code name} in Flink's notation ({@code 30s}, {@code 2min}, {@code 2 min},
     * {@code 500ms}; ebs-local takes the same), or {@code defaultValue} when absent.
     */
    Duration duration(String name, Duration defaultValue) {
        String v = get(name);
        if (v == null) {
            return defaultValue;
        }
        try {
            return TimeUtils.parseDuration(v);
        } catch (IllegalArgumentException e) {
            throw new UsageException(
                    name + " needs a duration such as 500ms, 30s or 2min, not '" + v + "'");
        }
    }
}
