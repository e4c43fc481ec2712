#!/usr/bin/env bash
# A standalone Flink session cluster on loopback: one JobManager (or, with FLINK_HA=zookeeper, a
# leader and standbys) and FLINK_TASKMANAGERS TaskManagers, each its own JVM, started from
# Maven-resolved jars (no Flink distribution).
#
#   deploy/local/flink-cluster.sh start             # start whatever is not running (JMs, TMs 1..N)
#   deploy/local/flink-cluster.sh add-taskmanager   # one more TaskManager (a replacement)
#   deploy/local/flink-cluster.sh start-jobmanagers # the JobManagers that are down (new standbys)
#   deploy/local/flink-cluster.sh status            # exit 0 when a JobManager runs, 3 when not
#   deploy/local/flink-cluster.sh leader            # the leading JobManager's name
#   deploy/local/flink-cluster.sh stop              # SIGTERM, SIGKILL after FLINK_STOP_TIMEOUT
#   deploy/local/flink-cluster.sh cli ARGS...       # Flink's command line (run, stop, cancel, list)
#   deploy/local/flink-cluster.sh classpath         # the cluster's class path
#
# Environment: FLINK_TASKMANAGERS (2), FLINK_SLOTS (1), FLINK_REST_PORT (8081), FLINK_RPC_PORT
# (6123), FLINK_DIR (deploy/local/.run/flink), FLINK_HA (none|zookeeper), FLINK_HA_QUORUM,
# FLINK_JOBMANAGERS, FLINK_PROMETHEUS_PORTS (9250-9269), FLINK_CLI_JAVA_OPTS, memory sizes. See
# deploy/local/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
FLINK_TASKMANAGERS="${FLINK_TASKMANAGERS:-2}"
FLINK_SLOTS="${FLINK_SLOTS:-1}"
FLINK_REST_PORT="${FLINK_REST_PORT:-8081}"
FLINK_RPC_PORT="${FLINK_RPC_PORT:-6123}"
FLINK_DIR="${FLINK_DIR:-$HERE/.run/flink}"
FLINK_JM_HEAP="${FLINK_JM_HEAP:-512m}"
FLINK_TM_TASK_HEAP="${FLINK_TM_TASK_HEAP:-256m}"
FLINK_TM_MANAGED="${FLINK_TM_MANAGED:-32m}"
FLINK_CHECKPOINT_DIR="${FLINK_CHECKPOINT_DIR:-}"
FLINK_SAVEPOINT_DIR="${FLINK_SAVEPOINT_DIR:-}"
# How long a silent process counts as alive (ms); kill -9 of a JobManager or TaskManager is
# noticed by the others after this at the latest.
FLINK_HEARTBEAT_TIMEOUT="${FLINK_HEARTBEAT_TIMEOUT:-10000}"
FLINK_START_TIMEOUT="${FLINK_START_TIMEOUT:-120}"
FLINK_STOP_TIMEOUT="${FLINK_STOP_TIMEOUT:-30}"
# The command line's JVM lives for one submission, cancel or stop: the C1 compiler alone is enough
# there, and leaves the cores to the cluster (half its CPU time, seconds off every submission).
FLINK_CLI_JAVA_OPTS="${FLINK_CLI_JAVA_OPTS--XX:TieredStopAtLevel=1}"
# JobManager high availability: none, or zookeeper (a leader elected among FLINK_JOBMANAGERS
# JobManagers through the ZooKeeper at FLINK_HA_QUORUM; see zookeeper.sh).
FLINK_HA="${FLINK_HA:-none}"
FLINK_HA_QUORUM="${FLINK_HA_QUORUM:-127.0.0.1:2181}"
FLINK_HA_CLUSTER_ID="${FLINK_HA_CLUSTER_ID:-ebs-replicator-local}"
FLINK_HA_STORAGE_DIR="${FLINK_HA_STORAGE_DIR:-}"
# A killed leader's ZooKeeper session, and so its leadership, ends after this (ms); ZooKeeper
# grants 2 to 20 of its ticks (zookeeper.sh: 1 s ticks).
FLINK_HA_SESSION_TIMEOUT="${FLINK_HA_SESSION_TIMEOUT:-6000}"
# Each JVM of the cluster serves its metrics for Prometheus on the first free port of this range;
# 'none' turns the reporter off.
FLINK_PROMETHEUS_PORTS="${FLINK_PROMETHEUS_PORTS:-9250-9269}"

