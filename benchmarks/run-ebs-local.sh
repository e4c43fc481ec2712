#!/usr/bin/env bash
# PutSnapshotBlock / GetSnapshotBlock throughput of ebs-local, load generator in the same run.
# Usage: benchmarks/run-ebs-local.sh [--blocks N] [--threads T] [--modes http,https]
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -ntp package -DskipTests -Dspotless.check.skip=true -pl benchmarks -am
exec java -Xmx4g -XX:+UseParallelGC -cp benchmarks/target/benchmarks.jar \
  io.ebsreplicator.benchmarks.EbsLocalThroughput "$@"
