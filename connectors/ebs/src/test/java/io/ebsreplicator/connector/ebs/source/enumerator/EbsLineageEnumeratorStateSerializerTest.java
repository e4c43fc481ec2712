package io.ebsreplicator.connector.ebs.source.enumerator;

import io.ebsreplicator.connector.ebs.exception.Failure;
import io.ebsreplicator.connector.ebs.exception.FailureReason;
import io.ebsreplicator.connector.ebs.model.CopyInfo;
import io.ebsreplicator.connector.ebs.model.ReplicationRequest;
import io.ebsreplicator.connector.ebs.model.ReplicationTarget;
import io.ebsreplicator.connector.ebs.model.TargetSnapshots;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.PendingRequest;
import io.ebsreplicator.connector.ebs.source.enumerator.EbsLineageEnumeratorState.WatchedTarget;
import io.ebsreplicator.connector.ebs.source.split.BlockRangeSplit;
import io.ebsreplicator.connector.ebs.source.split.CopyDeletionSplit;
import io.ebsreplicator.connector.ebs.source.split.DeadLetterSplit;
import io.ebsreplicator.connector.ebs.source.split.FailedRequestSplit;
import io.ebsreplicator.connector.ebs.source.split.LineageSplit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Tests {@link EbsLineageEnumeratorStateSerializer}, including the committed v1 fixture. */
class EbsLineageEnumeratorStateSerializerTest {

    /** Written once by {@link #writeFixture()} with the version 1 serializer; never regenerate. */
    static final String FIXTURE = "/serializer-fixtures/enumerator-state-v1.bin";

    /** Written once with the version 2 serializer; never regenerate. */
    static final String FIXTURE_V2 = "/serializer-fixtures/enumerator-state-v2.bin";

    /** Written once with the version 3 serializer; never regenerate. */
    static final String FIXTURE_V3 = "/serializer-fixtures/enumerator-state-v3.bin";

    /** Written once with the version 4 serializer; never regenerate. */
    static final String FIXTURE_V4 = "/serializer-fixtures/enumerator-state-v4.bin";

    /** Written once with the version 5 serializer; never regenerate. */
    static final String FIXTURE_V5 = "/serializer-fixtures/enumerator-state-v5.bin";

    private final EbsLineageEnumeratorStateSerializer serializer =
            new EbsLineageEnumeratorStateSerializer();

    /** The state stored in {@link #FIXTURE}: two pending requests and two unassigned splits. */
    static EbsLineageEnumeratorState fixtureState() {
        ReplicationRequest full =
                new ReplicationRequest(
                        "req-full",
                        "us-east-1",
                        "snap-0123456789abcdef0",
                        null,
                        List.of(
                                new ReplicationTarget(
                                        "eu-west-1",
                                        null,
                                        "arn:aws:kms:eu-west-1:111122223333:key/abcd",
                                        Map.of("team", "storage", "env", "prod"),
                                        "nightly copy"),
                                ReplicationTarget.of("ap-south-1")),
                        null,
                        false,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0);
        ReplicationRequest incremental =
                new ReplicationRequest(
                        "req-incr",
                        "us-east-1",
                        "snap-0000000000000000b",
                        "snap-0000000000000000a",
                        List.of(
                                new ReplicationTarget(
                                        "eu-west-1",
                                        "snap-0eeeeeeeeeeeeeee1",
                                        null,
                                        Map.of("k", "v"),
                                        null)),
                        null,
                        false,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0);
        BlockRangeSplit split =
                BlockRangeSplit.builder()
                        .requestId("req-prev")
                        .split(1, 2)
                        .source("us-east-1", "snap-0000000000000000c")
                        .targets(TargetSnapshots.of(Map.of("eu-west-1", "snap-0fffffffffffffff1")))
                        .range(1024, 2048)
                        .progress(1500, 99)
                        .requestStartMillis(1_700_000_000_000L)
                        .build();
        FailedRequestSplit failed =
                new FailedRequestSplit(
                        "req-bad",
                        "us-east-1",
                        "snap-0000000000000000d",
                        List.of("eu-west-1"),
                        // Read from the text the fixture holds; see the split serializer.
                        Failure.of(
                                FailureReason.SNAPSHOT_NOT_FOUND,
                                "ResourceNotFoundException(SNAPSHOT_NOT_FOUND): gone"),
                        1_700_000_000_001L,
                        0,
                        null);
        return new EbsLineageEnumeratorState(
                List.of(
                        new PendingRequest(full, 1_700_000_000_002L, 0),
                        new PendingRequest(incremental, 1_700_000_000_003L, 0)),
                List.of(split, failed),
                List.of(),
                Map.of(),
                new AcceptedRequestIds(),
                Map.of());
    }

