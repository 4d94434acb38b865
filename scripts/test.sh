#!/usr/bin/env bash
# Install and start what the tests need (PostgreSQL, Redis, Elasticsearch), then run the whole suite:
#   1. everything on PostgreSQL + Elasticsearch + Redis;
#   2. the API smoke tests and the database search backend again on the embedded SQLite default;
#   3. the production smoke test (scripts/smoke.sh): requirements.txt alone, KB_ENV=production,
#      gunicorn + worker + beat, driven through normal work, a Redis outage and a killed worker.
# Extra arguments go to pytest (e.g. scripts/test.sh -k search -x). KB_SMOKE=0 leaves out stage 3
# outside CI (with CI=true it always runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements-dev.txt
.venv/bin/python -m pip check
# Known vulnerabilities in the pinned requirements fail the run (allow-list: scripts/audit-allowlist.txt).
scripts/audit.sh

# The browser tests (tests/web) drive Debian's Chromium headless; install it once (idempotent, as root).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "test: installing chromium and chromium-driver for the browser tests"
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
      || echo "test: could not install chromium (the browser tests fail under CI, skip elsewhere)"
  else
    echo "test: not root, cannot apt-get install chromium (the browser tests fail under CI, skip elsewhere)"
  fi
fi
export KB_CHROMIUM=${KB_CHROMIUM:-/usr/bin/chromium}
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1   # Playwright drives Debian's Chromium, never a download of its own
mkdir -p test-output/screenshots

scripts/services/postgres.sh start
scripts/services/redis.sh start
scripts/services/elasticsearch.sh start

export KB_ENV=test
export DATABASE_URL=${TEST_DATABASE_URL:-postgres://kb:kb@127.0.0.1:${KB_PG_PORT:-5432}/kb}
export KB_TEST_REDIS_URL=${KB_TEST_REDIS_URL:-redis://127.0.0.1:${KB_REDIS_PORT:-6379}/0}
export KB_TEST_ELASTICSEARCH_URL=${KB_TEST_ELASTICSEARCH_URL:-http://127.0.0.1:${KB_ES_PORT:-9200}}
export ELASTICSEARCH_URL=$KB_TEST_ELASTICSEARCH_URL
export ELASTICSEARCH_INDEX_PREFIX=kbtest
export KB_REQUIRE_SERVICES=1   # a missing service fails the run; nothing skips

echo "== test: PostgreSQL + Elasticsearch + Redis"
.venv/bin/python -m pytest -p no:cacheprovider "$@"

echo "== test: embedded default (SQLite, database search): smoke tests and the SQLite engine's own"
unset ELASTICSEARCH_URL
DATABASE_URL="sqlite:///$(mktemp -d)/kb.sqlite3" .venv/bin/python -m pytest -p no:cacheprovider -m "smoke or sqlite" -q "$@"

if [ "${KB_SMOKE:-1}" = 0 ] && [ "${CI:-}" != true ]; then
  echo "== test: production smoke test left out (KB_SMOKE=0)"
else
  echo "== test: production smoke test (scripts/smoke.sh)"
  scripts/smoke.sh
fi
