#!/usr/bin/env bash
# ebs-local, the local EBS direct API endpoint (plus EC2 DescribeSnapshots), on loopback, serving
# two regions from one process and persisting to a data directory, for the local Flink cluster.
#
#   deploy/local/ebs-local.sh start|stop|status|endpoint
#
# Environment: EBS_LOCAL_PORT (4566), EBS_LOCAL_REGIONS (us-east-1,us-west-2), EBS_LOCAL_DIR
# (deploy/local/.run/ebs-local), EBS_LOCAL_FAULTS (a fault profile JSON file), EBS_LOCAL_JAR
# (ebs-local/target/ebs-local.jar), EBS_LOCAL_HEAP (256m), EBS_LOCAL_ARGS (more flags).
# See deploy/local/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
EBS_LOCAL_PORT="${EBS_LOCAL_PORT:-4566}"
EBS_LOCAL_REGIONS="${EBS_LOCAL_REGIONS:-us-east-1,us-west-2}"
EBS_LOCAL_DIR="${EBS_LOCAL_DIR:-$HERE/.run/ebs-local}"
EBS_LOCAL_FAULTS="${EBS_LOCAL_FAULTS:-}"
EBS_LOCAL_JAR="${EBS_LOCAL_JAR:-$ROOT/ebs-local/target/ebs-local.jar}"
EBS_LOCAL_HEAP="${EBS_LOCAL_HEAP:-256m}"
EBS_LOCAL_ARGS="${EBS_LOCAL_ARGS:-}"
EBS_LOCAL_START_TIMEOUT="${EBS_LOCAL_START_TIMEOUT:-60}"
EBS_LOCAL_STOP_TIMEOUT="${EBS_LOCAL_STOP_TIMEOUT:-10}"

JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

. "$HERE/lib.sh"

[[ "$EBS_LOCAL_DIR" == /* ]] || EBS_LOCAL_DIR="$PWD/$EBS_LOCAL_DIR"
PID_FILE="$EBS_LOCAL_DIR/ebs-local.pid"
LOG="$EBS_LOCAL_DIR/ebs-local.log"

pid() {
  pid_in "$PID_FILE"
}

running() {
  alive "$PID_FILE" ebs-local
}

# The URL from the ready line ("ebs-local listening on URL regions=... data-dir=...").
endpoint() {
  sed -n 's/^ebs-local listening on \([^ ]*\).*/\1/p' "$LOG" 2>/dev/null | tail -n 1
}

start() {
  if running; then
    echo "ebs-local already running: pid $(pid), $(endpoint)"
    return 0
  fi
  [[ -f "$EBS_LOCAL_JAR" ]] \
    || die "$EBS_LOCAL_JAR not found; build it: mvn -q -B -ntp package -DskipTests -pl ebs-local -am"
  if (exec 3<>"/dev/tcp/127.0.0.1/$EBS_LOCAL_PORT") 2>/dev/null; then
    die "port $EBS_LOCAL_PORT on 127.0.0.1 is taken; set EBS_LOCAL_PORT"
  fi
  mkdir -p "$EBS_LOCAL_DIR/data"
  local args=(--port "$EBS_LOCAL_PORT" --data-dir "$EBS_LOCAL_DIR/data" --regions "$EBS_LOCAL_REGIONS")
  if [[ -n "$EBS_LOCAL_FAULTS" ]]; then
    [[ -f "$EBS_LOCAL_FAULTS" ]] || die "fault profile $EBS_LOCAL_FAULTS not found"
    args+=(--faults "$EBS_LOCAL_FAULTS")
  fi
  # shellcheck disable=SC2206 # extra flags are split on spaces on purpose
  args+=($EBS_LOCAL_ARGS)
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
  local started=$SECONDS
  nohup "$JAVA" "-Xmx$EBS_LOCAL_HEAP" -XX:+UseSerialGC -jar "$EBS_LOCAL_JAR" "${args[@]}" \
    >"$LOG" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  until grep -q '^ebs-local listening on ' "$LOG" 2>/dev/null; do
    if ! running; then
      tail -n 30 "$LOG" >&2
      rm -f "$PID_FILE"
      die "ebs-local exited during startup; see $LOG"
    fi
    ((SECONDS - started <= EBS_LOCAL_START_TIMEOUT)) \
      || die "ebs-local (pid $(pid)) is not ready after ${EBS_LOCAL_START_TIMEOUT}s; see $LOG"
    sleep 0.2
  done
  echo "ebs-local started in $((SECONDS - started))s: $(endpoint), regions $EBS_LOCAL_REGIONS," \
    "pid $(pid), data $EBS_LOCAL_DIR/data, log $LOG"
}

stop() {
  if ! running; then
    rm -f "$PID_FILE"
    echo "ebs-local not running"
    return 0
  fi
  local p waited=0
  p="$(pid)"
  kill -TERM "$p"
  while kill -0 "$p" 2>/dev/null; do
    if ((waited >= EBS_LOCAL_STOP_TIMEOUT * 5)); then
      kill -KILL "$p" 2>/dev/null || true
      break
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  echo "ebs-local stopped (pid $p)"
}

status() {
  if running; then
    echo "ebs-local running: pid $(pid), $(endpoint), data $EBS_LOCAL_DIR/data, log $LOG"
  else
    echo "ebs-local not running (dir $EBS_LOCAL_DIR)"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  endpoint) running && endpoint || die "not running" ;;
  *)
    echo "usage: $0 start|stop|status|endpoint" >&2
    exit 2
    ;;
esac
