#!/usr/bin/env bash
# What the JobManager checkpoints for a fleet: the enumerator's state with 10,000 lineages x 8
# kept copies and 1,000,000 remembered request ids, its size and the time to take and restore it.
# Usage: benchmarks/run-enumerator-state.sh [--lineages 10000] [--copies 8] [--ids 1000000]
#                                           [--rounds 7] [--out benchmarks/results/enumerator-state.json]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -ntp package -DskipTests -Dspotless.check.skip=true -pl benchmarks -am
exec java -Xmx2g -XX:+UseG1GC -cp benchmarks/target/benchmarks.jar \
  io.ebsreplicator.benchmarks.EnumeratorStateBenchmark "$@"
