package io.ebsreplicator.connector.ebs.source.split;

import io.ebsreplicator.connector.ebs.model.CopyInfo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tests {@link BlockRangeSplitSerializer}, including the committed version 1 fixture. */
class BlockRangeSplitSerializerTest {

    /** Written once by {@link #writeFixture()} with the version 1 serializer; never regenerate. */
    static final String FIXTURE = "/serializer-fixtures/block-range-split-v1.bin";

    static final String FIXTURE_V2 = "/serializer-fixtures/block-range-split-v2.bin";
    static final String FIXTURE_V3 = "/serializer-fixtures/block-range-split-v3.bin";
    static final String FIXTURE_V4 = "/serializer-fixtures/block-range-split-v4.bin";

    private final BlockRangeSplitSerializer serializer = new BlockRangeSplitSerializer();

    /** The split stored in {@link #FIXTURE}: incremental, half listed. */
    static BlockRangeSplit fixtureSplit() {
        return new BlockRangeSplit(
                "req-fixture-1",
                2,
                4,
                "us-east-1",
                "snap-0123456789abcdef0",
                "snap-0fedcba9876543210",
                "eu-west-1=snap-0aaaaaaaaaaaaaaa1;ap-south-1=snap-0bbbbbbbbbbbbbbb2",
                4096,
                6144,
                5000,
                123,
                null,
                1_700_000_000_000L);
    }

    private static BlockRangeSplit fullSplit() {
        return new BlockRangeSplit(
                "req-1",
                0,
                3,
                "us-east-1",
                "snap-01",
                null,
                "eu-west-1=snap-0a",
                0,
                683,
                17,
                5,
                null,
                42L);
    }

    @Test
    void roundTripsAFullCopySplitWithoutBaseOrFailure() throws IOException {
        BlockRangeSplit split = fullSplit();

        BlockRangeSplit back = roundTrip(split);

        assertThat(back).isEqualTo(split);
        assertThat(back.baseSnapshotId()).isNull();
        assertThat(back.failure()).isNull();
        assertThat(back.splitId()).isEqualTo("req-1#0");
        assertThat(back.nextIndex()).isEqualTo(17);
        assertThat(back.emittedBlocks()).isEqualTo(5);
    }

    @Test
    void roundTripsAnIncrementalSplitWithBase() throws IOException {
        BlockRangeSplit split = fixtureSplit();

        BlockRangeSplit back = roundTrip(split);

        assertThat(back).isEqualTo(split);
        assertThat(back.baseSnapshotId()).isEqualTo("snap-0fedcba9876543210");
        assertThat(back.requestStartMillis()).isEqualTo(1_700_000_000_000L);
    }

    @Test
    void roundTripsAFailureSplit() throws IOException {
        BlockRangeSplit split =
                BlockRangeSplit.failed(
                        "req-2",
                        "us-west-2",
                        "snap-02",
                        "eu-west-1=;eu-central-1=",
                        "ResourceNotFoundException(SNAPSHOT_NOT_FOUND): gone \u00e9\n",
                        7L);

        BlockRangeSplit back = roundTrip(split);

        assertThat(back).isEqualTo(split);
        assertThat(back.failure())
                .isEqualTo("ResourceNotFoundException(SNAPSHOT_NOT_FOUND): gone \u00e9\n");
        assertThat(back.baseSnapshotId()).isNull();
    }

    @Test
    void roundTripKeepsEveryFieldDistinct() throws IOException {
        // Distinct values in every int/long field catch two fields swapped in the layout.
        BlockRangeSplit split =
                new BlockRangeSplit(
                        "r", 3, 9, "sa-east-1", "snap-1", "snap-2", "t", 11, 22, 13, 14L, "f", 15L);

        BlockRangeSplit back = roundTrip(split);

        assertThat(back.splitIndex()).isEqualTo(3);
        assertThat(back.totalSplits()).isEqualTo(9);
        assertThat(back.rangeStart()).isEqualTo(11);
        assertThat(back.rangeEnd()).isEqualTo(22);
        assertThat(back.nextIndex()).isEqualTo(13);
        assertThat(back.emittedBlocks()).isEqualTo(14L);
        assertThat(back.requestStartMillis()).isEqualTo(15L);
        assertThat(back.sourceRegion()).isEqualTo("sa-east-1");
        assertThat(back.sourceSnapshotId()).isEqualTo("snap-1");
        assertThat(back.baseSnapshotId()).isEqualTo("snap-2");
        assertThat(back.targets()).isEqualTo("t");
        assertThat(back.failure()).isEqualTo("f");
    }

