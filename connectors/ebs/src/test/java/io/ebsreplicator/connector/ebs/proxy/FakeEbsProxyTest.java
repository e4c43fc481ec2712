package io.ebsreplicator.connector.ebs.proxy;

import io.ebsreplicator.connector.ebs.exception.EbsProxyException;
import io.ebsreplicator.connector.ebs.exception.EbsProxyException.Kind;

import org.apache.flink.util.InstantiationUtil;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;

import static io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy.block;
import static io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy.linearChecksum;
import static io.ebsreplicator.connector.ebs.proxy.FakeEbsProxy.sha256;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The fake others test against must itself behave like EBS. Runs in the unit test JVM. */
class FakeEbsProxyTest {

    private final FakeEbsProxy ebs = new FakeEbsProxy("us-east-1");

    @Test
    void aSnapshotIsWrittenCompletedSealedAndRead() throws Exception {
        ebs.sealAfterPolls(1);
        StartSnapshotSpec spec = spec(null, "t-1");
        String id = ebs.startSnapshot(spec).snapshotId();
        assertThat(ebs.startSnapshot(spec).snapshotId()).isEqualTo(id);
        ebs.putBlock(id, 3, block(3), sha256(block(3))).get();
        ebs.putBlock(id, 1, block(1), sha256(block(1))).get();
        // As in EBS, a pending snapshot cannot be listed or read yet.
        assertThatThrownBy(() -> ebs.listSnapshotBlocks(id, 0, null, 100))
                .isInstanceOf(EbsProxyException.class);
        // LINEAR is over the digests in block order, not in write order.
        assertThatThrownBy(
                        () ->
                                ebs.completeSnapshot(
                                        id, 2, linearChecksum(List.of(block(3), block(1)))))
                .isInstanceOfSatisfying(
                        EbsProxyException.class, e -> assertThat(e.kind()).isEqualTo(Kind.FATAL));
        assertThat(ebs.completeSnapshot(id, 2, linearChecksum(List.of(block(1), block(3)))))
                .isEqualTo("pending");
        assertThat(ebs.describeSnapshot(id).status()).isEqualTo("pending");
        assertThat(ebs.describeSnapshot(id).completed()).isTrue();

        BlockListing first = ebs.listSnapshotBlocks(id, 0, null, 1);
        assertThat(first.blocks()).extracting(ListedBlock::blockIndex).containsExactly(1);
        BlockListing second = ebs.listSnapshotBlocks(id, 0, first.nextToken(), 1);
        assertThat(second.blocks()).extracting(ListedBlock::blockIndex).containsExactly(3);
        assertThat(second.nextToken()).isNull();
        FetchedBlock fetched = ebs.getBlock(id, 3, second.blocks().get(0).blockToken()).get();
        assertThat(fetched.data().toArray()).isEqualTo(block(3));
        assertThat(fetched.checksumBase64()).isEqualTo(sha256(block(3)));
        assertThat(ebs.listSnapshotBlocks(id, 2, null, 100).blocks())
                .extracting(ListedBlock::blockIndex)
                .containsExactly(3);
    }

    @Test
    void changedBlocksStayWithinALineage() {
        String parent = ebs.createSnapshot(1, null, Map.of(0, block(0), 1, block(1)));
        String child = ebs.createSnapshot(1, parent, Map.of(1, block(10), 2, block(2)));
        String stranger = ebs.createSnapshot(1, null, Map.of(0, block(0)));
        assertThat(ebs.listChangedBlocks(parent, child, 0, null, 100).blocks())
                .extracting(ListedBlock::blockIndex)
                .containsExactly(1, 2);
        assertThat(ebs.listChangedBlocks(null, child, 0, null, 100).blocks())
                .extracting(ListedBlock::blockIndex)
                .containsExactly(0, 1, 2);
        assertThat(ebs.blocks(child).get(0)).isEqualTo(block(0));
        assertThatThrownBy(() -> ebs.listChangedBlocks(parent, stranger, 0, null, 100))
                .isInstanceOfSatisfying(
                        EbsProxyException.class,
                        e -> assertThat(e.reason()).isEqualTo("UNRELATED_SNAPSHOTS"));
    }

