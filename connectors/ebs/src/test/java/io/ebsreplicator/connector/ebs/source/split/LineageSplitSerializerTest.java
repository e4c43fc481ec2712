package io.ebsreplicator.connector.ebs.source.split;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Tests {@link LineageSplitSerializer}: every kind round trips, and the committed fixture of every
 * version still reads, into the kind it held.
 */
class LineageSplitSerializerTest {

    /** Written once with the version 1 serializer (a block range); never regenerate. */
    static final String FIXTURE = "/serializer-fixtures/block-range-split-v1.bin";

    /** Version 2: a block range of a replacement generation. */
    static final String FIXTURE_V2 = "/serializer-fixtures/block-range-split-v2.bin";

    /** Version 3: a dead letter. */
    static final String FIXTURE_V3 = "/serializer-fixtures/block-range-split-v3.bin";

    /** Version 4: a block range with copy info. */
    static final String FIXTURE_V4 = "/serializer-fixtures/block-range-split-v4.bin";

    private final LineageSplitSerializer serializer = new LineageSplitSerializer();

    static TargetSnapshots targets(String... regionThenSnapshot) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i + 1 < regionThenSnapshot.length; i += 2) {
            m.put(regionThenSnapshot[i], regionThenSnapshot[i + 1]);
        }
        return TargetSnapshots.of(m);
    }

    /** The split stored in {@link #FIXTURE}: incremental, half listed. */
    static BlockRangeSplit fixtureSplit() {
        return BlockRangeSplit.builder()
                .requestId("req-fixture-1")
                .split(2, 4)
                .source("us-east-1", "snap-0123456789abcdef0")
                .base("snap-0fedcba9876543210")
                .targets(
                        targets(
                                "eu-west-1",
                                "snap-0aaaaaaaaaaaaaaa1",
                                "ap-south-1",
                                "snap-0bbbbbbbbbbbbbbb2"))
                .range(4096, 6144)
                .progress(5000, 123)
                .requestStartMillis(1_700_000_000_000L)
                .build();
    }

    /** The split stored in {@link #FIXTURE_V2}: a second replacement of one region's target. */
    static BlockRangeSplit fixtureSplitV2() {
        return BlockRangeSplit.builder()
                .requestId("req-fixture-2")
                .split(1, 4)
                .source("us-east-1", "snap-0123456789abcdef0")
                .targets(targets("us-west-2", "snap-0fedcba9876543210"))
                .range(2048, 4096)
                .progress(3000, 17)
                .requestStartMillis(1_700_000_000_000L)
                .generation(2)
                .build();
    }

    /** The split stored in {@link #FIXTURE_V3}: a dead letter. */
    static DeadLetterSplit fixtureSplitV3() {
        return new DeadLetterSplit("dead-letter:requests-0@41", new byte[] {1, 2, 3, (byte) 0xC3});
    }

    /** The split stored in {@link #FIXTURE_V4}: an incremental range with its copy info. */
    static BlockRangeSplit fixtureSplitV4() {
        return fixtureSplit()
                .withCopyInfo(
                        new CopyInfo(
                                true,
                                "snap-0fedcba9876543210",
                                Map.of("us-west-2", "snap-0aaaaaaaaaaaaaaa1"),
                                null,
                                Map.of()));
    }

    private static BlockRangeSplit fullSplit() {
        return BlockRangeSplit.builder()
                .requestId("req-1")
                .split(0, 3)
                .source("us-east-1", "snap-01")
                .targets(targets("eu-west-1", "snap-0a"))
                .range(0, 683)
                .progress(17, 5)
                .requestStartMillis(42L)
                .build();
    }

    private static FailedRequestSplit failedSplit() {
        return failedSplit(
                Failure.of(
                        FailureReason.SNAPSHOT_NOT_FOUND,
                        "ListSnapshotBlocks failed in us-west-2 for snap-02 (FATAL):"
                                + " ResourceNotFoundException/SNAPSHOT_NOT_FOUND: gone \u00e9\n"));
    }

    private static FailedRequestSplit failedSplit(Failure failure) {
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("ticket", "T-1");
        attributes.put("trace", "a|b,c=d");
        return new FailedRequestSplit(
                "req-2",
                "us-west-2",
                "snap-02",
                List.of("eu-west-1", "eu-central-1"),
                failure,
                7L,
                0,
                new CopyInfo(null, null, Map.of(), null, attributes));
    }

    @Test
    void roundTripsAFullCopyRangeWithoutBase() throws IOException {
        BlockRangeSplit split = fullSplit();

        LineageSplit back = roundTrip(split);

        assertThat(back).isEqualTo(split);
        BlockRangeSplit range = (BlockRangeSplit) back;
        assertThat(range.baseSnapshotId()).isNull();
        assertThat(range.copyInfo()).isNull();
        assertThat(range.splitId()).isEqualTo("req-1#0");
        assertThat(range.nextIndex()).isEqualTo(17);
        assertThat(range.emittedBlocks()).isEqualTo(5);
    }

    @Test
    void roundTripsAnIncrementalRangeWithBaseAndCopyInfo() throws IOException {
        BlockRangeSplit split = fixtureSplitV4();

        BlockRangeSplit back = (BlockRangeSplit) roundTrip(split);

        assertThat(back).isEqualTo(split);
        assertThat(back.baseSnapshotId()).isEqualTo("snap-0fedcba9876543210");
        assertThat(back.requestStartMillis()).isEqualTo(1_700_000_000_000L);
        assertThat(back.targets().regions()).containsExactly("eu-west-1", "ap-south-1");
        assertThat(back.copyInfo().incremental()).isTrue();
        assertThat(back.copyInfo().parents())
                .containsExactly(Map.entry("us-west-2", "snap-0aaaaaaaaaaaaaaa1"));
        assertThat(back.copyInfo().fallbackReason()).isNull();
    }

    @Test
    void roundTripKeepsEveryFieldDistinct() throws IOException {
        // Distinct values in every int/long field catch two fields swapped in the layout.
        BlockRangeSplit split =
                BlockRangeSplit.builder()
                        .requestId("r")
                        .split(3, 9)
                        .source("sa-east-1", "snap-1")
                        .base("snap-2")
                        .targets(targets("t", "snap-3"))
                        .range(11, 22)
                        .progress(13, 14L)
                        .requestStartMillis(15L)
                        .generation(16)
                        .copyInfo(new CopyInfo(false, null, Map.of(), "why", Map.of("k", "v")))
                        .build();

        BlockRangeSplit back = (BlockRangeSplit) roundTrip(split);

        assertThat(back.splitIndex()).isEqualTo(3);
        assertThat(back.totalSplits()).isEqualTo(9);
        assertThat(back.rangeStart()).isEqualTo(11);
        assertThat(back.rangeEnd()).isEqualTo(22);
        assertThat(back.nextIndex()).isEqualTo(13);
        assertThat(back.emittedBlocks()).isEqualTo(14L);
        assertThat(back.requestStartMillis()).isEqualTo(15L);
        assertThat(back.generation()).isEqualTo(16);
        assertThat(back.sourceRegion()).isEqualTo("sa-east-1");
        assertThat(back.sourceSnapshotId()).isEqualTo("snap-1");
        assertThat(back.baseSnapshotId()).isEqualTo("snap-2");
        assertThat(back.targets()).isEqualTo(targets("t", "snap-3"));
        assertThat(back.copyInfo())
                .isEqualTo(new CopyInfo(false, null, Map.of(), "why", Map.of("k", "v")));
    }

    @Test
    void roundTripsAFailureWithItsRegionsAndAttributes() throws IOException {
        FailedRequestSplit split = failedSplit();

        LineageSplit back = roundTrip(split);

        assertThat(back).isEqualTo(split);
        assertThat(back.splitId()).isEqualTo("req-2#0!failed");
        FailedRequestSplit failed = (FailedRequestSplit) back;
        assertThat(failed.targetRegions()).containsExactly("eu-west-1", "eu-central-1");
        assertThat(failed.copyInfo().incremental()).isNull();
        assertThat(failed.copyInfo().attributes())
                .containsExactly(Map.entry("ticket", "T-1"), Map.entry("trace", "a|b,c=d"));
    }

    @Test
    void keepsTheReasonDecidedWhereTheFailureWasFound() throws IOException {
        for (FailureReason reason : FailureReason.values()) {
            FailedRequestSplit split =
                    failedSplit(Failure.of(reason, "no text decides: " + reason));

            FailedRequestSplit back = (FailedRequestSplit) roundTrip(split);

            assertThat(back.failure().reason()).isEqualTo(reason);
            assertThat(back).isEqualTo(split);
        }
    }

    @Test
    void rejectsAnUnknownFailureReason() throws IOException {
        FailedRequestSplit split = failedSplit(Failure.of(FailureReason.TARGET_FAILED, "x"));
        byte[] bytes = serializer.serialize(split);
        byte[] name = "TARGET_FAILED".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int at = indexOf(bytes, name);
        bytes[at] = 'X';

        assertThatThrownBy(
                        () -> serializer.deserialize(LineageSplitSerializer.CURRENT_VERSION, bytes))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("XARGET_FAILED");
    }

    /**
     * Failures that splits of versions 1 to 4 held as text, each as those versions wrote it (the
     * error code, the modelled reason in parentheses, the message), read with the reason the
     * failure gets today.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource(
            delimiter = '|',
            value = {
                "InvalidRequest: sourceRegion 'x' is not a region | INVALID_REQUEST",
                "DeadlineExceeded: the deadline 2024-01-01T00:00:00Z passed before the request was"
                        + " taken | DEADLINE_EXCEEDED",
                "ValidationException(UNRELATED_SNAPSHOTS): ListChangedBlocks failed in us-east-1"
                        + " (FATAL): ValidationException/UNRELATED_SNAPSHOTS: not related"
                        + " | UNRELATED_BASE",
                "ResourceNotFoundException(SNAPSHOT_NOT_FOUND): ListSnapshotBlocks failed in"
                        + " us-east-1 for snap-0dead (FATAL): ResourceNotFoundException/"
                        + "SNAPSHOT_NOT_FOUND: gone | SNAPSHOT_NOT_FOUND",
                "InvalidSnapshot.NotFound: DescribeSnapshots failed in us-east-1 | SNAPSHOT_NOT_FOUND",
                "AccessDeniedException(UNAUTHORIZED_ACCOUNT): StartSnapshot failed in us-west-2"
                        + " (FATAL): AccessDeniedException/UNAUTHORIZED_ACCOUNT: no | ACCESS_DENIED",
                "ServiceQuotaExceededException(DEPENDENCY_SERVICE_QUOTA_EXCEEDED): StartSnapshot"
                        + " failed in us-west-2 (FATAL): too many pending | QUOTA_EXCEEDED",
                "ConflictException: StartSnapshot failed in us-west-2 (FATAL): ConflictException:"
                        + " same token | REQUEST_ID_REUSED",
                "ValidationException(INVALID_CUSTOMER_KEY): StartSnapshot failed in us-west-2"
                        + " (FATAL): bad key | REJECTED_BY_EBS",
                "ValidationException: StartSnapshot failed (FATAL): ValidationException: x"
                        + " | REJECTED_BY_EBS",
                "Target snap-0aaa of request r1 in us-west-2 went to error (Cancelled); replaced 3"
                        + " times already, giving up | TARGET_CANCELLED",
                "IllegalStateException: Block 7 is no longer listed in snap-01 | TARGET_FAILED",
                "something nobody wrote | TARGET_FAILED"
            })
    void aFailureOfAnOlderVersionGetsItsReasonFromItsText(String text, FailureReason reason)
            throws IOException {
        LineageSplit split =
                serializer.deserialize(LineageSplitSerializer.VERSION_4, version4Failure(text));

        assertThat(split)
                .isEqualTo(
                        new FailedRequestSplit(
                                "req-old",
                                "us-east-1",
                                "snap-0123456789abcdef0",
                                List.of("us-west-2", "eu-west-1"),
                                Failure.of(reason, text),
                                1_700_000_000_000L,
                                1,
                                new CopyInfo(null, null, null, null, Map.of("ticket", "T-1"))));
        assertThat(split.splitId()).isEqualTo("req-old#0@g1:us-west-2,eu-west-1!failed");
    }

    /** A failure split in the layout version 4 wrote, as it wrote it; test-only. */
    private static byte[] version4Failure(String text) throws IOException {
        org.apache.flink.core.memory.DataOutputSerializer out =
                new org.apache.flink.core.memory.DataOutputSerializer(256);
        out.writeUTF("req-old");
        out.writeInt(0);
        out.writeInt(1);
        out.writeUTF("us-east-1");
        out.writeUTF("snap-0123456789abcdef0");
        out.writeBoolean(false); // no base
        out.writeUTF("us-west-2=;eu-west-1=");
        out.writeInt(0);
        out.writeInt(0);
        out.writeInt(0);
        out.writeLong(0);
        out.writeBoolean(true);
        out.writeUTF(text);
        out.writeLong(1_700_000_000_000L);
        out.writeInt(1); // generation
        out.writeBoolean(false); // no dead letter
        out.writeBoolean(true);
        out.writeUTF("-|-||-|dGlja2V0=VC0x"); // undecided, attributes ticket=T-1
        return out.getCopyOfBuffer();
    }

    private static int indexOf(byte[] bytes, byte[] part) {
        for (int i = 0; i + part.length <= bytes.length; i++) {
            if (Arrays.equals(Arrays.copyOfRange(bytes, i, i + part.length), part)) {
                return i;
            }
        }
        throw new AssertionError("not found");
    }

    @Test
    void roundTripsADeadLetter() throws IOException {
        DeadLetterSplit split = fixtureSplitV3();

        LineageSplit back = roundTrip(split);

        assertThat(back).isEqualTo(split);
        assertThat(((DeadLetterSplit) back).record()).containsExactly(1, 2, 3, (byte) 0xC3);
        assertThat(back.splitId()).isEqualTo("dead-letter:requests-0@41#0!failed");
    }

    @Test
    void roundTripsAReplacementGenerationWithItsOwnSplitId() throws IOException {
        BlockRangeSplit split = fixtureSplitV2();

        LineageSplit back = roundTrip(split);

        assertThat(back).isEqualTo(split);
        assertThat(back.splitId()).isEqualTo("req-fixture-2#1@g2:us-west-2");
        FailedRequestSplit failedGeneration =
                new FailedRequestSplit(
                        "req-fixture-2",
                        "us-east-1",
                        "snap-0123456789abcdef0",
                        List.of("us-west-2", "eu-west-1"),
                        Failure.of(FailureReason.TARGET_CANCELLED, "gave up"),
                        1L,
                        3,
                        null);
        assertThat(failedGeneration.splitId())
                .isEqualTo("req-fixture-2#0@g3:us-west-2,eu-west-1!failed");
    }

    @Test
    void rejectsUnknownVersionsAndKinds() throws IOException {
        byte[] bytes = serializer.serialize(fullSplit());

        assertThatThrownBy(() -> serializer.deserialize(8, bytes))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("version 8");
        assertThatThrownBy(() -> serializer.deserialize(0, bytes)).isInstanceOf(IOException.class);
        byte[] unknownKind = bytes.clone();
        unknownKind[0] = 7;
        assertThatThrownBy(
                        () ->
                                serializer.deserialize(
                                        LineageSplitSerializer.CURRENT_VERSION, unknownKind))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("kind");
    }

    @Test
    void rejectsTrailingBytes() throws IOException {
        for (LineageSplit split :
                List.of(fullSplit(), failedSplit(), fixtureSplitV3(), fixtureDeletionV7())) {
            byte[] bytes = serializer.serialize(split);
            byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);

            assertThatThrownBy(
                            () ->
                                    serializer.deserialize(
                                            LineageSplitSerializer.CURRENT_VERSION, longer))
                    .as("%s", split)
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("Trailing 1 bytes");
        }
    }

    @Test
    void rejectsTruncatedBytes() throws IOException {
        for (LineageSplit split :
                List.of(fullSplit(), failedSplit(), fixtureSplitV3(), fixtureDeletionV7())) {
            byte[] bytes = serializer.serialize(split);
            byte[] shorter = Arrays.copyOf(bytes, bytes.length - 1);

            assertThatThrownBy(
                            () ->
                                    serializer.deserialize(
                                            LineageSplitSerializer.CURRENT_VERSION, shorter))
                    .as("%s", split)
                    .isInstanceOf(IOException.class);
        }
    }

    @Test
    void currentVersionIsSeven() {
        assertThat(serializer.getVersion()).isEqualTo(LineageSplitSerializer.VERSION_7);
        assertThat(LineageSplitSerializer.INSTANCE.getVersion()).isEqualTo(7);
    }

    /** Written once with the version 5 serializer, one file per kind; never regenerate. */
    static final String FIXTURE_V5_RANGE = "/serializer-fixtures/lineage-split-v5-range.bin";

    static final String FIXTURE_V5_FAILED = "/serializer-fixtures/lineage-split-v5-failed.bin";
    static final String FIXTURE_V5_DEAD_LETTER =
            "/serializer-fixtures/lineage-split-v5-dead-letter.bin";

    /** The range stored in {@link #FIXTURE_V5_RANGE}: every field set, attributes included. */
    static BlockRangeSplit fixtureRangeV5() {
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("ticket", "T-5");
        attributes.put("lineage", "vol-0123456789abcdef0");
        return fixtureSplitV2().toBuilder()
                .base("snap-0fedcba9876543210")
                .copyInfo(
                        new CopyInfo(
                                true,
                                "snap-0fedcba9876543210",
                                Map.of("us-west-2", "snap-0aaaaaaaaaaaaaaa1"),
                                null,
                                attributes))
                .build();
    }

    /** The failure stored in {@link #FIXTURE_V5_FAILED}. */
    static FailedRequestSplit fixtureFailedV5() {
        return failedSplit();
    }

    @Test
    void committedVersion5FixturesReadIntoTheirKinds() throws IOException {
        assertThat(
                        serializer.deserialize(
                                LineageSplitSerializer.VERSION_5, readFixture(FIXTURE_V5_RANGE)))
                .isEqualTo(fixtureRangeV5());
        assertThat(
                        serializer.deserialize(
                                LineageSplitSerializer.VERSION_5, readFixture(FIXTURE_V5_FAILED)))
                .isEqualTo(fixtureFailedV5());
        assertThat(
                        serializer.deserialize(
                                LineageSplitSerializer.VERSION_5,
                                readFixture(FIXTURE_V5_DEAD_LETTER)))
                .isEqualTo(fixtureSplitV3());
    }

    /** Written once with the version 6 serializer; never regenerate. */
    static final String FIXTURE_V6_RANGE = "/serializer-fixtures/lineage-split-v6-range.bin";

    static final String DR_ROLE = "arn:aws:iam::222222222222:role/dr/ebs-replicator";

    /** The range stored in {@link #FIXTURE_V6_RANGE}: a target written as a role. */
    static BlockRangeSplit fixtureRangeV6() {
        BlockRangeSplit v5 = fixtureRangeV5();
        Map<String, String> roles = Map.of("us-west-2", DR_ROLE);
        return v5.toBuilder()
                .targets(TargetSnapshots.of(v5.targets().snapshotByRegion(), roles))
                .copyInfo(v5.copyInfo().withRoles(roles))
                .build();
    }

    @Test
    void committedVersion6FixtureKeepsTheTargetRoles() throws IOException {
        BlockRangeSplit split =
                (BlockRangeSplit)
                        serializer.deserialize(
                                LineageSplitSerializer.VERSION_6, readFixture(FIXTURE_V6_RANGE));

        assertThat(split).isEqualTo(fixtureRangeV6());
        assertThat(split.targets().roleArn("us-west-2")).isEqualTo(DR_ROLE);
        assertThat(split.copyInfo().roleArn("us-west-2")).isEqualTo(DR_ROLE);
        assertThat(fixtureRangeV5().targets().roleArn("us-west-2"))
                .as("a version 5 split has no roles: the job's own credentials")
                .isNull();
    }

    /** Written once with the version 7 serializer; never regenerate. */
    static final String FIXTURE_V7_DELETION = "/serializer-fixtures/lineage-split-v7-deletion.bin";

    /** The copy deletion stored in {@link #FIXTURE_V7_DELETION}: pruned as a role. */
    static CopyDeletionSplit fixtureDeletionV7() {
        return new CopyDeletionSplit(
                "us-west-2",
                DR_ROLE,
                "us-east-1",
                "vol-0123456789abcdef0",
                "gold",
                "snap-0a1b2c3d4e5f60718",
                1_700_000_000_000L,
                1_700_000_300_000L,
                false);
    }

    @Test
    void committedVersion7FixtureIsACopyDeletion() throws IOException {
        LineageSplit split =
                serializer.deserialize(
                        LineageSplitSerializer.VERSION_7, readFixture(FIXTURE_V7_DELETION));

        assertThat(split).isEqualTo(fixtureDeletionV7());
        assertThat(split.splitId()).isEqualTo("retention/us-west-2/snap-0a1b2c3d4e5f60718");
    }

    @Test
    void copyDeletionsRoundTripWithAndWithoutARole() throws IOException {
        CopyDeletionSplit asRole = fixtureDeletionV7();
        CopyDeletionSplit ownDryRun =
                new CopyDeletionSplit(
                        "eu-west-1", null, "us-east-1", "vol-1", "keep2", "snap-1", 0L, 5L, true);

        assertThat(roundTrip(asRole)).isEqualTo(asRole);
        assertThat(roundTrip(ownDryRun)).isEqualTo(ownDryRun);
    }

    @Test
    void aCopyDeletionInAnOlderVersionIsRejected() throws IOException {
        byte[] bytes = serializer.serialize(fixtureDeletionV7());

        assertThatThrownBy(() -> serializer.deserialize(LineageSplitSerializer.VERSION_6, bytes))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("copy deletion");
    }

    /**
     * Writes the fixtures of the newest version. Run once, on purpose, when a version is introduced
     * (with new file names): {@code -Debs.writeFixtures=true}. Older fixture files stay as they
     * are.
     */
    @Test
    @EnabledIfSystemProperty(named = "ebs.writeFixtures", matches = "true")
    void writeFixture() throws IOException {
        writeFixtureFile(FIXTURE_V7_DELETION, serializer.serialize(fixtureDeletionV7()));
    }

    @Test
    void committedVersion1FixtureIsABlockRange() throws IOException {
        LineageSplit split =
                serializer.deserialize(LineageSplitSerializer.VERSION_1, readFixture(FIXTURE));

        assertThat(split).isEqualTo(fixtureSplit());
        assertThat(split.splitId()).isEqualTo("req-fixture-1#2");
        assertThat(((BlockRangeSplit) split).generation()).isZero();
    }

    @Test
    void committedVersion2FixtureIsAReplacementRange() throws IOException {
        LineageSplit split =
                serializer.deserialize(LineageSplitSerializer.VERSION_2, readFixture(FIXTURE_V2));

        assertThat(split).isEqualTo(fixtureSplitV2());
        assertThat(split.splitId()).isEqualTo("req-fixture-2#1@g2:us-west-2");
    }

    @Test
    void committedVersion3FixtureIsADeadLetterWithItsOldSplitId() throws IOException {
        LineageSplit split =
                serializer.deserialize(LineageSplitSerializer.VERSION_3, readFixture(FIXTURE_V3));

        assertThat(split).isEqualTo(fixtureSplitV3());
        assertThat(split.splitId()).isEqualTo("dead-letter:requests-0@41#0!failed");
    }

    @Test
    void committedVersion4FixtureIsARangeWithCopyInfo() throws IOException {
        LineageSplit split =
                serializer.deserialize(LineageSplitSerializer.VERSION_4, readFixture(FIXTURE_V4));

        assertThat(split).isEqualTo(fixtureSplitV4());
    }

    static byte[] readFixture(String resource) throws IOException {
        try (InputStream in = LineageSplitSerializerTest.class.getResourceAsStream(resource)) {
            assertThat(in).as("test resource %s", resource).isNotNull();
            return in.readAllBytes();
        }
    }

    static void writeFixtureFile(String resource, byte[] bytes) throws IOException {
        Path file = Paths.get(System.getProperty("basedir", "."), "src/test/resources" + resource);
        Files.createDirectories(file.getParent());
        Files.write(file, bytes);
    }

    private LineageSplit roundTrip(LineageSplit split) throws IOException {
        byte[] bytes = serializer.serialize(split);
        return serializer.deserialize(serializer.getVersion(), bytes);
    }
}
