package io.ebsreplicator.local.fault;

import io.ebsreplicator.local.api.Operation;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * What ebs-local injects to model a cross-region link and an unhappy service. Rates are
 * probabilities per request in [0, 1] and apply to the operations in {@link #operations} (all when
 * empty); latency applies to every request. Loaded from a JSON file ({@code --faults FILE}) with
 * the field names below, or built in tests and swapped at run time with {@code
 * EbsLocalServer#setFaults}.
 *
 * <pre>{@code
 * {"latencyMs": 20, "jitterMs": 5, "throttleRate": 0.02, "serverErrorRate": 0.01,
 *  "resetRate": 0.005, "corruptReadRate": 0.01, "notFoundAfterStartSeconds": 5,
 *  "operations": ["PutSnapshotBlock", "GetSnapshotBlock"]}
 * }</pre>
 *
 * @param seed seed of the random source; 0 picks a random seed
 * @param latencyMs delay added before each request is handled (one-way model of the round trip)
 * @param jitterMs uniform jitter added to {@code latencyMs}, in [-jitter, +jitter]
 * @param throttleRate RequestThrottledException with {@code throttleReason}
 * @param throttleReason ACCOUNT_THROTTLED, RESOURCE_LEVEL_THROTTLE or DEPENDENCY_REQUEST_THROTTLED
 * @param serverErrorRate InternalServerException (HTTP 500)
 * @param resetRate the connection is reset (TCP RST) without a response
 * @param stallRate no response for {@code stallMs}, then the connection is closed
 * @param stallMs how long a stall lasts
 * @param corruptReadRate GetSnapshotBlock answers with one flipped byte but the original checksum
 * @param readFailureRate PutSnapshotBlock fails with ValidationException "Failed to read block
 *     data" (INVALID_PARAMETER_VALUE), a transient error real EBS gives
 * @param concurrentLimitRate StartSnapshot fails with ConcurrentLimitExceededException
 * @param notFoundAfterStartSeconds for this long after StartSnapshot, PutSnapshotBlock and
 *     CompleteSnapshot on the new snapshot answer ResourceNotFoundException, as EBS does while a
 *     new snapshot propagates
 * @param emptyPageRate a list page comes back empty with a NextToken that resumes where it stood
 * @param operations the operations the per-request rates apply to (API names); empty for all
 */
@JsonIgnoreProperties(ignoreUnknown = false)
public record FaultProfile(
        long seed,
        long latencyMs,
        long jitterMs,
        double throttleRate,
        String throttleReason,
        double serverErrorRate,
        double resetRate,
        double stallRate,
        long stallMs,
        double corruptReadRate,
        double readFailureRate,
        double concurrentLimitRate,
        long notFoundAfterStartSeconds,
        double emptyPageRate,
        List<String> operations) {

    private static final ObjectMapper JSON =
            new ObjectMapper().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    public FaultProfile {
        if (throttleReason == null || throttleReason.isEmpty()) {
            throttleReason = "ACCOUNT_THROTTLED";
        }
        if (!Set.of("ACCOUNT_THROTTLED", "RESOURCE_LEVEL_THROTTLE", "DEPENDENCY_REQUEST_THROTTLED")
                .contains(throttleReason)) {
            throw new IllegalArgumentException("Unknown throttleReason " + throttleReason);
        }
        if (stallMs <= 0) {
            stallMs = 30_000;
        }
        operations = operations == null ? List.of() : List.copyOf(operations);
        for (String op : operations) {
            Operation.fromApiName(op);
        }
        for (double rate :
                new double[] {
                    throttleRate,
                    serverErrorRate,
                    resetRate,
                    stallRate,
                    corruptReadRate,
                    readFailureRate,
                    concurrentLimitRate,
                    emptyPageRate
                }) {
            if (rate < 0 || rate > 1) {
                throw new IllegalArgumentException("Fault rates lie in [0, 1], not " + rate);
            }
        }
        if (latencyMs < 0 || jitterMs < 0 || jitterMs > latencyMs) {
            throw new IllegalArgumentException(
                    "latencyMs >= 0 and 0 <= jitterMs <= latencyMs are required");
        }
    }

    /** No faults at all: the default. */
    public static FaultProfile none() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.seed = seed;
        b.latencyMs = latencyMs;
        b.jitterMs = jitterMs;
        b.throttleRate = throttleRate;
        b.throttleReason = throttleReason;
        b.serverErrorRate = serverErrorRate;
        b.resetRate = resetRate;
        b.stallRate = stallRate;
        b.stallMs = stallMs;
        b.corruptReadRate = corruptReadRate;
        b.readFailureRate = readFailureRate;
        b.concurrentLimitRate = concurrentLimitRate;
        b.notFoundAfterStartSeconds = notFoundAfterStartSeconds;
        b.emptyPageRate = emptyPageRate;
        b.operations = operations;
        return b;
    }

    public static FaultProfile fromJson(Path file) throws IOException {
        return JSON.readValue(file.toFile(), FaultProfile.class);
    }

    public static FaultProfile fromJson(String json) throws IOException {
        return JSON.readValue(json, FaultProfile.class);
    }

    /** Whether the per-request rates apply to this operation. */
    public boolean appliesTo(Operation op) {
        return operations.isEmpty() || operations.contains(op.apiName());
    }

    /** Builds a {@link FaultProfile}; every field defaults to "no fault". */
    public static final class Builder {
        private long seed;
        private long latencyMs;
        private long jitterMs;
        private double throttleRate;
        private String throttleReason = "ACCOUNT_THROTTLED";
        private double serverErrorRate;
        private double resetRate;
        private double stallRate;
        private long stallMs = 30_000;
        private double corruptReadRate;
        private double readFailureRate;
        private double concurrentLimitRate;
        private long notFoundAfterStartSeconds;
        private double emptyPageRate;
        private List<String> operations = List.of();

        public Builder seed(long v) {
            seed = v;
            return this;
        }

        public Builder latency(long millis, long jitterMillis) {
            latencyMs = millis;
            jitterMs = jitterMillis;
            return this;
        }

        public Builder throttleRate(double v) {
            throttleRate = v;
            return this;
        }

        public Builder throttleReason(String v) {
            throttleReason = v;
            return this;
        }

        public Builder serverErrorRate(double v) {
            serverErrorRate = v;
            return this;
        }

        public Builder resetRate(double v) {
            resetRate = v;
            return this;
        }

        public Builder stall(double rate, long millis) {
            stallRate = rate;
            stallMs = millis;
            return this;
        }

        public Builder corruptReadRate(double v) {
            corruptReadRate = v;
            return this;
        }

        public Builder readFailureRate(double v) {
            readFailureRate = v;
            return this;
        }

        public Builder concurrentLimitRate(double v) {
            concurrentLimitRate = v;
            return this;
        }

        public Builder notFoundAfterStartSeconds(long v) {
            notFoundAfterStartSeconds = v;
            return this;
        }

        public Builder emptyPageRate(double v) {
            emptyPageRate = v;
            return this;
        }

        public Builder operations(Operation... ops) {
            operations = java.util.Arrays.stream(ops).map(Operation::apiName).toList();
            return this;
        }

        public FaultProfile build() {
            return new FaultProfile(
                    seed,
                    latencyMs,
                    jitterMs,
                    throttleRate,
                    throttleReason,
                    serverErrorRate,
                    resetRate,
                    stallRate,
                    stallMs,
                    corruptReadRate,
                    readFailureRate,
                    concurrentLimitRate,
                    notFoundAfterStartSeconds,
                    emptyPageRate,
                    operations);
        }
    }
}
