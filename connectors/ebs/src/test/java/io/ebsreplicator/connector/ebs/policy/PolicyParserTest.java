package io.ebsreplicator.connector.ebs.policy;

import io.ebsreplicator.connector.ebs.model.ReplicationTarget;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

/** Policy files in, rules (or every problem with its JSON path) out. Runs in the test JVM. */
class PolicyParserTest {

    static final String KEY_WEST =
            "arn:aws:kms:us-west-2:111122223333:key/0123abcd-0123-0123-0123-0123456789ab";
    static final String KEY_EU =
            "arn:aws:kms:eu-west-1:111122223333:key/4567abcd-0123-0123-0123-0123456789ab";

    /** The acceptance policy: tags to two regions with their own keys, a volume to one by age. */
    static final String TWO_RULES =
            """
            {
              "version": 1,
              "rules": [
                {
                  "name": "gold",
                  "select": {"tags": {"tier": "gold"}},
                  "targets": [
                    {"region": "us-west-2", "kmsKeyArn": "%s", "retention": {"keepLast": 3}},
                    {"region": "eu-west-1", "kmsKeyArn": "%s", "retention": {"keepLast": 3}}
                  ],
                  "copyTags": ["tier", "app"],
                  "addTags": {"dr": "copy"},
                  "description": "DR copy of ${snapshotId} (${volumeId}) by ${rule}",
                  "rpo": "4h"
                },
                {
                  "name": "db-volume",
                  "select": {"volumeIds": ["vol-0123456789abcdef0"]},
                  "targets": [{"region": "us-west-2", "retention": {"maxAge": "14d"}}],
                  "rpo": "1h"
                }
              ]
            }
            """
                    .formatted(KEY_WEST, KEY_EU);

    static ReplicationPolicy parse(String json) {
        return PolicyParser.parse("policy.json", json.getBytes(StandardCharsets.UTF_8));
    }

    static List<String> problems(String json) {
        PolicyException e = catchThrowableOfType(PolicyException.class, () -> parse(json));
        assertThat(e).as("the policy is refused").isNotNull();
        assertThat(e.getMessage()).startsWith("The policy policy.json is not valid");
        return e.problems();
    }

    @Test
    void aValidPolicyParsesIntoRulesInFileOrder() {
        ReplicationPolicy policy = parse(TWO_RULES);

        assertThat(policy.rules())
                .extracting(PolicyRule::name)
                .containsExactly("gold", "db-volume");
        PolicyRule gold = policy.rule("gold");
        assertThat(gold.select().tags()).isEqualTo(Map.of("tier", "gold"));
        assertThat(gold.targets())
                .containsExactly(
                        new PolicyTarget("us-west-2", KEY_WEST, new Retention(3, null)),
                        new PolicyTarget("eu-west-1", KEY_EU, new Retention(3, null)));
        assertThat(gold.rpo()).isEqualTo(Duration.ofHours(4));
        assertThat(policy.rule("db-volume").target("us-west-2").retention())
                .isEqualTo(new Retention(null, Duration.ofDays(14)));
    }

    @Test
    void theFirstMatchingRulePlansTargetsWithTagsKeysAndDescription() {
        ReplicationPolicy policy = parse(TWO_RULES);
        SourceFacts gold =
                new SourceFacts(
                        "us-east-1",
                        "snap-0123456789abcdef0",
                        "vol-0123456789abcdef0",
                        "vol-0123456789abcdef0",
                        Map.of("tier", "gold", "app", "shop", "owner", "x"),
                        "nightly");

        PolicyRule rule = policy.match(gold);
        List<ReplicationTarget> targets = rule.plan(gold);

        assertThat(rule.name()).as("the first rule wins over the volume rule").isEqualTo("gold");
        assertThat(targets)
                .extracting(ReplicationTarget::region)
                .containsExactly("us-west-2", "eu-west-1");
        assertThat(targets)
                .extracting(ReplicationTarget::kmsKeyArn)
                .containsExactly(KEY_WEST, KEY_EU);
        assertThat(targets.get(0).tags())
                .as("copied, added, and the job's own")
                .containsExactly(
                        Map.entry("tier", "gold"),
                        Map.entry("app", "shop"),
                        Map.entry("dr", "copy"),
                        Map.entry(PolicyRule.LINEAGE_TAG, "vol-0123456789abcdef0"),
                        Map.entry(PolicyRule.RULE_TAG, "gold"));
        assertThat(targets.get(0).description())
                .isEqualTo("DR copy of snap-0123456789abcdef0 (vol-0123456789abcdef0) by gold");
        assertThat(targets).allMatch(t -> t.parentSnapshotId() == null);

        SourceFacts db =
                new SourceFacts(
                        "us-east-1", "snap-01", "vol-0123456789abcdef0", null, Map.of(), null);
        assertThat(policy.match(db).name()).isEqualTo("db-volume");
        assertThat(policy.match(db).plan(db).get(0).description())
                .as("no template: the job's default")
                .isNull();
        SourceFacts other =
                new SourceFacts(
                        "us-east-1",
                        "snap-02",
                        SourceFacts.NO_VOLUME,
                        null,
                        Map.of("tier", "x"),
                        null);
        assertThat(policy.match(other)).isNull();
    }

