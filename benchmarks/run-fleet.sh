#!/usr/bin/env bash
# Fleet benchmark: serve on an embedded cluster, a real Kafka broker (deploy/local/kafka.sh, its
# own port and directory) and ebs-local with EBS's default quotas, fed a whole fleet at once.
#
# Usage: benchmarks/run-fleet.sh [--scenario fleet|deadline|put-quota] [--lineages 100]
#          [--generations 3] [--parallelism 2] [--checkpoint-interval 5s]
#          [--backlog 200 --urgent 20 --deadline-after 10s]          (deadline)
#          [--copies 20 --blocks 200 --quota-scale 0.1]              (put-quota)
#          [--out benchmarks/results/fleet-L100-G3.json]
# Writes the JSON, a Markdown table next to it and, for the fleet, a chart (.png).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -q -B -ntp package -DskipTests -Dspotless.check.skip=true -pl benchmarks -am

export KAFKA_DIR="${KAFKA_DIR:-benchmarks/results/tmp/fleet-kafka}"
export KAFKA_PORT="${KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
rm -rf "$KAFKA_DIR"
deploy/local/kafka.sh start
trap 'deploy/local/kafka.sh stop >/dev/null 2>&1 || true' EXIT

java -Xmx4g -Djava.awt.headless=true -Dlog4j2.level=WARN \
  -cp benchmarks/target/benchmarks.jar io.ebsreplicator.benchmarks.fleet.FleetBenchmark \
  --bootstrap-servers "127.0.0.1:$KAFKA_PORT" "$@"
