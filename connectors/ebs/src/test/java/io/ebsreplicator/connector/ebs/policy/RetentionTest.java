package io.ebsreplicator.connector.ebs.policy;

import io.ebsreplicator.connector.ebs.proxy.SnapshotDescription;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** Which copies a retention lets go. Runs in the test JVM. */
class RetentionTest {

    private static final Instant NOW = Instant.parse("2026-06-01T00:00:00Z");

    /** Copies snap-0 (oldest) .. snap-{n-1} (newest), one day apart, the newest one day old. */
    private static List<SnapshotDescription> daily(int n) {
        List<SnapshotDescription> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(copy("snap-" + i, "completed", NOW.minus(Duration.ofDays(n - i))));
        }
        return out;
    }

    private static SnapshotDescription copy(String id, String status, Instant start) {
        return new SnapshotDescription(id, status, null, 1, start, null, null, Map.of());
    }

    private static List<String> ids(List<SnapshotDescription> d) {
        return d.stream().map(SnapshotDescription::snapshotId).toList();
    }

    @Test
    void keepLastKeepsTheNewestAndDeletesTheRestOldestFirst() {
        assertThat(ids(new Retention(3, null).toDelete(daily(6), NOW, Set.of())))
                .containsExactly("snap-0", "snap-1", "snap-2");
        assertThat(new Retention(3, null).toDelete(daily(3), NOW, Set.of())).isEmpty();
    }

    @Test
    void maxAgeKeepsYoungCopiesButNeverTheNewest() {
        assertThat(ids(new Retention(null, Duration.ofHours(60)).toDelete(daily(5), NOW, Set.of())))
                .as("3, 4 and 5 days old go; 2 days old and the newest stay")
                .containsExactly("snap-0", "snap-1", "snap-2");
        assertThat(new Retention(null, Duration.ofMinutes(1)).toDelete(daily(1), NOW, Set.of()))
                .as("the newest copy stays however old")
                .isEmpty();
    }

    @Test
    void withBothACopyStaysWhileEitherKeepsIt() {
        assertThat(ids(new Retention(1, Duration.ofHours(60)).toDelete(daily(5), NOW, Set.of())))
                .containsExactly("snap-0", "snap-1", "snap-2");
        assertThat(ids(new Retention(4, Duration.ofHours(1)).toDelete(daily(5), NOW, Set.of())))
                .containsExactly("snap-0");
    }

    @Test
    void protectedPendingAndFailedCopiesStay() {
        List<SnapshotDescription> copies = daily(5);
        copies.add(copy("snap-pending", "pending", NOW.minus(Duration.ofDays(30))));
        copies.add(copy("snap-error", "error", NOW.minus(Duration.ofDays(30))));

        assertThat(ids(new Retention(1, null).toDelete(copies, NOW, Set.of("snap-1"))))
                .containsExactly("snap-0", "snap-2", "snap-3");
    }
}
