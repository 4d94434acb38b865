#!/usr/bin/env bash
# Run one production process of kb in the foreground (for a process supervisor: systemd, a container).
#
#   scripts/serve.sh web      deploy checks, migrate, collectstatic, then gunicorn (kb.wsgi)
#   scripts/serve.sh worker   a Celery worker: index drains and import jobs (as many as you like)
#   scripts/serve.sh beat     Celery beat: the periodic outbox drain and reconcile (exactly one)
#
# kb's configuration comes from the environment (README, docs/operations.md): KB_ENV=production,
# SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL, CELERY_BROKER_URL, ELASTICSEARCH_URL, CACHE_URL, ...
# This script reads:
#   KB_VENV                 the virtualenv made from requirements.txt       default .venv
#   KB_WEB_BIND             gunicorn's address (a TLS proxy sits in front)   default 127.0.0.1:8000
#   KB_WEB_WORKERS          gunicorn worker processes                        default 2 x CPUs + 1
#   KB_WEB_TIMEOUT          seconds before gunicorn restarts a stuck worker  default 60
#   KB_MIGRATE              1: `web` runs migrate first; 0 on every web host but one   default 1
#   KB_WORKER_CONCURRENCY   processes of a worker                            default 2
#   KB_WORKER_NAME          the worker's node name (unique per host)         default kb-worker@<host>
#   KB_VAR_DIR              gunicorn's control socket, beat's schedule file  default var
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${KB_VENV:-.venv}
role=${1:-}
say() { echo "serve: $*" >&2; }

[ -x "$VENV/bin/python" ] || {
  say "no virtualenv at $VENV; make one with: python3 -m venv $VENV && $VENV/bin/pip install -r requirements.txt"
  exit 1
}
[ "${KB_ENV:-development}" = production ] || say "warning: KB_ENV is ${KB_ENV:-unset}, not production"
var=${KB_VAR_DIR:-var}
mkdir -p "$var"

case "$role" in
  web)
    "$VENV/bin/python" manage.py check --deploy
    if [ "${KB_MIGRATE:-1}" = 1 ]; then
      "$VENV/bin/python" manage.py migrate --noinput
    fi
    "$VENV/bin/python" manage.py collectstatic --noinput --verbosity 0
    workers=${KB_WEB_WORKERS:-$(($(nproc) * 2 + 1))}
    say "gunicorn on ${KB_WEB_BIND:-127.0.0.1:8000} with $workers workers"
    exec "$VENV/bin/gunicorn" kb.wsgi:application --bind "${KB_WEB_BIND:-127.0.0.1:8000}" \
      --workers "$workers" --timeout "${KB_WEB_TIMEOUT:-60}" --access-logfile - --error-logfile - \
      --control-socket "$var/gunicorn.ctl"
    ;;
  worker)
    exec "$VENV/bin/celery" -A kb worker -l info --concurrency "${KB_WORKER_CONCURRENCY:-2}" \
      -n "${KB_WORKER_NAME:-kb-worker@%h}"
    ;;
  beat)
    exec "$VENV/bin/celery" -A kb beat -l info --schedule "$var/celerybeat-schedule"
    ;;
  *)
    echo "usage: $0 web|worker|beat" >&2
    exit 2
    ;;
esac
