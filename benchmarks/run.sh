#!/usr/bin/env bash
# End-to-end harness: the job (embedded MiniCluster), a naive sequential SDK copier and a tuned
# direct copier replicate the same snapshot over ebs-local (HTTPS) at 0, 20 and 100 ms round trip.
# Writes benchmarks/results/latest.json, latest.md and throughput.png.
# Usage: benchmarks/run.sh [--gib 4] [--latencies 0,20,100] [--systems job,tuned,naive]
#                          [--naive-blocks 200] [--tuned-concurrency 128] [--parallelism 2]
#                          [--max-in-flight 64] [--trials 3] [--out benchmarks/results] [--jfr]
# The job and the tuned copier run --trials times per latency (naive once); the table shows the
# median trial. The compiler threads are kept for the whole run so that their CPU can be counted.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -ntp package -DskipTests -Dspotless.check.skip=true -pl benchmarks -am
# ebs-local keeps the source in memory: give the heap room for it (4 GiB by default).
exec java -Xmx12g -XX:+UseParallelGC -XX:-UseDynamicNumberOfCompilerThreads -Djava.awt.headless=true \
  -cp benchmarks/target/benchmarks.jar io.ebsreplicator.benchmarks.EndToEndBenchmark "$@"
