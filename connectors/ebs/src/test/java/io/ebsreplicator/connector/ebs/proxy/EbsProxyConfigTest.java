package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.config.EbsReplicationOptions;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link EbsProxyConfig} and {@link SdkEbsProxyFactory} as the job builds and ships them. */
class EbsProxyConfigTest {

    @Test
    void readsEveryOptionFromTheJobConfiguration() {
        Configuration conf = new Configuration();
        conf.set(EbsReplicationOptions.ENDPOINTS, Map.of("us-east-1", "http://127.0.0.1:4566"));
        conf.set(EbsReplicationOptions.ACCESS_KEY_ID, "AKIAEXAMPLE");
        conf.set(EbsReplicationOptions.SECRET_ACCESS_KEY, "very-secret");
        conf.set(EbsReplicationOptions.ATTEMPT_TIMEOUT, Duration.ofSeconds(7));
        conf.set(EbsReplicationOptions.TOTAL_TIMEOUT, Duration.ofMinutes(3));
        conf.set(EbsReplicationOptions.CONTROL_ATTEMPT_TIMEOUT, Duration.ofSeconds(4));
        conf.set(EbsReplicationOptions.CONTROL_TOTAL_TIMEOUT, Duration.ofSeconds(40));
        conf.set(EbsReplicationOptions.RETRY_BASE_BACKOFF, Duration.ofMillis(50));
        conf.set(EbsReplicationOptions.RETRY_MAX_BACKOFF, Duration.ofSeconds(5));
        conf.set(EbsReplicationOptions.NEW_SNAPSHOT_GRACE, Duration.ofSeconds(90));
        conf.set(EbsReplicationOptions.GET_RATE, 800.0);
        conf.set(EbsReplicationOptions.PUT_RATE, 600.0);
        conf.set(EbsReplicationOptions.LIST_RATE, 40.0);
        conf.set(EbsReplicationOptions.CONTROL_RATE, 8.0);

        EbsProxyConfig c = EbsProxyConfig.fromConfiguration(conf).withShare(4);

        assertThat(c.endpoint("us-east-1")).isEqualTo(URI.create("http://127.0.0.1:4566"));
        assertThat(c.endpoint("us-west-2")).isNull();
        assertThat(c.hasStaticCredentials()).isTrue();
        assertThat(c.accessKeyId()).isEqualTo("AKIAEXAMPLE");
        assertThat(c.secretAccessKey()).isEqualTo("very-secret");
        assertThat(c.attemptTimeout()).isEqualTo(Duration.ofSeconds(7));
        assertThat(c.totalTimeout()).isEqualTo(Duration.ofMinutes(3));
        assertThat(c.attemptTimeout(EbsOperation.START_SNAPSHOT)).isEqualTo(Duration.ofSeconds(4));
        assertThat(c.totalTimeout(EbsOperation.COMPLETE_SNAPSHOT))
                .isEqualTo(Duration.ofSeconds(40));
        assertThat(c.totalTimeout(EbsOperation.DESCRIBE_SNAPSHOTS))
                .isEqualTo(Duration.ofSeconds(40));
        assertThat(c.totalTimeout(EbsOperation.PUT_SNAPSHOT_BLOCK))
                .as("block traffic keeps the data-plane timeouts")
                .isEqualTo(Duration.ofMinutes(3));
        assertThat(c.attemptTimeout(EbsOperation.LIST_SNAPSHOT_BLOCKS))
                .isEqualTo(Duration.ofSeconds(7));
        assertThat(c.baseBackoff()).isEqualTo(Duration.ofMillis(50));
        assertThat(c.maxBackoff()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.newSnapshotGrace()).isEqualTo(Duration.ofSeconds(90));
        assertThat(c.ratePerUser(RequestBudget.Group.GET)).isEqualTo(200.0);
        assertThat(c.ratePerUser(RequestBudget.Group.PUT)).isEqualTo(150.0);
        assertThat(c.ratePerUser(RequestBudget.Group.LIST)).isEqualTo(10.0);
        assertThat(c.ratePerUser(RequestBudget.Group.COMPLETE)).isEqualTo(2.0);
        assertThat(c.ratePerUser(RequestBudget.Group.START))
                .as("only the enumerator starts snapshots: it spends the whole rate")
                .isEqualTo(8.0);
        assertThat(c.configuredRate(RequestBudget.Group.PUT)).isEqualTo(600.0);
        assertThat(c.toString()).contains("AKIAEXAMPLE").doesNotContain("very-secret");
    }

