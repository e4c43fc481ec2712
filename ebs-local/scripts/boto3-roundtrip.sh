#!/usr/bin/env bash
# Runs scripts/boto3_roundtrip.py against a freshly started ebs-local. Builds nothing.
#
#   ebs-local/scripts/boto3-roundtrip.sh [path/to/ebs-local.jar]
#
# The jar defaults to ebs-local/target/ebs-local.jar (from `mvn -pl ebs-local -am package`).
# Exits with the Python script's status; exits 0 with a notice when boto3 is not installed.
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
jar="${1:-$repo/ebs-local/target/ebs-local.jar}"
python=/usr/bin/python3
java="${JAVA:-java}"

if ! "$python" -c 'import boto3' >/dev/null 2>&1; then
    echo "boto3 not installed; skipping"
    exit 0
fi
if [ ! -f "$jar" ]; then
    echo "ebs-local jar not found: $jar (build it with: mvn -pl ebs-local -am package -DskipTests)" >&2
    exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/ebs-local-boto3.XXXXXX")"
pid=""
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    fi
    rm -rf "$work"
}
trap cleanup EXIT

"$java" -jar "$jar" --port 0 --data-dir "$work/data" --seal-delay 100ms \
    >"$work/stdout" 2>"$work/stderr" &
pid=$!

endpoint=""
for _ in $(seq 1 600); do
    line="$(grep -m1 '^ebs-local listening on ' "$work/stdout" 2>/dev/null || true)"
    if [ -n "$line" ]; then
        endpoint="$(echo "$line" | awk '{print $4}')"
        break
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "ebs-local exited before it was ready:" >&2
        cat "$work/stderr" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$endpoint" ]; then
    echo "ebs-local did not print its ready line within 60 s" >&2
    cat "$work/stderr" >&2
    exit 1
fi
echo "$line"

"$python" "$here/boto3_roundtrip.py" --endpoint "$endpoint"
status=$?
if [ "$status" -ne 0 ]; then
    echo "--- ebs-local stderr ---" >&2
    tail -n 50 "$work/stderr" >&2
fi
exit "$status"
