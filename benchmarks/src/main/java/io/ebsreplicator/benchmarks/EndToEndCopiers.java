package io.ebsreplicator.benchmarks;

import io.ebsreplicator.benchmarks.EndToEndBenchmark.Result;
import io.ebsreplicator.connector.ebs.completion.LinearChecksum;
import io.ebsreplicator.connector.ebs.copier.BlockTransform;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationResult;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.pipeline.EbsReplicationPipeline;
import io.ebsreplicator.connector.ebs.proxy.BlockListing;
import io.ebsreplicator.connector.ebs.proxy.EbsProxy;
import io.ebsreplicator.connector.ebs.proxy.SdkEbsProxyFactory;
import io.ebsreplicator.connector.ebs.proxy.StartSnapshotSpec;
import io.ebsreplicator.local.EbsLocalServer;

import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.util.TestStreamEnvironment;
import org.apache.flink.util.CloseableIterator;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.SdkHttpConfigurationOption;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.utils.AttributeMap;

import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;

import static io.ebsreplicator.benchmarks.EndToEndBenchmark.BLOCK;
import static io.ebsreplicator.benchmarks.EndToEndBenchmark.SOURCE;
import static io.ebsreplicator.benchmarks.EndToEndBenchmark.TARGET;
import static io.ebsreplicator.benchmarks.EndToEndBenchmark.options;

/**
 * The three systems {@link EndToEndBenchmark} compares on the same source snapshot: the job on an
 * embedded MiniCluster, a tuned direct copier (the connector's async proxy with bounded
 * concurrency, no Flink) and a naive sequential SDK copier. Each copies once and returns its {@link
 * Result}, measured by {@link EndToEndMeasurement}.
 */
final class EndToEndCopiers {

    private EndToEndCopiers() {}

    static Result job(
            EbsLocalServer ebs,
            MiniCluster mini,
            Configuration options,
            String source,
            long blocks,
            long latency,
            int parallelism,
            int maxInFlight)
            throws Exception {
        EndToEndMeasurement m = EndToEndMeasurement.start(ebs);
        // Submitted to a running cluster, as a user submits it: a MiniCluster per run would also
        // load Flink's RPC system in a fresh class loader each time and compile it again.
        StreamExecutionEnvironment env = new TestStreamEnvironment(mini, parallelism);
        env.enableCheckpointing(10_000);
        List<ReplicationResult> results = new ArrayList<>();
        try (CloseableIterator<ReplicationResult> it =
                EbsReplicationPipeline.build(
                                env,
                                List.of(
                                        new ReplicationRequest(
                                                "bench-" + latency + "-" + System.nanoTime(),
                                                SOURCE,
                                                source,
                                                null,
                                                List.of(ReplicationTarget.of(TARGET)),
                                                null,
                                                false,
                                                Map.of(),
                                                ReplicationRequest.NO_DEADLINE,
                                                0)),
                                options,
                                BlockTransform.IDENTITY)
                        .executeAndCollect("benchmark")) {
            it.forEachRemaining(results::add);
        }
        if (results.size() != 1 || !results.get(0).succeeded()) {
            throw new IllegalStateException("The job failed: " + results);
        }
        return m.finish("job", latency, results.get(0).blocksWritten(), parallelism * maxInFlight);
    }

    /** The connector's async proxy, bounded concurrency, no Flink: the practical limit here. */
    static Result tuned(
            EbsLocalServer ebs,
            SdkEbsProxyFactory factory,
            String source,
            long latency,
            int concurrency)
            throws Exception {
        try (EbsProxy src = factory.create(SOURCE);
                EbsProxy dst = factory.create(TARGET)) {
            Map<Integer, String> tokens = BlockListing.allBlocks(src, source);
            EndToEndMeasurement m = EndToEndMeasurement.start(ebs);
            tunedCopy(src, dst, source, tokens, concurrency);
            return m.finish("tuned", latency, tokens.size(), concurrency);
        }
    }

