#!/usr/bin/env bash
# PutSnapshotBlock / GetSnapshotBlock throughput of ebs-local, load generator in the same run.
# Usage: benchmarks/run-ebs-local.sh [--blocks N] [--trials N] [--threads T] [--modes http,https]
#                                    [--clients raw,sdk] [--data-root DIR] [--out FILE]
# The data directory goes on tmpfs (/dev/shm) unless --data-root says otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -ntp package -DskipTests -Dspotless.check.skip=true -pl benchmarks -am
root=/dev/shm
[ -d "$root" ] || root="${TMPDIR:-/tmp}"
exec java -Xmx4g -XX:+UseParallelGC -cp benchmarks/target/benchmarks.jar \
  io.ebsreplicator.benchmarks.EbsLocalThroughput --data-root "$root" "$@"
