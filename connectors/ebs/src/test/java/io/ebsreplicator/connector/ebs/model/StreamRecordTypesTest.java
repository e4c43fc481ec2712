package io.ebsreplicator.connector.ebs.model;

import io.ebsreplicator.connector.ebs.completion.CompletionInfo;
import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The records Flink keeps in checkpoints and savepoints ({@link BlockTask} in the copier's
 * in-flight state, {@link BlockCopied} in flight, {@link ReplicationResult} in flight, {@link
 * CompletionInfo} in completion's keyed state): Flink POJOs serialized without Kryo, every kind
 * round trips, and records written by the version before they had typed failures, targets and copy
 * details still restore and end correctly.
 */
class StreamRecordTypesTest {

    /**
     * Written once, by the version whose records had one-string targets, failures and copy info,
     * with {@link PojoFixtures#write}; never regenerate.
     */
    static final String TASKS_V1 = "/serializer-fixtures/block-task-pojo-v1.bin";

    static final String COPIED_V1 = "/serializer-fixtures/block-copied-pojo-v1.bin";
    static final String COMPLETION_V1 = "/serializer-fixtures/completion-info-pojo-v1.bin";

    /** Written once by this version ({@link #writeFixtures()}); never regenerate. */
    static final String TASKS_V2 = "/serializer-fixtures/block-task-pojo-v2.bin";

    static final String COPIED_V2 = "/serializer-fixtures/block-copied-pojo-v2.bin";
    static final String COMPLETION_V2 = "/serializer-fixtures/completion-info-pojo-v2.bin";

    private static final Map<String, String> ATTRIBUTES = attributes();

    private static final TargetSnapshots TARGETS = targets();

    private static final CopyInfo INCREMENTAL =
            new CopyInfo(
                    true,
                    "snap-0fedcba9876543210",
                    Map.of("us-west-2", "snap-0ccccccccccccccc3"),
                    null,
                    ATTRIBUTES);

    private static final CopyInfo UNDECIDED = new CopyInfo(null, null, null, null, ATTRIBUTES);

    @ParameterizedTest
    @ValueSource(
            classes = {
                BlockTask.class,
                CopyDeletion.class,
                BlockCopied.class,
                ReplicationResult.class,
                CompletionInfo.class
            })
    void isAFlinkPojoWhoseSerializerNeedsNoKryo(Class<?> type) {
        assertThat(TypeInformation.of(type)).isInstanceOf(PojoTypeInfo.class);
        // Refuses to build if any field, however nested, would go through Kryo.
        assertThat(PojoFixtures.serializer(type)).isNotNull();
    }

    @Test
    void aCopyDeletionTaskRoundTrips() throws IOException {
        BlockTask deleted =
                BlockTask.copyDeletion(
                        new CopyDeletion(
                                "retention/eu-west-1/snap-1",
                                "keep2",
                                "us-east-1",
                                "vol-1",
                                "eu-west-1",
                                "snap-1",
                                1L,
                                2L,
                                3L,
                                CopyDeletion.Outcome.FAILED,
                                Failure.of(FailureReason.ACCESS_DENIED, "not allowed")));

        assertThat(roundTrip(BlockTask.class, deleted))
                .usingRecursiveComparison()
                .isEqualTo(deleted);
        assertThat(roundTrip(CopyDeletion.class, deleted.deletion())).isEqualTo(deleted.deletion());
    }

    @Test
    void everyKindOfTaskRoundTrips() throws IOException {
        for (BlockTask t : tasks()) {
            assertThat(roundTrip(BlockTask.class, t))
                    .as("%s", t.kind())
                    .usingRecursiveComparison()
                    .isEqualTo(t);
        }
    }

    @Test
    void everyKindOfCopiedEventRoundTrips() throws IOException {
        for (BlockCopied c : copied()) {
            assertThat(roundTrip(BlockCopied.class, c))
                    .as("%s", c.kind())
                    .usingRecursiveComparison()
                    .isEqualTo(c);
        }
    }

    @Test
    void completedAndFailedResultsRoundTrip() throws IOException {
        for (ReplicationResult r : results()) {
            assertThat(roundTrip(ReplicationResult.class, r)).isEqualTo(r);
        }
    }

    @Test
    void completionStateRoundTrips() throws IOException {
        for (CompletionInfo i : completionInfos()) {
            assertThat(roundTrip(CompletionInfo.class, i)).usingRecursiveComparison().isEqualTo(i);
        }
    }

    @Test
    void aBlockDescriptorStaysAboutAsSmallAsBefore() throws IOException {
        BlockTask block = tasks().get(0);
        TypeSerializer<BlockTask> s = PojoFixtures.serializer(BlockTask.class);
        DataOutputSerializer out = new DataOutputSerializer(256);

        s.serialize(block, out);

        // Two targets, a 40-character request id and a 76-character token: what a real block of
        // a fan-out carries. The earlier version, with the targets as one string, took 269 bytes
        // for the same block; the typed targets cost a map header and three more field flags.
        assertThat(out.length()).isLessThanOrEqualTo(290);
        assertThat(block.copyDetails()).as("copy details ride on split ends only").isNull();
    }

    // ------------------------------------------------------------------ the earlier version

    @Test
    void tasksOfTheEarlierVersionRestoreAndUpgradeToTypedOnes() throws IOException {
        List<BlockTask> restored = PojoFixtures.read(TASKS_V1, BlockTask.class);

        assertThat(restored).hasSize(4);
        assertThat(restored)
                .allSatisfy(
                        t -> {
                            assertThat(t.targetSnapshots()).as("a field it did not have").isNull();
                            assertThat(t.error()).isNull();
                            assertThat(t.copyDetails()).isNull();
                        });
        List<BlockTask> upgraded = restored.stream().map(BlockTask::upgraded).toList();
        BlockTask block = upgraded.get(0);
        assertThat(block.kind()).isEqualTo(BlockTask.Kind.BLOCK);
        assertThat(block.targetSnapshots()).as("still written to both targets").isEqualTo(TARGETS);
        assertThat(block.blockIndex()).isEqualTo(77);
        assertThat(block.blockToken()).isEqualTo("dG9rZW4=");
        BlockTask end = upgraded.get(1);
        assertThat(end.kind()).isEqualTo(BlockTask.Kind.SPLIT_END);
        assertThat(end.emittedBlocks()).isEqualTo(12);
        assertThat(end.generation()).isEqualTo(1);
        assertThat(end.copyDetails()).isEqualTo(INCREMENTAL);
        BlockTask failed = upgraded.get(2);
        assertThat(failed.kind()).isEqualTo(BlockTask.Kind.REQUEST_FAILED);
        assertThat(failed.targetSnapshots())
                .isEqualTo(TargetSnapshots.notStarted(List.of("us-west-2", "eu-west-1")));
        assertThat(failed.error().reason())
                .as("a reason is never read from a record's text")
                .isEqualTo(FailureReason.TARGET_FAILED);
        assertThat(failed.error().message())
                .startsWith("ResourceNotFoundException(SNAPSHOT_NOT_FOUND): ListSnapshotBlocks")
                .contains("earlier version");
        assertThat(failed.copyDetails()).isEqualTo(UNDECIDED);
        BlockTask letter = upgraded.get(3);
        assertThat(letter.kind()).isEqualTo(BlockTask.Kind.DEAD_LETTER);
        assertThat(letter.deadLetter()).containsExactly(1, 2, 3);
        assertThat(upgraded)
                .allSatisfy(
                        t -> {
                            assertThat(t.targets()).isNull();
                            assertThat(t.failure()).isNull();
                            assertThat(t.copyInfo()).isNull();
                            assertThat(t.upgraded()).isSameAs(t);
                        });
    }

    @Test
    void copiedEventsOfTheEarlierVersionRestoreAndUpgradeToTypedOnes() throws IOException {
        List<BlockCopied> upgraded =
                PojoFixtures.read(COPIED_V1, BlockCopied.class).stream()
                        .map(BlockCopied::upgraded)
                        .toList();

        assertThat(upgraded)
                .extracting(BlockCopied::kind)
                .containsExactly(
                        BlockCopied.Kind.BLOCK,
                        BlockCopied.Kind.SPLIT_END,
                        BlockCopied.Kind.FAILED);
        assertThat(upgraded.get(0).digest()).hasSize(32);
        assertThat(upgraded.get(0).error()).isNull();
        assertThat(upgraded.get(1).copyDetails()).isEqualTo(INCREMENTAL);
        BlockCopied failed = upgraded.get(2);
        assertThat(failed.error().reason()).isEqualTo(FailureReason.TARGET_FAILED);
        assertThat(failed.error().message())
                .startsWith("AccessDeniedException(UNAUTHORIZED_ACCOUNT): StartSnapshot failed")
                .contains("earlier version");
        assertThat(failed.copyDetails()).isEqualTo(UNDECIDED);
        assertThat(failed.completionKey()).isEqualTo("req-pojo-bad\neu-west-1");
    }

    @Test
    void completionStateOfTheEarlierVersionRestoresAndUpgrades() throws IOException {
        List<CompletionInfo> restored = PojoFixtures.read(COMPLETION_V1, CompletionInfo.class);

        CompletionInfo held = restored.get(0);
        assertThat(held.upgrade()).isTrue();
        assertThat(held.heldFailure).isNull();
        assertThat(held.heldError.reason()).isEqualTo(FailureReason.TARGET_FAILED);
        assertThat(held.heldError.message()).startsWith("Timeout: block 77 was not copied in time");
        assertThat(held.copyDetails).isNull();
        CompletionInfo sealing = restored.get(1);
        assertThat(sealing.upgrade()).isTrue();
        assertThat(sealing.copyInfo).isNull();
        assertThat(sealing.copyDetails).isEqualTo(INCREMENTAL);
        assertThat(sealing.phase).isEqualTo(CompletionInfo.SEALING);
        assertThat(sealing.checksum).isEqualTo("q83vEjRWeJA=");
        assertThat(sealing.upgrade()).as("once").isFalse();
    }

    @Test
    void recordsOfThisVersionStillRestore() throws IOException {
        assertThat(PojoFixtures.read(TASKS_V2, BlockTask.class))
                .usingRecursiveFieldByFieldElementComparator()
                .containsExactlyElementsOf(tasks());
        assertThat(PojoFixtures.read(COPIED_V2, BlockCopied.class))
                .usingRecursiveFieldByFieldElementComparator()
                .containsExactlyElementsOf(copied());
        assertThat(PojoFixtures.read(COMPLETION_V2, CompletionInfo.class))
                .usingRecursiveFieldByFieldElementComparator()
                .containsExactlyElementsOf(completionInfos());
    }

    /**
     * Writes the fixtures of this version, for the next change to these records to restore. Run
     * once, on purpose: {@code -Debs.writeFixtures=true}.
     */
    @Test
    @EnabledIfSystemProperty(named = "ebs.writeFixtures", matches = "true")
    void writeFixtures() throws IOException {
        PojoFixtures.write(TASKS_V2, BlockTask.class, tasks());
        PojoFixtures.write(COPIED_V2, BlockCopied.class, copied());
        PojoFixtures.write(COMPLETION_V2, CompletionInfo.class, completionInfos());
    }

    // ------------------------------------------------------------------ one of every kind

    private static BlockTask.Origin origin(CopyInfo copyDetails, TargetSnapshots targets) {
        return new BlockTask.Origin(
                "req-7c1e2f64-3b0a-4d5e-9f21-8a6b4c2d1e0f",
                3,
                16,
                "us-east-1",
                "snap-0f0a5138781aaa575",
                targets,
                1_795_000_000_000L,
                2,
                copyDetails);
    }

    static List<BlockTask> tasks() {
        return List.of(
                BlockTask.block(
                        origin(INCREMENTAL, TARGETS),
                        65_536 * 3 + 17,
                        "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSYnKCkqKywtLi8wMTIzNDU2Nzg5"),
                BlockTask.splitEnd(origin(INCREMENTAL, TARGETS), 4_321),
                BlockTask.requestFailed(
                        origin(
                                UNDECIDED,
                                TargetSnapshots.notStarted(List.of("us-west-2", "eu-west-1"))),
                        Failure.of(FailureReason.QUOTA_EXCEEDED, "too many pending snapshots")),
                BlockTask.deadLetter("dead-letter:requests-0@41", new byte[] {1, 2, 3}));
    }

    static List<BlockCopied> copied() {
        List<BlockTask> t = tasks();
        byte[] digest = new byte[32];
        for (int i = 0; i < digest.length; i++) {
            digest[i] = (byte) (i * 7);
        }
        return List.of(
                BlockCopied.block(t.get(0), "us-west-2", "snap-0e0420b105a9aa039", digest),
                BlockCopied.splitEnd(t.get(1), "eu-west-1", "snap-07020c215a98c9649"),
                BlockCopied.failed(t.get(2), "eu-west-1", null, t.get(2).error()),
                BlockCopied.failed(
                        t.get(0),
                        "us-west-2",
                        "snap-0e0420b105a9aa039",
                        Failure.of(FailureReason.CHECKSUM_MISMATCH, "block 196625 in 3 reads")));
    }

    static List<ReplicationResult> results() {
        return List.of(
                new ReplicationResult(
                        "req-1",
                        "us-east-1",
                        "snap-01",
                        "us-west-2",
                        "snap-02",
                        ReplicationResult.COMPLETED,
                        3,
                        3L * 524288,
                        "abc=",
                        1234,
                        null,
                        ReplicationResult.INCREMENTAL,
                        "snap-00",
                        "snap-03",
                        null,
                        ATTRIBUTES,
                        0L),
                new ReplicationResult(
                        "req-2",
                        "us-east-1",
                        "snap-01",
                        "eu-west-1",
                        null,
                        ReplicationResult.FAILED,
                        0,
                        0,
                        null,
                        7,
                        Failure.of(FailureReason.ACCESS_DENIED, "no"),
                        null,
                        null,
                        null,
                        null,
                        Map.of(),
                        0L));
    }

    static List<CompletionInfo> completionInfos() {
        CompletionInfo held = new CompletionInfo();
        held.requestId = "req-pojo";
        held.sourceRegion = "us-east-1";
        held.sourceSnapshotId = "snap-0123456789abcdef0";
        held.targetRegion = "us-west-2";
        held.targetSnapshotId = "snap-0aaaaaaaaaaaaaaa1";
        held.requestStartMillis = 1_700_000_000_000L;
        held.heldError = Failure.of(FailureReason.EBS_UNAVAILABLE, "block 77 was not copied");
        CompletionInfo sealing = new CompletionInfo();
        sealing.requestId = "req-pojo-2";
        sealing.sourceRegion = "us-east-1";
        sealing.sourceSnapshotId = "snap-0123456789abcdef0";
        sealing.targetRegion = "eu-west-1";
        sealing.targetSnapshotId = "snap-0bbbbbbbbbbbbbbb2";
        sealing.totalSplits = 4;
        sealing.phase = CompletionInfo.SEALING;
        sealing.changedBlocks = 12;
        sealing.checksum = "q83vEjRWeJA=";
        sealing.generation = 1;
        sealing.copyDetails = INCREMENTAL;
        return List.of(held, sealing);
    }

    private static <T> T roundTrip(Class<T> type, T value) throws IOException {
        TypeSerializer<T> s = PojoFixtures.serializer(type);
        DataOutputSerializer out = new DataOutputSerializer(256);
        s.serialize(value, out);
        DataInputDeserializer in = new DataInputDeserializer(out.getCopyOfBuffer());
        T back = s.deserialize(in);
        assertThat(in.available()).isZero();
        return back;
    }

    private static Map<String, String> attributes() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("ticket", "T-9");
        m.put("trace", "xyz");
        return m;
    }

    private static TargetSnapshots targets() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("us-west-2", "snap-0aaaaaaaaaaaaaaa1");
        m.put("eu-west-1", "snap-0bbbbbbbbbbbbbbb2");
        return TargetSnapshots.of(m);
    }
}
