#!/usr/bin/env bash
# One-shot copies, each a fresh process: `java -jar job/target/ebs-replicator.jar replicate` next to
# the tuned direct copier, as is and as tuned-jvm (started with a class-data archive of its own and
# replicate's JIT flags), for 16 blocks, 512 MiB and 4 GiB, at 0 and 20 ms round trip, over HTTP
# and HTTPS, against ebs-local (in the benchmark's JVM, default quotas and seal delay). Records wall
# time, CPU-s of the copy and of ebs-local apart, time to the first written block and peak RSS.
# Writes benchmarks/results/cold-start/cold-start.md and cold-start.json.
# Usage: benchmarks/run-cold-start.sh [--baseline-jar OLD.jar] [--blocks 16,1024,8192]
#                                     [--latencies 0,20] [--transports http,https] [--trials 3]
#                                     [--tuned-concurrency 64] [--out DIR]
#                                     [--variant NAME=FLAG,FLAG...] [--java PATH]
# --baseline-jar adds another build of the runnable jar (e.g. one built from an older commit), so
# that before and after are measured in the same run. --variant adds replicate of this build with
# more java flags (e.g. jvm-jit=-Debs.launcher.jit=default); --java runs every copy on another JVM.
# Needs /usr/bin/time (GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null || { echo "run-cold-start.sh: needs GNU time (/usr/bin/time)" >&2; exit 2; }
mvn -q -B -ntp package -DskipTests -Dspotless.check.skip=true -pl job,benchmarks -am
# ebs-local keeps the sources in memory (4.5 GiB by default); copies share their blocks.
exec java -Xmx8g -XX:+UseParallelGC -cp benchmarks/target/benchmarks.jar \
  io.ebsreplicator.benchmarks.ColdStartBenchmark "$@"
