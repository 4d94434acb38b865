#!/usr/bin/env bash
# The production smoke test (docs/operations.md): kb installed from requirements.txt alone, run with
# KB_ENV=production as scripts/serve.sh runs it (gunicorn, a worker, one beat), driven as an API client
# through normal work and faults. Ends with "smoke: N passed, M failed"; exits non-zero on a failure.
#
#   scripts/smoke.sh [SCENARIO ...]      default: every scenario; --list names them
#
# PostgreSQL and Elasticsearch: the shared ones of scripts/services (database kb_smoke, index prefix
# kbsmoke); Redis: a private one on 127.0.0.1:6390 that the harness starts, stops and starts again.
# The virtualenv .venv-prod is made again only when requirements.txt changes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services/postgres.sh start
scripts/services/elasticsearch.sh start
KB_VENV=.venv-prod KB_VENV_FRESH=1 scripts/bootstrap.sh requirements.txt
.venv-prod/bin/python -m pip check
exec .venv-prod/bin/python scripts/smoke "$@"