    @Test
    void roundTripsRequestsWithTargetsTagsParentAndKmsAndUnassignedSplits() throws IOException {
        EbsLineageEnumeratorState state = fixtureState();

        EbsLineageEnumeratorState back = roundTrip(state);

        assertThat(back).isEqualTo(state);
        ReplicationTarget kmsTarget = back.pendingRequests().get(0).request().targets().get(0);
        assertThat(kmsTarget.kmsKeyArn()).isEqualTo("arn:aws:kms:eu-west-1:111122223333:key/abcd");
        assertThat(kmsTarget.tags())
                .containsExactlyInAnyOrderEntriesOf(Map.of("team", "storage", "env", "prod"));
        assertThat(kmsTarget.description()).isEqualTo("nightly copy");
        assertThat(kmsTarget.parentSnapshotId()).isNull();
        ReplicationTarget plain = back.pendingRequests().get(0).request().targets().get(1);
        assertThat(plain).isEqualTo(ReplicationTarget.of("ap-south-1"));
        ReplicationRequest incremental = back.pendingRequests().get(1).request();
        assertThat(incremental.baseSnapshotId()).isEqualTo("snap-0000000000000000a");
        assertThat(incremental.targets().get(0).parentSnapshotId())
                .isEqualTo("snap-0eeeeeeeeeeeeeee1");
        assertThat(back.pendingRequests().get(1).acceptedMillis()).isEqualTo(1_700_000_000_003L);
        assertThat(back.unassignedSplits()).containsExactlyElementsOf(state.unassignedSplits());
        assertThat(back.unassignedSplits().get(1)).isInstanceOf(FailedRequestSplit.class);
    }

    @Test
    void roundTripsEmptyState() throws IOException {
        EbsLineageEnumeratorState empty = EbsLineageEnumeratorState.ofRequests(List.of());

        assertThat(roundTrip(empty)).isEqualTo(empty);
    }

    @Test
    void keepsTheOrderOfRequestsAndSplits() throws IOException {
        EbsLineageEnumeratorState state = fixtureState();

        EbsLineageEnumeratorState back = roundTrip(state);

        assertThat(back.pendingRequests())
                .extracting(p -> p.request().requestId())
                .containsExactly("req-full", "req-incr");
        assertThat(back.unassignedSplits())
                .extracting(LineageSplit::splitId)
                .containsExactly("req-prev#1", "req-bad#0!failed");
    }

    @Test
    void rejectsUnknownVersion() throws IOException {
        byte[] bytes = serializer.serialize(fixtureState());

        assertThatThrownBy(() -> serializer.deserialize(11, bytes))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("version 11");
    }

    @Test
    void rejectsTrailingBytes() throws IOException {
        byte[] bytes = serializer.serialize(fixtureState());
        byte[] longer = Arrays.copyOf(bytes, bytes.length + 3);

        assertThatThrownBy(
                        () ->
                                serializer.deserialize(
                                        EbsLineageEnumeratorStateSerializer.CURRENT_VERSION,
                                        longer))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("Trailing 3 bytes");
    }

    @Test
    void rejectsTruncatedBytes() throws IOException {
        byte[] bytes = serializer.serialize(fixtureState());
        byte[] shorter = Arrays.copyOf(bytes, bytes.length - 2);

        assertThatThrownBy(
                        () ->
                                serializer.deserialize(
                                        EbsLineageEnumeratorStateSerializer.CURRENT_VERSION,
                                        shorter))
                .isInstanceOf(IOException.class);
    }

    @Test
    void committedVersion1FixtureStillDeserializes() throws IOException {
        byte[] committed = committed(FIXTURE);

        EbsLineageEnumeratorState state =
                serializer.deserialize(EbsLineageEnumeratorStateSerializer.VERSION_1, committed);

        assertThat(state).isEqualTo(fixtureState());
    }

