#!/usr/bin/env bash
# A standalone ZooKeeper server on loopback, started from Maven-resolved jars, for the JobManager
# high availability of the local Flink cluster (flink-cluster.sh with FLINK_HA=zookeeper).
#
#   deploy/local/zookeeper.sh start|stop|status|quorum|classpath
#
# Environment: ZOOKEEPER_PORT (2181), ZOOKEEPER_DIR (deploy/local/.run/zookeeper), ZOOKEEPER_HEAP
# (128m), ZOOKEEPER_TICK_MS (1000), ZOOKEEPER_START_TIMEOUT seconds (60). See deploy/local/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ZOOKEEPER_PORT="${ZOOKEEPER_PORT:-2181}"
ZOOKEEPER_DIR="${ZOOKEEPER_DIR:-$HERE/.run/zookeeper}"
ZOOKEEPER_HEAP="${ZOOKEEPER_HEAP:-128m}"
# Sessions may last from 2 to 20 ticks: at 1 s a client can ask for the 6 s that makes a killed
# JobManager's leadership expire quickly (ZooKeeper's own default tick, 2 s, allows 4 to 40 s).
ZOOKEEPER_TICK_MS="${ZOOKEEPER_TICK_MS:-1000}"
ZOOKEEPER_START_TIMEOUT="${ZOOKEEPER_START_TIMEOUT:-60}"
ZOOKEEPER_STOP_TIMEOUT="${ZOOKEEPER_STOP_TIMEOUT:-15}"

POM="$HERE/zookeeper/pom.xml"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
MAIN=org.apache.zookeeper.server.ZooKeeperServerMain

. "$HERE/lib.sh"

[[ "$ZOOKEEPER_DIR" == /* ]] || ZOOKEEPER_DIR="$PWD/$ZOOKEEPER_DIR"
PID_FILE="$ZOOKEEPER_DIR/zookeeper.pid"
LOG="$ZOOKEEPER_DIR/zookeeper.log"
CFG="$ZOOKEEPER_DIR/zoo.cfg"

classpath() {
  resolve_classpath "$POM" "$ZOOKEEPER_DIR" "ZooKeeper's jars"
}

pid() {
  pid_in "$PID_FILE"
}

running() {
  alive "$PID_FILE" "$MAIN"
}

# The connect string, read back from the written configuration when there is one.
quorum() {
  if [[ -f "$CFG" ]]; then
    echo "127.0.0.1:$(sed -n 's/^clientPort=//p' "$CFG")"
  else
    echo "127.0.0.1:$ZOOKEEPER_PORT"
  fi
}

# Whether the server serves requests: the four-letter word "srvr" then names its mode ("ruok"
# answers "imok" as soon as the port is open, even while the server cannot serve).
serving() {
  local answer
  answer="$( (exec 3<>"/dev/tcp/127.0.0.1/$1" && printf srvr >&3 && timeout 2 cat <&3) 2>/dev/null || true)"
  [[ "$answer" == *"Mode: standalone"* ]]
}

write_config() {
  mkdir -p "$ZOOKEEPER_DIR/data"
  cat >"$CFG" <<CFG
# Written by deploy/local/zookeeper.sh at every start; edit the script, not this file.
tickTime=$ZOOKEEPER_TICK_MS
dataDir=$ZOOKEEPER_DIR/data
clientPort=$ZOOKEEPER_PORT
clientPortAddress=127.0.0.1
maxClientCnxns=0
# No Jetty admin server (its jars are not on the class path); the four-letter words do.
admin.enableServer=false
4lw.commands.whitelist=srvr,stat,mntr
# Keep the data directory small across long runs.
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
CFG
  cat >"$ZOOKEEPER_DIR/log4j2.properties" <<'L4J'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %c{1} - %m%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
L4J
}

start() {
  if running; then
    echo "ZooKeeper already running: pid $(pid), quorum $(quorum)"
    return 0
  fi
  rm -f "$PID_FILE"
  port_taken "$ZOOKEEPER_PORT" && die "port $ZOOKEEPER_PORT on 127.0.0.1 is taken; set ZOOKEEPER_PORT"
  local cp
  cp="$(classpath)"
  write_config
  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
  local started=$SECONDS
  CLASSPATH="$cp" nohup "$JAVA" "-Xmx$ZOOKEEPER_HEAP" -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$ZOOKEEPER_DIR/log4j2.properties" \
    -Dzookeeper.jmx.log4j.disable=true \
    "$MAIN" "$CFG" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  until serving "$ZOOKEEPER_PORT"; do
    if ! running; then
      tail -n 40 "$LOG" >&2
      rm -f "$PID_FILE"
      die "ZooKeeper exited during startup; see $LOG"
    fi
    if ((SECONDS - started > ZOOKEEPER_START_TIMEOUT)); then
      tail -n 40 "$LOG" >&2
      die "ZooKeeper (pid $(pid)) is not ready after ${ZOOKEEPER_START_TIMEOUT}s; see $LOG"
    fi
    sleep 0.2
  done
  echo "ZooKeeper started in $((SECONDS - started))s: quorum $(quorum), pid $(pid), data $ZOOKEEPER_DIR/data, log $LOG"
}

stop() {
  if ! running; then
    rm -f "$PID_FILE"
    echo "ZooKeeper not running"
    return 0
  fi
  local p waited=0
  p="$(pid)"
  kill -TERM "$p"
  while kill -0 "$p" 2>/dev/null; do
    if ((waited >= ZOOKEEPER_STOP_TIMEOUT * 5)); then
      echo "zookeeper.sh: no clean stop after ${ZOOKEEPER_STOP_TIMEOUT}s; killing pid $p" >&2
      kill -KILL "$p" 2>/dev/null || true
      break
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  echo "ZooKeeper stopped (pid $p)"
}

status() {
  if running; then
    echo "ZooKeeper running: pid $(pid), quorum $(quorum), data $ZOOKEEPER_DIR/data, log $LOG"
  else
    echo "ZooKeeper not running (dir $ZOOKEEPER_DIR)"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  quorum) quorum ;;
  classpath) classpath ;;
  *)
    echo "usage: $0 start|stop|status|quorum|classpath" >&2
    exit 2
    ;;
esac
