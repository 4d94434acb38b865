"""kb against an Elasticsearch with security on: TLS with a CA file, an API key, basic auth.

    .venv/bin/python scripts/drills/es_secured.py

Starts a private node with security on (scripts/services/elasticsearch.sh with KB_ES_SECURITY=tls:
HTTPS on 127.0.0.1:9215 with a certificate signed by a CA of its own, the user elastic), creates a role
that may do what kb does and no more (cluster ``monitor``, every index privilege on ``kbsec-*``), a user
``kb`` with that role and an API key of that user. Then runs kb as an operator would configure it,
from the environment only (``ELASTICSEARCH_URL=https://...``, ``ELASTICSEARCH_CA_CERTS``,
``ELASTICSEARCH_API_KEY`` or ``ELASTICSEARCH_USERNAME``/``_PASSWORD``), each in a process of its own
(``manage.py shell``): it creates its indices, writes a study (indexed through the outbox after commit),
finds it by search and reports health ``ok``. Also checks the failures an operator would meet: no CA
file, a wrong key, plain http. Prints PASS/FAIL per check; exits 1 when one failed. Stops the node
unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import machine, setup_django  # noqa: E402

NODE_DIR = Path("/var/lib/kb-services/es-secure")
PORT = 9215
PASSWORD = os.environ.get("KB_ES_SECURE_PASSWORD", "kb-drill-elastic")  # a loopback test node's
NODE_ENV = {"KB_SERVICES_DIR": str(NODE_DIR), "KB_ES_PORT": str(PORT), "KB_ES_TRANSPORT_PORT": "9315",
            "KB_ES_NODE_NAME": "kb-es-secure", "KB_ES_CLUSTER_NAME": "kb-secure", "KB_ES_SECURITY": "tls",
            "KB_ES_PASSWORD": PASSWORD}
URL = f"https://127.0.0.1:{PORT}"
CA = NODE_DIR / "elasticsearch" / "ca.pem"
PREFIX = "kbsec"

#: What the child process does: kb's own code, configured from the environment.
PROBE = """
import json, uuid
from apps.studies.services import create_study
from search.backends import get_backend
from search.backends.base import SearchRequest
from search.query import parse
result = {}
try:
    backend = get_backend()
    backend.setup()
    word = "secured" + uuid.uuid4().hex[:8]
    study = create_study(None, {"title": f"Integrated treatment {word}", "status": "published", "year": 2025})
    backend.refresh()
    result["found"] = study.id in [h.id for h in backend.search(SearchRequest(query=parse(word))).hits]
    result["health"] = backend.health()["status"]
except Exception as exc:
    result["error"] = f"{type(exc).__name__}: {str(exc)[:200]}"
