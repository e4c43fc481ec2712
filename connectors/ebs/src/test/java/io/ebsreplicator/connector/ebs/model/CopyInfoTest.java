package io.ebsreplicator.connector.ebs.model;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
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
    void roundTripsAttributesWithSeparatorsAndEmptyStrings() {
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("ticket", "T-1");
        attributes.put("trace", "a|b,c=d");
        attributes.put("", "");
        attributes.put("-", "-");
        CopyInfo info =
                new CopyInfo(true, "snap-1", Map.of("us-west-2", "snap-p"), null, attributes);

        CopyInfo back = CopyInfo.decode(info.encode());

        assertThat(back).isEqualTo(info);
        assertThat(back.attributes()).containsExactlyEntriesOf(attributes);
    }

    @Test
    void withoutAttributesTheFormIsTheFourPartsOfBefore() {
        CopyInfo info = new CopyInfo(false, null, Map.of(), "no base");

        assertThat(info.encode().split("\\|", -1)).hasSize(4);
        assertThat(CopyInfo.decode(info.encode())).isEqualTo(info);
        assertThat(info.attributes()).isEmpty();
    }

    @Test
    void decodesTheFourPartFormOfOlderCheckpoints() {
        // As CopyInfo wrote it before attributes travelled with it (split and state version 4).
        CopyInfo old = CopyInfo.decode("I|c25hcC0x|dXMtd2VzdC0yPXNuYXAtcA|-");

        assertThat(old)
                .isEqualTo(new CopyInfo(true, "snap-1", Map.of("us-west-2", "snap-p"), null));
        assertThat(old.attributes()).isEmpty();
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
                        Map.of("ticket", "T-1"));

        assertThat(r.with("snap-0", r.targets()).attributes()).isEqualTo(r.attributes());
        assertThatThrownBy(() -> r.attributes().put("caller", "me"))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThat(CopyInfo.of(r).withFallback("x").attributes())
                .containsExactly(Map.entry("ticket", "T-1"));
        CopyInfo undecided = CopyInfo.decode(CopyInfo.undecided(r).encode());
        assertThat(undecided.incremental()).isNull();
        assertThat(undecided.attributes()).containsExactly(Map.entry("ticket", "T-1"));
    }

    @Test
    void rejectsWhatIsNotACopyInfo() {
        assertThatThrownBy(() -> CopyInfo.decode("I|x"))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
