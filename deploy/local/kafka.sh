#!/usr/bin/env bash
# A single-node Kafka broker (KRaft: broker and controller in one JVM) on loopback, started from
# Maven-resolved jars, for demos and manual tests. The same kind of broker the Kafka ITCases start.
#
#   deploy/local/kafka.sh start|stop|status|classpath
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_DIR (deploy/local/.run/kafka),
# KAFKA_HEAP (512m), KAFKA_START_TIMEOUT seconds (120). See deploy/local/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DIR="${KAFKA_DIR:-$HERE/.run/kafka}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
# A graceful stop of one node takes a few seconds; past this the broker is killed.
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

POM="$HERE/kafka/pom.xml"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

. "$HERE/lib.sh"

# Absolute, so that the pid file and server.properties mean the same from any working directory.
[[ "$KAFKA_DIR" == /* ]] || KAFKA_DIR="$PWD/$KAFKA_DIR"
PID_FILE="$KAFKA_DIR/kafka.pid"
LOG="$KAFKA_DIR/broker.log"

classpath() {
  resolve_classpath "$POM" "$KAFKA_DIR" "the broker's jars"
}

pid() {
  pid_in "$PID_FILE"
}

# Alive, and still our broker: a stale pid file may name a pid that another process reuses.
running() {
  alive "$PID_FILE" kafka.Kafka
}

bootstrap() {
  if [[ -f "$KAFKA_DIR/server.properties" ]]; then
    sed -n 's|^advertised.listeners=PLAINTEXT://||p' "$KAFKA_DIR/server.properties"
  else
    echo "127.0.0.1:$KAFKA_PORT"
  fi
}

write_config() {
  cat >"$KAFKA_DIR/server.properties" <<EOF
# Written by deploy/local/kafka.sh at every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$KAFKA_DIR/data
# One node: every replication factor and ISR minimum is 1.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
offsets.topic.num.partitions=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.num.partitions=1
num.partitions=1
# Topics are created on purpose (the job's request, result and dead-letter topics), never by a typo.
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=0
# A restart after a crash waits for the old session to expire: 3 s instead of 9.
broker.session.timeout.ms=3000
broker.heartbeat.interval.ms=500
# Transactions of a crashed writer are aborted soon after their timeout; Flink's KafkaSink may ask
# for transaction timeouts of up to an hour.
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
transaction.max.timeout.ms=3600000
log.segment.bytes=1048576
offsets.topic.segment.bytes=1048576
transaction.state.log.segment.bytes=1048576
log.index.size.max.bytes=1048576
log.cleaner.dedupe.buffer.size=4194304
num.network.threads=2
num.io.threads=2
background.threads=2
num.recovery.threads.per.data.dir=1
EOF
  cat >"$KAFKA_DIR/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c{1})%n
rootLogger.level = info
rootLogger.appenderRef.out.ref = out
logger.config.name = org.apache.kafka.common.config.AbstractConfig
logger.config.level = warn
logger.state.name = state.change.logger
logger.state.level = warn
logger.request.name = kafka.request.logger
logger.request.level = warn
EOF
}

start() {
  if running; then
    echo "Kafka broker already running: pid $(pid), bootstrap $(bootstrap)"
    return 0
  fi
  rm -f "$PID_FILE"
  local port
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    if port_taken "$port"; then
      die "port $port on 127.0.0.1 is taken; set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    fi
  done
  local cp
  cp="$(classpath)"
  write_config

  # Format once; later starts keep the data (and the cluster id written in it).
  if [[ ! -f "$KAFKA_DIR/data/meta.properties" ]]; then
    local cluster_id
    cluster_id="$(CLASSPATH="$cp" "$JAVA" -Xmx128m kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)"
    [[ -n "$cluster_id" ]] || die "kafka.tools.StorageTool random-uuid printed no cluster id"
    if ! CLASSPATH="$cp" "$JAVA" -Xmx128m -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
      kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/server.properties" \
      >"$KAFKA_DIR/format.log" 2>&1; then
      tail -n 30 "$KAFKA_DIR/format.log" >&2
      die "kafka.tools.StorageTool format failed; see $KAFKA_DIR/format.log"
    fi
  fi

  [[ -f "$LOG" ]] && mv -f "$LOG" "$LOG.1"
  local started=$SECONDS
  CLASSPATH="$cp" nohup "$JAVA" "-Xmx$KAFKA_HEAP" -XX:+UseSerialGC \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    kafka.Kafka "$KAFKA_DIR/server.properties" >"$LOG" 2>&1 </dev/null &
  echo $! >"$PID_FILE"

  until grep -q 'Kafka Server started' "$LOG" 2>/dev/null && port_taken "$KAFKA_PORT"; do
    if ! running; then
      tail -n 40 "$LOG" >&2
      rm -f "$PID_FILE"
      die "the Kafka broker exited during startup; see $LOG"
    fi
    if ((SECONDS - started > KAFKA_START_TIMEOUT)); then
      tail -n 40 "$LOG" >&2
      die "the Kafka broker (pid $(pid)) is not ready after ${KAFKA_START_TIMEOUT}s; see $LOG"
    fi
    sleep 0.2
  done
  echo "Kafka broker started in $((SECONDS - started))s: bootstrap $(bootstrap), pid $(pid), data $KAFKA_DIR/data, log $LOG"
}

stop() {
  if ! running; then
    rm -f "$PID_FILE"
    echo "Kafka broker not running"
    return 0
  fi
  local p waited=0
  p="$(pid)"
  kill -TERM "$p"
  while kill -0 "$p" 2>/dev/null; do
    if ((waited >= KAFKA_STOP_TIMEOUT * 5)); then
      echo "kafka.sh: no clean stop after ${KAFKA_STOP_TIMEOUT}s; killing pid $p" >&2
      kill -KILL "$p" 2>/dev/null || true
      break
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  rm -f "$PID_FILE"
  echo "Kafka broker stopped (pid $p)"
}

status() {
  if running; then
    echo "Kafka broker running: pid $(pid), bootstrap $(bootstrap), data $KAFKA_DIR/data, log $LOG"
  else
    echo "Kafka broker not running (dir $KAFKA_DIR)"
    return 3
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  classpath) classpath ;;
  *)
    echo "usage: $0 start|stop|status|classpath" >&2
    exit 2
    ;;
esac
