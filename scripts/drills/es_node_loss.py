"""Elasticsearch node-loss drills: kb keeps searching and writing while a node is SIGKILLed, and the
index converges to the database after the node returns, with no manual step.

    .venv/bin/python scripts/drills/es_node_loss.py cluster   # 3-node cluster (scripts/services/es-cluster.sh)
    .venv/bin/python scripts/drills/es_node_loss.py single    # one private node, killed during 1,000 writes

``cluster``: 20 threads search through kb's search backend and a writer creates and publishes studies
through kb's services (the in-process path: each commit drains the outbox) while the node holding the
primary of the studies index is SIGKILLed; after ``--down`` seconds es-cluster.sh starts it again.
Criteria: 0 failed searches, 0 failed or lost writes, the cluster green again, the index equal to the
database (every study, same digest, no orphans).

``single``: a private single node (scripts/services/elasticsearch.sh on 127.0.0.1:9214) is SIGKILLed
after 300 of 1,000 writes and started again at once (it takes its start-up time to answer). Criteria:
0 failed writes, the index equal to the database within ``--converge`` seconds of the node answering
again; prints how many seconds that took.

Nothing calls drain/reconcile by hand: what brings the index back is what production runs, the
after-commit drain of later writes and beat's periodic outbox drain, simulated by a thread that drains
every ``--drain-seconds`` (production: KB_OUTBOX_DRAIN_SECONDS, 60). Runs on a throw-away database
(test_<name> of --database-url, dropped at the end) and its own index prefix; bounded by ``--timeout``.
Prints PASS/FAIL per criterion and exits 1 when one failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench.common import WORDS_EN, machine, percentiles, setup_django  # noqa: E402

CLUSTER_SCRIPT = ROOT / "scripts/services/es-cluster.sh"
NODE_SCRIPT = ROOT / "scripts/services/elasticsearch.sh"
CLUSTER_DIR = os.environ.get("KB_ES_CLUSTER_DIR", "/var/lib/kb-services/es-cluster")
SINGLE_DIR = "/var/lib/kb-services/es-drill"
SINGLE_ENV = {"KB_SERVICES_DIR": SINGLE_DIR, "KB_ES_PORT": "9214", "KB_ES_TRANSPORT_PORT": "9314",
              "KB_ES_NODE_NAME": "kb-es-drill", "KB_ES_CLUSTER_NAME": "kb-drill"}
PREFIX = "kbdrill"


def say(*args):
    print(*args, flush=True)


class Criteria:
    def __init__(self):
        self.results = []

    def check(self, name, ok, detail=""):
        self.results.append((name, bool(ok)))
        say(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""))

    @property
    def failed(self):
        return [n for n, ok in self.results if not ok]


def get_json(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as answer:
        return json.load(answer)


def run(argv, env=None, timeout=300):
    started = time.monotonic()
    result = subprocess.run(argv, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))} exited {result.returncode}:\n{result.stdout[-1500:]}"
                           f"{result.stderr[-1500:]}")
    return time.monotonic() - started


def pid_of(node_dir):
    return int(Path(node_dir, "run/elasticsearch.pid").read_text().strip())


def sigkill(pid, timeout=30):
    """SIGKILL ``pid`` and wait until it is gone (its ports free), as after a crash."""
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)


# --- load ---------------------------------------------------------------------------------------
class Writer(threading.Thread):
    """Creates a draft and publishes it, through kb's services, ``limit`` times or until stopped."""

    def __init__(self, word, limit=None, on_write=None):
        super().__init__(daemon=True)
        self.word, self.limit, self.on_write = word, limit, on_write
        self.ids, self.failures, self.seconds = [], [], []
        self.stop = threading.Event()

    def run(self):
        from django.db import connections

        from apps.studies.services import create_study, publish_study
        rng = random.Random(7)
        try:
            while not self.stop.is_set() and (self.limit is None or len(self.ids) + len(self.failures) < self.limit):
                started = time.perf_counter()
                try:
                    title = " ".join(rng.choice(WORDS_EN) for _ in range(6))
                    study = create_study(None, {"title": f"{title} {self.word}", "year": 2025, "language": "en",
                                                "study_type": "article", "abstract": f"Written by the drill ({self.word}).",
                                                "authors": [{"name": "Drill, Kari"}]})
                    publish_study(None, study)
                    self.ids.append(study.id)
                except Exception as exc:  # a write a user would have seen fail
                    self.failures.append(f"{type(exc).__name__}: {exc}"[:300])
                self.seconds.append(time.perf_counter() - started)
                if self.on_write:
                    self.on_write(len(self.ids) + len(self.failures))
        finally:
            self.ended = time.monotonic()
            connections.close_all()