    @Test
    void everyCriterionMustHoldAndAnyValueOfOne() {
        ReplicationPolicy policy =
                parse(
                        """
                        {"version": 1, "rules": [{"name": "r",
                          "select": {"sourceRegions": ["us-east-1"], "lineages": ["a", "b"],
                                     "descriptionPattern": "nightly-.*"},
                          "targets": [{"region": "us-west-2"}]}]}
                        """);
        assertThat(policy.match(facts("us-east-1", "b", "nightly-7"))).isNotNull();
        assertThat(policy.match(facts("us-east-2", "b", "nightly-7"))).isNull();
        assertThat(policy.match(facts("us-east-1", "c", "nightly-7"))).isNull();
        assertThat(policy.match(facts("us-east-1", "a", "weekly"))).isNull();
        assertThat(policy.match(facts("us-east-1", "a", null))).isNull();
    }

    private static SourceFacts facts(String region, String lineage, String description) {
        return new SourceFacts(region, "snap-01", null, lineage, Map.of(), description);
    }

    @Test
    void everyProblemIsReportedWithItsPath() {
        List<String> problems =
                problems(
                        """
                        {"version": 2, "rules": [
                          {"name": "gold", "select": {}, "targets": [], "rpo": "soon", "extra": 1},
                          {"name": "gold", "select": {"volumeIds": ["volume-1"], "tags": {"aws:x": "y"}},
                           "targets": [
                             {"region": "us-west-2", "kmsKeyArn": "%s", "retention": {"keepLast": 0}},
                             {"region": "us-west-2", "retention": {}},
                             {"region": "Mars"}],
                           "description": "copy of ${snapshot}",
                           "select2": true}
                        ]}
                        """
                                .formatted(KEY_EU));

        assertThat(problems)
                .containsExactlyInAnyOrder(
                        "$.version must be 1",
                        "$.rules[0].extra is not a known field (known: name, select, targets,"
                                + " copyTags, addTags, description, rpo)",
                        "$.rules[0].select selects nothing: give sourceRegions, volumeIds,"
                                + " lineages, tags or descriptionPattern",
                        "$.rules[0].targets is required: a list of at least one target region",
                        "$.rules[0].rpo 'soon' is not a duration such as 30min, 4h or 14d",
                        "$.rules[1].select2 is not a known field (known: name, select, targets,"
                                + " copyTags, addTags, description, rpo)",
                        "$.rules[1].select.volumeIds[0] 'volume-1' is not a volume id (vol- and 8"
                                + " or 17 lowercase hex digits)",
                        "$.rules[1].select.tags.aws:x tag key 'aws:x' starts with aws:, which AWS"
                                + " reserves",
                        "$.rules[1].targets[0].kmsKeyArn is a key of eu-west-1, not of us-west-2"
                                + " (KMS keys are regional)",
                        "$.rules[1].targets[0].retention.keepLast must be a whole number from 1"
                                + " to 10000",
                        "$.rules[1].targets[1].region us-west-2 appears more than once in the"
                                + " rule's targets",
                        "$.rules[1].targets[1].retention needs keepLast, maxAge or both",
                        "$.rules[1].targets[2].region 'Mars' is not a region name such as"
                                + " us-east-1",
                        "$.rules[1].description has the unknown placeholder ${snapshot} (known:"
                                + " ${snapshotId}, ${sourceRegion}, ${volumeId}, ${lineage},"
                                + " ${rule}, ${description})",
                        "$.rules[1].name 'gold' is the name of an earlier rule");
    }

    @Test
    void notJsonTooLargeOrTooDeepIsRefusedClearly() {
        assertThat(problems("{\"version\": 1, \"rules\": ["))
                .singleElement()
                .asString()
                .startsWith("$ is not JSON:")
                .contains("line 1");
        assertThat(problems("[]"))
                .containsExactly("$ must be an object with \"version\": 1 and \"rules\"");
        String deep = "[".repeat(100) + "]".repeat(100);
        assertThat(problems("{\"version\": 1, \"rules\": " + deep + "}"))
                .singleElement()
                .asString()
                .startsWith("$ is not JSON:");
        byte[] large = new byte[PolicyParser.MAX_BYTES + 1];
        PolicyException e =
                catchThrowableOfType(
                        PolicyException.class, () -> PolicyParser.parse("big.json", large));
        assertThat(e.problems()).singleElement().asString().contains("more than 1048576");
    }

    @Test
    void aLongDescriptionIsCutToWhatEbsAccepts() {
        ReplicationPolicy policy =
                parse(
                        """
                        {"version": 1, "rules": [{"name": "r", "select": {"lineages": ["l"]},
                          "targets": [{"region": "us-west-2"}],
                          "description": "${description} ${description}"}]}
                        """);
        SourceFacts s =
                new SourceFacts("us-east-1", "snap-01", null, "l", Map.of(), "x".repeat(200));
        assertThat(policy.rules().get(0).plan(s).get(0).description()).hasSize(255);
    }

    @Test
    void changesAreListedByRuleName() {
        ReplicationPolicy before = parse(TWO_RULES);
        ReplicationPolicy after =
                parse(
                        TWO_RULES
                                .replace("\"keepLast\": 3}},\n", "\"keepLast\": 5}},\n")
                                .replace("\"db-volume\"", "\"db\""));

        assertThat(after.changesFrom(before))
                .containsExactly(
                        "rule 'gold' changed: targets [us-west-2 (kms "
                                + KEY_WEST
                                + ", keep last 3), eu-west-1 (kms "
                                + KEY_EU
                                + ", keep last 3)] -> [us-west-2 (kms "
                                + KEY_WEST
                                + ", keep last 5), eu-west-1 (kms "
                                + KEY_EU
                                + ", keep last 3)]",
                        "rule 'db' added",
                        "rule 'db-volume' removed");
        assertThat(parse(TWO_RULES).changesFrom(before)).isEmpty();
    }
}
