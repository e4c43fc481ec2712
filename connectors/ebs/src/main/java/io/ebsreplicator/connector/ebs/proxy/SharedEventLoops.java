package io.ebsreplicator.connector.ebs.proxy;

import software.amazon.awssdk.http.nio.netty.SdkEventLoopGroup;

import java.util.concurrent.TimeUnit;

/**
 * One Netty event loop group per JVM for every proxy's async client, reference-counted: a
 * TaskManager runs many proxies (each copier, reader and completion subtask, per region), and a
 * group each (twice the cores in threads apiece) made the job spend measurably more CPU than a
 * copier with one group. Shut down when the last proxy releases it.
 */
final class SharedEventLoops {

    private static SdkEventLoopGroup group;
    private static int users;

    private SharedEventLoops() {}

    static synchronized SdkEventLoopGroup acquire() {
        if (group == null) {
            group =
                    SdkEventLoopGroup.builder()
                            .numberOfThreads(
                                    Math.max(2, Runtime.getRuntime().availableProcessors()))
                            .build();
        }
        users++;
        return group;
    }

    static synchronized void release(SdkEventLoopGroup g) {
        if (g != group) {
            return;
        }
        if (--users == 0) {
            // Nothing is in flight any more: no quiet period.
            group.eventLoopGroup().shutdownGracefully(0, 5, TimeUnit.SECONDS);
            group = null;
        }
    }
}
