package io.ebsreplicator.local;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Map;

/**
 * Parses durations in the syntax of Apache Flink's {@code TimeUtils.parseDuration}, which every
 * command of ebs-replicator also takes: a whole number, optional white space, then a unit ({@code
 * 250ms}, {@code 30 s}, {@code 2min}, {@code 1h}, {@code 7d}; {@code m} is minutes; no unit means
 * milliseconds). ebs-local has no Flink on its class path, so the syntax is kept here; a test in
 * the job module checks both parsers agree.
 */
public final class Durations {

    /** Unit labels, as Flink's {@code TimeUtils.TimeUnit} lists them. */
    private static final Map<String, ChronoUnit> UNITS =
            Map.ofEntries(
                    Map.entry("d", ChronoUnit.DAYS),
                    Map.entry("day", ChronoUnit.DAYS),
                    Map.entry("days", ChronoUnit.DAYS),
                    Map.entry("h", ChronoUnit.HOURS),
                    Map.entry("hour", ChronoUnit.HOURS),
                    Map.entry("hours", ChronoUnit.HOURS),
                    Map.entry("min", ChronoUnit.MINUTES),
                    Map.entry("m", ChronoUnit.MINUTES),
                    Map.entry("minute", ChronoUnit.MINUTES),
                    Map.entry("minutes", ChronoUnit.MINUTES),
                    Map.entry("s", ChronoUnit.SECONDS),
                    Map.entry("sec", ChronoUnit.SECONDS),
                    Map.entry("secs", ChronoUnit.SECONDS),
                    Map.entry("second", ChronoUnit.SECONDS),
                    Map.entry("seconds", ChronoUnit.SECONDS),
                    Map.entry("ms", ChronoUnit.MILLIS),
                    Map.entry("milli", ChronoUnit.MILLIS),
                    Map.entry("millis", ChronoUnit.MILLIS),
                    Map.entry("millisecond", ChronoUnit.MILLIS),
                    Map.entry("milliseconds", ChronoUnit.MILLIS),
                    Map.entry("us", ChronoUnit.MICROS),
                    Map.entry("micro", ChronoUnit.MICROS),
                    Map.entry("micros", ChronoUnit.MICROS),
                    Map.entry("microsecond", ChronoUnit.MICROS),
                    Map.entry("microseconds", ChronoUnit.MICROS),
                    Map.entry("ns", ChronoUnit.NANOS),
                    Map.entry("nano", ChronoUnit.NANOS),
                    Map.entry("nanos", ChronoUnit.NANOS),
                    Map.entry("nanosecond", ChronoUnit.NANOS),
                    Map.entry("nanoseconds", ChronoUnit.NANOS));

    private Durations() {}

    /**
     * The duration {@code text} names.
     *
     * @throws IllegalArgumentException if it is not a whole number and a known unit, or overflows
     */
    public static Duration parse(String text) {
        if (text == null) {
            throw new IllegalArgumentException("A duration is missing");
        }
        String trimmed = text.trim().toLowerCase(Locale.US);
        int i = 0;
        while (i < trimmed.length() && Character.isDigit(trimmed.charAt(i))) {
            i++;
        }
        String number = trimmed.substring(0, i);
        String unit = trimmed.substring(i).trim();
        if (number.isEmpty()) {
            throw new IllegalArgumentException(
                    "'" + text + "' is not a duration such as 250ms, 30s, 2min, 1h or 7d");
        }
        ChronoUnit u = unit.isEmpty() ? ChronoUnit.MILLIS : UNITS.get(unit);
        if (u == null) {
            throw new IllegalArgumentException(
                    "'"
                            + text
                            + "' has an unknown time unit '"
                            + unit
                            + "' (use ms, s, min, h or d)");
        }
        try {
            return Duration.of(Long.parseLong(number), u);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException("'" + text + "' is too long a duration");
        }
    }
}
