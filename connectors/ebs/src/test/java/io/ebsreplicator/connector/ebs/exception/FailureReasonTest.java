package io.ebsreplicator.connector.ebs.exception;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;

import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every {@link FailureReason} is produced from its real cause by a test: EBS errors by ebs-local
 * over HTTP through the whole pipeline, the job's own decisions by the component that decides them.
 * A new constant fails here until it names the tests that produce it.
 */
class FailureReasonTest {

    private static final String CONNECTOR = "connectors/ebs/src/test/java/io/ebsreplicator/";
    private static final String PIPELINE = CONNECTOR + "connector/ebs/pipeline/";
    private static final String ENUMERATOR = CONNECTOR + "connector/ebs/source/enumerator/";
    private static final String COMPLETION = CONNECTOR + "connector/ebs/completion/";
    private static final String JOB = "job/src/test/java/io/ebsreplicator/job/";

    private static final String SERVE_BAD_MESSAGES =
            JOB
                    + "ServeITCase#badMessagesGetDeadLettersOrFailureResultsAndTheRequestsAfterThemComplete";
    private static final String EBS_REFUSALS =
            PIPELINE
                    + "FailureReasonsITCase"
                    + "#ebsRefusingTheTargetsEndsEachRequestWithItsReasonWhileAGoodOneCompletes";
    private static final String FATAL_REQUESTS =
            PIPELINE + "EbsReplicationITCase#fatalRequestsFailWithTheirReasonWhileOthersSucceed";

    /** The tests that produce each reason, as {@code path/Class#method} from the repository. */
    private static final Map<FailureReason, List<String>> PRODUCED_BY =
            Map.ofEntries(
                    entry(
                            FailureReason.INVALID_REQUEST,
                            List.of(
                                    ENUMERATOR
                                            + "EbsLineageSourceEnumeratorTest"
                                            + "#anInvalidRequestBecomesAFailureSplit",
                                    SERVE_BAD_MESSAGES)),
                    entry(FailureReason.DEADLINE_EXCEEDED, List.of(SERVE_BAD_MESSAGES)),
                    entry(
                            FailureReason.UNRELATED_BASE,
                            List.of(FATAL_REQUESTS, SERVE_BAD_MESSAGES)),
                    entry(
                            FailureReason.SNAPSHOT_NOT_FOUND,
                            List.of(FATAL_REQUESTS, SERVE_BAD_MESSAGES)),
                    entry(FailureReason.ACCESS_DENIED, List.of(FATAL_REQUESTS)),
                    entry(
                            FailureReason.ROLE_NOT_ALLOWED,
                            List.of(
                                    ENUMERATOR
                                            + "EbsLineageSourceEnumeratorTest"
                                            + "#aTargetRoleNotOnTheAllowListFailsItsRequestWhileOthersArePlanned")),
                    entry(FailureReason.QUOTA_EXCEEDED, List.of(EBS_REFUSALS)),
                    entry(FailureReason.REQUEST_ID_REUSED, List.of(EBS_REFUSALS)),
                    entry(FailureReason.REJECTED_BY_EBS, List.of(EBS_REFUSALS)),
                    entry(
                            FailureReason.EBS_UNAVAILABLE,
                            List.of(
                                    PIPELINE
                                            + "FailureReasonsITCase"
                                            + "#writesThatFailTransientlyPastTheTotalTimeoutEndAsEbsUnavailable",
                                    COMPLETION
                                            + "ReplicationCompletionFunctionTest"
                                            + "#endInputFailsATargetWhoseCompleteSnapshotKeepsFailingTransientlyAsEbsUnavailable")),
                    entry(
                            FailureReason.CHECKSUM_MISMATCH,
                            List.of(
                                    PIPELINE
                                            + "FailureReasonsITCase"
                                            + "#aSourceBlockThatNeverMatchesItsChecksumEndsAsChecksumMismatch")),
                    entry(
                            FailureReason.TARGET_CANCELLED,
                            List.of(
                                    ENUMERATOR
                                            + "EbsLineageSourceEnumeratorTest"
                                            + "#aTargetCancelledMoreOftenThanAllowedFailsItsRegion",
                                    COMPLETION
                                            + "ReplicationCompletionFunctionTest"
                                            + "#aTargetThatGoesToErrorWithoutAReplacementYieldsAFailedResult",
                                    COMPLETION
                                            + "ReplicationCompletionFunctionTest"
                                            + "#aCancelledTargetAtTheEndOfABoundedInputFailsWithTheReason")),
                    entry(
                            FailureReason.VERIFICATION_FAILED,
                            List.of(
                                    PIPELINE
                                            + "FailureReasonsITCase"
                                            + "#aTargetThatReadsBackDifferentlyFromTheSourceFailsVerification")),
                    entry(
                            FailureReason.TARGET_FAILED,
                            List.of(
                                    COMPLETION
                                            + "ReplicationCompletionFunctionTest"
                                            + "#endInputFailsATargetWhoseBlocksDidNotAllArrive",
                                    COMPLETION
                                            + "ReplicationCompletionFunctionTest"
                                            + "#aTargetThatIsNotCompletedWithinTheSealTimeoutFailsAsTargetFailed",
                                    COMPLETION
                                            + "ReplicationCompletionFunctionTest"
                                            + "#aFailureRestoredFromAnEarlierVersionWithoutAReasonEndsAsTargetFailed")));

    @ParameterizedTest
    @EnumSource(FailureReason.class)
    void hasATestThatProducesItFromItsCause(FailureReason reason) throws IOException {
        assertThat(PRODUCED_BY)
                .as("a test that produces %s from its real cause", reason)
                .containsKey(reason);
        for (String test : PRODUCED_BY.get(reason)) {
            int hash = test.indexOf('#');
            Path file = repository().resolve(test.substring(0, hash) + ".java");
            assertThat(file).as("%s", test).exists();
            String source = Files.readString(file);
            assertThat(source)
                    .as("%s is a test", test)
                    .contains("void " + test.substring(hash + 1) + "(");
            assertThat(source).as("%s checks the reason", test).contains(reason.name());
        }
    }

    @ParameterizedTest
    @EnumSource(FailureReason.class)
    void theNameIsAPublicCodeOfUpperCaseWords(FailureReason reason) {
        // error.reason on the wire is the name: upper case words joined by underscores.
        assertThat(reason.name()).matches("[A-Z]+(_[A-Z]+)*");
    }

    /** The repository root, from the module directory tests run in. */
    private static Path repository() {
        Path module = Paths.get(System.getProperty("basedir", ".")).toAbsolutePath();
        return module.getParent().getParent();
    }
}