    /**
     * The tuned copy itself: every block of {@code tokens} read, checked and written with {@code
     * concurrency} at once, then CompleteSnapshot and a wait for the target to be completed.
     * Returns the target snapshot. Also run as a fresh process by {@link ColdTunedCopier}.
     */
    static String tunedCopy(
            EbsProxy src, EbsProxy dst, String source, Map<Integer, String> tokens, int concurrency)
            throws Exception {
        String target =
                dst.startSnapshot(
                                new StartSnapshotSpec(
                                        src.listSnapshotBlocks(source, 0, null, 100)
                                                .volumeSizeGib(),
                                        null,
                                        null,
                                        "tuned",
                                        Map.of(),
                                        null,
                                        null,
                                        60))
                        .snapshotId();
        Map<Integer, byte[]> digests = new TreeMap<>();
        Semaphore permits = new Semaphore(concurrency);
        List<CompletableFuture<Void>> copies = new ArrayList<>();
        for (Map.Entry<Integer, String> b : tokens.entrySet()) {
            permits.acquire();
            int index = b.getKey();
            copies.add(
                    src.getBlock(source, index, b.getValue())
                            .thenCompose(
                                    f -> {
                                        byte[] d = f.data().sha256();
                                        if (!Base64.getEncoder()
                                                .encodeToString(d)
                                                .equals(f.checksumBase64())) {
                                            throw new IllegalStateException(
                                                    "checksum mismatch at " + index);
                                        }
                                        synchronized (digests) {
                                            digests.put(index, d);
                                        }
                                        return dst.putBlock(
                                                target,
                                                index,
                                                f.data(),
                                                Base64.getEncoder().encodeToString(d));
                                    })
                            .whenComplete((v, e) -> permits.release()));
        }
        CompletableFuture.allOf(copies.toArray(new CompletableFuture<?>[0])).join();
        LinearChecksum linear = new LinearChecksum();
        digests.values().forEach(linear::add);
        dst.completeSnapshot(target, linear.count(), linear.value());
        while (!dst.describeSnapshot(target).completed()) {
            Thread.sleep(20);
        }
        return target;
    }

    /**
     * What a user writes in an afternoon: the sync SDK client, one block at a time, get then put.
     * It copies only the first {@code sample} blocks (at 100 ms a full copy would take an hour);
     * its rate is what it would sustain.
     */
    static Result naive(EbsLocalServer ebs, String source, long latency, int sample)
            throws Exception {
        try (EbsClient client = naiveClient(ebs, SOURCE);
                EbsClient target = naiveClient(ebs, TARGET)) {
            EndToEndMeasurement m = EndToEndMeasurement.start(ebs);
            var page = client.listSnapshotBlocks(r -> r.snapshotId(source).maxResults(sample));
            String dst =
                    target.startSnapshot(r -> r.volumeSize(page.volumeSize()).timeout(60))
                            .snapshotId();
            int copied = 0;
            for (var b : page.blocks()) {
                if (copied >= sample) {
                    break;
                }
                byte[] data =
                        client.getSnapshotBlock(
                                        r ->
                                                r.snapshotId(source)
                                                        .blockIndex(b.blockIndex())
                                                        .blockToken(b.blockToken()),
                                        ResponseTransformer.toBytes())
                                .asByteArray();
                String sum = Base64.getEncoder().encodeToString(sha256(data));
                boolean done = false;
                while (!done) {
                    try {
                        target.putSnapshotBlock(
                                r ->
                                        r.snapshotId(dst)
                                                .blockIndex(b.blockIndex())
                                                .dataLength(BLOCK)
                                                .checksum(sum)
                                                .checksumAlgorithm(ChecksumAlgorithm.SHA256),
                                RequestBody.fromBytes(data));
                        done = true;
                    } catch (
                            software.amazon.awssdk.services.ebs.model.ResourceNotFoundException e) {
                        Thread.sleep(200); // a new snapshot is not visible at once
                    }
                }
                copied++;
            }
            return m.finish("naive", latency, copied, 1);
        }
    }

    /** The sync SDK client with its default retries, as a user would build it. */
    static EbsClient naiveClient(EbsLocalServer ebs, String region) {
        return EbsClient.builder()
                .endpointOverride(ebs.endpoint())
                .region(Region.of(region))
                .credentialsProvider(
                        StaticCredentialsProvider.create(
                                AwsBasicCredentials.create(
                                        ebs.accessKey().accessKeyId(),
                                        ebs.accessKey().secretAccessKey())))
                .httpClient(
                        ApacheHttpClient.builder()
                                .buildWithDefaults(
                                        AttributeMap.builder()
                                                .put(
                                                        SdkHttpConfigurationOption
                                                                .TRUST_ALL_CERTIFICATES,
                                                        true)
                                                .build()))
                .overrideConfiguration(
                        ClientOverrideConfiguration.builder()
                                .retryStrategy(AwsRetryStrategy.defaultRetryStrategy())
                                .build())
                .build();
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
