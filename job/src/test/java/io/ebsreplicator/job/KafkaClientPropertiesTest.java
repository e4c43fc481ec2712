package io.ebsreplicator.job;

import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Kafka client properties from the command line: file then flags, the job's own settings refused,
 * secrets resolved by the Kafka client from placeholders, and never printed or put in an error.
 */
class KafkaClientPropertiesTest {

    private static final String SECRET = "pw-Zq81-never-printed";

    @TempDir Path dir;

    private static Map<String, String> parse(String... args) {
        return KafkaClientProperties.fromFlags(
                Flags.parse(args, KafkaClientProperties.FLAGS, Set.of()));
    }

    @Test
    void theFileComesFirstAndEachFlagOverridesIt() throws Exception {
        Path file = dir.resolve("client.properties");
        Files.writeString(
                file,
                "security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\n# a comment\n"
                        + "ssl.truststore.location=/etc/kafka/ca.p12\n");

        Map<String, String> p =
                parse(
                        "--kafka-properties",
                        file.toString(),
                        "--kafka-property",
                        "sasl.mechanism=SCRAM-SHA-512",
                        "--kafka-property",
                        "client.rack=use1-az1");

        assertThat(p)
                .containsEntry("security.protocol", "SASL_SSL")
                .containsEntry("sasl.mechanism", "SCRAM-SHA-512")
                .containsEntry("ssl.truststore.location", "/etc/kafka/ca.p12")
                .containsEntry("client.rack", "use1-az1")
                .doesNotContainKey("config.providers");
    }

    @Test
    void settingsTheJobMakesItselfAreRefusedWithTheReason() {
        assertThatThrownBy(() -> parse("--kafka-property", "isolation.level=read_uncommitted"))
                .isInstanceOf(Flags.UsageException.class)
                .hasMessageContaining("isolation.level")
                .hasMessageContaining("committed records only");
        assertThatThrownBy(() -> parse("--kafka-property", "bootstrap.servers=x:9092"))
                .hasMessageContaining("use --bootstrap-servers");
    }

    @Test
    void aMalformedPropertyIsAnErrorThatDoesNotEchoItsValue() {
        assertThatThrownBy(() -> parse("--kafka-property", "=" + SECRET))
                .isInstanceOf(Flags.UsageException.class)
                .message()
                .doesNotContain(SECRET);
        assertThatThrownBy(() -> parse("--kafka-property", SECRET))
                .message()
                .doesNotContain(SECRET);
    }

    @Test
    void aFileThatIsTooLargeOrMissingIsNamedWithoutItsContent() throws Exception {
        Path big = dir.resolve("big.properties");
        Files.writeString(
                big,
                ("ssl.key.password=" + SECRET + "\n")
                        .repeat(KafkaClientProperties.MAX_FILE_BYTES / 20));
        assertThatThrownBy(() -> parse("--kafka-properties", big.toString()))
                .hasMessageContaining(big.toString())
                .hasMessageContaining("larger than")
                .message()
                .doesNotContain(SECRET);
        assertThatThrownBy(() -> parse("--kafka-properties", dir.resolve("none").toString()))
                .hasMessageContaining("cannot be read");
    }

    @Test
    void placeholdersAreResolvedByTheKafkaClientFromAFileADirectoryAndTheEnvironment()
            throws Exception {
        Path secrets = dir.resolve("secrets.properties");
        Files.writeString(secrets, "truststore=" + SECRET + "\n");
        Path mounted = dir.resolve("k8s-secret");
        Files.createDirectories(mounted);
        String jaas =
                "org.apache.kafka.common.security.scram.ScramLoginModule required"
                        + " username=\"replicator\" password=\""
                        + SECRET
                        + "\";";
        Files.writeString(mounted.resolve("jaas"), jaas);
        String envName = System.getenv().containsKey("PATH") ? "PATH" : "HOME";

        Map<String, String> p =
                parse(
                        "--kafka-property",
                        "ssl.truststore.password=${file:" + secrets + ":truststore}",
                        "--kafka-property",
                        "sasl.jaas.config=${dir:" + mounted + ":jaas}",
                        "--kafka-property",
                        "client.id=${env:" + envName + "}");

        assertThat(p.get("config.providers")).isEqualTo("dir,env,file");
        assertThat(p.values()).noneMatch(v -> v.contains(SECRET));
        List<String> keys = new ArrayList<>(p.keySet());
        Map<String, Object> raw = new java.util.HashMap<>(p);
        raw.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:1");
        AdminClientConfig resolved = new AdminClientConfig(raw);
        assertThat(resolved.getPassword(SslConfigs.SSL_TRUSTSTORE_PASSWORD_CONFIG).value())
                .isEqualTo(SECRET);
        assertThat(resolved.getPassword(SaslConfigs.SASL_JAAS_CONFIG).value()).isEqualTo(jaas);
        assertThat(resolved.getString(AdminClientConfig.CLIENT_ID_CONFIG))
                .isEqualTo(System.getenv(envName));
        assertThat(keys).contains("config.providers.file.class");
    }

    @Test
    void secretsAreMaskedWhereverPropertiesArePrintedButPlaceholdersShowWhereTheyAre() {
        Map<String, String> shown =
                KafkaClientProperties.masked(
                        Map.of(
                                "sasl.jaas.config",
                                "ScramLoginModule required password=\"" + SECRET + "\";",
                                "ssl.key.password",
                                SECRET,
                                "ssl.keystore.key",
                                SECRET,
                                "sasl.oauthbearer.token.endpoint.url",
                                "https://idp/token",
                                "ssl.truststore.password",
                                "${env:TRUSTSTORE_PASSWORD}",
                                "security.protocol",
                                "SASL_SSL"));

        assertThat(shown.toString()).doesNotContain(SECRET);
        assertThat(shown)
                .containsEntry("sasl.jaas.config", KafkaClientProperties.MASK)
                .containsEntry("ssl.key.password", KafkaClientProperties.MASK)
                .containsEntry("ssl.truststore.password", "${env:TRUSTSTORE_PASSWORD}")
                .containsEntry("security.protocol", "SASL_SSL");
    }
}
