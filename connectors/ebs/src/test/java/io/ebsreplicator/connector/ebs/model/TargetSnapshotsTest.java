package io.ebsreplicator.connector.ebs.model;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** Tests {@link TargetSnapshots}. */
class TargetSnapshotsTest {

    @Test
    void roundTripsInOrder() {
        Map<String, String> targets = new LinkedHashMap<>();
        targets.put("eu-west-1", "snap-0aaa");
        targets.put("ap-south-1", "snap-0bbb");
        targets.put("us-west-2", "snap-0ccc");

        String encoded = TargetSnapshots.encode(targets);

        assertThat(encoded)
                .isEqualTo("eu-west-1=snap-0aaa;ap-south-1=snap-0bbb;us-west-2=snap-0ccc");
        assertThat(TargetSnapshots.decode(encoded)).containsExactlyEntriesOf(targets);
    }

    @Test
    void roundTripsOneTarget() {
        Map<String, String> one = Map.of("eu-west-1", "snap-0aaa");

        assertThat(TargetSnapshots.decode(TargetSnapshots.encode(one))).isEqualTo(one);
    }

    @Test
    void roundTripsTargetsWithoutSnapshot() {
        // Failure splits name the target regions with no snapshot.
        Map<String, String> failed = new LinkedHashMap<>();
        failed.put("eu-west-1", "");
        failed.put("ap-south-1", "");

        String encoded = TargetSnapshots.encode(failed);

        assertThat(encoded).isEqualTo("eu-west-1=;ap-south-1=");
        assertThat(TargetSnapshots.decode(encoded)).containsExactlyEntriesOf(failed);
    }

    @Test
    void emptyEncodesToEmptyAndDecodesToEmpty() {
        assertThat(TargetSnapshots.encode(Map.of())).isEmpty();
        assertThat(TargetSnapshots.decode("")).isEmpty();
        assertThat(TargetSnapshots.decode(null)).isEmpty();
    }

    @Test
    void decodedMapIsMutableAndIndependent() {
        Map<String, String> decoded = TargetSnapshots.decode("eu-west-1=snap-0aaa");

        decoded.put("us-east-2", "snap-0ddd");

        assertThat(TargetSnapshots.decode("eu-west-1=snap-0aaa")).hasSize(1);
    }
}
