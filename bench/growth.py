"""Growth: kb's costs at 10k / 100k / 1M studies on PostgreSQL + Elasticsearch, in one table.

    .venv/bin/python bench/growth.py --sizes 10000,100000,1000000 [--keep] [--json growth.json]

One PostgreSQL database (``--database-url``, default postgres://kb:kb@127.0.0.1:5432/kb_bench_growth;
created and migrated if missing, dropped at the end unless ``--keep``) grows from size to size, and one
Elasticsearch index (prefix ``--prefix``) is rebuilt at each. For each size, in this order, each step in
a child process of its own (so its peak memory is its own: ``ru_maxrss``):

1. **build**: top the corpus up to the size with ``common.copy_studies`` (COPY in batches of 50k,
   secondary indexes dropped and built again after; first authors' family names as varied as
   bench/import.py's), researchers and summaries as bench/web_search.py has them (once), ANALYZE;
   PostgreSQL table and index sizes.
2. **index**: bench/index.py's ``measure``: kb's rebuild (``search_index --rebuild`` without the final
   merge) against a raw ``helpers.bulk`` of the same documents (the first ``--raw-sample`` of them: at
   1M a second full load would double the run; kb's rate over its own first documents is compared);
   the indexer's peak RSS is read right after the rebuild. Elasticsearch index size.
3. **search**: bench/search_latency.py's ``measure`` over its query mix: the search API against the
   same ``_msearch`` body sent raw, p50/p95 overall and per kind of request.
4. **web**: bench/web_search.py's ``measure``: the search page's server time per scenario.
5. **import**: bench/import.py's generated file (``--import-entries``; 5 % repeat a stored study's DOI,
   3 % are near-duplicates of stored studies, 2 % repeat an earlier entry) imported into the corpus, then
   the same file again, against bibtexparser's bare parse of the same text; the importer's peak RSS (and
   its reader process's). Where the database is small enough for the first-author blocks to be preloaded
   (``PRELOAD_MAX_STUDIES``), the file is imported once more (its new studies deleted first) with the
   blocks looked up as needed, the way every import past that limit runs. The studies the imports
   created are deleted afterwards, so the next size starts from the corpus alone.

The table is lexical: studies are indexed without vectors (hybrid latency at 100k is
bench/hybrid_latency.py's). ``--keep`` keeps the database (a later run reuses the studies it holds,
up to each size) and the index.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

STEPS = ("build", "index", "search", "web", "import")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--database-url", default=os.environ.get("BENCH_GROWTH_DATABASE_URL",
                                                            "postgres://kb:kb@127.0.0.1:5432/kb_bench_growth"))
    p.add_argument("--elasticsearch-url", default=os.environ.get("BENCH_ELASTICSEARCH_URL",
                                                                 "http://127.0.0.1:9200"))
    p.add_argument("--prefix", default="kbbench-growth", help="Elasticsearch index prefix")
    p.add_argument("--requests", type=int, default=300, help="search API requests per size")
    p.add_argument("--repeat", type=int, default=15, help="timed web page requests per scenario")
    p.add_argument("--import-entries", type=int, default=10_000)
    p.add_argument("--raw-sample", type=int, default=200_000, help="documents of the raw bulk baseline")
    p.add_argument("--steps", default=",".join(STEPS), help="which steps to run (build always runs)")
    p.add_argument("--corpus", choices=("rop", "topical"), default="rop",
                   help="rop: every study's words drawn from ~50 ROP words (a stress corpus: each word in "
                        "37-70 %% of the studies); topical: real abstracts' word frequencies plus two ROP "
                        "topic words per study (common.TopicalText)")
    p.add_argument("--keep", action="store_true", help="keep the database and the index")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--step", help=argparse.SUPPRESS)  # a child: run this one step
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    return p.parse_args()


def peak_rss_mb(who=resource.RUSAGE_SELF):
    return resource.getrusage(who).ru_maxrss / 1024  # kB on Linux


# --- the parent: one child per step and size --------------------------------------------------------
def database(url, drop=False):
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    with psycopg.connect(host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"], password=cfg["PASSWORD"],
                         dbname="postgres", autocommit=True) as admin:
        if drop:
            admin.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')
        elif not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            admin.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    return cfg["NAME"]


def run_child(args, step, size):
    out = f"/tmp/kb-growth-{os.getpid()}-{step}-{size}.json"
    cmd = [sys.executable, __file__, "--step", step, "--size", str(size), "--out", out,
           "--database-url", args.database_url, "--elasticsearch-url", args.elasticsearch_url,
           "--prefix", args.prefix, "--requests", str(args.requests), "--repeat", str(args.repeat),
           "--import-entries", str(args.import_entries), "--raw-sample", str(args.raw_sample),
           "--corpus", args.corpus]
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - started
    with open(out) as f:
        result = json.load(f)
    os.unlink(out)
    result["step_seconds"] = round(seconds, 1)
    result["load_after"] = round(os.getloadavg()[0], 2)
    print(f"[{time.strftime('%H:%M:%S')}] {size:,} {step}: {seconds:.0f} s, load {result['load_after']}",
          file=sys.stderr, flush=True)
    return result


def main():
    args = parse_args()
    if args.step:
        return child(args)
    from common import git_revision, machine

    sizes = [int(s) for s in args.sizes.split(",")]
    steps = [s for s in STEPS if s == "build" or s in args.steps.split(",")]
    name = database(args.database_url)
    results = {"machine": machine(), "revision": git_revision(), "database": name, "corpus": args.corpus, "sizes": {},
               "started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
    try:
        for size in sizes:
            row = results["sizes"][str(size)] = {}
            for step in steps:
                row[step] = run_child(args, step, size)
                if args.json:
                    write_json(args.json, results)
    finally:
        if not args.keep:
            drop_index(args)
            database(args.database_url, drop=True)
            print(f"dropped {name} and the {args.prefix}-* indices", file=sys.stderr)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print_table(results)
    if args.json:
        write_json(args.json, results)


def write_json(path, results):
    with open(path, "w") as f:
        json.dump(results, f, indent=1)


def drop_index(args):
    from elasticsearch import Elasticsearch

    Elasticsearch(args.elasticsearch_url).indices.delete(index=f"{args.prefix}-*", ignore_unavailable=True)


def print_table(results):
    sizes = list(results["sizes"])
    rows = []

    def get(size, *path):
        d = results["sizes"][size]
        for p in path:
            if not isinstance(d, dict) or p not in d:
                return None
            d = d[p]
        return d

    def add(label, fmt, *path, fn=None):
        cells = []
        for s in sizes:
            v = get(s, *path)
            v = fn(results["sizes"][s]) if fn and v is not None else v
            cells.append("—" if v is None else fmt.format(v))
        rows.append((label, cells))

    add("corpus build (s)", "{:,.0f}", "build", "step_seconds")
    add("import, new studies (entries/s)", "{:,.0f}", "import", "new", "entries_per_s")
    add("  bibtexparser bare parse (entries/s)", "{:,.0f}", "import", "new", "bibtexparser_per_s")
    add("import, new studies, blocks looked up as past 250k (entries/s)", "{:,.0f}", "import", "new_looked_up",
        "entries_per_s")
    add("import, the same file again (entries/s)", "{:,.0f}", "import", "again", "entries_per_s")
    add("  bibtexparser bare parse (entries/s)", "{:,.0f}", "import", "again", "bibtexparser_per_s")
    add("  duplicate candidates", "{}", "import", "candidates")
    add("index rebuild, kb (docs/s)", "{:,.0f}", "index", "kb_per_s")
    add("  kb over the raw sample's documents (docs/s)", "{:,.0f}", "index", "kb_first_per_s")
    add("  raw helpers.bulk, same documents (docs/s)", "{:,.0f}", "index", "raw_per_s")
    add("  kb / raw (target >= 80 %)", "{:.0%}", "index", "kb_over_raw")
    add("search API p50 / p95 (ms)", "{}", "search", "api", fn=lambda r: "{:.0f} / {:.0f}".format(
        r["search"]["api"]["p50"], r["search"]["api"]["p95"]))
    add("  raw Elasticsearch p50 / p95 (ms)", "{}", "search", "raw", fn=lambda r: "{:.0f} / {:.0f}".format(
        r["search"]["raw"]["p50"], r["search"]["raw"]["p95"]))
    add("  API / raw at p95 (target <= 1.5)", "{:.2f}", "search", "api",
        fn=lambda r: r["search"]["api"]["p95"] / r["search"]["raw"]["p95"])
    for kind in ("one word", "two words"):
        add(f"  {kind}: API p95 (raw p95) ms (target < 150 at 1M)", "{}", "search", "kinds", kind,
            fn=lambda r, k=kind: "{:.0f} ({:.0f})".format(r["search"]["kinds"][k]["api"]["p95"],
                                                          r["search"]["kinds"][k]["raw"]["p95"]))
    add("web search page p50 / p95 (ms)", "{}", "web", "all",
        fn=lambda r: "{:.0f} / {:.0f}".format(r["web"]["all"]["p50"], r["web"]["all"]["p95"]))
    add("PostgreSQL tables (MB)", "{:,.0f}", "build", "pg", "table_mb")
    add("PostgreSQL indexes (MB)", "{:,.0f}", "build", "pg", "index_mb")
    add("Elasticsearch index (MB)", "{:,.0f}", "index", "es_mb")
    add("importer peak RSS (MB)", "{:,.0f}", "import", "peak_rss_mb")
    add("  its reader process (MB)", "{:,.0f}", "import", "reader_peak_rss_mb")
    add("indexer peak RSS (MB)", "{:,.0f}", "index", "peak_rss_mb")
    for step in STEPS:
        add(f"step time: {step} (s)", "{:,.0f}", step, "step_seconds")
    add("load average after the step: search", "{:.2f}", "search", "load_after")
    print(f"\n# growth ({results.get('corpus', 'rop')} corpus): {results['machine']}; kb {results['revision']}; "
          f"{results['started']}")
    print("| | " + " | ".join(f"{int(s):,}" for s in sizes) + " |")
    print("|---|" + "---|" * len(sizes))
    for label, cells in rows:
        print(f"| {label} | " + " | ".join(cells) + " |")


# --- a child: one step at one size --------------------------------------------------------------------
def setup(args):
    os.environ["KB_ENV"] = "test"
    os.environ["DATABASE_URL"] = args.database_url
    os.environ["ELASTICSEARCH_URL"] = args.elasticsearch_url
    os.environ["ELASTICSEARCH_INDEX_PREFIX"] = args.prefix
    os.environ["KB_ANON_THROTTLE"] = "100000000/minute"  # a benchmark is not abuse
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("search.sync").setLevel(logging.ERROR)
    logging.getLogger("django.request").setLevel(logging.ERROR)


def child(args):
    setup(args)
    base = peak_rss_mb()
    result = globals()[f"step_{args.step}"](args, args.size)
    result["rss_after_setup_mb"] = round(base, 1)
    with open(args.out, "w") as f:
        json.dump(result, f, default=str)


def step_build(args, size):
    import random

    from django.core.management import call_command
    from django.db import connection

    from apps.researchers.models import Researcher
    from apps.studies.models import Study
    from common import TopicalText, copy_studies, rop_words
    from web_search import add_people_and_summaries

    imp = import_bench()
    call_command("migrate", verbosity=0)
    have = Study.objects.count()
    started = time.perf_counter()
    made = copy_studies(size - have, family=lambda rng: imp.plain(imp.family(rng)),
                        text=TopicalText() if args.corpus == "topical" else rop_words)
    copied = time.perf_counter() - started
    if not Researcher.objects.exists():
        add_people_and_summaries(random.Random(7))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
        cursor.execute("SELECT coalesce(sum(pg_table_size(c.oid)), 0), coalesce(sum(pg_indexes_size(c.oid)), 0) "
                       "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = current_schema() AND c.relkind = 'r'")
        table, index = cursor.fetchone()
        cursor.execute("SELECT c.relname, pg_table_size(c.oid), pg_indexes_size(c.oid) FROM pg_class c "
                       "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
                       "AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 4")
        largest = [(name, round(int(t) / 2**20), round(int(i) / 2**20)) for name, t, i in cursor.fetchall()]
    return {"studies": Study.objects.count(), "copied": made, "copy_seconds": round(copied, 1),
            "copy_per_s": round(made / copied) if made else None,
            "pg": {"table_mb": int(table) / 2**20, "index_mb": int(index) / 2**20, "largest": largest}}


def step_index(args, size):
    from index import measure
    from search.backends import get_backend

    backend = get_backend()
    memory = {}
    m = measure(backend, raw_limit=args.raw_sample,
                after_rebuild=lambda: memory.setdefault("peak", peak_rss_mb()))
    stats = backend.client.indices.stats(index=backend.alias("studies"))
    m["es_mb"] = stats["_all"]["primaries"]["store"]["size_in_bytes"] / 2**20
    m["es_segments"] = stats["_all"]["primaries"]["segments"]["count"]
    m["peak_rss_mb"] = memory["peak"]
    return m


def step_search(args, size):
    import random

    from common import WSGIClient, percentiles
    from search.backends import get_backend
    from search_latency import KINDS, measure, query_mix

    mix = query_mix(random.Random(7), args.requests)
    m = measure(get_backend(), WSGIClient(), mix)
    kinds = {}
    for k, label in enumerate(KINDS):
        picked = [i for i, kind in enumerate(m["kind"]) if kind == k]
        kinds[label] = {"api": percentiles([m["api"][i] for i in picked]),
                        "raw": percentiles([m["raw"][i] for i in picked])}
    return {"requests": len(mix), "with_hits": m["hits"], "api": percentiles(m["api"]),
            "raw": percentiles(m["raw"]), "kinds": kinds}


def step_web(args, size):
    from django.test.utils import setup_test_environment

    from common import percentiles
    from web_search import measure

    setup_test_environment()
    rows, everything = measure(args.repeat)
    return {"all": percentiles(everything),
            "scenarios": [dict(zip(("scenario", "hits", "p50", "p95", "max", "queries"), r)) for r in rows]}


def import_bench():
    import importlib

    return importlib.import_module("import")  # bench/import.py


def step_import(args, size):
    import random
    import shutil

    from django.conf import settings

    import search.sync
    from apps.imports import decide
    from apps.studies.models import Authorship, Study

    imp = import_bench()
    search.sync.schedule_drain = lambda: None  # indexing is the worker's job after commit
    settings.MEDIA_ROOT = f"/tmp/kb-bench-growth-{os.getpid()}"
    # stored studies the file repeats (by DOI) or nearly repeats (a typo in the title)
    rng = random.Random(size)
    top = Study.objects.order_by("-id").values_list("id", flat=True).first()
    sample = sorted(rng.sample(range(1, top + 1), min(2000, top)))
    authors = {}
    for sid, f, g in (Authorship.objects.filter(study_id__in=sample).order_by("study_id", "position")
                      .values_list("study_id", "family_name", "given_name")):
        authors.setdefault(sid, []).append((f, g))
    existing = [{"title": t, "year": y, "doi": d, "volume": v, "authors": authors.get(i, [])}
                for i, t, y, d, v in Study.objects.filter(id__in=sample, provenance="fixture")
                .values_list("id", "title", "year", "doi", "volume") if authors.get(i)]
    text = imp.generate(args.import_entries, existing, seed=size)
    data = text.encode("utf-8")
    before = Study.objects.count()
    out = {"candidates": "preloaded" if before + args.import_entries <= decide.PRELOAD_MAX_STUDIES else "looked up"}
    try:
        for label in ("new", "again"):
            job, seconds = imp.run_import(data, f"growth-{size}.bib")
            n = sum(job.counts.values())
            out[label] = {"entries": n, "seconds": round(seconds, 2), "entries_per_s": n / seconds,
                          "counts": job.counts, "status": job.status}
        out["peak_rss_mb"] = peak_rss_mb()  # before the baselines parse anything
        out["reader_peak_rss_mb"] = peak_rss_mb(resource.RUSAGE_CHILDREN)
        assert out["again"]["counts"]["created"] == 0, out["again"]["counts"]
        for label in ("new", "again"):  # bibtexparser's bare parse of the same text, once per import
            out[label]["bibtexparser_per_s"] = out[label]["entries"] / imp.baseline(imp.decoded(data))
        cleanup(out)
        if out["candidates"] == "preloaded":  # the same file with the blocks looked up as a larger database has them
            decide.PRELOAD_MAX_STUDIES = 0
            job, seconds = imp.run_import(data, f"growth-{size}-lookup.bib")
            n = sum(job.counts.values())
            out["new_looked_up"] = {"entries": n, "seconds": round(seconds, 2), "entries_per_s": n / seconds,
                                    "counts": job.counts}
        else:
            out["new_looked_up"] = out["new"]
    finally:
        shutil.rmtree(settings.MEDIA_ROOT, ignore_errors=True)
        cleanup(out)
    return out


def cleanup(out):
    """Delete the studies an import created: the next size starts from the corpus alone."""
    import search.sync
    from apps.studies.models import Study

    from search.models import PendingIndex

    started = time.perf_counter()
    with search.sync.paused():
        Study.objects.exclude(provenance="fixture").delete()
    PendingIndex.objects.all().delete()  # the imports' index work: the next size's rebuild does it all
    out["cleanup_seconds"] = round(time.perf_counter() - started, 1)


if __name__ == "__main__":
    main()
