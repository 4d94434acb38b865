"""Benchmark: throughput of the production server under N concurrent anonymous clients.

    .venv/bin/python bench/load.py [--clients 50] [--seconds 60] [--studies 20000] [--workers 3]
                                   [--modes off,on] [--keep] [--cache-url redis://127.0.0.1:6379/12]

What it does, in one run:

1. Data: PostgreSQL database ``kb_bench_load`` (``--database-url``; created if missing, dropped at the
   end with its indices unless ``--keep``, reused by a later run when it holds the studies): the corpus of
   bench/web_search.py (``--studies`` synthetic published ROP studies with 2-5 authors and 1-3 topics,
   600 researchers at 20 institutions linked to a third of the authorships, 3,000 published summaries),
   indexed in Elasticsearch (``--elasticsearch-url``, index prefix ``kbload``), as in production.
   Semantic search is off (``KB_EMBEDDER=none``): the query embedding is measured by
   bench/hybrid_latency.py; here it would only measure the model.
2. For each mode of ``--modes`` (in that order; ``off,on,off,on`` alternates them): the production
   server through ``scripts/serve.sh web`` (gunicorn, ``--workers`` processes, KB_ENV=production with a
   loopback ALLOWED_HOSTS, a throw-away SECRET_KEY, Redis as CACHE_URL and broker, the anonymous rate
   limit raised), with the anonymous page cache off (``KB_PAGE_CACHE_SECONDS=0``, the baseline) or on
   (``on``: 300 s). The cache's Redis database is emptied before each mode, so every mode starts cold.
3. ``--clients`` threads, each sending one request after the other for ``--seconds`` seconds (no think
   time), over this mix of anonymous reads (weights in MIX):
     api_list     GET /api/v1/studies/ with filters (design, years, type, topic, ordering, page 1-3)
     api_search   GET /api/v1/search/?q= one or two real words of the corpus, sometimes with a filter
     web_search   GET /search/?q= the same kind of queries, the HTML page with its facets
     study_web    GET /studies/<id>/          the study page with its related studies
     study_api    GET /api/v1/studies/<id>/
     network      GET /api/v1/network/ (with a topic or years) or the /network/ page
     suggest      GET /api/v1/search/suggest/?q= 2-5 first letters of a word or name
   Queries, filters and studies are drawn with a Zipf-like popularity (weight 1/rank) from fixed,
   seeded candidate lists (400 queries, 300 list filters, every study), so a few are asked often and
   most rarely, as on a public site; the same seed gives every mode the same requests.
4. Prints, per mode: requests, req/s, errors (any status but 200, or no answer) and p50/p95/p99 per kind
   and overall, the share answered from the cache (``X-KB-Cache: hit``), the CPU seconds of the server
   (gunicorn's processes), of this client, and the machine's load average; then the ratio of the
   modes' throughputs. The client runs in this process; its CPU share is printed so one can see it is
   not the bottleneck.

Other work on the machine changes absolute numbers: compare modes of one run (alternate them).
"""

from __future__ import annotations

import argparse
import collections
import http.client
import os
import random
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MIX = {"api_list": 15, "api_search": 20, "web_search": 20, "study_web": 12, "study_api": 8, "network": 10,
       "suggest": 15}
SECRET = "load-benchmark-secret-key-not-for-production-use-0123456789abcdef"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_LOAD_DATABASE_URL", "postgres://kb:kb@127.0.0.1:5432/kb_bench_load"))
    parser.add_argument("--elasticsearch-url", default=os.environ.get("BENCH_ELASTICSEARCH_URL",
                                                                      "http://127.0.0.1:9200"))
    parser.add_argument("--cache-url", default=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/12"),
                        help="a Redis database the benchmark may empty (cache and broker of the server)")
    parser.add_argument("--studies", type=int, default=20_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument("--modes", default="off,on", help="comma-separated: off (no page cache), on")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--keep", action="store_true", help="keep the database for the next run")
    return parser.parse_args()


# --- data ----------------------------------------------------------------------------------------------

def prepare(args):
    """Create, fill and index the corpus (or reuse it). Returns what the request mix draws from."""
    os.environ.update({"KB_ENV": "test", "DATABASE_URL": args.database_url, "KB_EMBEDDER": "none",
                       "ELASTICSEARCH_URL": args.elasticsearch_url, "ELASTICSEARCH_INDEX_PREFIX": "kbload",
                       "DJANGO_SETTINGS_MODULE": "kb.settings"})
    from bench.web_search import ensure_database, indexed_studies, populate

    cfg = ensure_database(args.database_url)
    import logging

    import django

    django.setup()
    logging.getLogger("search.sync").setLevel(logging.ERROR)
    from django.core.management import call_command
    from django.db import connection

    from apps.researchers.models import Institution
    from apps.studies.models import Study
    from apps.topics.models import Topic
    from search.backends import get_backend

    print(f"database: {cfg['NAME']}; preparing {args.studies} studies", file=sys.stderr)
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    created = populate(args.studies)
    backend = get_backend()
    backend.setup()
    if created or indexed_studies(backend) < args.studies:
        print("  indexing in Elasticsearch …", file=sys.stderr)
        backend.rebuild()
        backend.refresh()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"  ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    data = {
        "studies": list(Study.objects.filter(status="published").order_by("id").values_list("id", flat=True)),
        "topics": list(Topic.objects.values_list("slug", flat=True)),
        "institutions": list(Institution.objects.values_list("id", flat=True)),
    }
    connection.close()
    return cfg, data


