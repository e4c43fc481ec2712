package io.ebsreplicator.local.auth;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RoleTest {

    @Test
    void theArnEndsAtItsSixthColonAndTheExternalIdMayHoldColons() {
        Role r = Role.parse("arn:aws:iam::222222222222:role/dr-target:222222222222:ext-123");
        assertThat(r.arn()).isEqualTo("arn:aws:iam::222222222222:role/dr-target");
        assertThat(r.accountId()).isEqualTo("222222222222");
        assertThat(r.externalId()).isEqualTo("ext-123");
        assertThat(r.name()).isEqualTo("dr-target");
        assertThat(r.partition()).isEqualTo("aws");

        Role colons = Role.parse("arn:aws-cn:iam::222222222222:role/a/b/c:222222222222:urn:x:1");
        assertThat(colons.arn()).isEqualTo("arn:aws-cn:iam::222222222222:role/a/b/c");
        assertThat(colons.name()).isEqualTo("c");
        assertThat(colons.partition()).isEqualTo("aws-cn");
        assertThat(colons.externalId()).isEqualTo("urn:x:1");

        Role open = Role.parse("arn:aws:iam::222222222222:role/open:222222222222");
        assertThat(open.externalId()).isNull();
    }

    @Test
    void badSpecsAreRefusedWithTheReason() {
        assertThatThrownBy(() -> Role.parse("arn:aws:iam::222222222222:role/x"))
                .hasMessageContaining("ARN:ACCOUNT[:EXTERNAL_ID]");
        assertThatThrownBy(() -> Role.parse("arn:aws:iam::222222222222:user/x:222222222222"))
                .hasMessageContaining("Not a role ARN");
        assertThatThrownBy(() -> Role.parse("arn:aws:iam::222222222222:role/x:333333333333"))
                .hasMessageContaining("belongs to account 222222222222");
        assertThatThrownBy(() -> Role.parse("arn:aws:iam::222222222222:role/x:22222"))
                .hasMessageContaining("12 digits");
        assertThatThrownBy(() -> Role.parse("arn:aws:iam::222222222222:role/x:222222222222:a b"))
                .hasMessageContaining("external id")
                .hasMessageNotContaining("a b");
        assertThatThrownBy(() -> Role.parse("arn:aws:iam::222222222222:role/x:222222222222:e"))
                .hasMessageContaining("2..1224");
    }

    @Test
    void toStringNeverShowsTheExternalId() {
        assertThat(Role.parse("arn:aws:iam::222222222222:role/x:222222222222:secret-ext"))
                .asString()
                .doesNotContain("secret-ext");
    }
}
