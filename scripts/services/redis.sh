#!/usr/bin/env bash
# Start/stop/status a private Redis server for the kb test suite.
#
#   scripts/services/redis.sh [start|stop|status]     (default: start)
#
# Runs as root (the server runs as the `redis` OS user when it exists), listens
# on 127.0.0.1:${KB_REDIS_PORT:-6379} only, no persistence, pid/log/config under
# ${KB_SERVICES_DIR:-/var/lib/kb-services}/redis. Does not use systemd.
# Idempotent: a server already answering PING on the port is reused.
#
#   URL: redis://127.0.0.1:${KB_REDIS_PORT:-6379}/0
set -euo pipefail

SERVICES_DIR="${KB_SERVICES_DIR:-/var/lib/kb-services}"
PORT="${KB_REDIS_PORT:-6379}"
HOST=127.0.0.1
START_TIMEOUT=60

BASE="$SERVICES_DIR/redis"
CONF="$BASE/redis.conf"
PID_FILE="$BASE/redis.pid"
LOG_FILE="$BASE/redis.log"
DATA_DIR="$BASE/data"
LOCK_FILE="$SERVICES_DIR/redis.lock"

say() { echo "redis: $*"; }
die() { echo "redis: ERROR: $*" >&2; exit 1; }

show_log() {
    if [[ -f "$LOG_FILE" ]]; then
        echo "redis: last lines of $LOG_FILE:" >&2
        tail -n 30 "$LOG_FILE" >&2 || true
    fi
}

# Run a daemon launcher in its own session with only fds 0-2 inherited
# (the caller's pipes / lock fd must not be held open by the server).
launch_detached() {
    (
        cd /
        for fd in /proc/$BASHPID/fd/*; do
            fd="${fd##*/}"
            if (( fd > 2 )); then eval "exec $fd>&-" 2>/dev/null || true; fi
        done
        exec setsid -w "$@"
    )
}

apt_install() {
    # Install Debian packages non-interactively, without starting any service.
    local added_policy=0 rc=0
    export DEBIAN_FRONTEND=noninteractive
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        added_policy=1
    fi
    {
        apt-get -o DPkg::Lock::Timeout=300 update -qq &&
        apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
    } >/dev/null || rc=$?
    [[ $added_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
    return $rc
}

ensure_installed() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        say "installing redis-server (apt-get)"
        apt_install redis-server redis-tools || die "apt-get install redis-server failed"
        command -v redis-server >/dev/null 2>&1 || die "redis-server not found after install"
    fi
}

ping_ok() {
    command -v redis-cli >/dev/null 2>&1 || return 1
    [[ "$(timeout 5 redis-cli -h "$HOST" -p "$PORT" ping 2>/dev/null || true)" == PONG ]]
}

# PID from our pid file if that process is a live (non-zombie) redis-server.
our_pid() {
    local pid state
    [[ -f "$PID_FILE" ]] || return 0
    pid="$(head -n 1 "$PID_FILE" 2>/dev/null | tr -dc 0-9 || true)"
    [[ -n "$pid" ]] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ -n "$state" && "$state" != Z ]] || return 0
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == redis-server* ]] || return 0
    echo "$pid"
}

# (Re)write config and directories; sets RUN_AS to the user the server runs as.
write_conf() {
    local owner=root
    id -u redis >/dev/null 2>&1 && owner=redis
    install -d -m 755 "$SERVICES_DIR"
    install -d -m 750 -o "$owner" -g "$owner" "$BASE" "$DATA_DIR"
    touch "$LOG_FILE"
    chown "$owner:$owner" "$LOG_FILE"
    cat > "$CONF" <<EOF
# Managed by scripts/services/redis.sh -- rewritten on every start.
bind $HOST
port $PORT
protected-mode yes
daemonize yes
supervised no
pidfile $PID_FILE
logfile $LOG_FILE
loglevel notice
dir $DATA_DIR
databases 16
# Test server: no persistence.
save ""
appendonly no
tcp-keepalive 300
always-show-logo no
EOF
    chown "$owner:$owner" "$CONF"
    chmod 640 "$CONF"
    RUN_AS="$owner"
}