    @Test
    void rejectsUnknownVersion() throws IOException {
        byte[] bytes = serializer.serialize(fullSplit());

        assertThatThrownBy(() -> serializer.deserialize(5, bytes))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("version 5");
        assertThatThrownBy(() -> serializer.deserialize(0, bytes)).isInstanceOf(IOException.class);
    }

    @Test
    void rejectsTrailingBytes() throws IOException {
        byte[] bytes = serializer.serialize(fullSplit());
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 1);

        assertThatThrownBy(
                        () -> serializer.deserialize(BlockRangeSplitSerializer.VERSION_4, longer))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("Trailing 1 bytes");
    }

    @Test
    void rejectsTruncatedBytes() throws IOException {
        byte[] bytes = serializer.serialize(fullSplit());
        byte[] shorter = Arrays.copyOf(bytes, bytes.length - 1);

        assertThatThrownBy(
                        () -> serializer.deserialize(BlockRangeSplitSerializer.VERSION_4, shorter))
                .isInstanceOf(IOException.class);
    }

    @Test
    void currentVersionIsFour() {
        assertThat(serializer.getVersion()).isEqualTo(BlockRangeSplitSerializer.VERSION_4);
        assertThat(BlockRangeSplitSerializer.INSTANCE.getVersion()).isEqualTo(4);
    }

    @Test
    void roundTripsTheCopyInfo() throws IOException {
        BlockRangeSplit split = fixtureSplitV4();

        BlockRangeSplit back = roundTrip(split);

        assertThat(back).isEqualTo(split);
        CopyInfo info = CopyInfo.decode(back.copyInfo());
        assertThat(info.incremental()).isTrue();
        assertThat(info.baseSnapshotId()).isEqualTo("snap-0fedcba9876543210");
        assertThat(info.parents()).containsEntry("us-west-2", "snap-0aaaaaaaaaaaaaaa1");
        assertThat(info.fallbackReason()).isNull();
    }

    @Test
    void committedVersion4FixtureStillDeserializes() throws IOException {
        BlockRangeSplit split =
                serializer.deserialize(
                        BlockRangeSplitSerializer.VERSION_4, readFixture(FIXTURE_V4));

        assertThat(split).isEqualTo(fixtureSplitV4());
    }

    @Test
    void version3BytesCarryNoCopyInfo() throws IOException {
        BlockRangeSplit split =
                serializer.deserialize(
                        BlockRangeSplitSerializer.VERSION_3, readFixture(FIXTURE_V3));

        assertThat(split.copyInfo()).isNull();
        assertThat(split).isEqualTo(fixtureSplitV3());
    }

    /** The split stored in {@link #FIXTURE_V4}: an incremental range with its copy info. */
    static BlockRangeSplit fixtureSplitV4() {
        return fixtureSplit()
                .withCopyInfo(
                        new CopyInfo(
                                        true,
                                        "snap-0fedcba9876543210",
                                        java.util.Map.of("us-west-2", "snap-0aaaaaaaaaaaaaaa1"),
                                        null)
                                .encode());
    }

    @Test
    void roundTripsADeadLetterSplit() throws IOException {
        BlockRangeSplit split = fixtureSplitV3();

        BlockRangeSplit back = roundTrip(split);

        assertThat(back).isEqualTo(split);
        assertThat(back.deadLetter()).containsExactly(1, 2, 3, (byte) 0xC3);
        assertThat(back.failure()).isNotNull();
        assertThat(back.splitId()).isNotEqualTo(fixtureSplitV2().splitId());
    }

    @Test
    void committedVersion3FixtureStillDeserializes() throws IOException {
        byte[] committed = readFixture(FIXTURE_V3);

        BlockRangeSplit split =
                serializer.deserialize(BlockRangeSplitSerializer.VERSION_3, committed);

        assertThat(split).isEqualTo(fixtureSplitV3());
    }

    @Test
    void version2BytesCarryNoDeadLetter() throws IOException {
        BlockRangeSplit split =
                serializer.deserialize(
                        BlockRangeSplitSerializer.VERSION_2, readFixture(FIXTURE_V2));

        assertThat(split.deadLetter()).isNull();
        assertThat(split).isEqualTo(fixtureSplitV2());
    }

    /** The split stored in {@link #FIXTURE_V3}: a dead letter. */
    static BlockRangeSplit fixtureSplitV3() {
        return BlockRangeSplit.deadLetter(
                "dead-letter:requests-0@41", new byte[] {1, 2, 3, (byte) 0xC3}, 1_700_000_000_000L);
    }

    @Test
    void roundTripsAReplacementGenerationWithItsOwnSplitId() throws IOException {
        BlockRangeSplit split = fixtureSplitV2();

        BlockRangeSplit back = roundTrip(split);

        assertThat(back).isEqualTo(split);
        assertThat(back.generation()).isEqualTo(2);
        assertThat(back.splitId()).isEqualTo("req-fixture-2#1@g2:us-west-2");
        assertThat(back.splitId()).isNotEqualTo(back.withProgress(0, 0).splitId() + "x");
    }

    @Test
    void version1BytesAreGenerationZero() throws IOException {
        BlockRangeSplit split =
                serializer.deserialize(BlockRangeSplitSerializer.VERSION_1, readFixture(FIXTURE));

        assertThat(split.generation()).isZero();
    }

    @Test
    void committedVersion2FixtureStillDeserializes() throws IOException {
        byte[] committed = readFixture(FIXTURE_V2);

        BlockRangeSplit split =
                serializer.deserialize(BlockRangeSplitSerializer.VERSION_2, committed);

        assertThat(split).isEqualTo(fixtureSplitV2());
        assertThat(split.deadLetter()).isNull();
    }

    /** The split stored in {@link #FIXTURE_V2}: a second replacement of one region's target. */
    static BlockRangeSplit fixtureSplitV2() {
        return new BlockRangeSplit(
                "req-fixture-2",
                1,
                4,
                "us-east-1",
                "snap-0123456789abcdef0",
                null,
                "us-west-2=snap-0fedcba9876543210",
                2048,
                4096,
                3000,
                17,
                null,
                1_700_000_000_000L,
                2);
    }

    @Test
    void committedVersion1FixtureStillDeserializes() throws IOException {
        byte[] committed = readFixture(FIXTURE);

        BlockRangeSplit split =
                serializer.deserialize(BlockRangeSplitSerializer.VERSION_1, committed);

        assertThat(split).isEqualTo(fixtureSplit());
        assertThat(split.splitId()).isEqualTo("req-fixture-1#2");
    }

    /**
     * Writes the fixture. Run once, on purpose, when a new version is introduced (with a new file
     * name): {@code -Debs.writeFixtures=true}. The old fixture files stay as they are.
     */
    @Test
    @EnabledIfSystemProperty(named = "ebs.writeFixtures", matches = "true")
    void writeFixture() throws IOException {
        writeFixtureFile(FIXTURE_V4, serializer.serialize(fixtureSplitV4()));
    }

    static byte[] readFixture(String resource) throws IOException {
        try (InputStream in = BlockRangeSplitSerializerTest.class.getResourceAsStream(resource)) {
            assertThat(in).as("test resource %s", resource).isNotNull();
            return in.readAllBytes();
        }
    }

    static void writeFixtureFile(String resource, byte[] bytes) throws IOException {
        Path file = Paths.get(System.getProperty("basedir", "."), "src/test/resources" + resource);
        Files.createDirectories(file.getParent());
        Files.write(file, bytes);
    }

    private BlockRangeSplit roundTrip(BlockRangeSplit split) throws IOException {
        byte[] bytes = serializer.serialize(split);
        return serializer.deserialize(serializer.getVersion(), bytes);
    }
}
