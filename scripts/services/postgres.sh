#!/usr/bin/env bash
# Start/stop/status a private PostgreSQL server for the kb test suite.
#
#   scripts/services/postgres.sh [start|stop|status]     (default: start)
#
# Runs as root; the server itself runs as the `postgres` OS user, listens on
# 127.0.0.1:${KB_PG_PORT:-5432} only, keeps its data, unix socket and log under
# ${KB_SERVICES_DIR:-/var/lib/kb-services}/postgres, and does not rely on
# systemd / pg_ctlcluster. Provisions role kb/kb (LOGIN CREATEDB) and database
# kb. Idempotent: a healthy running server is reused.
#
#   URL: postgres://kb:kb@127.0.0.1:${KB_PG_PORT:-5432}/kb
set -euo pipefail

SERVICES_DIR="${KB_SERVICES_DIR:-/var/lib/kb-services}"
PORT="${KB_PG_PORT:-5432}"
HOST=127.0.0.1
DB_USER=kb
DB_PASS=kb
DB_NAME=kb
START_TIMEOUT=60

BASE="$SERVICES_DIR/postgres"
PGDATA="$BASE/data"
RUN_DIR="$BASE/run"        # unix socket directory
LOG_DIR="$BASE/log"
LOG_FILE="$LOG_DIR/postgresql.log"
LOCK_FILE="$SERVICES_DIR/postgres.lock"

say() { echo "postgres: $*"; }
die() { echo "postgres: ERROR: $*" >&2; exit 1; }

show_log() {
    if [[ -f "$LOG_FILE" ]]; then
        echo "postgres: last lines of $LOG_FILE:" >&2
        tail -n 30 "$LOG_FILE" >&2 || true
    fi
}

# Run a command as the postgres OS user from a directory it can read.
as_pg() { (cd / && runuser -u postgres -- "$@"); }

# Run a long-lived daemon launcher: new session, no inherited fds beyond 0-2
# (the caller's pipes/lock fd must not be held open by the server forever).
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

# --- binaries ----------------------------------------------------------------

BINDIR=""

find_bindir() {
    # Prefer the major version the data dir was created with, else the newest.
    local want="" d
    [[ -f "$PGDATA/PG_VERSION" ]] && want="$(cat "$PGDATA/PG_VERSION")"
    if [[ -n "$want" ]]; then
        if [[ -x "/usr/lib/postgresql/$want/bin/postgres" ]]; then
            BINDIR="/usr/lib/postgresql/$want/bin"
            return 0
        fi
        return 1
    fi
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$d" && -x "$d/postgres" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then
        BINDIR="$d"
        return 0
    fi
    return 1
}

apt_install() {
    # Install Debian packages non-interactively, without starting any service.
    local added_policy=0
    export DEBIAN_FRONTEND=noninteractive
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        added_policy=1
    fi
    local rc=0
    {
        apt-get -o DPkg::Lock::Timeout=300 update -qq &&
        apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
    } >/dev/null || rc=$?
    [[ $added_policy == 1 ]] && rm -f /usr/sbin/policy-rc.d
    return $rc
}

ensure_installed() {
    if ! find_bindir; then
        if [[ -f "$PGDATA/PG_VERSION" ]]; then
            local v; v="$(cat "$PGDATA/PG_VERSION")"
            say "installing postgresql-$v (data dir was created by PostgreSQL $v)"
            apt_install "postgresql-$v" || die "apt-get install postgresql-$v failed"
        else
            say "installing postgresql (apt-get)"
            apt_install postgresql || die "apt-get install postgresql failed"
        fi
        find_bindir || die "PostgreSQL server binaries not found under /usr/lib/postgresql after install"
    fi
    command -v psql >/dev/null || [[ -x "$BINDIR/psql" ]] || die "psql not found"
    if ! id -u postgres >/dev/null 2>&1; then
        say "creating OS user postgres"
        useradd --system --user-group --home-dir /var/lib/postgresql \
            --no-create-home --shell /bin/bash postgres
    fi
}

# --- state helpers -----------------------------------------------------------

pg_ready() {  # answering on 127.0.0.1:$PORT ?
    local isready="pg_isready"
    [[ -n "$BINDIR" ]] && isready="$BINDIR/pg_isready"
    command -v "$isready" >/dev/null 2>&1 || return 1
    "$isready" -q -h "$HOST" -p "$PORT" -t 3 >/dev/null 2>&1
}

kb_usable() {  # can role kb log in over TCP and use database kb ?
    local psql=psql
    [[ -n "$BINDIR" ]] && psql="$BINDIR/psql"
    command -v "$psql" >/dev/null 2>&1 || return 1
    PGPASSWORD="$DB_PASS" PGCONNECT_TIMEOUT=5 "$psql" -X -q -t -A -w \
        -h "$HOST" -p "$PORT" -U "$DB_USER" -d "$DB_NAME" \
        -c 'select 1' 2>/dev/null | grep -qx 1
}