    /** The state stored in {@link #FIXTURE_V2}: a replacement pending and watched targets. */
    static EbsLineageEnumeratorState fixtureStateV2() {
        EbsLineageEnumeratorState v1 = fixtureState();
        ReplicationRequest full = v1.pendingRequests().get(0).request();
        ReplicationRequest westOnly =
                new ReplicationRequest(
                        full.requestId(),
                        full.sourceRegion(),
                        full.sourceSnapshotId(),
                        null,
                        List.of(full.targets().get(0)),
                        null,
                        false,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0);
        return new EbsLineageEnumeratorState(
                List.of(
                        new PendingRequest(westOnly, 1_700_000_000_000L, 1),
                        v1.pendingRequests().get(1)),
                v1.unassignedSplits(),
                List.of(
                        new WatchedTarget(
                                full,
                                1_700_000_000_000L,
                                0,
                                "ap-south-1",
                                "snap-0aaaaaaaaaaaaaaa1",
                                List.of("req-full#0", "req-full#3"),
                                0,
                                0),
                        new WatchedTarget(
                                westOnly,
                                1_700_000_000_000L,
                                1,
                                "eu-west-1",
                                "snap-0bbbbbbbbbbbbbbb2",
                                List.of(),
                                1_700_000_100_000L,
                                0)),
                Map.of(),
                new AcceptedRequestIds(),
                Map.of());
    }

    /** The state stored in {@link #FIXTURE_V3}: intake positions, accepted ids, a dead letter. */
    static EbsLineageEnumeratorState fixtureStateV3() {
        EbsLineageEnumeratorState v2 = fixtureStateV2();
        List<LineageSplit> splits = new ArrayList<>(v2.unassignedSplits());
        splits.add(new DeadLetterSplit("dead-letter:requests-1@7", new byte[] {9, 8, 7}));
        Map<String, Long> positions = new LinkedHashMap<>();
        positions.put("requests-0", 42L);
        positions.put("requests-1", 8L);
        AcceptedRequestIds accepted = new AcceptedRequestIds();
        accepted.add("req-full", 1_700_000_000_000L);
        accepted.add("req-incr", 1_700_000_000_100L);
        return new EbsLineageEnumeratorState(
                v2.pendingRequests(), splits, v2.watchedTargets(), positions, accepted, Map.of());
    }

    /** The state stored in {@link #FIXTURE_V4}: lineage requests and lineage copies. */
    static EbsLineageEnumeratorState fixtureStateV4() {
        EbsLineageEnumeratorState v3 = fixtureStateV3();
        ReplicationRequest auto =
                new ReplicationRequest(
                        "req-auto",
                        "us-east-1",
                        "snap-0000000000000000c",
                        null,
                        List.of(ReplicationTarget.of("eu-west-1")),
                        "vol-0123456789abcdef0",
                        true,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0);
        List<PendingRequest> pending = new ArrayList<>(v3.pendingRequests());
        pending.add(new PendingRequest(auto, 1_700_000_000_900L, 0));
        Map<String, List<EbsLineageEnumeratorState.LineageCopy>> copies = new LinkedHashMap<>();
        copies.put(
                LineageBook.key("us-east-1", "vol-0123456789abcdef0", "eu-west-1"),
                List.of(
                        new EbsLineageEnumeratorState.LineageCopy(
                                "snap-0000000000000000a",
                                "snap-0eeeeeeeeeeeeeee1",
                                1_699_000_000_000L),
                        new EbsLineageEnumeratorState.LineageCopy(
                                "snap-0000000000000000b", "snap-0eeeeeeeeeeeeeee2", 0)));
        return new EbsLineageEnumeratorState(
                pending,
                v3.unassignedSplits(),
                v3.watchedTargets(),
                v3.intakePositions(),
                v3.acceptedIds(),
                copies);
    }

    @Test
    void roundTripsLineagesAndTheirCopies() throws IOException {
        EbsLineageEnumeratorState state = fixtureStateV4();

        EbsLineageEnumeratorState back = roundTrip(state);

        assertThat(back).isEqualTo(state);
        assertThat(back.pendingRequests().get(back.pendingRequests().size() - 1).request())
                .satisfies(
                        r -> {
                            assertThat(r.lineage()).isEqualTo("vol-0123456789abcdef0");
                            assertThat(r.fromLatest()).isTrue();
                        });
    }

    @Test
    void committedVersion4FixtureStillDeserializes() throws IOException {
        byte[] committed = committed(FIXTURE_V4);

        assertThat(serializer.deserialize(EbsLineageEnumeratorStateSerializer.VERSION_4, committed))
                .isEqualTo(fixtureStateV4());
    }