class Searcher(threading.Thread):
    def __init__(self, backend, seed):
        super().__init__(daemon=True)
        self.backend, self.rng = backend, random.Random(seed)
        self.count, self.failures, self.seconds = 0, [], []
        self.stop = threading.Event()

    def run(self):
        from django.db import connections

        from search.backends.base import SearchRequest
        from search.query import parse
        try:
            while not self.stop.is_set():
                q = " ".join(self.rng.choice(WORDS_EN) for _ in range(self.rng.choice((1, 2))))
                started = time.perf_counter()
                try:
                    self.backend.search(SearchRequest(query=parse(q), page_size=10))
                except Exception as exc:
                    self.failures.append((time.monotonic(), f"{type(exc).__name__}: {exc}"[:300]))
                self.seconds.append(time.perf_counter() - started)
                self.count += 1
        finally:
            connections.close_all()


class SearchLoad:
    """``clients`` Searcher threads in a child process of their own (forked), so the writer is not
    starved of this process's interpreter lock by twenty busy threads, as separate clients would not be."""

    def __init__(self, clients):
        import multiprocessing

        from django.db import connections

        connections.close_all()  # the child must not share the parent's database connections
        ctx = multiprocessing.get_context("fork")
        self.stop, self.results = ctx.Event(), ctx.Queue()
        self.process = ctx.Process(target=self._run, args=(clients,), daemon=True)

    def _run(self, clients):
        from search.backends import get_backend, reset_backend

        reset_backend()  # a client of its own, not the parent's connection pool
        searchers = [Searcher(get_backend(), seed) for seed in range(clients)]
        for t in searchers:
            t.start()
        self.stop.wait()
        for t in searchers:
            t.stop.set()
            t.join(60)
        self.results.put({"count": sum(t.count for t in searchers),
                          "failures": [f for t in searchers for f in t.failures][:1000],
                          "failed": sum(len(t.failures) for t in searchers),
                          "seconds": [v for t in searchers for v in t.seconds]})

    def start(self):
        self.process.start()

    def finish(self):
        self.stop.set()
        result = self.results.get(timeout=120)
        self.process.join(30)
        return result


class Beat(threading.Thread):
    """What beat does in production: drain the outbox every ``interval`` seconds."""

    def __init__(self, interval):
        super().__init__(daemon=True)
        self.interval = interval
        self.stop = threading.Event()

    def run(self):
        from django.db import connections

        from search import sync
        try:
            while not self.stop.wait(self.interval):
                try:
                    sync.drain()
                except Exception as exc:  # drain records failures on the rows; anything else is logged
                    say(f"  beat: drain raised {type(exc).__name__}: {exc}")
        finally:
            connections.close_all()


