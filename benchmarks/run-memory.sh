#!/usr/bin/env bash
# Memory harness: does the job's heap stay independent of the volume size? Replicates a 64 TiB
# sparse snapshot and a 1 GiB one with the same written blocks on one embedded MiniCluster, with
# ebs-local as a separate process, sampling the live heap. Writes
# benchmarks/results/memory-latest.json and prints a Markdown table with each target.
# Usage: benchmarks/run-memory.sh [--blocks 2000] [--volumes 1,65536] [--in-flight 32,128]
#                                 [--parallelism 2] [--sample-ms 200] [--trials 3]
#                                 [--out benchmarks/results] [--tls]
# --tls serves ebs-local over HTTPS, as EBS is reached (over HTTP the SDK signs and copies
# every put's body, which adds to the heap).
# Extra JVM flags (e.g. the garbage collector or its region size) go in MEMORY_JVM_OPTS.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -ntp package -DskipTests -Dspotless.check.skip=true -pl benchmarks -am
# A fixed heap for the job, the MiniCluster and the harness; ebs-local has its own process.
exec java -Xmx1g ${MEMORY_JVM_OPTS:-} \
  -cp benchmarks/target/benchmarks.jar io.ebsreplicator.benchmarks.MemoryBenchmark "$@"
