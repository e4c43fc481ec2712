package io.ebsreplicator.local;

import io.ebsreplicator.local.auth.AccessKey;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.awscore.retry.AwsRetryStrategy;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.core.sync.ResponseTransformer;
import software.amazon.awssdk.http.SdkHttpConfigurationOption;
import software.amazon.awssdk.http.apache.ApacheHttpClient;
import software.amazon.awssdk.http.nio.netty.NettyNioAsyncHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.ebs.EbsAsyncClient;
import software.amazon.awssdk.services.ebs.EbsClient;
import software.amazon.awssdk.services.ebs.model.ChecksumAggregationMethod;
import software.amazon.awssdk.services.ebs.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.ebs.model.CompleteSnapshotResponse;
import software.amazon.awssdk.services.ebs.model.PutSnapshotBlockResponse;
import software.amazon.awssdk.services.ebs.model.StartSnapshotResponse;
import software.amazon.awssdk.services.ec2.Ec2Client;
import software.amazon.awssdk.utils.AttributeMap;

import java.net.URI;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;

/**
 * Unmodified AWS SDK for Java v2 clients pointed at an ebs-local endpoint, and small helpers that
 * write and read blocks with them. SDK retries are off so each test sees exactly what the server
 * answered.
 */
public final class EbsClients {

    public static final int BLOCK = 512 * 1024;

    private EbsClients() {}

    public static EbsClient ebs(EbsLocalServer server, String region) {
        return ebs(server.endpoint(), server.accessKey(), region, server.config().tls());
    }

    public static EbsClient ebs(URI endpoint, AccessKey key, String region, boolean trustAll) {
        return EbsClient.builder()
                .endpointOverride(endpoint)
                .region(Region.of(region))
                .credentialsProvider(credentials(key))
                .httpClient(
                        ApacheHttpClient.builder()
                                .maxConnections(64)
                                .buildWithDefaults(trust(trustAll)))
                .overrideConfiguration(noRetries())
                .build();
    }

    public static EbsAsyncClient ebsAsync(EbsLocalServer server, String region) {
        return EbsAsyncClient.builder()
                .endpointOverride(server.endpoint())
                .region(Region.of(region))
                .credentialsProvider(credentials(server.accessKey()))
                .httpClient(
                        NettyNioAsyncHttpClient.builder()
                                .maxConcurrency(64)
                                .buildWithDefaults(trust(server.config().tls())))
                .overrideConfiguration(noRetries())
                .build();
    }

    public static Ec2Client ec2(EbsLocalServer server, String region) {
        return Ec2Client.builder()
                .endpointOverride(server.endpoint())
                .region(Region.of(region))
                .credentialsProvider(credentials(server.accessKey()))
                .httpClient(
                        ApacheHttpClient.builder().buildWithDefaults(trust(server.config().tls())))
                .overrideConfiguration(noRetries())
                .build();
    }

    static StaticCredentialsProvider credentials(AccessKey key) {
        return StaticCredentialsProvider.create(
                AwsBasicCredentials.create(key.accessKeyId(), key.secretAccessKey()));
    }

    static ClientOverrideConfiguration noRetries() {
        return ClientOverrideConfiguration.builder()
                .retryStrategy(AwsRetryStrategy.doNotRetry())
                .apiCallAttemptTimeout(Duration.ofSeconds(30))
                .build();
    }

    private static AttributeMap trust(boolean trustAll) {
        return AttributeMap.builder()
                .put(SdkHttpConfigurationOption.TRUST_ALL_CERTIFICATES, trustAll)
                .build();
    }

    /** A block whose content is determined by {@code seed}. */
    public static byte[] block(long seed) {
        byte[] b = new byte[BLOCK];
        new Random(seed).nextBytes(b);
        return b;
    }

    public static String sha256(byte[] data) {
        try {
            return Base64.getEncoder()
                    .encodeToString(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** LINEAR aggregate of the given block contents, in the order given. */
    public static String linear(List<byte[]> blocksInIndexOrder) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (byte[] b : blocksInIndexOrder) {
                md.update(MessageDigest.getInstance("SHA-256").digest(b));
            }
            return Base64.getEncoder().encodeToString(md.digest());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    public static StartSnapshotResponse start(EbsClient ebs, long volumeGib, String parent) {
        return ebs.startSnapshot(r -> r.volumeSize(volumeGib).parentSnapshotId(parent).timeout(60));
    }

    public static PutSnapshotBlockResponse put(
            EbsClient ebs, String snapshotId, int index, byte[] data) {
        return ebs.putSnapshotBlock(
                r ->
                        r.snapshotId(snapshotId)
                                .blockIndex(index)
                                .dataLength(data.length)
                                .checksum(sha256(data))
                                .checksumAlgorithm(ChecksumAlgorithm.SHA256),
                RequestBody.fromBytes(data));
    }

    public static CompleteSnapshotResponse complete(
            EbsClient ebs, String snapshotId, List<byte[]> writtenInIndexOrder) {
        return ebs.completeSnapshot(
                r ->
                        r.snapshotId(snapshotId)
                                .changedBlocksCount(writtenInIndexOrder.size())
                                .checksum(linear(writtenInIndexOrder))
                                .checksumAlgorithm(ChecksumAlgorithm.SHA256)
                                .checksumAggregationMethod(ChecksumAggregationMethod.LINEAR));
    }

    public static byte[] get(EbsClient ebs, String snapshotId, int index, String token) {
        return ebs.getSnapshotBlock(
                        r -> r.snapshotId(snapshotId).blockIndex(index).blockToken(token),
                        ResponseTransformer.toBytes())
                .asByteArray();
    }

    /** All (index, token) pairs of a snapshot, following NextToken until it is absent. */
    public static List<int[]> listAllIndexes(EbsClient ebs, String snapshotId, int maxResults) {
        List<int[]> out = new ArrayList<>();
        String next = null;
        do {
            String token = next;
            var page =
                    ebs.listSnapshotBlocks(
                            r -> r.snapshotId(snapshotId).maxResults(maxResults).nextToken(token));
            page.blocks().forEach(b -> out.add(new int[] {b.blockIndex()}));
            next = page.nextToken();
        } while (next != null);
        return out;
    }

    /** Waits (service clock permitting) until DescribeSnapshots reports the snapshot completed. */
    public static void awaitCompleted(Ec2Client ec2, String snapshotId)
            throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            var s = ec2.describeSnapshots(r -> r.snapshotIds(snapshotId)).snapshots().get(0);
            if (s.stateAsString().equals("completed")) {
                return;
            }
            if (s.stateAsString().equals("error")) {
                throw new AssertionError(snapshotId + " went to error: " + s.stateMessage());
            }
            Thread.sleep(20);
        }
        throw new AssertionError(snapshotId + " did not complete within 30 s");
    }
}