# --- checks -------------------------------------------------------------------------------------
def compare(backend):
    """(missing, stale, orphans, pending outbox rows): what separates the index from the database."""
    from search import sources
    from search.models import PendingIndex
    from search.sync import VECTORS

    backend.refresh()
    indexed = backend.indexed_digests("studies")
    ids = list(sources.all_ids("studies"))
    missing = stale = 0
    for start in range(0, len(ids), 1000):
        for object_id, doc in sources.build("studies", ids[start:start + 1000]).items():
            if object_id not in indexed:
                missing += 1
            elif indexed[object_id] != sources.digest(doc):
                stale += 1
    orphans = len(set(indexed) - set(ids))
    return missing, stale, orphans, PendingIndex.objects.exclude(kind=VECTORS).count()


def wait_converged(backend, bound, poll=0.5):
    """Seconds until the index equals the database (no missing, stale, orphan, pending), or None."""
    started = time.monotonic()
    last = None
    while time.monotonic() - started < bound:
        try:
            last = compare(backend)
            if last == (0, 0, 0, 0):
                return time.monotonic() - started, last
        except Exception as exc:  # the node is still coming up
            last = f"{type(exc).__name__}"
        time.sleep(poll)
    return None, last


def lost_writes(writer):
    """Studies the writer was told were written and published that the database does not hold so."""
    from apps.studies.models import Study

    found = set(Study.objects.filter(pk__in=writer.ids, status="published").values_list("id", flat=True))
    return [i for i in writer.ids if i not in found]


def latency(values):
    p = percentiles([v * 1000 for v in values] or [0])
    return f"p50 {p['p50']:.0f} ms, p95 {p['p95']:.0f} ms, max {max(values or [0]) * 1000:.0f} ms"


def stop_all(running):
    """Stop the load (also when the drill failed half-way), so the database can be dropped."""
    for t in running:
        if isinstance(t, SearchLoad):
            if t.process.is_alive():
                t.stop.set()
                t.process.join(60)
                if t.process.is_alive():
                    t.process.kill()
        else:
            t.stop.set()
            t.join(60)


def drop_database(teardown):
    from django.db import connection, connections

    connections.close_all()
    try:
        teardown()
    except Exception:  # a session still open (a thread that did not stop in time): end it, then drop
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", [connection.settings_dict["NAME"]])
        connections.close_all()
        teardown()


def get_backend_client():
    from search.backends import get_backend

    return get_backend().client


def reset_indices(url):
    """(After Django's set-up.) An empty index of our prefix; the outage's warnings, by the hundred, muted."""
    from search.backends import get_backend

    for noisy in ("elastic_transport", "elasticsearch", "search", "celery"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)

    backend = get_backend()
    backend.client.indices.delete(index=f"{PREFIX}-*", ignore_unavailable=True)
    backend.setup()
    return backend


