# Shared by the deploy/local scripts (sourced, not run): errors, pid files, ports and the class
# paths Maven resolves for the Flink cluster and the Kafka broker.

# Prints "<script>: message" on stderr and exits 1.
die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# The pid in a pid file, if the file exists.
pid_in() {
  [[ -f "$1" ]] && cat "$1"
}

# Whether the pid in pid file $1 is alive and still the process whose command line contains $2: a
# stale pid file may name a pid that another process reuses.
alive() {
  local p
  p="$(pid_in "$1")" || return 1
  [[ -n "$p" ]] && kill -0 "$p" 2>/dev/null && ps -ww -p "$p" -o args= 2>/dev/null | grep -qF -- "$2"
}

# Whether something listens on loopback port $1.
port_taken() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# The class path of pom $1, resolved by Maven once and cached in directory $2; resolved again when
# the pom changes or a jar has gone from the local repository. Offline first, so that it works
# without a network once the jars are there. $3 names the jars in error messages.
resolve_classpath() {
  local pom="$1" dir="$2" what="$3" file="$2/classpath.txt" stale=0 jar jars
  mkdir -p "$dir"
  if [[ ! -s "$file" || "$pom" -nt "$file" ]]; then
    stale=1
  else
    # No newline at the end of the file: read says so with status 1 after reading it all.
    IFS=: read -r -a jars <"$file" || true
    for jar in "${jars[@]}"; do
      [[ -e "$jar" ]] || { stale=1; break; }
    done
  fi
  if ((stale)); then
    command -v mvn >/dev/null || die "mvn not found: Maven resolves $what"
    local args=(-B -q -f "$pom" dependency:build-classpath "-Dmdep.outputFile=$file.tmp")
    if ! mvn -o "${args[@]}" >"$dir/maven.log" 2>&1; then
      mvn "${args[@]}" >>"$dir/maven.log" 2>&1 \
        || die "Maven could not resolve $what; see $dir/maven.log"
    fi
    mv "$file.tmp" "$file"
  fi
  cat "$file"
}
