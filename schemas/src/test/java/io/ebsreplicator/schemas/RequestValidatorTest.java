package io.ebsreplicator.schemas;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** Unit tests of {@link RequestValidator}: one or more per rule, and what it must accept. */
class RequestValidatorTest {

    @Test
    void aRequestWithoutTargetsIsValidOnlyWhenAPolicyPlansIt() {
        ReplicationRequest request = Examples.minimalRequest();
        request.setTargets(new java.util.ArrayList<>());
        assertThat(RequestValidator.validate(request))
                .containsExactly("targets is empty; give at least one target region");
        assertThat(RequestValidator.validate(request, RequestValidator.Targets.FROM_POLICY))
                .isEmpty();
    }

    @Test
    void boundsTheAttributesThatEveryResultEchoes() {
        ReplicationRequest request = Examples.minimalRequest();
        Map<String, String> attributes = new LinkedHashMap<>();
        for (int i = 0; i < RequestValidator.MAX_ATTRIBUTES; i++) {
            attributes.put("k" + i, "v");
        }
        request.setAttributes(attributes);
        assertThat(RequestValidator.validate(request)).isEmpty();

        attributes.put("one-more", "v");
        assertThat(RequestValidator.validate(request))
                .containsExactly("attributes has 33 entries, more than 32");

        request.setAttributes(Map.of("trace", "x".repeat(RequestValidator.MAX_ATTRIBUTES_CHARS)));
        assertThat(RequestValidator.validate(request))
                .containsExactly(
                        "attributes have 4101 characters in keys and values, more than 4096");
    }

    @Test
    void acceptsTheExamples() {
        assertThat(RequestValidator.validate(Examples.request())).isEmpty();
        assertThat(RequestValidator.validate(Examples.minimalRequest())).isEmpty();
    }

    @Test
    void acceptsACopyWithinTheSourceRegion() {
        ReplicationRequest request = withTarget(t -> t.setRegion("us-east-1"));

        assertThat(request.getSourceRegion()).isEqualTo("us-east-1");
        assertThat(RequestValidator.validate(request)).isEmpty();
    }

