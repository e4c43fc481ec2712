package io.ebsreplicator.connector.ebs.model;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tests {@link TargetSnapshots}, including the one-string form of older splits and records. */
class TargetSnapshotsTest {

    @Test
    void keepsTheOrderOfTheRequestsTargets() {
        Map<String, String> targets = new LinkedHashMap<>();
        targets.put("eu-west-1", "snap-0aaa");
        targets.put("ap-south-1", "snap-0bbb");
        targets.put("us-west-2", "snap-0ccc");

        TargetSnapshots t = TargetSnapshots.of(targets);

        assertThat(t.regions()).containsExactly("eu-west-1", "ap-south-1", "us-west-2");
        assertThat(t.snapshotByRegion()).containsExactlyEntriesOf(targets);
        assertThat(t.snapshotId("ap-south-1")).isEqualTo("snap-0bbb");
    }

    @Test
    void isAValueIndependentOfTheMapItWasBuiltFrom() {
        Map<String, String> targets = new LinkedHashMap<>();
        targets.put("eu-west-1", "snap-0aaa");
        TargetSnapshots t = TargetSnapshots.of(targets);

        targets.put("us-east-2", "snap-0ddd");

        assertThat(t.regions()).containsExactly("eu-west-1");
        assertThat(t).isEqualTo(TargetSnapshots.of(Map.of("eu-west-1", "snap-0aaa")));
    }

    @Test
    void regionsNotStartedHaveNoSnapshot() {
        TargetSnapshots t = TargetSnapshots.notStarted(List.of("eu-west-1", "ap-south-1"));

        assertThat(t.regions()).containsExactly("eu-west-1", "ap-south-1");
        assertThat(t.snapshotId("eu-west-1")).isNull();
        assertThat(t.isEmpty()).isFalse();
        assertThat(TargetSnapshots.of(null).isEmpty()).isTrue();
    }

    @Test
    void readsTheOneStringFormOfOlderSplitsAndRecordsInOrder() {
        TargetSnapshots t =
                TargetSnapshots.decodeLegacy(
                        "eu-west-1=snap-0aaa;ap-south-1=snap-0bbb;us-west-2=snap-0ccc");

        assertThat(t.snapshotByRegion())
                .containsExactly(
                        Map.entry("eu-west-1", "snap-0aaa"),
                        Map.entry("ap-south-1", "snap-0bbb"),
                        Map.entry("us-west-2", "snap-0ccc"));
    }

    @Test
    void readsTargetsWithoutSnapshotAsNotStarted() {
        // Failure splits named their target regions with nothing after the '='.
        TargetSnapshots t = TargetSnapshots.decodeLegacy("eu-west-1=;ap-south-1=");

        assertThat(t).isEqualTo(TargetSnapshots.notStarted(List.of("eu-west-1", "ap-south-1")));
        assertThat(TargetSnapshots.decodeLegacy("").isEmpty()).isTrue();
        assertThat(TargetSnapshots.decodeLegacy(null).isEmpty()).isTrue();
    }

    @Test
    void rejectsWhatIsNotAListOfTargets() {
        assertThatThrownBy(() -> TargetSnapshots.decodeLegacy("eu-west-1"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
