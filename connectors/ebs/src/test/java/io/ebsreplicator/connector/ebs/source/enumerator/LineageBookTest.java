package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.source.enumerator.LineageBook.Base;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link LineageBook}: which copies are kept and which one the next copy is based on. */
class LineageBookTest {

    private static final String SOURCE = "us-east-1";
    private static final String WEST = "us-west-2";
    private static final String EU = "eu-west-1";

    @Test
    void theBaseIsTheNewestSnapshotBeforeTheSourceCopiedToEveryRegion() {
        LineageBook book = new LineageBook();
        book.record(SOURCE, "vol-1", WEST, "snap-a", "snap-a-west", 1_000);
        book.record(SOURCE, "vol-1", EU, "snap-a", "snap-a-eu", 1_000);
        book.record(SOURCE, "vol-1", WEST, "snap-b", "snap-b-west", 2_000);
        // snap-b has no copy in EU yet: not a base for a copy to both regions.

        Base base = book.plan(request("snap-c", WEST, EU)).chooseBase("snap-c", at(3_000));
        assertThat(base.snapshotId()).isEqualTo("snap-a");
        assertThat(base.parents())
                .containsExactly(Map.entry(WEST, "snap-a-west"), Map.entry(EU, "snap-a-eu"));

        Base westOnly = book.plan(request("snap-c", WEST)).chooseBase("snap-c", at(3_000));
        assertThat(westOnly.snapshotId()).isEqualTo("snap-b");
    }

    @Test
    void aNewerSnapshotOrTheSourceItselfIsNeverItsBase() {
        LineageBook book = new LineageBook();
        book.record(SOURCE, "vol-1", WEST, "snap-a", "snap-a-west", 1_000);
        book.record(SOURCE, "vol-1", WEST, "snap-c", "snap-c-west", 3_000);

        assertThat(book.plan(request("snap-b", WEST)).chooseBase("snap-b", at(2_000)).snapshotId())
                .as("snap-c started after snap-b: arrived out of order, not an ancestor")
                .isEqualTo("snap-a");
        assertThat(book.plan(request("snap-c", WEST)).chooseBase("snap-c", at(3_000)).snapshotId())
                .isEqualTo("snap-a");
        assertThat(book.plan(request("snap-z", WEST)).chooseBase("snap-z", at(500))).isNull();
        assertThat(book.plan(request("snap-b", EU)).chooseBase("snap-b", at(2_000)))
                .as("nothing copied to EU")
                .isNull();
    }

    @Test
    void aCopyDecidedForDeletionIsNeverABase() {
        LineageBook book = new LineageBook();
        book.record(SOURCE, "vol-1", WEST, "snap-a", "snap-a-west", 1_000);
        book.record(SOURCE, "vol-1", WEST, "snap-c", "snap-c-west", 3_000);

        book.forget(LineageBook.key(SOURCE, "vol-1", WEST), "snap-a-west");

        assertThat(book.plan(request("snap-b", WEST)).chooseBase("snap-b", at(2_000)))
                .as("snap-a's copy is to be deleted, snap-c started later: a full copy")
                .isNull();
        assertThat(book.plan(request("snap-d", WEST)).chooseBase("snap-d", at(4_000)).snapshotId())
                .isEqualTo("snap-c");
    }

    @Test
    void keepsTheLastCopiesByStartTimeAndOneCopyPerSource() {
        LineageBook book = new LineageBook();
        for (int i = 0; i < LineageBook.COPIES_KEPT + 3; i++) {
            book.record(SOURCE, "vol-1", WEST, "snap-" + i, "copy-" + i, 1_000L * i);
        }
        book.record(SOURCE, "vol-1", WEST, "snap-10", "copy-10-again", 10_000);

        var kept = book.snapshot().get(LineageBook.key(SOURCE, "vol-1", WEST));
        assertThat(kept).hasSize(LineageBook.COPIES_KEPT);
        assertThat(kept.get(0).sourceSnapshotId()).isEqualTo("snap-3");
        assertThat(kept.get(kept.size() - 1).targetSnapshotId()).isEqualTo("copy-10-again");
        assertThat(LineageBook.of(book.snapshot()).snapshot()).isEqualTo(book.snapshot());
    }

    private static Instant at(long millis) {
        return Instant.ofEpochMilli(millis);
    }

    private static ReplicationRequest request(String source, String... regions) {
        return new ReplicationRequest(
                "r-" + source,
                SOURCE,
                source,
                null,
                java.util.Arrays.stream(regions).map(ReplicationTarget::of).toList(),
                "vol-1",
                true,
                Map.of(),
                ReplicationRequest.NO_DEADLINE,
                0);
    }
}
