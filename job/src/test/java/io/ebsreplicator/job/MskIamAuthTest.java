package io.ebsreplicator.job;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.security.JaasContext;
import org.apache.kafka.common.security.auth.AuthenticateCallbackHandler;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.security.auth.spi.LoginModule;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Amazon MSK IAM authentication from the job's own class path: the properties the README gives,
 * read by {@link KafkaClientProperties}, name a login module and callback handler that load, accept
 * the {@code AWS_MSK_IAM} mechanism, and let a Kafka client be built. No MSK cluster: nothing here
 * connects anywhere.
 */
class MskIamAuthTest {

    /** Exactly the README's lines. */
    static final String README_PROPERTIES =
            String.join(
                    "\n",
                    "security.protocol=SASL_SSL",
                    "sasl.mechanism=AWS_MSK_IAM",
                    "sasl.jaas.config=software.amazon.msk.auth.iam.IAMLoginModule required;",
                    "sasl.client.callback.handler.class="
                            + "software.amazon.msk.auth.iam.IAMClientCallbackHandler",
                    "");

    @TempDir Path dir;

    private Map<String, String> readmeProperties() throws Exception {
        Path file = dir.resolve("msk-iam.properties");
        Files.writeString(file, README_PROPERTIES);
        return KafkaClientProperties.fromFlags(
                Flags.parse(
                        new String[] {"--kafka-properties", file.toString()},
                        KafkaClientProperties.FLAGS,
                        Set.of()));
    }

    @Test
    void theLoginModuleAndCallbackHandlerLoadFromTheJobsClassPath() throws Exception {
        Map<String, String> props = readmeProperties();
        assertThat(props)
                .containsEntry(SaslConfigs.SASL_MECHANISM, "AWS_MSK_IAM")
                .doesNotContainKey("config.providers");

        Class<?> login = Class.forName("software.amazon.msk.auth.iam.IAMLoginModule");
        Class<?> handler = Class.forName(props.get(SaslConfigs.SASL_CLIENT_CALLBACK_HANDLER_CLASS));
        assertThat(LoginModule.class).isAssignableFrom(login);
        assertThat(AuthenticateCallbackHandler.class).isAssignableFrom(handler);

        // Configured the way a Kafka client configures it: the JAAS line parsed by Kafka.
        Map<String, Object> configs = new HashMap<>(props);
        configs.put(
                SaslConfigs.SASL_JAAS_CONFIG,
                new Password(props.get(SaslConfigs.SASL_JAAS_CONFIG)));
        JaasContext jaas = JaasContext.loadClientContext(configs);
        assertThat(jaas.configurationEntries())
                .singleElement()
                .satisfies(e -> assertThat(e.getLoginModuleName()).isEqualTo(login.getName()));
        AuthenticateCallbackHandler h =
                (AuthenticateCallbackHandler) handler.getDeclaredConstructor().newInstance();
        try {
            h.configure(configs, "AWS_MSK_IAM", jaas.configurationEntries());
        } finally {
            h.close();
        }
        // The handler checks the mechanism: a typo in sasl.mechanism is refused, not ignored.
        AuthenticateCallbackHandler other =
                (AuthenticateCallbackHandler) handler.getDeclaredConstructor().newInstance();
        assertThatThrownBy(
                        () -> other.configure(configs, "AWS_MSK_IAMX", jaas.configurationEntries()))
                .hasMessageContaining("AWS_MSK_IAM");
    }

    @Test
    void aKafkaClientBuildsWithTheReadmeProperties() throws Exception {
        Properties p = new Properties();
        // Never contacted: a consumer connects on its first poll, and there is none.
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, "127.0.0.1:9");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
        p.put(
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
                ByteArrayDeserializer.class.getName());
        p.putAll(readmeProperties());

        // Building the client runs the SASL login through IAMLoginModule and configures
        // IAMClientCallbackHandler; a class missing from the jar fails here.
        KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p);
        consumer.close(Duration.ZERO);
    }
}
