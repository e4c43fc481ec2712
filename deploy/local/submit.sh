#!/usr/bin/env bash
# Submits the cluster job jar to the local Flink cluster with Flink's own command line
# (CliFrontend run), passing the job's arguments through.
#
#   deploy/local/submit.sh [-s SAVEPOINT_OR_CHECKPOINT] [-p N] [-d] [-n] replicate --source-region ...
#
# -s resumes from a savepoint or a retained checkpoint (a chk-N directory), -p sets the default
# parallelism, -d detaches (the job's results are then not printed), -n allows state that no
# operator claims. Environment: JOB_JAR (job/target/ebs-replicator-job.jar) and the FLINK_*
# variables of flink-cluster.sh (FLINK_DIR names the cluster). See deploy/local/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
JOB_JAR="${JOB_JAR:-$ROOT/job/target/ebs-replicator-job.jar}"

usage() {
  echo "usage: $0 [-s SAVEPOINT_OR_CHECKPOINT] [-p N] [-d] [-n] <command> [job arguments...]" >&2
  exit 2
}

run=()
while (($#)); do
  case "$1" in
    -s | --fromSavepoint)
      (($# >= 2)) || usage
      run+=(-s "$2")
      shift 2
      ;;
    -p | --parallelism)
      (($# >= 2)) || usage
      [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "submit.sh: -p needs a positive number, not '$2'" >&2; exit 2; }
      run+=(-p "$2")
      shift 2
      ;;
    -d | --detached)
      run+=(-d)
      shift
      ;;
    -n | --allowNonRestoredState)
      run+=(-n)
      shift
      ;;
    -h | --help) usage ;;
    --)
      shift
      break
      ;;
    -*) usage ;;
    *) break ;;
  esac
done
(($#)) || usage
[[ -f "$JOB_JAR" ]] || {
  echo "submit.sh: $JOB_JAR not found; build it: mvn -q -B -ntp package -DskipTests" >&2
  exit 1
}
exec "$HERE/flink-cluster.sh" cli run "${run[@]}" "$JOB_JAR" "$@"
