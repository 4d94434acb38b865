"""Benchmark: server time of the web search page (``GET /search/``) on 100,000 studies.

    .venv/bin/python bench/web_search.py [--studies 100000] [--repeat 15] [--keep] [--elasticsearch]

The page is requested in-process with Django's test client, through the whole stack (middleware,
language, parameter validation, the search backend, hydration, facet labels, template rendering),
so the time measured is what the server spends on a request; the browser's part is not included.
The target is under 200 ms per page.

Data: PostgreSQL database ``kb_bench_web`` (``--database-url``; created if missing, dropped at the
end unless ``--keep``, and reused by a later run with ``--keep`` when it already holds the studies):
synthetic ROP studies from ``bench/common.make_studies`` (Norwegian and English titles and
abstracts, 2-5 authors, 1-3 topics, years 1990-2025), with 600 researchers at 20 institutions
linked to a third of the authorships and 3,000 published summaries, indexed by the database search
backend (PostgreSQL full-text search) or, with ``--elasticsearch``, by Elasticsearch.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCENARIOS = [
    ("no query (home page)", "/search/"),
    ("one word", "/search/?q=behandling"),
    ("two words", "/search/?q=integrated+treatment"),
    ("Norwegian compound, stemmed", "/search/?q=ruslidelser"),
    ("phrase", "/search/?q=%22assertive+community%22"),
    ("prefix", "/search/?q=psykos*"),
    ("word + design + years", "/search/?q=housing&design=rct,cohort&year_from=2005&year_to=2020"),
    ("topic filter, newest", "/search/?topic=integrated-treatment&sort=newest"),
    ("word, page 5", "/search/?q=recovery&page=5"),
    ("with summaries only", "/search/?q=treatment&has_summary=true"),
    ("no hits, did you mean", "/search/?q=behandlnig"),
]


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_WEB_DATABASE_URL", "postgres://kb:kb@127.0.0.1:5432/kb_bench_web"))
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15, help="timed requests per scenario (after one warm-up)")
    parser.add_argument("--keep", action="store_true", help="keep the database for the next run")
    parser.add_argument("--elasticsearch", action="store_true",
                        help="search with Elasticsearch (ELASTICSEARCH_URL, default http://127.0.0.1:9200)")
    return parser.parse_args()


def ensure_database(url):
    """Create the benchmark database on the server if it does not exist yet."""
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(url)
    admin = psycopg.connect(host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"],
                            password=cfg["PASSWORD"], dbname="postgres", autocommit=True)
    with admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{cfg["NAME"]}"')
    return cfg


def drop_database(cfg):
    import psycopg

    from django.db import connections

    connections.close_all()
    admin = psycopg.connect(host=cfg["HOST"], port=cfg["PORT"] or 5432, user=cfg["USER"],
                            password=cfg["PASSWORD"], dbname="postgres", autocommit=True)
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')


def populate(n):
    from apps.studies.models import Study
    from bench.common import make_studies

    rng = random.Random(7)
    have = Study.objects.count()
    if have >= n:
        print(f"  reusing {have} studies", file=sys.stderr)
        return False
    make_studies(n - have, progress=True)
    add_people_and_summaries(rng)
    return True


def add_people_and_summaries(rng, researchers=600, summaries=3000):
    """600 researchers at 20 institutions linked to a third of the authorships, 3,000 published summaries."""
    import datetime

    from django.db import connection

    from apps.researchers.models import Affiliation, Institution, Researcher
    from apps.studies.models import Authorship, Study
    from apps.summaries.models import Summary
    from bench.common import FAMILY, GIVEN
    from search import sync

    with sync.paused():
        places = Institution.objects.bulk_create([Institution(name_nb=f"Helseforetak {i}", short_name=f"HF{i}")
                                                  for i in range(20)])
        people = Researcher.objects.bulk_create([
            Researcher(given_name=rng.choice(GIVEN), family_name=f"{rng.choice(FAMILY)}{i}",
                       member_since=datetime.date(2015, 1, 1) if i % 2 else None) for i in range(researchers)])
        Affiliation.objects.bulk_create([Affiliation(researcher=p, institution=rng.choice(places)) for p in people])
        first = people[0].pk
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {Authorship._meta.db_table} SET researcher_id = %s + (id %% %s) "
                           "WHERE id %% 3 = 0", [first, researchers])
        study_ids = list(Study.objects.values_list("id", flat=True))
        picked = rng.sample(study_ids, summaries)
        made = Summary.objects.bulk_create([
            Summary(audience="practitioners", language="nb", title=f"Kort fortalt {i}", body="Et sammendrag.",
                    status="published") for i in range(summaries)])
        Summary.studies.through.objects.bulk_create([
            Summary.studies.through(summary_id=s.pk, study_id=sid) for s, sid in zip(made, picked)])


def indexed_studies(backend):
    """How many studies the search index holds now."""
    if backend.name == "elasticsearch":
        alias = backend.alias("studies")
        if not backend.client.indices.exists_alias(name=alias):
            return 0
        backend.refresh()
        return backend.client.count(index=alias)["count"]
    from search.models import SearchDocument

    return SearchDocument.objects.filter(kind="studies").count()


def measure(repeat):
    """Each scenario once to warm up, then ``repeat`` timed requests: ([(scenario, hits, p50, p95, max,
    queries)], every time in ms). Needs ``django.test.utils.setup_test_environment()`` (the context)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.common import percentiles

    from apps.common import collector

    client = Client(HTTP_ACCEPT_LANGUAGE="nb")
    rows, everything = [], []
    for name, url in SCENARIOS:
        response = client.get(url)  # warm-up (and a check that the page works)
        assert response.status_code == 200, (url, response.status_code)
    collector.settle()  # as a web process does once started (kb/wsgi.py): start-up objects frozen
    for name, url in SCENARIOS:
        times = []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                t0 = time.perf_counter()
                response = client.get(url)
                times.append((time.perf_counter() - t0) * 1000)
        everything += times
        hits = response.context["total"] if response.context and "total" in response.context else "?"
        p = percentiles(times)
        rows.append((name, hits, p["p50"], p["p95"], max(times), len(queries)))
    assert any(r[1] for r in rows), "no scenario found anything: is the index empty?"
    return rows, everything