    @Test
    void tokensCanBeInvalidatedAndReadsCorrupted() throws Exception {
        String id = ebs.createSnapshot(1, null, Map.of(5, block(5)));
        String token = ebs.listSnapshotBlocks(id, 0, null, 100).blocks().get(0).blockToken();
        ebs.corruptNextReads(1);
        FetchedBlock corrupt = ebs.getBlock(id, 5, token).get();
        assertThat(sha256(corrupt.data().toArray())).isNotEqualTo(corrupt.checksumBase64());
        ebs.invalidateTokens();
        assertThatThrownBy(() -> ebs.getBlock(id, 5, token).get())
                .isInstanceOf(ExecutionException.class)
                .cause()
                .isInstanceOfSatisfying(
                        EbsProxyException.class,
                        e -> assertThat(e.kind()).isEqualTo(Kind.INVALID_TOKEN));
    }

    @Test
    void deletionKeepsInheritedBlocksRefusesPendingAndIsIdempotent() throws Exception {
        String parent = ebs.createSnapshot(1, null, Map.of(0, block(0)));
        String child = ebs.createSnapshot(1, parent, Map.of(1, block(1)));
        String pending = ebs.startSnapshot(spec(null, "t-del")).snapshotId();

        assertThat(ebs.deleteSnapshot(parent)).isEqualTo(SnapshotDeletion.DELETED);
        assertThat(ebs.deleteSnapshot(parent)).isEqualTo(SnapshotDeletion.ALREADY_GONE);
        assertThatThrownBy(() -> ebs.deleteSnapshot(pending))
                .isInstanceOfSatisfying(
                        EbsProxyException.class,
                        e -> assertThat(e.errorCode()).isEqualTo("IncorrectState"));

        assertThat(ebs.status(parent)).isNull();
        assertThat(ebs.status(pending)).isEqualTo("pending");
        assertThat(ebs.blocks(child)).containsOnlyKeys(0, 1);
        assertThat(ebs.deleted()).containsExactly(parent);
    }

    @Test
    void failuresAreScriptedAndCallsRecorded() throws Exception {
        String id = ebs.startSnapshot(spec(null, "t-2")).snapshotId();
        ebs.failNext("PutSnapshotBlock", FakeEbsProxy::throttled);
        assertThatThrownBy(() -> ebs.putBlock(id, 0, block(0), sha256(block(0))).get())
                .cause()
                .isInstanceOfSatisfying(
                        EbsProxyException.class,
                        e -> assertThat(e.kind()).isEqualTo(Kind.RETRYABLE));
        ebs.putBlock(id, 0, block(0), sha256(block(0))).get();
        ebs.failAlways(
                "DescribeSnapshots",
                () -> FakeEbsProxy.fatal("AccessDeniedException", "UNAUTHORIZED_ACCOUNT"));
        assertThatThrownBy(() -> ebs.describeSnapshot(id)).isInstanceOf(EbsProxyException.class);
        assertThatThrownBy(() -> ebs.describeSnapshot(id)).isInstanceOf(EbsProxyException.class);
        ebs.clearFailures();
        assertThat(ebs.describeSnapshot(id).status()).isEqualTo("pending");
        assertThat(ebs.calls("PutSnapshotBlock")).hasSize(2);
        assertThat(ebs.calls("PutSnapshotBlock").get(1).args()).startsWith(id, 0);
        assertThat(ebs.calls())
                .extracting(FakeEbsProxy.Call::operation)
                .first()
                .isEqualTo("StartSnapshot");
        assertThatThrownBy(() -> ebs.putBlock(id, 1, new byte[10], sha256(new byte[10])).get())
                .cause()
                .isInstanceOfSatisfying(
                        EbsProxyException.class,
                        e -> assertThat(e.reason()).isEqualTo("INVALID_PARAMETER_VALUE"));
    }

    @Test
    void theFactoryHandsOutRegisteredFakesAfterSerialization() throws Exception {
        FakeEbsProxy.Factory factory = FakeEbsProxy.register("fake-test");
        try {
            FakeEbsProxy west = factory.proxy("us-west-2");
            EbsProxyFactory shipped =
                    InstantiationUtil.clone((EbsProxyFactory) factory, getClass().getClassLoader());
            assertThat(shipped.create("us-west-2")).isSameAs(west);
            assertThat(shipped.create("us-east-1")).isNotSameAs(west);
        } finally {
            FakeEbsProxy.unregister("fake-test");
        }
        assertThatThrownBy(() -> factory.create("us-west-2"))
                .isInstanceOf(IllegalStateException.class);
    }

    private static StartSnapshotSpec spec(String parent, String token) {
        return new StartSnapshotSpec(1, parent, token, null, Map.of(), null, null, 30);
    }
}
