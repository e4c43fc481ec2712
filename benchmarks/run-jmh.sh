#!/usr/bin/env bash
# JMH micro-benchmarks of the per-block hot path (io.ebsreplicator.benchmarks.jmh).
# Usage: benchmarks/run-jmh.sh [JMH options...]   e.g. benchmarks/run-jmh.sh sha256 -f 2
# Writes benchmarks/results/jmh.json; any arguments are passed to org.openjdk.jmh.Main.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -ntp package -DskipTests -Dspotless.check.skip=true -pl benchmarks -am
mkdir -p benchmarks/results
exec java -cp benchmarks/target/benchmarks.jar org.openjdk.jmh.Main \
  -rf json -rff benchmarks/results/jmh.json "$@"
