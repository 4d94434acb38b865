#!/usr/bin/env bash
# Start/stop/status a private single-node Elasticsearch for kb (dev + tests).
#
#   scripts/services/elasticsearch.sh [start|stop|status]     (default: start)
#
# - Fetches Elastic's official integ-test-zip distribution from Maven Central
#   (org.elasticsearch.distribution.integ-test-zip:elasticsearch:<ver>:zip) with
#   Maven into ${KB_CACHE_DIR:-/var/cache/kb} (only when not cached) and unpacks it
#   there. That distribution has only the modules apm, transport-netty4,
#   x-pack-core and x-pack-security (no analysis-common), see docs/es-analysis-notes.md.
# - Builds kb's stable analysis plugin (search/es-plugin, Maven) when its sources
#   changed (zip cached in KB_CACHE_DIR keyed by a hash of the sources) and
#   (re)installs it with bin/elasticsearch-plugin.
# - Runs ES as the unprivileged system user kb-es (ES refuses root) as a daemon,
#   127.0.0.1:${KB_ES_PORT:-9200} only, security off, single node, small heap;
#   data/logs/config under ${KB_SERVICES_DIR:-/var/lib/kb-services}/elasticsearch.
# - Idempotent: a healthy running node (same version, same plugin) is reused.
#
#   URL: http://127.0.0.1:${KB_ES_PORT:-9200}
#
# The same script runs one member of a multi-node cluster (scripts/services/es-cluster.sh sets
# KB_ES_NODE, KB_ES_TRANSPORT_PORT, KB_ES_SEED_HOSTS, KB_ES_INITIAL_MASTERS, KB_ES_WAIT=none) and a
# node with security on (KB_ES_SECURITY=tls: TLS on HTTP with a CA of its own, the user elastic with
# KB_ES_PASSWORD; the CA is written to <node dir>/ca.pem; URL https://127.0.0.1:<port>).
#
# Environment:
#   KB_ES_VERSION     default 8.19.21 (newest 8.19.x served by Maven Central here)
#   KB_ES_PORT        default 9200
#   KB_ES_JAVA_HOME   default /usr/lib/jvm/java-17-openjdk-<arch> (ES_JAVA_HOME also honoured)
#   KB_ES_JAVA_OPTS   default "-Xms512m -Xmx512m" (ES_JAVA_OPTS also honoured)
#   KB_ES_USER        default kb-es
#   KB_ES_START_TIMEOUT  seconds to wait for health yellow, default 120
#   KB_CACHE_DIR, KB_SERVICES_DIR  see above
#   KB_ES_NODE        the node's directory under KB_SERVICES_DIR (and its lock), default elasticsearch
#   KB_ES_NODE_NAME   default kb-es-1;  KB_ES_CLUSTER_NAME  default kb
#   KB_ES_TRANSPORT_PORT  default 9300-9399
#   KB_ES_SEED_HOSTS, KB_ES_INITIAL_MASTERS  comma-separated; unset: a single-node cluster
#   KB_ES_WAIT        yellow (default: wait for the cluster) or none (a cluster member: the caller waits)
#   KB_ES_SECURITY    off (default) or tls;  KB_ES_PASSWORD  the elastic user's password (tls)
set -euo pipefail

ES_VERSION="${KB_ES_VERSION:-8.19.21}"
PORT="${KB_ES_PORT:-9200}"
HOST=127.0.0.1
CACHE_DIR="${KB_CACHE_DIR:-/var/cache/kb}"
SERVICES_DIR="${KB_SERVICES_DIR:-/var/lib/kb-services}"
ES_USER="${KB_ES_USER:-kb-es}"
JAVA_OPTS="${KB_ES_JAVA_OPTS:-${ES_JAVA_OPTS:--Xms512m -Xmx512m}}"
START_TIMEOUT="${KB_ES_START_TIMEOUT:-120}"
NODE="${KB_ES_NODE:-elasticsearch}"
NODE_NAME="${KB_ES_NODE_NAME:-kb-es-1}"
CLUSTER_NAME="${KB_ES_CLUSTER_NAME:-kb}"
TRANSPORT_PORT="${KB_ES_TRANSPORT_PORT:-9300-9399}"
SEED_HOSTS="${KB_ES_SEED_HOSTS:-}"
INITIAL_MASTERS="${KB_ES_INITIAL_MASTERS:-}"
WAIT="${KB_ES_WAIT:-yellow}"
SECURITY="${KB_ES_SECURITY:-off}"
ES_PASSWORD="${KB_ES_PASSWORD:-}"
PLUGIN_NAME=analysis-kb
ARTIFACT="org.elasticsearch.distribution.integ-test-zip:elasticsearch:${ES_VERSION}:zip"
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.8.1"

REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PLUGIN_SRC="$REPO_DIR/search/es-plugin"

ES_HOME="$CACHE_DIR/elasticsearch-$ES_VERSION"
BASE="$SERVICES_DIR/$NODE"
CONF_DIR="$BASE/config"
DATA_DIR="$BASE/data"
LOG_DIR="$BASE/logs"
RUN_DIR="$BASE/run"
TMP_DIR="$BASE/tmp"
PID_FILE="$RUN_DIR/elasticsearch.pid"
LOG_FILE="$LOG_DIR/$CLUSTER_NAME.log"
STARTUP_LOG="$LOG_DIR/startup.out"
LOCK_FILE="$SERVICES_DIR/$NODE.lock"
CERT_DIR="$CONF_DIR/certs"
CA_PEM="$BASE/ca.pem"
if [[ "$SECURITY" == tls ]]; then URL="https://$HOST:$PORT"; else URL="http://$HOST:$PORT"; fi

T0=$SECONDS
say() { echo "elasticsearch: $*"; }
die() { echo "elasticsearch: ERROR: $*" >&2; exit 1; }

show_log() {
    local f
    for f in "$STARTUP_LOG" "$LOG_FILE"; do
        if [[ -s "$f" ]]; then
            echo "elasticsearch: last lines of $f:" >&2
            tail -n 40 "$f" >&2 || true
        fi
    done
}

is_root() { [[ $EUID -eq 0 ]]; }

es_curl() {   # curl to this node: with the CA and the elastic user when security is on
    if [[ "$SECURITY" == tls ]]; then
        curl --cacert "$CA_PEM" -u "elastic:$ES_PASSWORD" "$@"
    else
        curl "$@"
    fi
}