cmd_start() {
    if ping_ok; then
        local pid; pid="$(our_pid)"
        if [[ -n "$pid" ]]; then
            say "already running on $HOST:$PORT (pid $pid)"
        else
            say "already running on $HOST:$PORT (existing server, not managed here)"
        fi
        return 0
    fi

    ensure_installed
    install -d -m 755 "$SERVICES_DIR"
    exec 9>"$LOCK_FILE"
    flock -w 180 9 || die "timed out waiting for $LOCK_FILE"

    local pid deadline; pid="$(our_pid)"
    deadline=$((SECONDS + START_TIMEOUT))
    if [[ -n "$pid" ]]; then
        local cur_port; cur_port="$(awk '$1 == "port" {print $2}' "$CONF" 2>/dev/null || true)"
        if [[ -n "$cur_port" && "$cur_port" != "$PORT" ]]; then
            # Don't silently move a shared server to another port.
            die "our server (pid $pid) is running on port $cur_port, not KB_REDIS_PORT=$PORT; run '$0 stop' first or use another KB_SERVICES_DIR"
        fi
        # Ours and alive but not answering (yet): wait for it.
        while ! ping_ok; do
            [[ -n "$(our_pid)" ]] || break
            if (( SECONDS >= deadline )); then
                show_log
                die "redis-server (pid $pid) is running but does not answer PING on $HOST:$PORT; run '$0 stop' (or check KB_REDIS_PORT)"
            fi
            sleep 0.5
        done
        if ping_ok; then say "already running on $HOST:$PORT (pid $pid)"; return 0; fi
    fi
    if [[ -f "$PID_FILE" ]]; then
        say "removing stale pid file (server process is gone)"
        rm -f "$PID_FILE"
    fi

    write_conf
    local launcher=()
    [[ "$RUN_AS" != root ]] && launcher=(runuser -u "$RUN_AS" --)
    if ! launch_detached "${launcher[@]}" redis-server "$CONF" </dev/null >"$BASE/launch.out" 2>&1; then
        cat "$BASE/launch.out" >&2 || true
        show_log
        die "failed to launch redis-server on $HOST:$PORT"
    fi

    deadline=$((SECONDS + START_TIMEOUT))
    local started=$SECONDS
    while ! ping_ok; do
        if (( SECONDS >= deadline )) ||
           { (( SECONDS - started >= 3 )) && [[ -z "$(our_pid)" ]]; }; then
            cat "$BASE/launch.out" >&2 2>/dev/null || true
            show_log
            if tail -n 20 "$LOG_FILE" 2>/dev/null | grep -qi 'address already in use'; then
                die "failed to start redis: port $PORT is taken by another program (set KB_REDIS_PORT to use another port)"
            fi
            die "redis did not become ready on $HOST:$PORT within $((SECONDS - started))s"
        fi
        sleep 0.3
    done
    say "started on $HOST:$PORT (pid $(our_pid), log $LOG_FILE)"
}

cmd_stop() {
    [[ -d "$SERVICES_DIR" ]] || { say "not running"; return 0; }
    exec 9>"$LOCK_FILE"
    flock -w 180 9 || die "timed out waiting for $LOCK_FILE"
    local pid; pid="$(our_pid)"
    if [[ -n "$pid" ]]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            [[ -n "$(our_pid)" ]] || break
            sleep 0.2
        done
        if [[ -n "$(our_pid)" ]]; then
            say "pid $pid did not exit after SIGTERM; sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
        fi
        rm -f "$PID_FILE"
        say "stopped (was pid $pid)"
    elif [[ -f "$PID_FILE" ]]; then
        rm -f "$PID_FILE"
        say "not running (removed stale pid file)"
    elif ping_ok; then
        say "not managed here: another server answers on $HOST:$PORT; leaving it alone"
    else
        say "not running"
    fi
}

cmd_status() {
    local pid; pid="$(our_pid)"
    if [[ -n "$pid" ]] && ping_ok; then
        say "running on $HOST:$PORT (pid $pid)"
    elif [[ -n "$pid" ]]; then
        say "process $pid alive but not answering PING on $HOST:$PORT"; return 1
    elif ping_ok; then
        say "another server (not managed here) answers on $HOST:$PORT"
    elif [[ -f "$PID_FILE" ]]; then
        say "not running (stale pid file)"; return 3
    else
        say "not running"; return 3
    fi
}

main() {
    [[ $(id -u) == 0 ]] || die "must be run as root"
    case "${1:-start}" in
        start) cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        restart) cmd_stop; cmd_start ;;
        *) echo "usage: $0 [start|stop|status|restart]" >&2; exit 2 ;;
    esac
}

main "$@"