# PID of our postmaster if it is alive, else empty.
our_pid() {
    local pid
    [[ -f "$PGDATA/postmaster.pid" ]] || return 0
    pid="$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    if kill -0 "$pid" 2>/dev/null &&
       [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null || true)" == "$(readlink -f "$PGDATA")" ]]; then
        echo "$pid"
    fi
}

# Port our running postmaster was started with (line 4 of postmaster.pid).
our_port() { sed -n 4p "$PGDATA/postmaster.pid" 2>/dev/null || true; }

# Processes still working in our data dir (orphaned backends after kill -9).
orphans() {
    local d p real
    real="$(readlink -f "$PGDATA")"
    for d in /proc/[0-9]*; do
        p="${d#/proc/}"
        [[ "$(readlink "$d/cwd" 2>/dev/null || true)" == "$real" ]] && echo "$p"
    done
    return 0
}

clean_stale() {
    [[ -f "$PGDATA/postmaster.pid" ]] || return 0
    say "removing stale postmaster.pid (server process is gone)"
    local left
    # Leftover children keep the shared memory segment busy; give them a
    # moment to notice the postmaster died, then kill them.
    for _ in $(seq 1 10); do
        left="$(orphans)"
        [[ -z "$left" ]] && break
        sleep 1
    done
    left="$(orphans)"
    if [[ -n "$left" ]]; then
        say "killing leftover server processes: $(echo $left)"
        kill -9 $left 2>/dev/null || true
        sleep 1
    fi
    rm -f "$PGDATA/postmaster.pid" "$RUN_DIR"/.s.PGSQL.*
}

# --- setup -------------------------------------------------------------------

init_cluster() {
    install -d -m 755 "$SERVICES_DIR"
    install -d -m 700 -o postgres -g postgres "$BASE" "$RUN_DIR" "$LOG_DIR"
    if [[ ! -f "$PGDATA/PG_VERSION" ]]; then
        if [[ -d "$PGDATA" ]] && [[ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]]; then
            local aside; aside="$PGDATA.broken.$(date +%s)"
            say "moving incomplete data dir aside to $aside"
            mv "$PGDATA" "$aside"
        fi
        install -d -m 700 -o postgres -g postgres "$PGDATA"
        say "initdb $PGDATA ($("$BINDIR/postgres" --version))"
        as_pg "$BINDIR/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 >"$BASE/initdb.log" 2>&1 || {
            tail -n 30 "$BASE/initdb.log" >&2
            die "initdb failed (full output: $BASE/initdb.log)"
        }
    fi
    chown postgres:postgres "$BASE" "$RUN_DIR" "$LOG_DIR"
    touch "$LOG_FILE" && chown postgres:postgres "$LOG_FILE"

    # Our settings live in kb.conf (rewritten every start), included last.
    grep -q "^include_if_exists = 'kb.conf'" "$PGDATA/postgresql.conf" ||
        printf "\n# kb test-suite settings (scripts/services/postgres.sh)\ninclude_if_exists = 'kb.conf'\n" \
            >> "$PGDATA/postgresql.conf"
    cat > "$PGDATA/kb.conf" <<EOF
# Managed by scripts/services/postgres.sh -- rewritten on every start.
listen_addresses = '$HOST'
port = $PORT
unix_socket_directories = '$RUN_DIR'
max_connections = 100
shared_buffers = 128MB
# Test server: durability is not needed.
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = minimal
max_wal_senders = 0
checkpoint_timeout = 30min
max_wal_size = 1GB
log_line_prefix = '%m [%p] '
EOF
    cat > "$PGDATA/pg_hba.conf" <<EOF
# Managed by scripts/services/postgres.sh -- rewritten on every start.
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 peer
local   all       all                      scram-sha-256
host    all       all       127.0.0.1/32   scram-sha-256
EOF
    chown postgres:postgres "$PGDATA/kb.conf" "$PGDATA/pg_hba.conf"
    chmod 600 "$PGDATA/kb.conf" "$PGDATA/pg_hba.conf"
}

# Create role/database kb through the superuser socket connection.
provision() {  # $1 = socket directory
    as_pg "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$1" -p "$PORT" -U postgres -d postgres >/dev/null <<EOF
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
    CREATE ROLE $DB_USER;
  END IF;
END \$\$;
ALTER ROLE $DB_USER WITH LOGIN CREATEDB PASSWORD '$DB_PASS';
SELECT 'CREATE DATABASE $DB_NAME OWNER $DB_USER' WHERE NOT EXISTS
  (SELECT FROM pg_database WHERE datname = '$DB_NAME')\gexec
EOF
}

# --- commands ----------------------------------------------------------------

wait_ready() {
    local deadline=$((SECONDS + START_TIMEOUT))
    while ! pg_ready; do
        if (( SECONDS >= deadline )); then return 1; fi
        if [[ -z "$(our_pid)" ]]; then return 1; fi
        sleep 0.5
    done
}