# --- the drills ---------------------------------------------------------------------------------
def drill_cluster(args, criteria):
    say(f"es-cluster.sh start ({CLUSTER_SCRIPT})")
    run([str(CLUSTER_SCRIPT), "start"], timeout=args.timeout)
    url = subprocess.run([str(CLUSTER_SCRIPT), "url"], capture_output=True, text=True, check=True).stdout.strip()
    os.environ["ELASTICSEARCH_REPLICAS"] = "1"
    teardown = setup_django(args.database_url, url, prefix=PREFIX)
    running = []
    try:
        from bench.common import make_studies

        backend = reset_indices(url)
        make_studies(args.seed_studies, progress=False)
        backend.rebuild()
        index = next(iter(backend.client.indices.get_alias(name=backend.alias("studies"))))
        replicas = backend.client.indices.get_settings(index=index)[index]["settings"]["index"]["number_of_replicas"]
        criteria.check("the studies index has 1 replica", replicas == "1", f"number_of_replicas {replicas}")
        first = url.split(",")[0]
        health = get_json(f"{first}/_cluster/health?wait_for_status=green&wait_for_no_relocating_shards=true"
                          "&wait_for_no_initializing_shards=true&timeout=120s", timeout=130)
        say(f"cluster {health['status']}, {health['number_of_nodes']} nodes, {args.seed_studies} studies indexed")

        load = SearchLoad(args.clients)
        load.start()
        writer = Writer("drillcluster")
        beat = Beat(args.drain_seconds)
        for t in (writer, beat):
            t.start()
        running.extend((load, writer, beat))
        time.sleep(args.warmup)
        shards = get_json(f"{first}/_cat/shards/{index}?format=json&h=prirep,node")
        victim = next(s["node"].split()[0] for s in shards if s["prirep"] == "p")  # the node with the primary
        node_dir = Path(CLUSTER_DIR, f"node{victim.removeprefix('kb-es-c')}")
        say(f"SIGKILL {victim} (pid {pid_of(node_dir)}), the node holding the primary of {index}; "
            f"{len(writer.ids)} writes so far")
        killed = time.monotonic()
        sigkill(pid_of(node_dir))
        time.sleep(args.down)
        say(f"es-cluster.sh start after {time.monotonic() - killed:.0f} s down; {len(writer.ids)} writes so far")
        back = run([str(CLUSTER_SCRIPT), "start"], timeout=args.timeout)
        say(f"cluster green again {back:.1f} s after the start command ({time.monotonic() - killed:.1f} s after the kill)")
        time.sleep(args.after)
        writer.stop.set()
        searched = load.finish()
        writer.join(60)

        failures = sorted(searched["failures"])
        criteria.check(f"0 failed searches ({args.clients} clients)", not searched["failed"],
                       f"{searched['count']} searches, {searched['failed']} failed"
                       + (f", first: {failures[0][1]} at {failures[0][0] - killed:+.1f} s" if failures else "")
                       + f"; {latency(searched['seconds'])}")
        criteria.check("0 failed writes", not writer.failures,
                       f"{len(writer.ids)} studies created and published, {len(writer.failures)} failed"
                       + (f", first: {writer.failures[0]}" if writer.failures else "")
                       + f"; {latency(writer.seconds)} per create + publish")
        lost = lost_writes(writer)
        criteria.check("0 lost writes", not lost, f"{len(lost)} missing from the database")
        seconds, last = wait_converged(backend, args.converge)
        beat.stop.set()
        beat.join(30)
        criteria.check("index equal to the database, no manual step", seconds is not None,
                       f"after {seconds:.1f} s" if seconds is not None else f"not within {args.converge} s: "
                       f"(missing, stale, orphans, pending) = {last}")
        health = get_json(f"{first}/_cluster/health?wait_for_status=green&timeout=60s", timeout=70)
        criteria.check("cluster green with every node", health["status"] == "green" and health["number_of_nodes"] == 3,
                       f"{health['status']}, {health['number_of_nodes']} nodes")
        backend.client.indices.delete(index=f"{PREFIX}-*", ignore_unavailable=True)
    finally:
        stop_all(running)
        drop_database(teardown)