POM="$HERE/flink/pom.xml"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
JM_CLASS=org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint
TM_CLASS=org.apache.flink.runtime.taskexecutor.TaskManagerRunner
CLI_CLASS=org.apache.flink.client.cli.CliFrontend
# What the env.java.opts.all of Flink's distribution opens: Flink reflects into the JDK (Kryo,
# the DataStream translators, Pekko, Netty). Every JVM here, the command line included, gets it.
JAVA_OPENS=(
  --add-exports=java.base/sun.net.util=ALL-UNNAMED
  --add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED
  --add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED
  --add-opens=java.base/java.lang=ALL-UNNAMED
  --add-opens=java.base/java.net=ALL-UNNAMED
  --add-opens=java.base/java.io=ALL-UNNAMED
  --add-opens=java.base/java.nio=ALL-UNNAMED
  --add-opens=java.base/sun.nio.ch=ALL-UNNAMED
  --add-opens=java.base/java.lang.reflect=ALL-UNNAMED
  --add-opens=java.base/java.text=ALL-UNNAMED
  --add-opens=java.base/java.time=ALL-UNNAMED
  --add-opens=java.base/java.util=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED
  --add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED
)

# TaskManager memory that the start scripts of a distribution would compute: without them every
# component is given explicitly (TaskManagerRunner refuses to guess). In MiB.
TM_FRAMEWORK_HEAP=128
TM_FRAMEWORK_OFF_HEAP=128
# The AWS SDK's Netty client of the copier allocates direct buffers: task off-heap memory.
TM_TASK_OFF_HEAP=128
TM_NETWORK=64
TM_METASPACE=256
TM_OVERHEAD=128

. "$HERE/lib.sh"

mib() {
  [[ "$1" =~ ^([0-9]+)m$ ]] || die "sizes are written in MiB, like 256m, not '$1'"
  echo "${BASH_REMATCH[1]}"
}