cmd_start() {
    # Fast path: something healthy already answers on the port.
    if pg_ready && kb_usable; then
        local pid; pid="$(our_pid)"
        if [[ -n "$pid" ]]; then
            say "already running on $HOST:$PORT (pid $pid)"
        else
            say "already running on $HOST:$PORT (existing server, not managed here; role $DB_USER usable)"
        fi
        return 0
    fi

    ensure_installed
    install -d -m 755 "$SERVICES_DIR"
    exec 9>"$LOCK_FILE"
    flock -w 180 9 || die "timed out waiting for $LOCK_FILE"

    local pid; pid="$(our_pid)"
    if [[ -n "$pid" && "$(our_port)" != "$PORT" ]]; then
        # Don't silently move a shared server to another port.
        die "our server (pid $pid, data $PGDATA) is running on port $(our_port), not KB_PG_PORT=$PORT; run '$0 stop' first or use another KB_SERVICES_DIR"
    fi

    if [[ -z "$pid" ]] && pg_ready; then
        # Someone else's PostgreSQL owns the port: try to provision kb there.
        local sock
        for sock in /var/run/postgresql /run/postgresql /tmp; do
            if [[ -S "$sock/.s.PGSQL.$PORT" ]] && provision "$sock" 2>/dev/null && kb_usable; then
                say "already running on $HOST:$PORT (existing server, not managed here); provisioned role $DB_USER"
                return 0
            fi
        done
        die "$HOST:$PORT is served by another PostgreSQL on which role $DB_USER/$DB_PASS is not usable; stop it or set KB_PG_PORT"
    fi

    if [[ -n "$pid" ]]; then
        # Ours, alive, but not (yet) healthy: let it finish starting/recovering.
        wait_ready || { show_log; die "server (pid $pid) is running but not accepting connections on $HOST:$PORT"; }
        provision "$RUN_DIR" || die "could not create role/database $DB_USER"
        kb_usable || die "role $DB_USER cannot connect to $HOST:$PORT/$DB_NAME"
        say "already running on $HOST:$PORT (pid $pid); ensured role/database $DB_USER"
        return 0
    fi

    clean_stale
    init_cluster
    # Detached launch: own session, only fds 0-2 inherited (no lock fd, no caller pipes).
    if ! launch_detached runuser -u postgres -- "$BINDIR/pg_ctl" start -D "$PGDATA" \
            -l "$LOG_FILE" -w -t "$START_TIMEOUT" </dev/null >"$BASE/pg_ctl.out" 2>&1; then
        cat "$BASE/pg_ctl.out" >&2 || true
        show_log
        if tail -n 20 "$LOG_FILE" 2>/dev/null | grep -q 'Address already in use'; then
            die "failed to start PostgreSQL: port $PORT is taken by another program (set KB_PG_PORT to use another port)"
        fi
        die "failed to start PostgreSQL on $HOST:$PORT (data dir $PGDATA)"
    fi
    wait_ready || { show_log; die "PostgreSQL did not become ready on $HOST:$PORT within ${START_TIMEOUT}s"; }
    provision "$RUN_DIR" || { show_log; die "could not create role/database $DB_USER"; }
    kb_usable || { show_log; die "role $DB_USER cannot connect to $HOST:$PORT/$DB_NAME"; }
    say "started on $HOST:$PORT (pid $(our_pid), data $PGDATA, log $LOG_FILE)"
}

cmd_stop() {
    find_bindir || true
    [[ -d "$SERVICES_DIR" ]] || { say "not running"; return 0; }
    exec 9>"$LOCK_FILE"
    flock -w 180 9 || die "timed out waiting for $LOCK_FILE"
    local pid; pid="$(our_pid)"
    if [[ -n "$pid" ]]; then
        [[ -n "$BINDIR" ]] || die "server binaries not found; cannot run pg_ctl"
        as_pg "$BINDIR/pg_ctl" stop -D "$PGDATA" -m fast -w -t "$START_TIMEOUT" >/dev/null 9>&- ||
            { show_log; die "pg_ctl stop failed (pid $pid)"; }
        say "stopped (was pid $pid)"
    elif [[ -f "$PGDATA/postmaster.pid" ]]; then
        clean_stale
        say "not running (cleaned up stale pid file)"
    elif pg_ready; then
        say "not managed here: another server answers on $HOST:$PORT; leaving it alone"
    else
        say "not running"
    fi
}

cmd_status() {
    find_bindir || true
    local pid; pid="$(our_pid)"
    if [[ -n "$pid" ]] && pg_ready; then
        say "running on $HOST:$PORT (pid $pid, data $PGDATA)"
    elif [[ -n "$pid" ]]; then
        say "process $pid alive but not accepting connections on $HOST:$PORT"; return 1
    elif pg_ready; then
        say "another server (not managed here) answers on $HOST:$PORT"
    elif [[ -f "$PGDATA/postmaster.pid" ]]; then
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