def main():
    args = parse_args()
    os.environ["KB_ENV"] = "test"
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
    if args.elasticsearch:
        os.environ.setdefault("ELASTICSEARCH_URL", "http://127.0.0.1:9200")
        os.environ["ELASTICSEARCH_INDEX_PREFIX"] = "kbbenchweb"
    else:
        os.environ.pop("ELASTICSEARCH_URL", None)
    cfg = ensure_database(args.database_url)

    import logging

    import django

    django.setup()
    logging.getLogger("search.sync").setLevel(logging.ERROR)
    logging.getLogger("django.request").setLevel(logging.ERROR)
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import setup_test_environment

    from bench.common import machine, percentiles
    from search.backends import get_backend

    try:
        print(f"database: {cfg['NAME']} ({connection.vendor}); preparing {args.studies} studies", file=sys.stderr)
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        created = populate(args.studies)
        backend = get_backend()
        backend.setup()
        if created or indexed_studies(backend) < args.studies:
            print(f"  indexing with the {backend.name} backend …", file=sys.stderr)
            backend.rebuild(kinds=("studies",))
            if backend.name == "elasticsearch":
                backend.refresh()
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"  ready in {time.perf_counter() - started:.0f} s", file=sys.stderr)

        setup_test_environment()
        rows, everything = measure(args.repeat)

        print(f"\nGET /search/ server time, {args.studies:,} studies, {backend.name} backend, "
              f"{args.repeat} requests per scenario after a warm-up")
        print(f"machine: {machine()}\n")
        print(f"{'scenario':34} {'hits':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8}")
        for name, hits, p50, p95, worst, nq in rows:
            print(f"{name:34} {hits:>8} {p50:8.1f} {p95:8.1f} {worst:8.1f} {nq:8d}")
        overall = percentiles(everything)
        print(f"\nall requests: p50 {overall['p50']:.1f} ms, p95 {overall['p95']:.1f} ms, "
              f"mean {statistics.fmean(everything):.1f} ms (target: under 200 ms)")
    finally:
        if not args.keep:
            drop_database(cfg)
            print(f"dropped {cfg['NAME']}", file=sys.stderr)


if __name__ == "__main__":
    main()
