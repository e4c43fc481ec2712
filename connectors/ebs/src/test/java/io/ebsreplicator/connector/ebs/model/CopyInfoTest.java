package io.ebsreplicator.connector.ebs.model;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Tests {@link CopyInfo}: what a request asks for, and the one-string form that splits of version 4
 * and records of earlier versions carried it in (each string below as those versions wrote it).
 */
class CopyInfoTest {

    @Test
    void aFullCopyHasNoBaseParentsOrReason() {
        CopyInfo full =
                CopyInfo.of(
                        new ReplicationRequest(
                                "r",
                                "us-east-1",
                                "snap-1",
                                null,
                                List.of(ReplicationTarget.of("us-west-2")),
                                null,
                                false,
                                Map.of(),
                                ReplicationRequest.NO_DEADLINE,
                                0));

        assertThat(full.incremental()).isFalse();
        assertThat(full.baseSnapshotId()).isNull();
        assertThat(full.parents()).isEmpty();
        assertThat(full.fallbackReason()).isNull();
        assertThat(full.attributes()).isEmpty();
    }

    @Test
    void anExplicitIncrementalRequestNamesItsBaseAndParents() {
        ReplicationRequest r =
                new ReplicationRequest(
                        "r",
                        "us-east-1",
                        "snap-2",
                        "snap-1",
                        List.of(new ReplicationTarget("us-west-2", "snap-p", null, Map.of(), null)),
                        null,
                        false,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0);

        CopyInfo info = CopyInfo.of(r).withFallback(null);

        assertThat(info.incremental()).isTrue();
        assertThat(info.baseSnapshotId()).isEqualTo("snap-1");
        assertThat(info.parents()).containsExactly(Map.entry("us-west-2", "snap-p"));
    }

    @Test
    void ofAndUndecidedCarryTheRequestAttributes() {
        ReplicationRequest r =
                new ReplicationRequest(
                        "r",
                        "us-east-1",
                        "snap-1",
                        null,
                        List.of(ReplicationTarget.of("us-west-2")),
                        null,
                        false,
                        Map.of("ticket", "T-1"),
                        ReplicationRequest.NO_DEADLINE,
                        0);

        assertThat(r.with("snap-0", r.targets()).attributes()).isEqualTo(r.attributes());
        assertThatThrownBy(() -> r.attributes().put("caller", "me"))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(CopyInfo.of(r).withFallback("x").attributes())
                .containsExactly(Map.entry("ticket", "T-1"));
        CopyInfo undecided = CopyInfo.undecided(r);
        assertThat(undecided.incremental()).isNull();
        assertThat(undecided.attributes()).containsExactly(Map.entry("ticket", "T-1"));
    }

    @Test
    void missingMapsAreEmpty() {
        CopyInfo info = new CopyInfo(null, null, null, null, null);

        assertThat(info.parents()).isEmpty();
        assertThat(info.attributes()).isEmpty();
    }

    @Test
    void readsEveryPartOfTheOneStringFormIncludingSeparatorsInsideTheReason() {
        Map<String, String> parents = new LinkedHashMap<>();
        parents.put("us-west-2", "snap-0aaaaaaaaaaaaaaa1");
        parents.put("eu-west-1", "snap-0b");

        CopyInfo info =
                CopyInfo.decodeLegacy(
                        "I|c25hcC0wMTIzNDU2Nzg5YWJjZGVmMA"
                                + "|dXMtd2VzdC0yPXNuYXAtMGFhYWFhYWFhYWFhYWFhYTEsZXUtd2VzdC0xPXNuYXAtMGI"
                                + "|b2RkfHJlYXNvbiwgd2l0aCA9IHNpZ25z");

        assertThat(info)
                .isEqualTo(
                        new CopyInfo(
                                true,
                                "snap-0123456789abcdef0",
                                parents,
                                "odd|reason, with = signs",
                                Map.of()));
        assertThat(info.parents()).containsExactlyEntriesOf(parents);
    }

    @Test
    void readsAttributesWithSeparatorsAndEmptyStringsInOrder() {
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("ticket", "T-1");
        attributes.put("trace", "a|b,c=d");
        attributes.put("", "");
        attributes.put("-", "-");

        CopyInfo info =
                CopyInfo.decodeLegacy(
                        "I|c25hcC0x|dXMtd2VzdC0yPXNuYXAtcA|-|dGlja2V0=VC0x,dHJhY2U=YXxiLGM9ZA,=,LQ=LQ");

        assertThat(info)
                .isEqualTo(
                        new CopyInfo(
                                true, "snap-1", Map.of("us-west-2", "snap-p"), null, attributes));
        assertThat(info.attributes()).containsExactlyEntriesOf(attributes);
    }

    @Test
    void readsAnUndecidedModeAndAFullCopyWithItsFallbackReason() {
        assertThat(CopyInfo.decodeLegacy("-|-||-|dGlja2V0=VC0x"))
                .isEqualTo(new CopyInfo(null, null, Map.of(), null, Map.of("ticket", "T-1")));
        assertThat(CopyInfo.decodeLegacy("F|-||bm8gYmFzZQ"))
                .isEqualTo(new CopyInfo(false, null, Map.of(), "no base", Map.of()));
        assertThat(CopyInfo.decodeLegacy(null)).isNull();
        assertThat(CopyInfo.decodeLegacy("")).isNull();
    }

    @Test
    void readsTheFourPartFormOfOlderCheckpoints() {
        // As CopyInfo wrote it before attributes travelled with it (split and state version 4).
        CopyInfo old = CopyInfo.decodeLegacy("I|c25hcC0x|dXMtd2VzdC0yPXNuYXAtcA|-");

        assertThat(old)
                .isEqualTo(new CopyInfo(true, "snap-1", Map.of("us-west-2", "snap-p"), null, null));
        assertThat(old.attributes()).isEmpty();
    }

    @Test
    void rejectsWhatIsNotACopyInfo() {
        assertThatThrownBy(() -> CopyInfo.decodeLegacy("I|x"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
