package io.ebsreplicator.local.service;

import org.junit.jupiter.api.Test;

import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JournalRecordTest {

    private static final Digest DIGEST = Digest.sha256(new byte[] {1, 2, 3}, 0, 3);

    @Test
    void everyRecordTypeRoundTrips() {
        List<JournalRecord> records =
                List.of(
                        new JournalRecord.Start(
                                "us-east-1",
                                "snap-0123456789abcdef0",
                                "111122223333",
                                8,
                                "snap-0fedcba9876543210",
                                "a description",
                                List.of(new Tag("k", "v"), new Tag("empty", "")),
                                true,
                                "arn:aws:kms:us-east-1:111122223333:key/x",
                                60,
                                1234L,
                                "token",
                                "fp"),
                        new JournalRecord.Start(
                                "eu-west-1",
                                "snap-1",
                                "111122223333",
                                1,
                                null,
                                null,
                                List.of(),
                                false,
                                null,
                                10,
                                5L,
                                null,
                                null),
                        new JournalRecord.Put("us-east-1", "snap-1", 134217727, DIGEST, 99L, -1),
                        new JournalRecord.Complete("us-east-1", "snap-1", 7, null, 100L),
                        new JournalRecord.Complete("us-east-1", "snap-1", 7, "abc=", 100L),
                        new JournalRecord.State(
                                "us-east-1", "snap-1", SnapshotStatus.ERROR, "timed out", 1L),
                        new JournalRecord.Delete("us-east-1", "snap-1", 42L));
        for (JournalRecord r : records) {
            assertThat(JournalRecord.decode(JournalRecord.encode(r))).isEqualTo(r);
        }
    }

    /** The layout is part of the on-disk format: a change here needs a new journal version. */
    @Test
    void putLayoutIsStable() {
        byte[] encoded = JournalRecord.encode(new JournalRecord.Put("r", "s", 5, DIGEST, 7L, 50));
        assertThat(HexFormat.of().formatHex(encoded))
                .isEqualTo(
                        "02"
                                + "000172"
                                + "000173"
                                + "00000005"
                                + DIGEST.hex()
                                + "0000000000000007"
                                + "00000032");
    }

    @Test
    void deleteLayoutIsStable() {
        byte[] encoded = JournalRecord.encode(new JournalRecord.Delete("r", "s", 7L));
        assertThat(HexFormat.of().formatHex(encoded))
                .isEqualTo("05" + "000172" + "000173" + "0000000000000007");
    }

    @Test
    void rejectsTrailingBytesAndUnknownTypes() {
        byte[] encoded = JournalRecord.encode(new JournalRecord.Put("r", "s", 5, DIGEST, 7L, 50));
        byte[] longer = Arrays.copyOf(encoded, encoded.length + 1);
        assertThatThrownBy(() -> JournalRecord.decode(longer))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("Trailing bytes");
        assertThatThrownBy(() -> JournalRecord.decode(new byte[] {9}))
                .isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("Unknown journal record type 9");
    }
}