[[ "$FLINK_DIR" == /* ]] || FLINK_DIR="$PWD/$FLINK_DIR"
CONF="$FLINK_DIR/conf"
LOGS="$FLINK_DIR/log"
PIDS="$FLINK_DIR/pids"
CHECKPOINTS="${FLINK_CHECKPOINT_DIR:-$FLINK_DIR/checkpoints}"
SAVEPOINTS="${FLINK_SAVEPOINT_DIR:-$FLINK_DIR/savepoints}"
HA_STORAGE="${FLINK_HA_STORAGE_DIR:-$FLINK_DIR/ha}"
case "$FLINK_HA" in
  none) FLINK_JOBMANAGERS="${FLINK_JOBMANAGERS:-1}" ;;
  zookeeper) FLINK_JOBMANAGERS="${FLINK_JOBMANAGERS:-2}" ;;
  *) die "FLINK_HA is none or zookeeper, not '$FLINK_HA'" ;;
esac
[[ "$FLINK_JOBMANAGERS" =~ ^[1-9]$ ]] || die "FLINK_JOBMANAGERS is 1 to 9, not '$FLINK_JOBMANAGERS'"
[[ "$FLINK_HA" == zookeeper || "$FLINK_JOBMANAGERS" == 1 ]] \
  || die "more than one JobManager needs FLINK_HA=zookeeper"

classpath() {
  resolve_classpath "$POM" "$FLINK_DIR" "Flink's jars"
}

pid_of() {
  pid_in "$PIDS/$1.pid"
}

# Alive, and still the Flink process of that name: a pid file outlives a kill -9, and its pid may
# since belong to another process, even another JobManager or TaskManager of this cluster; only
# the process of that name logs to its log file.
running() {
  alive "$PIDS/$1.pid" "-Dlog.file=$LOGS/$1.log"
}

# The JobManagers' names: "jobmanager" alone, or jobmanager-1..N with high availability.
jobmanagers() {
  local i
  if [[ "$FLINK_HA" == none ]]; then
    echo jobmanager
  else
    for ((i = 1; i <= FLINK_JOBMANAGERS; i++)); do
      echo "jobmanager-$i"
    done
  fi
}

# A JobManager's REST (or RPC) port: the base port for the first, the next ones for the standbys.
port_of() {
  local base="$1" n="${2#jobmanager}"
  n="${n#-}"
  echo $((base + ${n:-1} - 1))
}

running_jobmanagers() {
  local name
  for name in $(jobmanagers); do
    running "$name" && echo "$name"
  done
  return 0
}

# The JobManager that leads: the running one whose log last says that its Dispatcher was granted
# leadership ("DefaultDispatcherRunner was granted leadership with leader id ..."; a revocation,
# "... was revoked the leadership ...", is logged too and then counts against it). Without high
# availability, the one JobManager. Exit 3 while none leads (an election is under way).
leader() {
  local name last
  for name in $(running_jobmanagers); do
    [[ "$FLINK_HA" == none ]] && echo "$name" && return 0
    last="$(grep -E 'DefaultDispatcherRunner was (granted|revoked the) leadership' \
      "$LOGS/$name.log" 2>/dev/null | tail -n 1)" || true
    if [[ "$last" == *granted* ]]; then
      echo "$name"
      return 0
    fi
  done
  return 3
}

taskmanagers() {
  local f
  for f in "$PIDS"/taskmanager-*.pid; do
    [[ -e "$f" ]] && basename "$f" .pid
  done | sort -t- -k2 -n
}

write_config() {
  mkdir -p "$CONF" "$LOGS" "$PIDS" "$CHECKPOINTS" "$SAVEPOINTS" "$FLINK_DIR/tmp"
  cat >"$CONF/config.yaml" <<EOF
# Written by deploy/local/flink-cluster.sh at every start; edit the script, not this file.
jobmanager:
  rpc:
    address: 127.0.0.1
    port: $FLINK_RPC_PORT
  bind-host: 127.0.0.1
  memory:
    process.size: $(($(mib "$FLINK_JM_HEAP") + 256))m
rest:
  address: 127.0.0.1
  bind-address: 127.0.0.1
  port: $FLINK_REST_PORT
taskmanager:
  host: 127.0.0.1
  bind-host: 127.0.0.1
  numberOfTaskSlots: $FLINK_SLOTS
  # Savepoints are always aligned: keep about a second of descriptors in the network buffers
  # rather than thousands, so that stop-with-savepoint does not wait for most of the copy.
  network.memory.buffer-debloat.enabled: true
  # Without Flink's start scripts, every memory component is explicit.
  cpu.cores: $FLINK_SLOTS
  memory:
    framework.heap.size: ${TM_FRAMEWORK_HEAP}m
    task.heap.size: $FLINK_TM_TASK_HEAP
    framework.off-heap.size: ${TM_FRAMEWORK_OFF_HEAP}m
    task.off-heap.size: ${TM_TASK_OFF_HEAP}m
    managed.size: $FLINK_TM_MANAGED
    network.min: ${TM_NETWORK}m
    network.max: ${TM_NETWORK}m
    jvm-metaspace.size: ${TM_METASPACE}m
    jvm-overhead.min: ${TM_OVERHEAD}m
    jvm-overhead.max: ${TM_OVERHEAD}m
io.tmp.dirs: $FLINK_DIR/tmp
state.backend.type: hashmap
execution:
  checkpointing:
    dir: file://$CHECKPOINTS
    savepoint-dir: file://$SAVEPOINTS
    # Kept when a job is cancelled or its cluster dies: a job can be resubmitted from them (-s).
    externalized-checkpoint-retention: RETAIN_ON_CANCELLATION
    num-retained: 3
    # A copy held back by the request budget (or a slow target region) backs up the small block
    # descriptors in the network buffers; an aligned barrier would wait behind all of them, so a
    # checkpoint would not complete until the copy is nearly done. Unaligned checkpoints overtake
    # them (they are stored with the checkpoint, as the copier's in-flight ones are anyway).
    unaligned.enabled: true
# A killed process is noticed within seconds, not the default 50 s, and a restarted JobManager
# is found again by the TaskManagers within 2 s.
heartbeat:
  interval: $((FLINK_HEARTBEAT_TIMEOUT / 5))
  timeout: $FLINK_HEARTBEAT_TIMEOUT
cluster:
  registration:
    error-delay: 2000
    max-timeout: 5000
classloader.resolve-order: child-first
EOF
  if [[ "$FLINK_HA" == zookeeper ]]; then
    cat >>"$CONF/config.yaml" <<EOF
# JobManager high availability: the JobManagers elect a leader through ZooKeeper; job graphs and
# completed checkpoints are kept in the storage directory (ZooKeeper holds pointers to them), so
# the next leader recovers every running job from its last checkpoint by itself.
high-availability:
  type: zookeeper
  cluster-id: $FLINK_HA_CLUSTER_ID
  storageDir: file://$HA_STORAGE
  zookeeper:
    quorum: $FLINK_HA_QUORUM
    path.root: /flink
    client:
      session-timeout: $FLINK_HA_SESSION_TIMEOUT
      connection-timeout: 5000
      retry-wait: 1000
      max-retry-attempts: 10
EOF
  fi
  if [[ "$FLINK_PROMETHEUS_PORTS" != none ]]; then
    cat >>"$CONF/config.yaml" <<EOF
# Every JVM serves its metrics in the Prometheus text format at http://127.0.0.1:<port>/metrics,
# on the first free port of the range, JobManagers and TaskManagers alike (each logs "Started
# PrometheusReporter HTTP server on port ...").
metrics:
  reporter:
    prom:
      factory.class: org.apache.flink.metrics.prometheus.PrometheusReporterFactory
      port: $FLINK_PROMETHEUS_PORTS
EOF
  fi
  # Flink's usual log layout: one file per process, named by the log.file system property.
  cat >"$CONF/log4j.properties" <<'EOF'
monitorInterval = 0
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = MainAppender
logger.pekko.name = org.apache.pekko
logger.pekko.level = WARN
logger.netty.name = org.apache.flink.shaded.netty4
logger.netty.level = WARN
logger.aws.name = software.amazon.awssdk
logger.aws.level = WARN
appender.main.name = MainAppender
appender.main.type = File
appender.main.append = true
appender.main.fileName = ${sys:log.file}
appender.main.layout.type = PatternLayout
appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
EOF
  cat >"$CONF/log4j-cli.properties" <<'EOF'
monitorInterval = 0
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FileAppender
appender.file.name = FileAppender
appender.file.type = File
appender.file.append = true
appender.file.fileName = ${sys:log.file}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
EOF
}

# Launches one process in the background, detached from this shell, and records its pid.
launch() {
  local name="$1" cp="$2"
  shift 2
  [[ -f "$LOGS/$name.log" ]] && mv -f "$LOGS/$name.log" "$LOGS/$name.log.1"
  CLASSPATH="$cp" nohup "$JAVA" "${JAVA_OPENS[@]}" \
    -Dlog.file="$LOGS/$name.log" -Dlog4j.configurationFile="$CONF/log4j.properties" "$@" \
    >"$LOGS/$name.out" 2>&1 </dev/null &
  echo $! >"$PIDS/$name.pid"
}

# Waits until $name's log has $pattern; on death or timeout prints the end of its log and fails.
await_log() {
  local name="$1" pattern="$2" started=$SECONDS
  until grep -q "$pattern" "$LOGS/$name.log" 2>/dev/null; do
    if ! running "$name"; then
      tail -n 40 "$LOGS/$name.log" "$LOGS/$name.out" >&2 2>/dev/null || true
      die "$name exited during startup; see $LOGS/$name.log"
    fi
    if ((SECONDS - started > FLINK_START_TIMEOUT)); then
      tail -n 40 "$LOGS/$name.log" >&2 2>/dev/null || true
      die "$name (pid $(pid_of "$name")) is not ready after ${FLINK_START_TIMEOUT}s; see $LOGS/$name.log"
    fi
    sleep 0.2
  done
}

# Each JobManager on its own REST and RPC port (with high availability the RPC port is
# high-availability.jobmanager.port; TaskManagers and clients find the leader's through ZooKeeper).
start_jobmanager() {
  local name="$1" cp="$2"
  local port rest rpc
  rest="$(port_of "$FLINK_REST_PORT" "$name")"
  rpc="$(port_of "$FLINK_RPC_PORT" "$name")"
  for port in "$rest" "$rpc"; do
    port_taken "$port" && die "port $port on 127.0.0.1 is taken; set FLINK_REST_PORT / FLINK_RPC_PORT"
  done
  launch "$name" "$cp" "-Xmx$FLINK_JM_HEAP" "-Xms$FLINK_JM_HEAP" -XX:+UseSerialGC \
    -XX:MaxMetaspaceSize=256m "$JM_CLASS" --configDir "$CONF" \
    "-Drest.port=$rest" "-Djobmanager.rpc.port=$rpc" "-Dhigh-availability.jobmanager.port=$rpc"
}

# TaskManager JVM limits as the distribution's scripts derive them from the memory options.
start_taskmanager() {
  local name="$1" cp="$2"
  local heap=$((TM_FRAMEWORK_HEAP + $(mib "$FLINK_TM_TASK_HEAP")))
  local direct=$((TM_FRAMEWORK_OFF_HEAP + TM_TASK_OFF_HEAP + TM_NETWORK))
  launch "$name" "$cp" "-Xmx${heap}m" "-Xms${heap}m" "-XX:MaxDirectMemorySize=${direct}m" \
    "-XX:MaxMetaspaceSize=${TM_METASPACE}m" -XX:+UseSerialGC \
    "$TM_CLASS" --configDir "$CONF" "-Dtaskmanager.resource-id=$name"
}

start() {
  local cp started=$SECONDS name i
  cp="$(classpath)"
  write_config
  local new=()
  if [[ "$FLINK_HA" == zookeeper ]]; then
    local first="${FLINK_HA_QUORUM%%,*}"
    port_taken "${first##*:}" \
      || die "no ZooKeeper listens at $FLINK_HA_QUORUM; start it first (deploy/local/zookeeper.sh start)"
  fi
  for name in $(jobmanagers); do
    if running "$name"; then
      echo "$name already running: pid $(pid_of "$name")"
    else
      start_jobmanager "$name" "$cp"
      new+=("$name")
    fi
  done
  for ((i = 1; i <= FLINK_TASKMANAGERS; i++)); do
    name="taskmanager-$i"
    if running "$name"; then
      echo "$name already running: pid $(pid_of "$name")"
    else
      start_taskmanager "$name" "$cp"
      new+=("$name")
    fi
  done
  for name in "${new[@]}"; do
    if [[ "$name" == jobmanager* ]]; then
      await_log "$name" 'Rest endpoint listening at'
    else
      await_log "$name" 'Successful registration at resource manager'
    fi
  done
  echo "Flink cluster started in $((SECONDS - started))s: REST http://127.0.0.1:$FLINK_REST_PORT," \
    "JobManager(s) $(running_jobmanagers | while read -r n; do pid_of "$n"; done | paste -sd, -), $(taskmanagers | while read -r n; do running "$n" && echo x; done | wc -l) TaskManager(s), dir $FLINK_DIR"
}

# Starts the JobManagers that are not running, and nothing else: after a leader was killed it comes
# back as a standby, whatever happened to the TaskManagers meanwhile.
start_jobmanagers() {
  local cp name new=()
  cp="$(classpath)"
  [[ -f "$CONF/config.yaml" ]] || die "no configuration in $CONF; start the cluster first"
  for name in $(jobmanagers); do
    if ! running "$name"; then
      start_jobmanager "$name" "$cp"
      new+=("$name")
    fi
  done
  for name in "${new[@]}"; do
    await_log "$name" 'Rest endpoint listening at'
    echo "$name started: pid $(pid_of "$name"), log $LOGS/$name.log"
  done
}

add_taskmanager() {
  [[ -n "$(running_jobmanagers)" ]] || die "no JobManager is running; start the cluster first"
  local last name cp
  last="$(taskmanagers | tail -n 1)"
  name="taskmanager-$((${last#taskmanager-} + 1))"
  [[ -n "$last" ]] || name=taskmanager-1
  cp="$(classpath)"
  start_taskmanager "$name" "$cp"
  await_log "$name" 'Successful registration at resource manager'
  echo "$name started: pid $(pid_of "$name"), log $LOGS/$name.log"
}

stop_one() {
  local name="$1" p waited=0
  if ! running "$name"; then
    rm -f "$PIDS/$name.pid"
    return 0
  fi
  p="$(pid_of "$name")"
  kill -TERM "$p" 2>/dev/null || true
  while kill -0 "$p" 2>/dev/null; do
    if ((waited >= FLINK_STOP_TIMEOUT * 5)); then
      echo "flink-cluster.sh: no clean stop of $name after ${FLINK_STOP_TIMEOUT}s; killing pid $p" >&2
      kill -KILL "$p" 2>/dev/null || true
      break
    fi
    sleep 0.2
    waited=$((waited + 1))
  done
  rm -f "$PIDS/$name.pid"
  echo "$name stopped (pid $p)"
}

stop() {
  local name
  [[ -d "$PIDS" ]] || { echo "Flink cluster not running"; return 0; }
  # TaskManagers first, so that the JobManager does not restart their tasks elsewhere.
  for name in $(taskmanagers); do
    stop_one "$name" &
  done
  wait
  for name in $(jobmanagers); do
    stop_one "$name" &
  done
  wait
}

status() {
  local name up=0
  local lead
  lead="$(leader)" || lead=""
  for name in $(jobmanagers); do
    if running "$name"; then
      printf '%-14s running  pid %s  REST http://127.0.0.1:%s%s\n' "$name" "$(pid_of "$name")" \
        "$(port_of "$FLINK_REST_PORT" "$name")" "$([[ "$name" == "$lead" ]] && echo '  leader')"
      up=1
    else
      printf '%-14s not running (dir %s)\n' "$name" "$FLINK_DIR"
    fi
  done
  for name in $(taskmanagers); do
    if running "$name"; then
      printf '%-14s running  pid %s\n' "$name" "$(pid_of "$name")"
    else
      printf '%-14s gone (pid %s)\n' "$name" "$(pid_of "$name")"
    fi
  done
  ((up)) || return 3
}

# Flink's command line against this cluster: FLINK_CONF_DIR points it at the REST address.
cli() {
  local cp
  cp="$(classpath)"
  [[ -f "$CONF/config.yaml" ]] || die "no configuration in $CONF; start the cluster first"
  mkdir -p "$LOGS"
  local opts=()
  read -r -a opts <<<"$FLINK_CLI_JAVA_OPTS" || true
  FLINK_CONF_DIR="$CONF" CLASSPATH="$cp" exec "$JAVA" "${JAVA_OPENS[@]}" -Xmx256m -XX:+UseSerialGC \
    ${opts[@]+"${opts[@]}"} \
    -Dlog.file="$LOGS/client.log" -Dlog4j.configurationFile="$CONF/log4j-cli.properties" \
    "$CLI_CLASS" "$@"
}

case "${1:-}" in
  start) start ;;
  add-taskmanager) add_taskmanager ;;
  start-jobmanagers) start_jobmanagers ;;
  stop) stop ;;
  status) status ;;
  leader) leader ;;
  cli)
    shift
    cli "$@"
    ;;
  classpath) classpath ;;
  *)
    echo "usage: $0 start|add-taskmanager|start-jobmanagers|stop|status|leader|cli ARGS...|classpath" >&2
    exit 2
    ;;
esac
