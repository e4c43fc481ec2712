package io.ebsreplicator.local.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class FileJournalTest {

    @TempDir Path dir;

    private List<String> replay(Path file) throws IOException {
        List<String> out = new ArrayList<>();
        try (FileJournal j = new FileJournal(file, false)) {
            j.replay(b -> out.add(new String(b, StandardCharsets.UTF_8)));
        }
        return out;
    }

    private void append(Path file, String... records) throws IOException {
        try (FileJournal j = new FileJournal(file, false)) {
            j.replay(b -> {});
            for (String r : records) {
                j.append(r.getBytes(StandardCharsets.UTF_8));
            }
        }
    }

    @Test
    void replaysRecordsInOrderAcrossReopens() throws IOException {
        Path file = dir.resolve("journal.log");
        append(file, "a", "bb");
        append(file, "ccc");
        assertThat(replay(file)).containsExactly("a", "bb", "ccc");
    }

    @Test
    void cutsATornTailAndKeepsAppendingAfterIt() throws IOException {
        Path file = dir.resolve("journal.log");
        append(file, "one", "two");
        long intact = Files.size(file);
        // A crash in the middle of an append: a length header promising more than was written.
        try (FileChannel ch =
                FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.allocate(8).putInt(100).putInt(42).flip());
            ch.write(ByteBuffer.wrap("thr".getBytes(StandardCharsets.UTF_8)));
        }
        assertThat(replay(file)).containsExactly("one", "two");
        assertThat(Files.size(file)).isEqualTo(intact);
        append(file, "three");
        assertThat(replay(file)).containsExactly("one", "two", "three");
    }

    @Test
    void stopsAtARecordWhoseChecksumFails() throws IOException {
        Path file = dir.resolve("journal.log");
        append(file, "good", "flipped");
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 1] ^= 1; // last byte of the last record's payload
        Files.write(file, bytes);
        assertThat(replay(file)).containsExactly("good");
    }

    @Test
    void stopsAtAHeaderTornInTwo() throws IOException {
        Path file = dir.resolve("journal.log");
        append(file, "x");
        try (FileChannel ch =
                FileChannel.open(file, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
            ch.write(ByteBuffer.wrap(new byte[] {0, 0, 0}));
        }
        assertThat(replay(file)).containsExactly("x");
    }

    @Test
    void refusesAFileThatIsNotAJournal() throws IOException {
        Path file = dir.resolve("journal.log");
        Files.writeString(file, "not a journal at all");
        assertThatThrownBy(() -> replay(file))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("not an ebs-local journal");
    }

    /** Offsets of the records of {@code file}, as written. */
    private static List<Long> offsets(Path file) throws IOException {
        return FileJournal.read(file).records().stream().map(e -> e.offset()).toList();
    }

    @Test
    void aFlippedBitInTheMiddleStopsTheStartAndNamesItsOffset() throws IOException {
        Path file = dir.resolve("journal.log");
        String[] records = new String[19];
        for (int i = 0; i < records.length; i++) {
            records[i] = "record-" + i;
        }
        append(file, records);
        long damagedAt = offsets(file).get(3);
        byte[] bytes = Files.readAllBytes(file);
        bytes[(int) damagedAt + 10] ^= 0x08; // inside the body of record 4
        Files.write(file, bytes);

        JournalContents read = FileJournal.read(file);
        assertThat(read.damaged()).as("damage, not a torn tail").hasSize(1);
        assertThat(read.damaged().get(0).offset()).isEqualTo(damagedAt);
        assertThat(read.records()).as("every intact record").hasSize(18);
        assertThat(read.tornTailOffset()).isEqualTo(-1);
        assertThatThrownBy(() -> replay(file))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("offset " + damagedAt);
        assertThat(Files.readAllBytes(file)).as("nothing cut").isEqualTo(bytes);
    }

    @Test
    void aDamagedLengthFieldInTheFirstRecordIsDamageNotATornTail() throws IOException {
        Path file = dir.resolve("journal.log");
        append(file, "first", "second", "third");
        byte[] bytes = Files.readAllBytes(file);
        bytes[FileJournal.MAGIC.length] = 0x7f; // length of record 1 now far beyond the file
        Files.write(file, bytes);
        JournalContents read = FileJournal.read(file);
        assertThat(read.damaged()).hasSize(1);
        assertThat(read.damaged().get(0).offset()).isEqualTo(FileJournal.MAGIC.length);
        assertThat(read.records())
                .extracting(e -> new String(e.bytes(), StandardCharsets.UTF_8))
                .containsExactly("second", "third");
        assertThatThrownBy(() -> replay(file)).hasMessageContaining("offset 8");
        assertThat(Files.size(file)).as("nothing cut").isEqualTo(bytes.length);
    }

    @Test
    void rewriteReplacesTheJournalAndAppendsGoOnAfterIt() throws IOException {
        Path file = dir.resolve("journal.log");
        try (FileJournal j = new FileJournal(file, false)) {
            j.replay(b -> {});
            j.append("old".getBytes(StandardCharsets.UTF_8));
            j.rewrite(List.of("state".getBytes(StandardCharsets.UTF_8)));
            j.append("after".getBytes(StandardCharsets.UTF_8));
            assertThat(j.size()).isEqualTo(Files.size(file));
        }
        assertThat(replay(file)).containsExactly("state", "after");
        assertThat(dir.resolve("journal.log.rewrite")).doesNotExist();
    }
}