    @Test
    void refusesNull() {
        assertThat(RequestValidator.validate(null)).containsExactly("request is null");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "\t"})
    void refusesABlankRequestId(String requestId) {
        ReplicationRequest request = Examples.minimalRequest();
        request.setRequestId(requestId);

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith("requestId is blank");
    }

    @Test
    void refusesANullRequestId() {
        ReplicationRequest request = Examples.minimalRequest();
        request.setRequestId(null);

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith("requestId is blank");
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "us-east-1",
                "eu-central-2",
                "ap-southeast-4",
                "us-gov-west-1",
                "cn-north-1",
                "us-isob-east-1"
            })
    void acceptsRegionNames(String region) {
        assertThat(ResourceIds.isRegionName(region)).isTrue();
        ReplicationRequest request = Examples.minimalRequest();
        request.setSourceRegion(region);
        assertThat(RequestValidator.validate(request)).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "US-EAST-1",
                "us-east",
                "useast1",
                "us_east_1",
                "us-east-1a",
                "u-east-1",
                "us-east-1 "
            })
    void refusesASourceRegionThatIsNotARegionName(String region) {
        ReplicationRequest request = Examples.minimalRequest();
        request.setSourceRegion(region);

        assertThat(RequestValidator.validate(request))
                .containsExactly(
                        "sourceRegion '" + region + "' is not a region name such as us-east-1");
    }

    @Test
    void refusesABlankSourceRegion() {
        ReplicationRequest request = Examples.minimalRequest();
        request.setSourceRegion("");

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith("sourceRegion is blank");
    }

    @ParameterizedTest
    @ValueSource(strings = {"snap-01234567", "snap-0123456789abcdef0", "snap-fffffffffffffffff"})
    void acceptsSnapshotIds(String snapshotId) {
        assertThat(ResourceIds.isSnapshotId(snapshotId)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "snap-0123456",
                "snap-012345678",
                "snap-0123456789ABCDEF0",
                "snap-0123456789abcdef",
                "snap-0123456789abcdef01",
                "vol-0123456789abcdef0",
                "snap-0123456g",
                "0123456789abcdef0"
            })
    void refusesASourceSnapshotIdOfTheWrongSyntax(String snapshotId) {
        ReplicationRequest request = Examples.minimalRequest();
        request.setSourceSnapshotId(snapshotId);

        assertThat(ResourceIds.isSnapshotId(snapshotId)).isFalse();
        assertThat(RequestValidator.validate(request))
                .containsExactly(
                        "sourceSnapshotId '"
                                + snapshotId
                                + "' is not a snapshot id (snap- and 8 or 17 lowercase hex digits)");
    }

    @Test
    void refusesABlankSourceSnapshotId() {
        ReplicationRequest request = Examples.minimalRequest();
        request.setSourceSnapshotId(" ");

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith("sourceSnapshotId is blank");
    }

    @Test
    void refusesABaseSnapshotIdOfTheWrongSyntax() {
        ReplicationRequest request = Examples.minimalRequest();
        request.setBaseSnapshotId("snap-xyz");

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith("baseSnapshotId 'snap-xyz' is not a snapshot id");
    }

    @Test
    void refusesABaseThatIsTheSourceItself() {
        ReplicationRequest request = Examples.minimalRequest();
        request.setBaseSnapshotId(Examples.SOURCE);

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith("baseSnapshotId equals sourceSnapshotId");
    }

    @Test
    void refusesModeFullWithABase() {
        ReplicationRequest request = Examples.minimalRequest();
        request.setBaseSnapshotId(Examples.BASE);
        request.setMode(CopyMode.FULL);

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith("mode FULL contradicts baseSnapshotId");
    }

    @Test
    void acceptsModeFullWithoutABaseAndAutoWithOne() {
        ReplicationRequest full = Examples.minimalRequest();
        full.setMode(CopyMode.FULL);
        ReplicationRequest incremental = Examples.minimalRequest();
        incremental.setBaseSnapshotId(Examples.BASE);

        assertThat(RequestValidator.validate(full)).isEmpty();
        assertThat(RequestValidator.validate(incremental)).isEmpty();
    }

    @Test
    void refusesANullMode() {
        ReplicationRequest request = Examples.minimalRequest();
        request.setMode(null);

        assertThat(RequestValidator.validate(request))
                .containsExactly("mode is null; use AUTO or FULL");
    }

    @Test
    void refusesNoTargets() {
        ReplicationRequest request = Examples.minimalRequest();
        request.setTargets(new ArrayList<>());

        assertThat(RequestValidator.validate(request))
                .containsExactly("targets is empty; give at least one target region");
    }

    @Test
    void refusesATargetRegionTwice() {
        ReplicationRequest request = Examples.minimalRequest();
        List<ReplicationTarget> targets = new ArrayList<>(request.getTargets());
        targets.add(ReplicationTarget.newBuilder().setRegion("eu-west-1").build());
        targets.add(
                ReplicationTarget.newBuilder().setRegion("us-west-2").setEncrypted(true).build());
        request.setTargets(targets);

        assertThat(RequestValidator.validate(request))
                .containsExactly("targets[2].region us-west-2 appears more than once in targets");
    }

    @Test
    void refusesATargetRegionThatIsNotARegionName() {
        ReplicationRequest request = withTarget(t -> t.setRegion("west"));

        assertThat(RequestValidator.validate(request))
                .containsExactly("targets[0].region 'west' is not a region name such as us-east-1");
    }

    @Test
    void refusesANullTarget() {
        ReplicationRequest request = Examples.minimalRequest();
        List<ReplicationTarget> targets = new ArrayList<>(request.getTargets());
        targets.add(null);
        request.setTargets(targets);

        assertThat(RequestValidator.validate(request)).containsExactly("targets[1] is null");
    }

    @Test
    void refusesAParentSnapshotIdOfTheWrongSyntax() {
        ReplicationRequest request = withTarget(t -> t.setParentSnapshotId("snap-1"));
        request.setBaseSnapshotId(Examples.BASE);

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith("targets[0].parentSnapshotId 'snap-1' is not a snapshot id");
    }

    @Test
    void refusesAParentSnapshotIdWithoutABase() {
        ReplicationRequest request = withTarget(t -> t.setParentSnapshotId(Examples.TARGET_PARENT));

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith(
                        "targets[0].parentSnapshotId "
                                + Examples.TARGET_PARENT
                                + " is given without baseSnapshotId");
    }

    @Test
    void refusesAParentSnapshotIdInModeFull() {
        ReplicationRequest request = withTarget(t -> t.setParentSnapshotId(Examples.TARGET_PARENT));
        request.setBaseSnapshotId(Examples.BASE);
        request.setMode(CopyMode.FULL);

        assertThat(RequestValidator.validate(request))
                .hasSize(2)
                .anySatisfy(p -> assertThat(p).startsWith("mode FULL contradicts baseSnapshotId"))
                .anySatisfy(
                        p ->
                                assertThat(p)
                                        .contains(
                                                "parentSnapshotId "
                                                        + Examples.TARGET_PARENT
                                                        + " contradicts mode FULL"));
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                Examples.ROLE,
                "arn:aws:iam::222222222222:role/dr/vault/copier",
                "arn:aws-us-gov:iam::222222222222:role/copier+dr@eu=1,2.x"
            })
    void acceptsATargetRole(String role) {
        assertThat(RequestValidator.validate(withTarget(t -> t.setRoleArn(role)))).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "ebs-replicator-dr-target",
                "arn:aws:iam::2222:role/short-account",
                "arn:aws:iam::222222222222:user/alice",
                "arn:aws:sts::222222222222:assumed-role/dr/session",
                "arn:aws:iam::222222222222:role/",
                "arn:aws:iam::222222222222:role/has space"
            })
    void refusesATargetRoleThatIsNotARoleArn(String role) {
        assertThat(RequestValidator.validate(withTarget(t -> t.setRoleArn(role))))
                .containsExactly(
                        "targets[0].roleArn '"
                                + role
                                + "' is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)");
    }

    @Test
    void refusesAKmsKeyWithoutEncryption() {
        ReplicationRequest request = withTarget(t -> t.setKmsKeyArn(Examples.KMS_KEY));

        assertThat(RequestValidator.validate(request))
                .containsExactly(
                        "targets[0].kmsKeyArn is set but encrypted is false; set encrypted to true");
    }

    @Test
    void acceptsEncryptionWithOrWithoutAKey() {
        assertThat(RequestValidator.validate(withTarget(t -> t.setEncrypted(true)))).isEmpty();
        assertThat(
                        RequestValidator.validate(
                                withTarget(
                                        t -> {
                                            t.setEncrypted(true);
                                            t.setKmsKeyArn(Examples.KMS_KEY);
                                        })))
                .isEmpty();
        assertThat(
                        RequestValidator.validate(
                                withTarget(
                                        t -> {
                                            t.setEncrypted(true);
                                            t.setKmsKeyArn(
                                                    "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/k");
                                        })))
                .isEmpty();
    }

    @ParameterizedTest
    @ValueSource(
            strings = {
                "alias/ebs",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
                "arn:aws:kms:us-east-1:1234:key/k",
                "arn:aws:s3:::bucket"
            })
    void refusesAKmsKeyThatIsNotAKeyArn(String key) {
        ReplicationRequest request =
                withTarget(
                        t -> {
                            t.setEncrypted(true);
                            t.setKmsKeyArn(key);
                        });

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith("targets[0].kmsKeyArn '" + key + "' is not a KMS key ARN");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " "})
    void refusesABlankTagKey(String key) {
        ReplicationRequest request = withTarget(t -> t.setTags(Examples.map(key, "v")));

        assertThat(RequestValidator.validate(request))
                .containsExactly("targets[0].tags has a blank key");
    }

    @ParameterizedTest
    @ValueSource(strings = {"aws:createdBy", "AWS:x", "Aws:"})
    void refusesATagKeyReservedByAws(String key) {
        ReplicationRequest request = withTarget(t -> t.setTags(Examples.map(key, "v")));

        assertThat(RequestValidator.validate(request))
                .containsExactly(
                        "targets[0].tags key '" + key + "' starts with aws:, which AWS reserves");
    }

    @Test
    void acceptsATagKeyThatMerelyContainsAws() {
        ReplicationRequest request =
                withTarget(t -> t.setTags(Examples.map("my-aws:key", "", "awsome", "v")));

        assertThat(RequestValidator.validate(request)).isEmpty();
    }

    @Test
    void refusesTooLongTagKeysAndValues() {
        String longKey = "k".repeat(128);
        ReplicationRequest request =
                withTarget(t -> t.setTags(Examples.map(longKey, "v", "ok", "v".repeat(256))));

        assertThat(RequestValidator.validate(request))
                .containsExactly(
                        "targets[0].tags key '" + longKey + "' is longer than 127 characters",
                        "targets[0].tags[ok] value is longer than 255 characters");
    }

    @Test
    void acceptsFiftyTagsAndRefusesFiftyOne() {
        assertThat(RequestValidator.validate(withTarget(t -> t.setTags(tags(50))))).isEmpty();
        assertThat(RequestValidator.validate(withTarget(t -> t.setTags(tags(51)))))
                .containsExactly("targets[0].tags has 51 tags, more than the 50 EBS allows");
    }

    @Test
    void refusesNullTags() {
        ReplicationRequest request = withTarget(t -> t.setTags(null));

        assertThat(RequestValidator.validate(request))
                .singleElement()
                .asString()
                .startsWith("targets[0].tags is null");
    }

    @Test
    void acceptsADescriptionOf255CharactersAndRefuses256() {
        assertThat(RequestValidator.validate(withTarget(t -> t.setDescription("d".repeat(255)))))
                .isEmpty();
        assertThat(RequestValidator.validate(withTarget(t -> t.setDescription("d".repeat(256)))))
                .containsExactly("targets[0].description has 256 characters, more than 255");
    }

    @Test
    void refusesAnEmptyDescription() {
        assertThat(RequestValidator.validate(withTarget(t -> t.setDescription(""))))
                .containsExactly("targets[0].description is empty; use null for none");
    }

    @Test
    void reportsEveryProblemAtOnce() {
        ReplicationRequest request = Examples.minimalRequest();
        request.setRequestId("");
        request.setSourceRegion("nowhere");
        request.setBaseSnapshotId(Examples.SOURCE);
        request.setMode(CopyMode.FULL);
        request.setTargets(
                new ArrayList<>(
                        List.of(
                                ReplicationTarget.newBuilder()
                                        .setRegion("us-west-2")
                                        .setKmsKeyArn(Examples.KMS_KEY)
                                        .setDescription("")
                                        .build())));

        assertThat(RequestValidator.validate(request)).hasSize(6);
    }

    private static ReplicationRequest withTarget(Consumer<ReplicationTarget> change) {
        ReplicationRequest request = Examples.minimalRequest();
        ReplicationTarget target =
                ReplicationTarget.newBuilder(request.getTargets().get(0)).build();
        change.accept(target);
        request.setTargets(new ArrayList<>(List.of(target)));
        return request;
    }

    private static Map<String, String> tags(int count) {
        Map<String, String> tags = new LinkedHashMap<>();
        for (int i = 0; i < count; i++) {
            tags.put("tag-" + i, "value-" + i);
        }
        return tags;
    }
}