def drill_single(args, criteria):
    node_env = {**SINGLE_ENV, "KB_ES_NODE": "elasticsearch"}
    url = f"http://127.0.0.1:{SINGLE_ENV['KB_ES_PORT']}"
    say(f"elasticsearch.sh start (private node, {url}, {SINGLE_DIR})")
    run([str(NODE_SCRIPT), "start"], env=node_env, timeout=args.timeout)
    teardown = setup_django(args.database_url, url, prefix=PREFIX)
    running = []
    try:
        backend = reset_indices(url)
        node_dir = Path(SINGLE_DIR, "elasticsearch")
        events = {}

        def on_write(n):
            if n == args.kill_at:
                events["killed"] = time.monotonic()
                sigkill(pid_of(node_dir))
                say(f"SIGKILL the node (after write {n}); starting it again")
                threading.Thread(target=restart, daemon=True).start()

        def restart():
            try:
                run([str(NODE_SCRIPT), "start"], env=node_env, timeout=args.timeout)
                events["back"] = time.monotonic()
                say(f"node answering again {events['back'] - events['killed']:.1f} s after the kill "
                    f"(writes so far: {len(writer.ids)})")
            except Exception as exc:
                events["restart_error"] = str(exc)

        writer = Writer("drillsingle", limit=args.writes, on_write=on_write)
        beat = Beat(args.drain_seconds)
        running.extend((writer, beat))
        started = time.monotonic()
        writer.start()
        beat.start()
        writer.join(args.timeout)
        say(f"{args.writes} writes in {time.monotonic() - started:.1f} s ({latency(writer.seconds)})")
        deadline = time.monotonic() + args.timeout
        while "back" not in events and "restart_error" not in events and time.monotonic() < deadline:
            time.sleep(0.2)
        criteria.check("the node started again by its script", "back" in events, events.get("restart_error", ""))
        criteria.check("0 failed writes", not writer.failures and len(writer.ids) == args.writes,
                       f"{len(writer.ids)} written, {len(writer.failures)} failed"
                       + (f", first: {writer.failures[0]}" if writer.failures else ""))
        lost = lost_writes(writer)
        criteria.check("0 lost writes", not lost, f"{len(lost)} missing from the database")
        if "back" in events:
            seconds, last = wait_converged(backend, args.converge)
            now = time.monotonic()
            criteria.check("index equal to the database after the restart, no manual step", seconds is not None,
                           f"{now - max(events['back'], writer.ended):.1f} s after the node answered again and "
                           f"the writes had ended (node back {events['back'] - events['killed']:.1f} s after the kill, "
                           f"writes ended {writer.ended - events['back']:+.1f} s from then)"
                           if seconds is not None else
                           f"not within {args.converge} s: (missing, stale, orphans, pending) = {last}")
        beat.stop.set()
        beat.join(30)
    finally:
        try:
            get_backend_client().indices.delete(index=f"{PREFIX}-*", ignore_unavailable=True)
        except Exception as exc:
            say(f"  could not delete the drill's indices: {type(exc).__name__}")
        stop_all(running)
        drop_database(teardown)
        if not args.keep:
            run([str(NODE_SCRIPT), "stop"], env=node_env)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("drill", choices=["cluster", "single"])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 "postgres://kb:kb@127.0.0.1:5432/kb_drill"))
    parser.add_argument("--clients", type=int, default=20, help="searching threads (cluster)")
    parser.add_argument("--seed-studies", type=int, default=2000, help="studies indexed before (cluster)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of load before the kill (cluster)")
    parser.add_argument("--down", type=float, default=20, help="seconds the node stays dead (cluster)")
    parser.add_argument("--after", type=float, default=10, help="seconds of load once green again (cluster)")
    parser.add_argument("--writes", type=int, default=1000, help="writes (single)")
    parser.add_argument("--kill-at", type=int, default=300, help="the write after which the node dies (single)")
    parser.add_argument("--drain-seconds", type=float, default=10, help="beat's outbox drain interval")
    parser.add_argument("--converge", type=float, default=120, help="bound for the index to equal the database")
    parser.add_argument("--timeout", type=float, default=600, help="the whole drill's bound")
    parser.add_argument("--keep", action="store_true", help="leave the private node running (single)")
    args = parser.parse_args()
    os.environ.pop("CELERY_BROKER_URL", None)  # the in-process path: tasks run in this process

    def out_of_time(signum, frame):
        raise TimeoutError(f"the drill took more than {args.timeout:.0f} s")
    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(int(args.timeout))
    say(f"drill {args.drill} on {machine()}")
    criteria = Criteria()
    try:
        (drill_cluster if args.drill == "cluster" else drill_single)(args, criteria)
    except TimeoutError as exc:
        criteria.check("finished within the bound", False, str(exc))
    finally:
        signal.alarm(0)
    say(f"drill {args.drill}: {len(criteria.results) - len(criteria.failed)} passed, {len(criteria.failed)} failed")
    return 1 if criteria.failed or not criteria.results else 0


if __name__ == "__main__":
    sys.exit(main())
