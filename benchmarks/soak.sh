#!/usr/bin/env bash
# The chaos soak: serve on a highly available local cluster (ZooKeeper, two JobManagers, three
# TaskManagers), a Kafka broker and ebs-local with a fault profile, all real processes on loopback;
# a producer of 50 growing lineages (some requests twice, some malformed); a chaos loop that kills
# a TaskManager about every 2 minutes, the leading JobManager about every 7, and restarts the broker
# and ebs-local once each. Then it checks everything that came out and exits non-zero when a check
# fails.
#
# Usage: benchmarks/soak.sh --minutes M [--out DIR]
#
# The harness is job/src/test/java/io/ebsreplicator/job/cluster/ChaosSoak.java, run as the
# SoakClusterE2E test (whose short variant runs in every `mvn verify`). It builds what it needs
# first. Writes DIR/soak-report.md (checks, counts, timeline with recovery times, throughput) and
# DIR/soak-chart.png (default DIR: benchmarks/results/soak-<M>min); the processes' logs and data
# stay in job/target/soak-cluster-e2e. Every process it starts is stopped when it ends, whether
# the checks pass or not. Exits non-zero when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=""
out=""
while (($#)); do
  case "$1" in
    --minutes)
      minutes="${2:-}"
      shift 2
      ;;
    --out)
      out="${2:-}"
      shift 2
      ;;
    *)
      echo "usage: $0 --minutes M [--out DIR]" >&2
      exit 2
      ;;
  esac
done
[[ "$minutes" =~ ^[1-9][0-9]*$ ]] || { echo "soak.sh: --minutes needs a positive number" >&2; exit 2; }
out="${out:-benchmarks/results/soak-${minutes}min}"
[[ "$out" == /* ]] || out="$PWD/$out"

mvn -q -B -ntp install -DskipTests -Dspotless.check.skip=true -pl job -am
log="${TMPDIR:-/tmp}/soak-$minutes.log"
# Only the soak: unit tests and the other end-to-end tests are skipped. Its progress lines
# ([soak] ...) go to the test's output file; Maven's summary comes here.
set +e
mvn -B -ntp -pl job -Dspotless.check.skip=true -Dtest=NONE -Dsurefire.failIfNoSpecifiedTests=false \
  -Dit.test=SoakClusterE2E "-Debs.soak.minutes=$minutes" "-Debs.soak.out=$out" verify 2>&1 \
  | tee "$log" | grep --line-buffered -E 'Tests run|BUILD|ERROR'
status="${PIPESTATUS[0]}"
set -e
[[ -f "$out/soak-report.md" ]] && cat "$out/soak-report.md"
echo "soak.sh: report $out/soak-report.md, chart $out/soak-chart.png, Maven log $log"
exit "$status"