    /** The state stored in {@link #FIXTURE_V5}: requests with attributes, pending and watched. */
    static EbsLineageEnumeratorState fixtureStateV5() {
        EbsLineageEnumeratorState v4 = fixtureStateV4();
        Map<String, String> attributes = new LinkedHashMap<>();
        attributes.put("ticket", "T-1");
        attributes.put("trace", "abc");
        attributes.put("lineage", "vol-0123456789abcdef1");
        ReplicationRequest tagged =
                new ReplicationRequest(
                        "req-attrs",
                        "us-east-1",
                        "snap-0000000000000000e",
                        null,
                        List.of(ReplicationTarget.of("eu-west-1")),
                        "vol-0123456789abcdef1",
                        true,
                        attributes,
                        ReplicationRequest.NO_DEADLINE,
                        0);
        List<PendingRequest> pending = new ArrayList<>(v4.pendingRequests());
        pending.add(new PendingRequest(tagged, 1_700_000_001_000L, 0));
        List<WatchedTarget> watched = new ArrayList<>(v4.watchedTargets());
        watched.add(
                new WatchedTarget(
                        tagged.with(null, tagged.targets()),
                        1_700_000_001_000L,
                        0,
                        "eu-west-1",
                        "snap-0ccccccccccccccc3",
                        List.of("req-attrs#0"),
                        0,
                        0));
        List<LineageSplit> splits = new ArrayList<>(v4.unassignedSplits());
        splits.add(
                new FailedRequestSplit(
                        "req-attrs-bad",
                        "us-east-1",
                        "snap-0000000000000000f",
                        List.of("eu-west-1"),
                        Failure.of(FailureReason.INVALID_REQUEST, "InvalidRequest: gone"),
                        1_700_000_001_100L,
                        0,
                        CopyInfo.undecided(tagged)));
        return new EbsLineageEnumeratorState(
                pending,
                splits,
                watched,
                v4.intakePositions(),
                v4.acceptedIds(),
                v4.lineageCopies());
    }

    @Test
    void roundTripsRequestAttributes() throws IOException {
        EbsLineageEnumeratorState state = fixtureStateV5();

        EbsLineageEnumeratorState back = roundTrip(state);

        assertThat(back).isEqualTo(state);
        ReplicationRequest last =
                back.pendingRequests().get(back.pendingRequests().size() - 1).request();
        assertThat(last.attributes())
                .containsExactly(
                        Map.entry("ticket", "T-1"),
                        Map.entry("trace", "abc"),
                        Map.entry("lineage", "vol-0123456789abcdef1"));
        assertThat(back.watchedTargets().get(back.watchedTargets().size() - 1).request())
                .extracting(ReplicationRequest::attributes)
                .isEqualTo(last.attributes());
    }

    @Test
    void committedVersion5FixtureStillDeserializes() throws IOException {
        byte[] committed = committed(FIXTURE_V5);

        assertThat(serializer.deserialize(EbsLineageEnumeratorStateSerializer.VERSION_5, committed))
                .isEqualTo(fixtureStateV5());
    }

    /** Written once with the version 6 serializer; never regenerate. */
    static final String FIXTURE_V6 = "/serializer-fixtures/enumerator-state-v6.bin";