print("PROBE " + json.dumps(result))
"""


def say(*args):
    print(*args, flush=True)


def node(action):
    subprocess.run([str(ROOT / "scripts/services/elasticsearch.sh"), action], env={**os.environ, **NODE_ENV},
                   check=True, timeout=300)


def file_realm_user(password):
    """The role kb needs (roles.yml) and a user kb with it (bin/elasticsearch-users), in the node's file
    realm, which the node reads again within seconds."""
    conf = NODE_DIR / "elasticsearch" / "config"
    (conf / "roles.yml").write_text(f"kb_app:\n  cluster: [monitor, manage_own_api_key]\n  indices:\n    - names: ['{PREFIX}-*']\n"
                                    f"      privileges: [all]\n")
    env = {**os.environ, "ES_PATH_CONF": str(conf), "ES_JAVA_OPTS": "",
           "ES_JAVA_HOME": os.environ.get("KB_ES_JAVA_HOME", "/usr/lib/jvm/java-17-openjdk-amd64")}
    users = [str(Path("/var/cache/kb/elasticsearch-8.19.21/bin/elasticsearch-users"))]
    subprocess.run(users + ["userdel", "kb"], env=env, capture_output=True)
    subprocess.run(users + ["useradd", "kb", "-p", password, "-r", "kb_app"], env=env, check=True,
                   capture_output=True)
    subprocess.run(["chown", "-R", "kb-es:", str(conf)], check=True)


def wait_authenticated(client, timeout=30):
    import time
    deadline = time.monotonic() + timeout
    while True:
        try:
            return client.security.authenticate()
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def probe(database_url, **env):
    """Run kb's probe in a fresh process with ELASTICSEARCH_* from ``env`` only."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ELASTICSEARCH_", "CELERY_", "KB_"))}
    clean.update({"KB_ENV": "test", "DATABASE_URL": database_url, "ELASTICSEARCH_INDEX_PREFIX": PREFIX,
                  "ELASTICSEARCH_TIMEOUT": "5", **env})
    out = subprocess.run([sys.executable, "manage.py", "shell", "-c", PROBE], cwd=ROOT, env=clean,
                         capture_output=True, text=True, timeout=120)
    line = next((li for li in out.stdout.splitlines() if li.startswith("PROBE ")), None)
    return json.loads(line[6:]) if line else {"error": (out.stderr or out.stdout)[-300:]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://kb:kb@127.0.0.1:5432/kb_secured")
    parser.add_argument("--keep", action="store_true", help="leave the node running")
    args = parser.parse_args()
    say(f"drill secured on {machine()}")
    node("start")
    results = []

    def check(name, ok, detail):
        results.append(ok)
        say(f"{'PASS' if ok else 'FAIL'}  {name}  ({detail})")

    teardown = setup_django(args.database_url, None, prefix=PREFIX)  # a throw-away database, migrated
    from django.db import connection
    database_url = args.database_url.rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    try:
        from elasticsearch import Elasticsearch

        admin = Elasticsearch(URL, ca_certs=str(CA), basic_auth=("elastic", PASSWORD), request_timeout=30)
        kb_password = "k" + secrets.token_urlsafe(16)  # never a leading "-", which the tool would read as an option
        file_realm_user(kb_password)
        as_kb = Elasticsearch(URL, ca_certs=str(CA), basic_auth=("kb", kb_password), request_timeout=30)
        wait_authenticated(as_kb)
        who = as_kb.security.authenticate()
        say(f"node {URL}: license {admin.license.get()['license']['type']}, security on; user "
            f"{who['username']} of the {who['authentication_realm']['type']} realm, roles {who['roles']} "
            f"(cluster monitor + manage_own_api_key, all on {PREFIX}-*)")
        # API keys live in the .security index, whose mapping needs analysis-common's pattern_capture
        # filter: integ-test-zip has no analysis-common, so this distribution cannot make one.
        try:
            key = as_kb.security.create_api_key(name="kb-drill")["encoded"]
        except Exception as exc:
            key = None
            say(f"NOTE  no API key on this distribution: {type(exc).__name__}: {str(exc)[:200]}")

        secure = {"ELASTICSEARCH_URL": URL, "ELASTICSEARCH_CA_CERTS": str(CA)}
        basic = {"ELASTICSEARCH_USERNAME": "kb", "ELASTICSEARCH_PASSWORD": kb_password}
        working = [("TLS with the CA file + basic auth (user kb)", {**secure, **basic})]
        if key:
            working.append(("TLS with the CA file + API key", {**secure, "ELASTICSEARCH_API_KEY": key}))
        for name, env in working:
            r = probe(database_url, **env)
            check(f"{name}: indices made, a study written is found, health ok",
                  r.get("found") is True and r.get("health") == "ok", json.dumps(r))
        for name, env, expect in (
                ("without the CA file", {"ELASTICSEARCH_URL": URL, **basic}, "TLS"),
                ("with a wrong password", {**secure, **basic, "ELASTICSEARCH_PASSWORD": "wrong"}, "Authentication"),
                ("with an API key the cluster does not know (sent as ApiKey)",
                 {**secure, "ELASTICSEARCH_API_KEY": "d3Jvbmc6a2V5"}, "Authentication"),
                ("over plain http", {"ELASTICSEARCH_URL": f"http://127.0.0.1:{PORT}", **basic}, "Connection")):
            r = probe(database_url, **env)
            check(f"{name}: refused, and the error says why", "error" in r and expect.lower() in r["error"].lower(),
                  json.dumps(r))
        for index in admin.indices.get(index=f"{PREFIX}-*"):
            admin.indices.delete(index=index)
    finally:
        teardown()
        if not args.keep:
            node("stop")
    failed = results.count(False)
    say(f"drill secured: {len(results) - failed} passed, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
