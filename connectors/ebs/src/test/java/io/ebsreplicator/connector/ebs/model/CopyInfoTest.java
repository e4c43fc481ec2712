package io.ebsreplicator.connector.ebs.model;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tests {@link CopyInfo}: what a request asks for, and the one-string form it travels in. */
class CopyInfoTest {

    @Test
    void roundTripsEveryPartIncludingSeparatorsInsideTheReason() {
        CopyInfo info =
                new CopyInfo(
                        true,
                        "snap-0123456789abcdef0",
                        Map.of("us-west-2", "snap-0aaaaaaaaaaaaaaa1", "eu-west-1", "snap-0b"),
                        "odd|reason, with = signs");

        CopyInfo back = CopyInfo.decode(info.encode());

        assertThat(back).isEqualTo(info);
    }

    @Test
    void aFullCopyHasNoBaseParentsOrReason() {
        CopyInfo full =
                CopyInfo.of(
                        new ReplicationRequest(
                                "r",
                                "us-east-1",
                                "snap-1",
                                null,
                                List.of(ReplicationTarget.of("us-west-2"))));

        assertThat(full.incremental()).isFalse();
        assertThat(CopyInfo.decode(full.encode())).isEqualTo(full);
        assertThat(CopyInfo.decode(null)).isNull();
    }

    @Test
    void anExplicitIncrementalRequestNamesItsBaseAndParents() {
        ReplicationRequest r =
                new ReplicationRequest(
                        "r",
                        "us-east-1",
                        "snap-2",
                        "snap-1",
                        List.of(
                                new ReplicationTarget(
                                        "us-west-2", "snap-p", null, Map.of(), null)));

        CopyInfo info = CopyInfo.of(r).withFallback(null);

        assertThat(info.incremental()).isTrue();
        assertThat(info.baseSnapshotId()).isEqualTo("snap-1");
        assertThat(info.parents()).containsExactly(Map.entry("us-west-2", "snap-p"));
    }

    @Test
    void rejectsWhatIsNotACopyInfo() {
        assertThatThrownBy(() -> CopyInfo.decode("I|x"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