    /**
     * The state stored in {@link #FIXTURE_V6}: the version 5 state plus a failure of every kind of
     * origin (a replacement given up, a late request) with the reasons decided where they were
     * found, and a range of a replacement generation with its copy details.
     */
    static EbsLineageEnumeratorState fixtureStateV6() {
        EbsLineageEnumeratorState v5 = fixtureStateV5();
        List<LineageSplit> splits = new ArrayList<>(v5.unassignedSplits());
        splits.add(
                new FailedRequestSplit(
                        "req-cancelled",
                        "us-east-1",
                        "snap-00000000000000010",
                        List.of("eu-west-1"),
                        Failure.of(
                                FailureReason.TARGET_CANCELLED,
                                "Target snap-0ddddddddddddddd4 went to error; replaced 3 times"),
                        1_700_000_002_000L,
                        4,
                        new CopyInfo(false, null, Map.of(), null, Map.of("ticket", "T-6"))));
        splits.add(
                new FailedRequestSplit(
                        "req-late",
                        "us-east-1",
                        "snap-00000000000000011",
                        List.of("eu-west-1", "ap-south-1"),
                        Failure.of(FailureReason.DEADLINE_EXCEEDED, "The deadline passed"),
                        1_700_000_002_100L,
                        0,
                        null));
        splits.add(
                BlockRangeSplit.builder()
                        .requestId("req-attrs")
                        .split(0, 1)
                        .source("us-east-1", "snap-0000000000000000e")
                        .base("snap-0000000000000000c")
                        .targets(TargetSnapshots.of(Map.of("eu-west-1", "snap-0ccccccccccccccc3")))
                        .range(0, 2048)
                        .progress(7, 3)
                        .requestStartMillis(1_700_000_001_000L)
                        .generation(1)
                        .copyInfo(
                                new CopyInfo(
                                        true,
                                        "snap-0000000000000000c",
                                        Map.of("eu-west-1", "snap-0eeeeeeeeeeeeeee2"),
                                        null,
                                        Map.of("ticket", "T-1")))
                        .build());
        return new EbsLineageEnumeratorState(
                v5.pendingRequests(),
                splits,
                v5.watchedTargets(),
                v5.intakePositions(),
                v5.acceptedIds(),
                v5.lineageCopies());
    }

    @Test
    void roundTripsFailuresWithTheirReasonsAndReplacementRanges() throws IOException {
        EbsLineageEnumeratorState state = fixtureStateV6();

        EbsLineageEnumeratorState back = roundTrip(state);

        assertThat(back).isEqualTo(state);
        assertThat(back.unassignedSplits())
                .filteredOn(s -> s instanceof FailedRequestSplit)
                .extracting(s -> ((FailedRequestSplit) s).failure().reason())
                .containsExactly(
                        FailureReason.SNAPSHOT_NOT_FOUND,
                        FailureReason.INVALID_REQUEST,
                        FailureReason.TARGET_CANCELLED,
                        FailureReason.DEADLINE_EXCEEDED);
    }

    @Test
    void committedVersion6FixtureStillDeserializes() throws IOException {
        byte[] committed = committed(FIXTURE_V6);

        assertThat(serializer.deserialize(EbsLineageEnumeratorStateSerializer.VERSION_6, committed))
                .isEqualTo(fixtureStateV6());
    }

    /** Written once with the version 7 serializer; never regenerate. */
    static final String FIXTURE_V7 = "/serializer-fixtures/enumerator-state-v7.bin";

    /**
     * The state stored in {@link #FIXTURE_V7}: the version 6 state plus a request with a deadline
     * and a priority, a watched target with its source's start time, and a lineage copy whose ids
     * are not of EBS's form (written as text).
     */
    static EbsLineageEnumeratorState fixtureStateV7() {
        EbsLineageEnumeratorState v6 = fixtureStateV6();
        ReplicationRequest urgent =
                new ReplicationRequest(
                        "req-urgent",
                        "us-east-1",
                        "snap-00000000000000012",
                        null,
                        List.of(ReplicationTarget.of("eu-west-1")),
                        "vol-0123456789abcdef2",
                        true,
                        Map.of(),
                        1_700_000_600_000L,
                        7);
        List<PendingRequest> pending = new ArrayList<>(v6.pendingRequests());
        pending.add(new PendingRequest(urgent, 1_700_000_003_000L, 0));
        List<WatchedTarget> watched = new ArrayList<>(v6.watchedTargets());
        watched.add(
                new WatchedTarget(
                        urgent,
                        1_700_000_003_000L,
                        0,
                        "eu-west-1",
                        "snap-0fffffffffffffff5",
                        List.of(),
                        1_700_000_004_000L,
                        1_699_999_000_000L));
        Map<String, List<EbsLineageEnumeratorState.LineageCopy>> copies =
                new LinkedHashMap<>(v6.lineageCopies());
        copies.put(
                LineageBook.key("us-east-1", "vol-odd", "eu-west-1"),
                List.of(
                        new EbsLineageEnumeratorState.LineageCopy(
                                "snap-ABC", "snap-0123", 1_699_000_000_001L)));
        return new EbsLineageEnumeratorState(
                pending,
                v6.unassignedSplits(),
                watched,
                v6.intakePositions(),
                v6.acceptedIds(),
                copies);
    }

