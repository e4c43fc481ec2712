package io.ebsreplicator.local.junit;

import io.ebsreplicator.local.EbsLocalConfig;
import io.ebsreplicator.local.EbsLocalServer;
import io.ebsreplicator.local.auth.AccessKey;
import io.ebsreplicator.local.fault.FaultProfile;
import io.ebsreplicator.local.service.EbsClock;
import io.ebsreplicator.local.service.EbsService;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.net.URI;
import java.util.function.Consumer;

/**
 * Starts an in-process ebs-local for a test class ({@code static} field) or for each test (instance
 * field), and stops it afterwards. Fault profiles set by a test are reset after it.
 *
 * <pre>{@code
 * @RegisterExtension
 * static final EbsLocalExtension EBS = EbsLocalExtension.builder().configure(b -> b.sealDelay(Duration.ZERO)).build();
 * }</pre>
 */
public final class EbsLocalExtension
        implements BeforeAllCallback, AfterAllCallback, BeforeEachCallback, AfterEachCallback {

    private final Consumer<EbsLocalConfig.Builder> configurer;
    private EbsLocalServer server;
    private boolean perClass;

    private EbsLocalExtension(Consumer<EbsLocalConfig.Builder> configurer) {
        this.configurer = configurer;
    }

    /** An in-memory server for the default regions with the default key pair. */
    public static EbsLocalExtension inMemory() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        perClass = true;
        start();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        stop();
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        if (!perClass) {
            start();
        }
    }

    @Override
    public void afterEach(ExtensionContext context) {
        if (!perClass) {
            stop();
        } else if (server != null) {
            server.setFaults(FaultProfile.none());
        }
    }

    private void start() throws Exception {
        EbsLocalConfig.Builder b = EbsLocalConfig.builder();
        configurer.accept(b);
        server = EbsLocalServer.start(b.build());
    }

    private void stop() {
        if (server != null) {
            server.close();
            server = null;
        }
    }

    public EbsLocalServer server() {
        if (server == null) {
            throw new IllegalStateException("ebs-local is not running outside a test");
        }
        return server;
    }

    public URI endpoint() {
        return server().endpoint();
    }

    public AccessKey accessKey() {
        return server().accessKey();
    }

    public EbsService service() {
        return server().service();
    }

    public EbsClock clock() {
        return server().clock();
    }

    public void setFaults(FaultProfile profile) {
        server().setFaults(profile);
    }

    /** Builds an {@link EbsLocalExtension}. */
    public static final class Builder {
        private Consumer<EbsLocalConfig.Builder> configurer = b -> {};

        /** Adjusts the server configuration (in memory unless a data directory is set). */
        public Builder configure(Consumer<EbsLocalConfig.Builder> c) {
            configurer = configurer.andThen(c);
            return this;
        }

        public EbsLocalExtension build() {
            return new EbsLocalExtension(configurer);
        }
    }
}