    @Test
    void defaultsAreTheOptionDefaultsWithTheDefaultCredentialChain() {
        EbsProxyConfig c = EbsProxyConfig.fromConfiguration(new Configuration());
        assertThat(c.hasStaticCredentials()).isFalse();
        assertThat(c.share()).isEqualTo(1);
        assertThat(c.ratePerUser(RequestBudget.Group.PUT)).isEqualTo(1000.0);
        assertThat(c.totalTimeout()).isEqualTo(EbsReplicationOptions.TOTAL_TIMEOUT.defaultValue());
    }

    @Test
    void readsTheRolesAndWhichRolesARequestMayName() throws Exception {
        String dr = "arn:aws:iam::222222222222:role/dr-copier";
        String vault = "arn:aws:iam::333333333333:role/vault/copier";
        Configuration conf = new Configuration();
        conf.set(
                EbsReplicationOptions.SOURCE_ROLE_ARN,
                "arn:aws:iam::111111111111:role/prod-reader");
        conf.set(EbsReplicationOptions.TARGET_ROLE_ARNS, List.of("us-west-2=" + dr));
        conf.set(EbsReplicationOptions.ROLE_EXTERNAL_ID, "ext-0123456789");
        conf.set(EbsReplicationOptions.STS_ENDPOINT, "http://127.0.0.1:4566");
        conf.set(
                EbsReplicationOptions.ALLOWED_ROLE_ARNS,
                List.of("arn:aws:iam::333333333333:role/vault/*"));

        AssumedRoles roles = EbsProxyConfig.fromConfiguration(conf).roles();

        assertThat(roles.sourceRoleArn()).isEqualTo("arn:aws:iam::111111111111:role/prod-reader");
        assertThat(roles.targetRoleArn("us-west-2")).isEqualTo(dr);
        assertThat(roles.targetRoleArn("eu-west-1")).isNull();
        assertThat(roles.allows("us-west-2", null)).isTrue();
        assertThat(roles.allows("us-west-2", dr)).as("the region's own role").isTrue();
        assertThat(roles.allows("eu-west-1", dr))
                .as("another region's role is not on the allow-list")
                .isFalse();
        assertThat(roles.allows("eu-west-1", vault)).as("matches the prefix").isTrue();
        assertThat(roles.allows("eu-west-1", "arn:aws:iam::333333333333:role/admin")).isFalse();
        assertThat(roles.toString()).contains(dr).doesNotContain("ext-0123456789");
        SdkEbsProxyFactory factory = new SdkEbsProxyFactory(EbsProxyConfig.fromConfiguration(conf));
        SdkEbsProxyFactory copy = InstantiationUtil.clone(factory, getClass().getClassLoader());
        assertThat(copy.targetRoleArn("us-west-2")).isEqualTo(dr);
        assertThat(copy.allowsRole("eu-west-1", vault)).isTrue();
        assertThat(copy.config().roles().externalId()).isEqualTo("ext-0123456789");
    }

    @Test
    void rejectsRolesThatCannotWork() {
        assertThatThrownBy(
                        () ->
                                AssumedRoles.builder()
                                        .targetRoleArns(List.of("us-west-2:arn:aws:iam::1:role/x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("REGION=ARN");
        assertThatThrownBy(
                        () ->
                                AssumedRoles.builder()
                                        .targetRoleArn("us-west-2", "arn:aws:iam::2222:role/short")
                                        .build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("not an IAM role ARN");
        assertThatThrownBy(() -> AssumedRoles.builder().sessionName("a b").build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> AssumedRoles.builder().externalId("x").build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining("'x'");
        assertThatThrownBy(() -> AssumedRoles.builder().allow("admin").build())
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void rejectsWhatCannotWork() {
        assertThatThrownBy(() -> EbsProxyConfig.builder().credentials("AKIA", null).build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EbsProxyConfig.builder().share(0).build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> EbsProxyConfig.builder().putRate(0).build())
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(
                        () ->
                                EbsProxyConfig.builder()
                                        .baseBackoff(Duration.ofSeconds(2))
                                        .maxBackoff(Duration.ofSeconds(1))
                                        .build())
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void theFactorySurvivesJavaSerializationAsFlinkShipsIt() throws Exception {
        SdkEbsProxyFactory factory =
                new SdkEbsProxyFactory(
                                EbsProxyConfig.builder()
                                        .endpoint("us-west-2", "http://127.0.0.1:1")
                                        .credentials("AKIAEXAMPLE", "secret")
                                        .build())
                        .withShare(3);
        SdkEbsProxyFactory copy = InstantiationUtil.clone(factory, getClass().getClassLoader());
        assertThat(copy.config().toString()).isEqualTo(factory.config().toString());
        assertThat(copy.config().share()).isEqualTo(3);
        assertThat(copy.config().secretAccessKey()).isEqualTo("secret");
        // Building a proxy touches no network: clients connect lazily.
        try (EbsProxy proxy = copy.create("us-west-2")) {
            assertThat(proxy.region()).isEqualTo("us-west-2");
        }
    }
}
