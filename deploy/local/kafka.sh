#!/usr/bin/env bash
# A single-node Kafka broker (KRaft: broker and controller in one JVM) on loopback, started from
# Maven-resolved jars, for demos and manual tests. The same kind of broker the Kafka ITCases start.
#
#   deploy/local/kafka.sh start [--sasl-ssl PORT]|stop|status|classpath
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (9093), KAFKA_DIR (deploy/local/.run/kafka),
# KAFKA_HEAP (512m), KAFKA_START_TIMEOUT seconds (120), KAFKA_SASL_SSL_PORT (unset: as
# --sasl-ssl), KAFKA_SCRAM_USER (ebs-replicator). See deploy/local/README.md.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DIR="${KAFKA_DIR:-$HERE/.run/kafka}"
KAFKA_HEAP="${KAFKA_HEAP:-512m}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
# A graceful stop of one node takes a few seconds; past this the broker is killed.
KAFKA_STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
# A SASL_SSL listener (SCRAM-SHA-512) next to the PLAINTEXT one, when set.
KAFKA_SASL_SSL_PORT="${KAFKA_SASL_SSL_PORT:-}"
KAFKA_SCRAM_USER="${KAFKA_SCRAM_USER:-ebs-replicator}"

POM="$HERE/kafka/pom.xml"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
KEYTOOL="${JAVA_HOME:+$JAVA_HOME/bin/}keytool"

. "$HERE/lib.sh"

# Absolute, so that the pid file and server.properties mean the same from any working directory.
[[ "$KAFKA_DIR" == /* ]] || KAFKA_DIR="$PWD/$KAFKA_DIR"
PID_FILE="$KAFKA_DIR/kafka.pid"
LOG="$KAFKA_DIR/broker.log"
# Keystores, passwords and the client properties of the SASL_SSL listener; only the owner reads it.
SASL_DIR="$KAFKA_DIR/sasl"

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
    sed -n 's|^advertised.listeners=PLAINTEXT://\([^,]*\).*|\1|p' "$KAFKA_DIR/server.properties"
  else
    echo "127.0.0.1:$KAFKA_PORT"
  fi
}

# host:port of the SASL_SSL listener of the written configuration; empty without one.
sasl_bootstrap() {
  [[ -f "$KAFKA_DIR/server.properties" ]] || return 0
  sed -n 's|^advertised.listeners=.*SASL_SSL://\([^,]*\).*|\1|p' "$KAFKA_DIR/server.properties"
}

# 32 hex digits from the kernel's random source: a password nobody chose.
random_secret() {
  od -An -tx1 -N16 /dev/urandom | tr -d ' \n'
}

# keytool with the store password read from a file, never from the command line (ps shows that).
keytool_with() {
  local password_file="$1"
  shift
  "$KEYTOOL" "$@" -storepass:file "$password_file" >>"$SASL_DIR/keytool.log" 2>&1 \
    || die "keytool $1 failed; see $SASL_DIR/keytool.log"
}

# Once per KAFKA_DIR: a CA, the broker's key and certificate signed by it (for 127.0.0.1 and
# localhost), its keystore, a truststore with the CA, random passwords, and the client properties
# that use them. Only the JDK's keytool: no openssl.
make_sasl_files() {
  [[ -f "$SASL_DIR/client.properties" ]] && return 0
  command -v "$KEYTOOL" >/dev/null || die "keytool not found (it comes with the JDK; set JAVA_HOME)"
  rm -rf "$SASL_DIR"
  (umask 077 && mkdir -p "$SASL_DIR")
  local ks="$SASL_DIR/keystore.password" ts="$SASL_DIR/truststore.password"
  (umask 077 && random_secret >"$ks" && random_secret >"$ts" \
    && random_secret >"$SASL_DIR/scram.password")
  keytool_with "$ks" -genkeypair -alias ca -keyalg EC -groupname secp256r1 -validity 3650 \
    -dname "CN=ebs-replicator local Kafka CA" -ext bc:c -storetype PKCS12 -keystore "$SASL_DIR/ca.p12"
  keytool_with "$ks" -exportcert -alias ca -rfc -keystore "$SASL_DIR/ca.p12" -file "$SASL_DIR/ca.pem"
  keytool_with "$ks" -genkeypair -alias broker -keyalg EC -groupname secp256r1 -validity 3650 \
    -dname "CN=localhost" -storetype PKCS12 -keystore "$SASL_DIR/keystore.p12"
  keytool_with "$ks" -certreq -alias broker -keystore "$SASL_DIR/keystore.p12" \
    -file "$SASL_DIR/broker.csr"
  keytool_with "$ks" -gencert -alias ca -keystore "$SASL_DIR/ca.p12" -validity 3650 -rfc \
    -ext SAN=ip:127.0.0.1,dns:localhost -infile "$SASL_DIR/broker.csr" -outfile "$SASL_DIR/broker.pem"
  keytool_with "$ks" -importcert -noprompt -alias ca -keystore "$SASL_DIR/keystore.p12" \
    -file "$SASL_DIR/ca.pem"
  keytool_with "$ks" -importcert -alias broker -keystore "$SASL_DIR/keystore.p12" \
    -file "$SASL_DIR/broker.pem"
  keytool_with "$ts" -importcert -noprompt -alias ca -storetype PKCS12 \
    -keystore "$SASL_DIR/truststore.p12" -file "$SASL_DIR/ca.pem"
  rm -f "$SASL_DIR/broker.csr"
  # The secrets the clients read through Kafka's ${file:...} provider, kept out of the file users
  # paste and pass around.
  (
    umask 077
    cat >"$SASL_DIR/client-secrets.properties" <<EOF
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$KAFKA_SCRAM_USER" password="$(cat "$SASL_DIR/scram.password")";
ssl.truststore.password=$(cat "$ts")
EOF
  )
  cat >"$SASL_DIR/client.properties" <<EOF
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=\${file:$SASL_DIR/client-secrets.properties:sasl.jaas.config}
ssl.truststore.type=PKCS12
ssl.truststore.location=$SASL_DIR/truststore.p12
ssl.truststore.password=\${file:$SASL_DIR/client-secrets.properties:ssl.truststore.password}
EOF
}

# Creates (or resets) the SCRAM user through the PLAINTEXT listener with the Admin API, from a
# few lines of Java run from source with the broker's jars: the password is read from its file,
# so it is on no command line (kafka-configs would want it there) and in no output.
add_scram_user() {
  local cp="$1" src="$SASL_DIR/AddScramUser.java"
  cat >"$src" <<'EOF'
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ScramCredentialInfo;
import org.apache.kafka.clients.admin.ScramMechanism;
import org.apache.kafka.clients.admin.UserScramCredentialUpsertion;

/** Usage: AddScramUser BOOTSTRAP USER PASSWORD_FILE. Written by deploy/local/kafka.sh. */
public class AddScramUser {
  public static void main(String[] args) throws Exception {
    String password = Files.readString(Path.of(args[2])).trim();
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", args[0]))) {
      admin.alterUserScramCredentials(List.of(new UserScramCredentialUpsertion(
              args[1], new ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), password)))
          .all().get(60, TimeUnit.SECONDS);
    }
  }
}
EOF
  if ! "$JAVA" -Xmx128m -cp "$cp" -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -Dlog4j2.level=warn "$src" "$(bootstrap)" "$KAFKA_SCRAM_USER" "$SASL_DIR/scram.password" \
    >"$SASL_DIR/scram.log" 2>&1; then
    tail -n 20 "$SASL_DIR/scram.log" >&2
    die "could not create the SCRAM user $KAFKA_SCRAM_USER; see $SASL_DIR/scram.log"
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
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL
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
  if [[ -n "$KAFKA_SASL_SSL_PORT" ]]; then
    local sasl="SASL_SSL://127.0.0.1:$KAFKA_SASL_SSL_PORT" kp
    kp="$(cat "$SASL_DIR/keystore.password")"
    sed -i -e "s|^listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT|&,$sasl|" \
      -e "s|^advertised.listeners=.*|&,$sasl|" "$KAFKA_DIR/server.properties"
    # It holds the keystore password from here on: the owner's only.
    chmod 600 "$KAFKA_DIR/server.properties"
    cat >>"$KAFKA_DIR/server.properties" <<EOF