    @Test
    void roundTripsDeadlinesPrioritiesSourceStartsAndOddSnapshotIds() throws IOException {
        EbsLineageEnumeratorState state = fixtureStateV7();

        EbsLineageEnumeratorState back = roundTrip(state);

        assertThat(back).isEqualTo(state);
        ReplicationRequest last =
                back.pendingRequests().get(back.pendingRequests().size() - 1).request();
        assertThat(last.deadlineMillis()).isEqualTo(1_700_000_600_000L);
        assertThat(last.priority()).isEqualTo(7);
        assertThat(back.watchedTargets().get(back.watchedTargets().size() - 1).sourceStartMillis())
                .isEqualTo(1_699_999_000_000L);
        assertThat(back.acceptedIds().contains("req-full")).isTrue();
    }

    @Test
    void committedVersion7FixtureStillDeserializes() throws IOException {
        byte[] committed = committed(FIXTURE_V7);

        assertThat(serializer.deserialize(EbsLineageEnumeratorStateSerializer.VERSION_7, committed))
                .isEqualTo(fixtureStateV7());
    }

    /** Written once with the version 8 serializer; never regenerate. */
    static final String FIXTURE_V8 = "/serializer-fixtures/enumerator-state-v8.bin";

    /**
     * The state stored in {@link #FIXTURE_V8}: the version 7 state plus two recovery points and a
     * retention pass under way.
     */
    static EbsLineageEnumeratorState fixtureStateV8() {
        EbsLineageEnumeratorState v7 = fixtureStateV7();
        Map<String, EbsLineageEnumeratorState.RecoveryPoint> points = new LinkedHashMap<>();
        points.put(
                LineageBook.key("us-east-1", "vol-0123456789abcdef2", "eu-west-1"),
                new EbsLineageEnumeratorState.RecoveryPoint(1_700_000_005_000L, "gold"));
        points.put(
                LineageBook.key("us-east-1", "vol-odd", "eu-west-1"),
                new EbsLineageEnumeratorState.RecoveryPoint(1_700_000_006_000L, "db"));
        return new EbsLineageEnumeratorState(
                v7.pendingRequests(),
                v7.unassignedSplits(),
                v7.watchedTargets(),
                v7.intakePositions(),
                v7.acceptedIds(),
                v7.lineageCopies(),
                points,
                List.of(
                        new EbsLineageEnumeratorState.RetentionPass(
                                "us-east-1", "vol-0123456789abcdef2", "eu-west-1", "gold")));
    }

    @Test
    void roundTripsRecoveryPointsInTheirOrder() throws IOException {
        EbsLineageEnumeratorState state = fixtureStateV8();

        EbsLineageEnumeratorState back = roundTrip(state);

        assertThat(back).isEqualTo(state);
        assertThat(back.recoveryPoints().values())
                .extracting(EbsLineageEnumeratorState.RecoveryPoint::rule)
                .containsExactly("gold", "db");
    }

    @Test
    void committedVersion8FixtureStillDeserializes() throws IOException {
        byte[] committed = committed(FIXTURE_V8);

        assertThat(serializer.deserialize(EbsLineageEnumeratorStateSerializer.VERSION_8, committed))
                .isEqualTo(fixtureStateV8());
    }

    @Test
    void statesOfOlderVersionsHaveNoRecoveryPoints() throws IOException {
        assertThat(
                        serializer
                                .deserialize(
                                        EbsLineageEnumeratorStateSerializer.VERSION_7,
                                        committed(FIXTURE_V7))
                                .recoveryPoints())
                .isEmpty();
    }

    /** Written once with the version 9 serializer; never regenerate. */
    static final String FIXTURE_V9 = "/serializer-fixtures/enumerator-state-v9.bin";

    static final String DR_ROLE = "arn:aws:iam::222222222222:role/dr/ebs-replicator";

    /**
     * The state stored in {@link #FIXTURE_V9}: the version 8 state plus a request whose target in
     * one region is written as a role the request names.
     */
    static EbsLineageEnumeratorState fixtureStateV9() {
        EbsLineageEnumeratorState v8 = fixtureStateV8();
        ReplicationRequest crossAccount =
                new ReplicationRequest(
                        "req-cross-account",
                        "us-east-1",
                        "snap-00000000000000013",
                        null,
                        List.of(
                                ReplicationTarget.of("eu-west-1").withRole(DR_ROLE),
                                ReplicationTarget.of("us-west-2")),
                        null,
                        false,
                        Map.of(),
                        ReplicationRequest.NO_DEADLINE,
                        0);
        List<PendingRequest> pending = new ArrayList<>(v8.pendingRequests());
        pending.add(new PendingRequest(crossAccount, 1_700_000_005_000L, 0));
        return new EbsLineageEnumeratorState(
                pending,
                v8.unassignedSplits(),
                v8.watchedTargets(),
                v8.intakePositions(),
                v8.acceptedIds(),
                v8.lineageCopies(),
                v8.recoveryPoints(),
                v8.retentionPasses());
    }