def drop(cfg, cache_url):
    from bench.web_search import drop_database
    from search.backends import get_backend

    backend = get_backend()
    backend.client.indices.delete(index=f"{backend.prefix}-*", ignore_unavailable=True)
    drop_database(cfg)
    flush_cache(cache_url)
    print(f"dropped {cfg['NAME']}, the kbload-* indices and the cache", file=sys.stderr)


# --- the request mix -------------------------------------------------------------------------------------

class Mix:
    """Seeded candidate lists and a Zipf-like draw over them (weight 1/rank)."""

    def __init__(self, data, seed=1):
        from bench.common import FAMILY, WORDS_EN, WORDS_NB

        rng = random.Random(seed)
        words = WORDS_EN + WORDS_NB
        designs = ["rct", "cohort", "qualitative", "cross_sectional", "systematic_review"]
        topics = data["topics"]
        queries = []
        while len(queries) < 400:
            q = rng.choice(words) if rng.random() < 0.6 else f"{rng.choice(words)} {rng.choice(words)}"
            extra = ""
            r = rng.random()
            if r < 0.15:
                extra = f"&design={rng.choice(designs)}"
            elif r < 0.25:
                extra = f"&year_from={rng.randint(1995, 2020)}"
            elif r < 0.32:
                extra = f"&topic={rng.choice(topics)}"
            elif r < 0.40:
                extra = "&page=2"
            queries.append(f"q={quote(q)}{extra}")
        filters = []
        while len(filters) < 300:
            parts = []
            if rng.random() < 0.5:
                parts.append(f"design={rng.choice(designs)}")
            if rng.random() < 0.5:
                lo = rng.randint(1990, 2020)
                parts.append(f"year_from={lo}&year_to={lo + rng.randint(0, 10)}")
            if rng.random() < 0.3:
                parts.append(f"topic={rng.choice(topics)}")
            if rng.random() < 0.3:
                parts.append(f"ordering={rng.choice(['-year', 'year', 'title'])}")
            if len(parts) <= 1 and rng.random() < 0.3:  # one filter leaves hundreds of studies: page 3 exists
                parts.append(f"page={rng.randint(2, 3)}")
            filters.append("&".join(parts))
        prefixes = sorted({w[:rng.randint(2, 5)] for w in words + FAMILY})
        rng.shuffle(prefixes)
        studies = list(data["studies"])
        rng.shuffle(studies)
        networks = ["/api/v1/network/"] + [f"/api/v1/network/?topic={t}" for t in topics[:20]] + \
            [f"/api/v1/network/?year_from={y}" for y in range(2000, 2021, 5)] + \
            ["/network/"] + [f"/network/?topic={t}" for t in topics[:10]]
        self.lists = {"queries": queries, "filters": filters, "prefixes": prefixes, "studies": studies,
                      "networks": networks}
        self.cum = {name: _cumulative(len(items)) for name, items in self.lists.items()}
        self.kinds = list(MIX)
        self.kind_weights = list(MIX.values())

    def pick(self, rng, name):
        return rng.choices(self.lists[name], cum_weights=self.cum[name])[0]

    def request(self, rng):
        kind = rng.choices(self.kinds, weights=self.kind_weights)[0]
        if kind == "api_list":
            path = "/api/v1/studies/?" + self.pick(rng, "filters")
        elif kind == "api_search":
            path = "/api/v1/search/?" + self.pick(rng, "queries")
        elif kind == "web_search":
            path = "/search/?" + self.pick(rng, "queries")
        elif kind == "study_web":
            path = f"/studies/{self.pick(rng, 'studies')}/"
        elif kind == "study_api":
            path = f"/api/v1/studies/{self.pick(rng, 'studies')}/"
        elif kind == "network":
            path = self.pick(rng, "networks")
        else:
            path = "/api/v1/search/suggest/?q=" + quote(self.pick(rng, "prefixes"))
        return kind, path.rstrip("?")