# SASL_SSL: SCRAM-SHA-512 logins; the users live in the metadata log (kafka-configs), so the
# listener's login module names none.
sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
ssl.keystore.type=PKCS12
ssl.keystore.location=$SASL_DIR/keystore.p12
ssl.keystore.password=$kp
ssl.key.password=$kp
EOF
  fi
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
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT" $KAFKA_SASL_SSL_PORT; do
    if port_taken "$port"; then
      die "port $port on 127.0.0.1 is taken; set KAFKA_PORT / KAFKA_CONTROLLER_PORT / --sasl-ssl"
    fi
  done
  local cp
  cp="$(classpath)"
  [[ -z "$KAFKA_SASL_SSL_PORT" ]] || make_sasl_files
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
  if [[ -n "$KAFKA_SASL_SSL_PORT" ]]; then
    add_scram_user "$cp"
    echo "SASL_SSL listener: bootstrap $(sasl_bootstrap), SCRAM-SHA-512 user $KAFKA_SCRAM_USER." \
      "Client properties, in $SASL_DIR/client.properties (the secrets stay in" \
      "client-secrets.properties next to it; the CA certificate is ca.pem):"
    sed 's/^/    /' "$SASL_DIR/client.properties"
    echo "e.g. java -jar job/target/ebs-replicator.jar topics --bootstrap-servers $(sasl_bootstrap)" \
      "--kafka-properties $SASL_DIR/client.properties"
  fi
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
    echo "Kafka broker running: pid $(pid), bootstrap $(bootstrap)${KAFKA_SASL_SSL_PORT:+, SASL_SSL $(sasl_bootstrap)}, data $KAFKA_DIR/data, log $LOG"
  else
    echo "Kafka broker not running (dir $KAFKA_DIR)"
    return 3
  fi
}

command="${1:-}"
shift || true
while (($#)); do
  case "$1" in
    --sasl-ssl)
      [[ $# -ge 2 && "$2" =~ ^[0-9]+$ ]] || die "--sasl-ssl needs a port number"
      KAFKA_SASL_SSL_PORT="$2"
      shift 2
      ;;
    *) die "unknown option $1 (usage: $0 start [--sasl-ssl PORT]|stop|status|classpath)" ;;
  esac
done
if [[ -n "$KAFKA_SASL_SSL_PORT" && ! "$KAFKA_SASL_SSL_PORT" =~ ^[0-9]+$ ]]; then
  die "KAFKA_SASL_SSL_PORT must be a port number"
fi
# status learns of the SASL_SSL listener from the written configuration.
if [[ "$command" != start && -z "$KAFKA_SASL_SSL_PORT" ]]; then
  KAFKA_SASL_SSL_PORT="$(sasl_bootstrap | sed 's/.*://')"
fi

case "$command" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  classpath) classpath ;;
  *)
    echo "usage: $0 start [--sasl-ssl PORT]|stop|status|classpath" >&2
    exit 2
    ;;
esac