    @Test
    void committedVersion9FixtureKeepsTheTargetRoles() throws IOException {
        EbsLineageEnumeratorState state =
                serializer.deserialize(
                        EbsLineageEnumeratorStateSerializer.VERSION_9, committed(FIXTURE_V9));

        assertThat(state).isEqualTo(fixtureStateV9());
        List<ReplicationTarget> targets =
                state.pendingRequests().get(state.pendingRequests().size() - 1).request().targets();
        assertThat(targets).extracting(ReplicationTarget::roleArn).containsExactly(DR_ROLE, null);
        assertThat(roundTrip(fixtureStateV9())).isEqualTo(fixtureStateV9());
    }

    /** Written once with the version 10 serializer; never regenerate. */
    static final String FIXTURE_V10 = "/serializer-fixtures/enumerator-state-v10.bin";

    /**
     * The state stored in {@link #FIXTURE_V10}: the version 9 state plus a copy deletion waiting
     * for a reader, and two deletions in flight (that one, and one a reader holds).
     */
    static EbsLineageEnumeratorState fixtureStateV10() {
        EbsLineageEnumeratorState v9 = fixtureStateV9();
        CopyDeletionSplit waiting =
                new CopyDeletionSplit(
                        "eu-west-1",
                        DR_ROLE,
                        "us-east-1",
                        "vol-0123456789abcdef2",
                        "gold",
                        "snap-0ccccccccccccccc1",
                        1_700_000_000_000L,
                        1_700_000_005_000L,
                        false);
        List<LineageSplit> unassigned = new ArrayList<>(v9.unassignedSplits());
        unassigned.add(waiting);
        return new EbsLineageEnumeratorState(
                v9.pendingRequests(),
                unassigned,
                v9.watchedTargets(),
                v9.intakePositions(),
                v9.acceptedIds(),
                v9.lineageCopies(),
                v9.recoveryPoints(),
                v9.retentionPasses(),
                List.of(
                        waiting.splitId(),
                        CopyDeletionSplit.idOf("eu-west-1", "snap-0ccccccccccccccc0")));
    }

    @Test
    void committedVersion10FixtureKeepsTheCopyDeletions() throws IOException {
        EbsLineageEnumeratorState state =
                serializer.deserialize(
                        EbsLineageEnumeratorStateSerializer.VERSION_10, committed(FIXTURE_V10));

        assertThat(state).isEqualTo(fixtureStateV10());
        assertThat(state.deletionsInFlight()).hasSize(2);
        assertThat(roundTrip(fixtureStateV10())).isEqualTo(fixtureStateV10());
        assertThat(
                        serializer
                                .deserialize(
                                        EbsLineageEnumeratorStateSerializer.VERSION_9,
                                        committed(FIXTURE_V9))
                                .deletionsInFlight())
                .as("older states have none")
                .isEmpty();
    }

    @Test
    void acceptedIdsOfOlderVersionsAreRememberedAsFingerprints() throws IOException {
        EbsLineageEnumeratorState v3 =
                serializer.deserialize(
                        EbsLineageEnumeratorStateSerializer.VERSION_3, committed(FIXTURE_V3));

        assertThat(v3.acceptedIds().size()).isEqualTo(2);
        assertThat(v3.acceptedIds().contains("req-full")).isTrue();
        assertThat(v3.acceptedIds().contains("req-incr")).isTrue();
        assertThat(v3.acceptedIds().contains("req-other")).isFalse();
    }