# ---------------------------------------------------------------- prerequisites
APT_UPDATED=0
apt_install() {
    is_root || die "missing packages ($*) and not root: install them first"
    if [[ $APT_UPDATED -eq 0 ]]; then
        say "apt-get update"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
        APT_UPDATED=1
    fi
    say "apt-get install -y $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

resolve_java_home() {
    local arch
    arch="$(dpkg --print-architecture 2>/dev/null || echo amd64)"
    JAVA_HOME_ES="${KB_ES_JAVA_HOME:-${ES_JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-$arch}}"
    if [[ ! -x "$JAVA_HOME_ES/bin/java" || ! -x "$JAVA_HOME_ES/bin/javac" ]]; then
        if [[ -z "${KB_ES_JAVA_HOME:-}${ES_JAVA_HOME:-}" ]]; then
            apt_install openjdk-17-jdk-headless
        fi
        [[ -x "$JAVA_HOME_ES/bin/java" ]] || die "no JDK at $JAVA_HOME_ES (set KB_ES_JAVA_HOME)"
    fi
}

# Tools needed to run (curl) and, when something is not cached yet, to build.
ensure_run_tools() {
    local missing=()
    command -v curl >/dev/null || missing+=(curl)
    command -v flock >/dev/null || missing+=(util-linux)
    if [[ ${#missing[@]} -gt 0 ]]; then apt_install "${missing[@]}"; fi
    resolve_java_home
}

ensure_build_tools() {
    local missing=()
    command -v mvn >/dev/null || missing+=(maven)
    command -v unzip >/dev/null || missing+=(unzip)
    if [[ ${#missing[@]} -gt 0 ]]; then apt_install "${missing[@]}"; fi
}

mvn_run() {   # mvn with the ES JDK; output to a log, shown on failure
    local log="$1"; shift
    if ! JAVA_HOME="$JAVA_HOME_ES" mvn -B -q "$@" >"$log" 2>&1; then
        tail -n 40 "$log" >&2
        return 1
    fi
}

# ---------------------------------------------------------------- distribution
ensure_distribution() {
    if [[ -f "$ES_HOME/.kb-unpacked" ]]; then
        return
    fi
    ensure_build_tools
    mkdir -p "$CACHE_DIR/downloads"
    local zip="$CACHE_DIR/downloads/elasticsearch-$ES_VERSION.zip"
    if [[ ! -s "$zip" ]]; then
        say "downloading $ARTIFACT from Maven Central"
        local tmp="$CACHE_DIR/downloads/.tmp-$$"
        rm -rf "$tmp"
        mvn_run "$CACHE_DIR/downloads/mvn-$ES_VERSION.log" "$DEPENDENCY_PLUGIN:copy" \
            -Dartifact="$ARTIFACT" -DoutputDirectory="$tmp" \
            || die "cannot fetch $ARTIFACT (is that version on Maven Central? set KB_ES_VERSION)"
        mv "$tmp/elasticsearch-$ES_VERSION.zip" "$zip"
        rm -rf "$tmp"
    fi
    say "unpacking to $ES_HOME"
    local tmpdir="$CACHE_DIR/.unpack-$$"
    rm -rf "$tmpdir" "$ES_HOME"
    mkdir -p "$tmpdir"
    unzip -q "$zip" -d "$tmpdir"
    mv "$tmpdir/elasticsearch-$ES_VERSION" "$ES_HOME"
    rm -rf "$tmpdir"
    chmod -R go+rX "$ES_HOME"
    touch "$ES_HOME/.kb-unpacked"
}

# ---------------------------------------------------------------- kb analysis plugin
plugin_hash() {   # hash of the plugin sources + the server it is built for
    local lucene
    lucene="$(lucene_version)"
    (
        cd "$PLUGIN_SRC"
        find pom.xml src -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
        echo "es=$ES_VERSION lucene=$lucene"
    ) | sha256sum | cut -c1-16
}

lucene_version() {
    local jar
    jar="$(find "$ES_HOME/lib" -maxdepth 1 -name 'lucene-core-*.jar' | head -n 1)"
    [[ -n "$jar" ]] || die "no lucene-core jar in $ES_HOME/lib"
    jar="${jar##*/lucene-core-}"
    echo "${jar%.jar}"
}

PLUGIN_WANTED=""   # hash, or empty when there is no plugin source
plugin_state() {   # sets PLUGIN_WANTED; returns 0 when the installed plugin is current
    PLUGIN_WANTED=""
    if [[ ! -f "$PLUGIN_SRC/pom.xml" ]]; then
        say "no plugin source at $PLUGIN_SRC; running without the kb analysis plugin"
        return 0
    fi
    PLUGIN_WANTED="$(plugin_hash)"
    [[ -d "$ES_HOME/plugins/$PLUGIN_NAME" && "$(cat "$ES_HOME/.kb-$PLUGIN_NAME.hash" 2>/dev/null)" == "$PLUGIN_WANTED" ]]
}

PLUGIN_ZIP=""
build_plugin() {   # sets PLUGIN_ZIP to the (cached) plugin zip, building it when needed
    local out="$CACHE_DIR/es-plugin/$PLUGIN_NAME-$ES_VERSION-$PLUGIN_WANTED.zip"
    PLUGIN_ZIP="$out"
    if [[ -s "$out" ]]; then
        return
    fi
    ensure_build_tools
    local build="$CACHE_DIR/es-plugin/build-$PLUGIN_WANTED"
    rm -rf "$build"
    mkdir -p "$build"
    # build from a copy: keeps target/ out of the work tree
    (cd "$PLUGIN_SRC" && tar --exclude=./target -cf - .) | tar -xf - -C "$build"
    say "building $PLUGIN_NAME (Maven) for ES $ES_VERSION"
    (cd "$build" && mvn_run "$build/build.log" package -Des.version="$ES_VERSION" -Dlucene.version="$(lucene_version)") \
        || die "plugin build failed (log: $build/build.log)"
    local zip
    zip="$(find "$build/target" -maxdepth 1 -name "$PLUGIN_NAME-*.zip" | head -n 1)"
    [[ -s "$zip" ]] || die "plugin build produced no zip"
    find "$CACHE_DIR/es-plugin" -maxdepth 1 -name "$PLUGIN_NAME-*.zip" -delete   # older builds
    cp "$zip" "$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$build"
}

install_plugin() {
    build_plugin
    local zip="$PLUGIN_ZIP"
    local env=(env ES_JAVA_HOME="$JAVA_HOME_ES" ES_PATH_CONF="$CONF_DIR" ES_JAVA_OPTS=)
    if [[ -d "$ES_HOME/plugins/$PLUGIN_NAME" ]]; then
        say "removing old $PLUGIN_NAME"
        "${env[@]}" "$ES_HOME/bin/elasticsearch-plugin" remove --silent "$PLUGIN_NAME" >/dev/null 2>&1 \
            || rm -rf "$ES_HOME/plugins/$PLUGIN_NAME"
    fi
    say "installing $PLUGIN_NAME from $zip"
    local log="$CACHE_DIR/es-plugin/install.log"
    if ! "${env[@]}" "$ES_HOME/bin/elasticsearch-plugin" install --batch "file://$zip" >"$log" 2>&1; then
        cat "$log" >&2
        die "plugin install failed"
    fi
    chmod -R go+rX "$ES_HOME/plugins"
    echo "$PLUGIN_WANTED" >"$ES_HOME/.kb-$PLUGIN_NAME.hash"
}

# ---------------------------------------------------------------- config / user
ensure_user() {
    is_root || return 0
    if ! id -u "$ES_USER" >/dev/null 2>&1; then
        say "creating system user $ES_USER"
        useradd --system --no-create-home --home-dir "$BASE" --shell /usr/sbin/nologin "$ES_USER"
    fi
}

write_config() {
    mkdir -p "$CONF_DIR/jvm.options.d" "$DATA_DIR" "$LOG_DIR" "$RUN_DIR" "$TMP_DIR"
    # distribution defaults (jvm.options, log4j2.properties, ...), never overwriting
    cp -rn "$ES_HOME/config/." "$CONF_DIR/"
    local discovery="discovery.type: single-node"
    if [[ -n "$SEED_HOSTS" ]]; then
        discovery="discovery.seed_hosts: [$SEED_HOSTS]
cluster.initial_master_nodes: [$INITIAL_MASTERS]"
    fi
    local security="xpack.security.enabled: false"
    if [[ "$SECURITY" == tls ]]; then
        write_certs
        security="xpack.security.enabled: true
xpack.security.http.ssl.enabled: true
xpack.security.http.ssl.certificate: certs/node.pem
xpack.security.http.ssl.key: certs/node.key
xpack.security.http.ssl.certificate_authorities: [certs/ca.pem]
xpack.security.authc.api_key.enabled: true"
    fi
    cat >"$CONF_DIR/elasticsearch.yml" <<EOF
# Written by scripts/services/elasticsearch.sh -- edits are overwritten.
cluster.name: $CLUSTER_NAME
node.name: $NODE_NAME
path.data: $DATA_DIR
path.logs: $LOG_DIR
$discovery
network.host: $HOST
http.port: $PORT
transport.port: $TRANSPORT_PORT
$security
# a nearly-full disk must not make indices read-only in tests
cluster.routing.allocation.disk.threshold_enabled: false
# allow DELETE /kb-test-* in test teardown
action.destructive_requires_name: false
EOF
    cat >"$CONF_DIR/jvm.options.d/kb.options" <<EOF
# Written by scripts/services/elasticsearch.sh; heap comes from ES_JAVA_OPTS ($JAVA_OPTS)
-XX:-HeapDumpOnOutOfMemoryError
-XX:+PerfDisableSharedMem
EOF
    if is_root; then
        chown -R "$ES_USER:" "$BASE"
    fi
}

# A CA of the node's own and an HTTP certificate for 127.0.0.1/localhost signed by it (made once); the
# elastic user's password goes into the keystore as bootstrap.password (read at the first start).
write_certs() {
    [[ -n "$ES_PASSWORD" ]] || die "KB_ES_SECURITY=tls needs KB_ES_PASSWORD (the elastic user's password)"
    command -v openssl >/dev/null || apt_install openssl
    mkdir -p "$CERT_DIR"
    if [[ ! -s "$CERT_DIR/node.pem" ]]; then
        say "making a CA and the node's HTTP certificate in $CERT_DIR"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=kb test CA" \
            -keyout "$CERT_DIR/ca.key" -out "$CERT_DIR/ca.pem" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=$NODE_NAME" \
            -keyout "$CERT_DIR/node.key" -out "$CERT_DIR/node.csr" 2>/dev/null
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$CERT_DIR/ext.cnf"
        openssl x509 -req -in "$CERT_DIR/node.csr" -CA "$CERT_DIR/ca.pem" -CAkey "$CERT_DIR/ca.key" \
            -CAcreateserial -days 3650 -extfile "$CERT_DIR/ext.cnf" -out "$CERT_DIR/node.pem" 2>/dev/null
        rm -f "$CERT_DIR/node.csr" "$CERT_DIR/ext.cnf"
    fi
    cp "$CERT_DIR/ca.pem" "$CA_PEM"
    chmod 644 "$CA_PEM"
    local ks=(env ES_JAVA_HOME="$JAVA_HOME_ES" ES_PATH_CONF="$CONF_DIR" ES_JAVA_OPTS= "$ES_HOME/bin/elasticsearch-keystore")
    if [[ ! -f "$CONF_DIR/elasticsearch.keystore" ]]; then   # (the node reads it at its first start only)
        "${ks[@]}" create >/dev/null
        printf '%s' "$ES_PASSWORD" | "${ks[@]}" add -x -f bootstrap.password >/dev/null
    fi
}

# ---------------------------------------------------------------- process helpers
running_pid() {   # prints the pid of our ES when it is alive
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(cat "$PID_FILE" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'org.elasticsearch' || return 1
    echo "$pid"
}

health_status() {  # green|yellow|red, or empty
    es_curl -s --max-time 5 "$URL/_cluster/health?timeout=2s" 2>/dev/null \
        | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}

server_version() {   # (no GET / in integ-test-zip: its rest-root module is missing)
    es_curl -s --max-time 5 "$URL/_nodes/_local?filter_path=nodes.*.version" 2>/dev/null \
        | sed -n 's/.*"version":"\([^"]*\)".*/\1/p' | head -n 1
}

port_in_use() {
    (exec 3<>"/dev/tcp/$HOST/$PORT") 2>/dev/null
}

do_stop() {
    local pid
    if ! pid="$(running_pid)"; then
        rm -f "$PID_FILE"
        say "not running"
        return 0
    fi
    say "stopping pid $pid"
    kill -TERM "$pid" 2>/dev/null || true
    local i
    for ((i = 0; i < 60; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
        say "still alive after 60 s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 1
    fi
    rm -f "$PID_FILE"
    say "stopped"
}

wait_healthy() {
    local pid="$1" deadline=$((SECONDS + START_TIMEOUT)) st
    while ((SECONDS < deadline)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            show_log
            die "Elasticsearch (pid $pid) exited during startup"
        fi
        st="$(es_curl -s --max-time 10 "$URL/_cluster/health?wait_for_status=yellow&timeout=5s" 2>/dev/null \
            | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')"
        if [[ "$st" == green || "$st" == yellow ]]; then
            return 0
        fi
        sleep 1
    done
    show_log
    die "Elasticsearch not healthy (yellow) after ${START_TIMEOUT}s"
}

launch() {
    rm -f "$PID_FILE"
    if port_in_use; then
        die "$HOST:$PORT is already in use by another process (not our pid file); stop it or set KB_ES_PORT"
    fi
    say "starting Elasticsearch $ES_VERSION on $URL (JDK $JAVA_HOME_ES, ES_JAVA_OPTS=$JAVA_OPTS)"
    local env=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8
        HOME="$BASE" ES_HOME="$ES_HOME" ES_JAVA_HOME="$JAVA_HOME_ES" ES_PATH_CONF="$CONF_DIR"
        ES_JAVA_OPTS="$JAVA_OPTS" ES_TMPDIR="$TMP_DIR" CLI_JAVA_OPTS="-Djava.io.tmpdir=$TMP_DIR")
    local cmd=("$ES_HOME/bin/elasticsearch" -d -p "$PID_FILE")
    # per-run temp files (launcher's JVM flag probes, jansi, ...): nothing of ours is running now
    find "$TMP_DIR" -mindepth 1 -delete 2>/dev/null || true
    local rc=0
    # 9>&- : the daemon must not inherit (and hold) our lock
    if is_root; then
        (cd "$BASE" && runuser -u "$ES_USER" -- "${env[@]}" "${cmd[@]}") >"$STARTUP_LOG" 2>&1 9>&- || rc=$?
    else
        (cd "$BASE" && "${env[@]}" "${cmd[@]}") >"$STARTUP_LOG" 2>&1 9>&- || rc=$?
    fi
    local pid
    if [[ $rc -ne 0 ]] || ! pid="$(running_pid)"; then
        show_log
        die "Elasticsearch failed to start (exit $rc)"
    fi
    if [[ "$WAIT" == none ]]; then
        say "started, pid $pid, $URL (not waiting for the cluster)"
        return 0
    fi
    wait_healthy "$pid"
    say "running, pid $pid, health $(health_status), $URL (took $((SECONDS - T0)) s)"
}

check_plugin_loaded() {
    [[ -n "$PLUGIN_WANTED" ]] || return 0
    local out
    out="$(es_curl -s --max-time 10 -H 'Content-Type: application/json' "$URL/_analyze" \
        -d '{"tokenizer":"standard","filter":["kb_lowercase","kb_norwegian_stem"],"text":"Ruslidelser"}')"
    if [[ "$out" != *'"tokens":'* || "$out" == *'"token":"ruslidelser"'* ]]; then
        die "plugin $PLUGIN_NAME not working: $out"
    fi
}

# ---------------------------------------------------------------- commands
do_start() {
    ensure_run_tools
    ensure_distribution
    local plugin_ok=0
    plugin_state && plugin_ok=1

    local pid
    if pid="$(running_pid)"; then
        local st ver
        st="$(health_status)"
        ver="$(server_version)"
        if [[ "$WAIT" == none && $plugin_ok -eq 1 ]]; then
            say "already running, pid $pid, health ${st:-?}, $URL"
            return 0
        fi
        if [[ "$ver" == "$ES_VERSION" && $plugin_ok -eq 1 && ( "$st" == green || "$st" == yellow ) ]]; then
            say "already running, pid $pid, health $st, $URL"
            return 0
        fi
        if [[ "$ver" == "$ES_VERSION" && $plugin_ok -eq 1 && -z "$st" ]]; then
            say "pid $pid alive but not answering yet; waiting"
            wait_healthy "$pid"
            say "running, pid $pid, health $(health_status), $URL"
            return 0
        fi
        say "running node needs a restart (version '${ver:-?}', health '${st:-?}', plugin current: $plugin_ok)"
        do_stop
    elif [[ -f "$PID_FILE" ]]; then
        say "removing stale pid file"
        rm -f "$PID_FILE"
    fi

    ensure_user
    write_config
    if [[ $plugin_ok -eq 0 ]]; then
        install_plugin
    fi
    launch
    [[ "$WAIT" == none ]] || check_plugin_loaded
}

do_status() {
    local pid
    if ! pid="$(running_pid)"; then
        say "not running"
        return 3
    fi
    local st
    st="$(health_status)"
    say "running, pid $pid, version $(server_version), health ${st:-unknown}, $URL"
    [[ "$st" == green || "$st" == yellow ]]
}

main() {
    local action="${1:-start}"
    case "$action" in
        start | stop | status) ;;
        *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
    esac
    if [[ "$action" == status ]]; then
        do_status
        return
    fi
    mkdir -p "$SERVICES_DIR" "$CACHE_DIR"
    exec 9>"$LOCK_FILE"
    flock -w 600 9 || die "another elasticsearch.sh holds $LOCK_FILE"
    case "$action" in
        start) do_start ;;
        stop) do_stop ;;
    esac
}

main "$@"
