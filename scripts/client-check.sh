#!/usr/bin/env bash
# Generate openapi-generator's Python client from a running kb's /api/schema/ and call the API through it
# (docs/api.md "Generated clients"). Needs Java 17 and Maven (the generator is a Maven Central jar).
#
#   scripts/client-check.sh [BASE_URL]        default http://127.0.0.1:8000; KB_TOKEN=<curator token> adds a write
#
# The client is made in a scratch directory (KB_CLIENT_DIR, default a new temporary one) with its own virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE=${1:-http://127.0.0.1:8000}
VERSION=${OPENAPI_GENERATOR_VERSION:-7.17.0}
DIR=${KB_CLIENT_DIR:-$(mktemp -d)}
JAR=$HOME/.m2/repository/org/openapitools/openapi-generator-cli/$VERSION/openapi-generator-cli-$VERSION.jar
[ -f "$JAR" ] || mvn -q dependency:get -Dartifact="org.openapitools:openapi-generator-cli:$VERSION"
curl -fsS "$BASE/api/schema/?format=json" -o "$DIR/kb.json"
rm -rf "$DIR/kbclient"
java -jar "$JAR" generate -i "$DIR/kb.json" -g python -o "$DIR/kbclient" --package-name kbclient > "$DIR/generate.log" 2>&1
[ -x "$DIR/venv/bin/python" ] || python3 -m venv "$DIR/venv"
"$DIR/venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall "$DIR/kbclient"
"$DIR/venv/bin/python" scripts/client/check.py "$BASE"