def _cumulative(n):
    out, total = [], 0.0
    for rank in range(1, n + 1):
        total += 1.0 / rank
        out.append(total)
    return out


# --- the server ----------------------------------------------------------------------------------------

def server_env(args, mode, var_dir):
    env = dict(os.environ)
    for name in ("KB_ENV", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update({
        "KB_ENV": "production", "SECRET_KEY": SECRET, "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": args.database_url, "ELASTICSEARCH_URL": args.elasticsearch_url,
        "ELASTICSEARCH_INDEX_PREFIX": "kbload", "KB_EMBEDDER": "none",
        "CACHE_URL": args.cache_url, "CELERY_BROKER_URL": args.cache_url,
        "KB_ANON_THROTTLE": "100000000/minute", "KB_WEB_WORKERS": str(args.workers),
        "KB_WEB_BIND": f"127.0.0.1:{args.port}", "KB_MIGRATE": "0", "KB_VAR_DIR": var_dir,
        "KB_PAGE_CACHE_SECONDS": "300" if mode == "on" else "0", "LOG_LEVEL": "WARNING",
    })
    return env


def flush_cache(url):
    import redis

    redis.Redis.from_url(url).flushdb()


def start_server(args, mode, var_dir, log):
    proc = subprocess.Popen([str(ROOT / "scripts" / "serve.sh"), "web"], cwd=ROOT, env=server_env(args, mode, var_dir),
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited ({proc.returncode}); see {log.name}")
        try:
            status, _, _ = fetch(args.port, "/health/")
            if status == 200:
                return proc
        except OSError:
            pass
        time.sleep(0.5)
    stop_server(proc)
    raise SystemExit(f"the server did not answer /health/ within 120 s; see {log.name}")


def stop_server(proc):
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def process_tree_cpu(pid):
    """CPU seconds (user + system) of a process and its live children (gunicorn's master and workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def services_cpu():
    """CPU seconds of the services on this machine (shared with any other work using them), by name."""
    tick = os.sysconf("SC_CLK_TCK")
    names = {"java": "elasticsearch", "postgres": "postgresql", "redis-server": "redis"}
    out = {}  # (service, pid) -> seconds; compared per process, so one that ended does not count negative
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            name = names.get((p / "comm").read_text().strip())
            if name:
                fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
                out[(name, int(p.name))] = (int(fields[11]) + int(fields[12])) / tick
        except (OSError, ValueError):
            continue
    return out


def services_delta(before, after):
    totals = {}
    for (name, pid), seconds in after.items():
        totals[name] = totals.get(name, 0.0) + seconds - before.get((name, pid), 0.0)
    return totals


def machine_busy():
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields), idle


# --- the clients ----------------------------------------------------------------------------------------

def fetch(port, path, accept="application/json", language="nb"):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Host": "localhost", "X-Forwarded-Proto": "https", "Accept": accept,
                                           "Accept-Language": language})
        response = conn.getresponse()
        body = response.read()
        return response.status, response.getheader("X-KB-Cache", ""), body
    finally:
        conn.close()


def run_clients(args, mix, seed):
    results = []  # (kind, status, seconds, cache)
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds
    errors_seen = collections.Counter()

    def client(i):
        rng = random.Random(seed * 1000 + i)
        mine = []
        while time.monotonic() < stop_at:
            kind, path = mix.request(rng)
            web = not path.startswith("/api/")
            t0 = time.perf_counter()
            try:
                status, cache, _ = fetch(args.port, path, "text/html" if web else "application/json",
                                         "en" if rng.random() < 0.2 else "nb")
            except OSError as exc:
                status, cache = 0, ""
                errors_seen[f"{type(exc).__name__}"] += 1
            mine.append((kind, status, time.perf_counter() - t0, cache))
            if status != 200 and len(errors_seen) < 20:
                errors_seen[f"{status} {path}"] += 1
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors_seen


def measure(args, mix, mode, var_dir, log):
    flush_cache(args.cache_url)
    proc = start_server(args, mode, var_dir, log)
    try:
        for path in ("/api/v1/search/?q=behandling", "/search/?q=behandling", "/api/v1/studies/"):
            fetch(args.port, path)  # each worker imports lazily on its first requests; not counted
        flush_cache(args.cache_url)
        cpu0, client0, busy0 = process_tree_cpu(proc.pid), resource.getrusage(resource.RUSAGE_SELF), machine_busy()
        services0 = services_cpu()
        t0 = time.perf_counter()
        results, errors = run_clients(args, mix, seed=7)
        elapsed = time.perf_counter() - t0
        cpu1, client1, busy1 = process_tree_cpu(proc.pid), resource.getrusage(resource.RUSAGE_SELF), machine_busy()
        services1 = services_cpu()
        load = os.getloadavg()
    finally:
        stop_server(proc)
    client_cpu = (client1.ru_utime - client0.ru_utime) + (client1.ru_stime - client0.ru_stime)
    total, idle = busy1[0] - busy0[0], busy1[1] - busy0[1]
    return {"mode": mode, "results": results, "errors": errors, "elapsed": elapsed, "server_cpu": cpu1 - cpu0,
            "client_cpu": client_cpu,
            "services": services_delta(services0, services1), "machine_busy": 1 - idle / total if total else 0, "load": load}


def report(run):
    from bench.common import percentiles

    results, elapsed = run["results"], run["elapsed"]
    by_kind = collections.defaultdict(list)
    for row in results:
        by_kind[row[0]].append(row)
    print(f"\nmode {run['mode']}: page cache {'on' if run['mode'] == 'on' else 'off'}, {elapsed:.0f} s")
    print(f"{'kind':12} {'requests':>9} {'req/s':>7} {'errors':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'cached':>7}")
    for kind in list(MIX) + ["all"]:
        rows = results if kind == "all" else by_kind.get(kind, [])
        if not rows:
            continue
        p = percentiles([r[2] * 1000 for r in rows])
        errors = sum(1 for r in rows if r[1] != 200)
        hits = sum(1 for r in rows if r[3] == "hit")
        print(f"{kind:12} {len(rows):9d} {len(rows) / elapsed:7.1f} {errors:7d} {p['p50']:8.0f} {p['p95']:8.0f} "
              f"{p['p99']:8.0f} {100 * hits / len(rows):6.0f}%")
    print(f"server CPU {run['server_cpu']:.0f} s ({run['server_cpu'] / elapsed:.2f} cores), client CPU "
          f"{run['client_cpu']:.0f} s ({run['client_cpu'] / elapsed:.2f} cores), machine busy "
          f"{100 * run['machine_busy']:.0f}%, load average {run['load'][0]:.1f} / {run['load'][1]:.1f} / "
          f"{run['load'][2]:.1f}")
    print("services (whole machine, approximate: connections that closed are left out): " + ", ".join(f"{name} {seconds / elapsed:.2f} cores"
                                                   for name, seconds in run["services"].items()))
    if run["errors"]:
        print("errors:", ", ".join(f"{k} x{v}" for k, v in run["errors"].most_common(10)))


def main():
    args = parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - {"on", "off"}:
        raise SystemExit("--modes takes on and off, e.g. off,on,off,on")
    cfg, data = prepare(args)
    from bench.common import git_revision, machine

    mix = Mix(data)
    runs = []
    try:
        with tempfile.TemporaryDirectory(prefix="kb-load-") as var_dir, \
                open(Path(var_dir) / "server.log", "w+") as log:
            for mode in modes:
                print(f"running mode {mode}: {args.clients} clients x {args.seconds:.0f} s …", file=sys.stderr)
                runs.append(measure(args, mix, mode, var_dir, log))
            log.seek(0)
            problems = [line for line in log if " ERROR " in line or "Traceback" in line]
            if problems:
                print(f"server log: {len(problems)} error lines, e.g. {problems[0].strip()}", file=sys.stderr)
    finally:
        if not args.keep:
            drop(cfg, args.cache_url)
    print(f"\nload: {args.clients} clients x {args.seconds:.0f} s per mode against gunicorn ({args.workers} "
          f"workers, KB_ENV=production) on loopback; {len(data['studies']):,} published studies in "
          f"Elasticsearch; revision {git_revision()}")
    print(f"machine: {machine()}")
    for run in runs:
        report(run)
    rates = collections.defaultdict(list)
    for run in runs:
        rates[run["mode"]].append(len(run["results"]) / run["elapsed"])
    if rates.get("on") and rates.get("off"):
        on, off = sum(rates["on"]) / len(rates["on"]), sum(rates["off"]) / len(rates["off"])
        print(f"\nthroughput: cache on {on:.1f} req/s, off {off:.1f} req/s: x{on / off:.2f}")


if __name__ == "__main__":
    main()