    @Test
    void failuresOfOlderVersionsGetTheirReasonsWhenRead() throws IOException {
        for (int v = EbsLineageEnumeratorStateSerializer.VERSION_1;
                v <= EbsLineageEnumeratorStateSerializer.VERSION_5;
                v++) {
            String fixture =
                    v == 1 ? FIXTURE : "/serializer-fixtures/enumerator-state-v" + v + ".bin";
            byte[] committed = committed(fixture);

            EbsLineageEnumeratorState state = serializer.deserialize(v, committed);

            assertThat(state.unassignedSplits())
                    .as("version %d", v)
                    .filteredOn(s -> s instanceof FailedRequestSplit)
                    .extracting(s -> ((FailedRequestSplit) s).failure().reason())
                    .startsWith(FailureReason.SNAPSHOT_NOT_FOUND);
        }
    }

    @Test
    void requestsOfOlderVersionsHaveNoAttributes() throws IOException {
        for (int v = EbsLineageEnumeratorStateSerializer.VERSION_1;
                v <= EbsLineageEnumeratorStateSerializer.VERSION_4;
                v++) {
            String fixture =
                    v == 1 ? FIXTURE : "/serializer-fixtures/enumerator-state-v" + v + ".bin";
            byte[] committed = committed(fixture);

            EbsLineageEnumeratorState state = serializer.deserialize(v, committed);

            assertThat(state.pendingRequests()).isNotEmpty();
            assertThat(state.pendingRequests()).allMatch(p -> p.request().attributes().isEmpty());
            assertThat(state.watchedTargets()).allMatch(w -> w.request().attributes().isEmpty());
        }
    }

    @Test
    void roundTripsIntakePositionsAcceptedIdsAndDeadLetters() throws IOException {
        EbsLineageEnumeratorState state = fixtureStateV3();

        EbsLineageEnumeratorState back = roundTrip(state);

        assertThat(back).isEqualTo(state);
        assertThat(back.intakePositions())
                .containsExactly(Map.entry("requests-0", 42L), Map.entry("requests-1", 8L));
    }

    @Test
    void committedVersion3FixtureStillDeserializes() throws IOException {
        byte[] committed = committed(FIXTURE_V3);

        assertThat(serializer.deserialize(EbsLineageEnumeratorStateSerializer.VERSION_3, committed))
                .isEqualTo(fixtureStateV3());
    }

    @Test
    void roundTripsGenerationsAndWatchedTargets() throws IOException {
        EbsLineageEnumeratorState state = fixtureStateV2();

        assertThat(roundTrip(state)).isEqualTo(state);
    }

    @Test
    void committedVersion2FixtureStillDeserializes() throws IOException {
        byte[] committed = committed(FIXTURE_V2);

        EbsLineageEnumeratorState state =
                serializer.deserialize(EbsLineageEnumeratorStateSerializer.VERSION_2, committed);

        assertThat(state).isEqualTo(fixtureStateV2());
    }

    @Test
    void version1StateHasGenerationZeroAndNoWatches() throws IOException {
        byte[] committed = committed(FIXTURE);

        EbsLineageEnumeratorState state =
                serializer.deserialize(EbsLineageEnumeratorStateSerializer.VERSION_1, committed);

        assertThat(state.pendingRequests()).allMatch(p -> p.generation() == 0);
        assertThat(state.unassignedSplits())
                .allMatch(
                        s ->
                                s instanceof BlockRangeSplit r
                                        ? r.generation() == 0
                                        : ((FailedRequestSplit) s).generation() == 0);
        assertThat(state.watchedTargets()).isEmpty();
    }

    /**
     * Writes the newest fixture; run once, on purpose, when a version is introduced, with {@code
     * -Debs.writeFixtures=true}. Older fixture files stay as they are.
     */
    @Test
    @EnabledIfSystemProperty(named = "ebs.writeFixtures", matches = "true")
    void writeFixture() throws IOException {
        Path file =
                Paths.get(System.getProperty("basedir", "."), "src/test/resources" + FIXTURE_V10);
        Files.createDirectories(file.getParent());
        Files.write(file, serializer.serialize(fixtureStateV10()));
    }

    /** The bytes of a committed fixture. */
    private static byte[] committed(String resource) throws IOException {
        try (InputStream in =
                EbsLineageEnumeratorStateSerializerTest.class.getResourceAsStream(resource)) {
            assertThat(in).as("test resource %s", resource).isNotNull();
            return in.readAllBytes();
        }
    }

    private EbsLineageEnumeratorState roundTrip(EbsLineageEnumeratorState state)
            throws IOException {
        return serializer.deserialize(serializer.getVersion(), serializer.serialize(state));
    }
}
