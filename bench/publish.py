"""Bulk publishing against one-by-one publishing, on the embedded default.

    .venv/bin/python bench/publish.py [--studies 5000] [--baseline 500]

The embedded default: SQLite (a file, WAL, as ``make run`` has it), the database search backend, no
broker (Celery tasks run in-process, so each commit's outbox drain indexes in the same process), no
embedder (``KB_ENV=test``). ``--studies + --baseline`` draft studies are imported from a generated
BibTeX file through the importer, as curators import them (so they are indexed as drafts). Then, in
the same run, on the same database:

* **one by one**: ``--baseline`` of them published through the per-study path
  (``apps.studies.services.publish_study``, what ``POST /api/v1/studies/{id}/publish/`` calls), each in
  its own transaction with its own index drain; the rate is scaled to ``--studies`` (one by one is too
  slow to wait for 5,000 of them: the rate does not depend on the count);
* **bulk**: the other ``--studies`` published with one bulk request
  (``apps.studies.publication.start``, what ``POST /api/v1/studies/publish/`` calls), a background job
  run in-process, timed until it is done: status updates, audit rows, outbox rows and the index drain.

It checks that every study ended published, with one audit entry each, found by an anonymous search
and with an empty outbox; numbers go to docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import git_revision, machine, setup_django  # noqa: E402

WORDS = ("integrated treatment assertive community outreach housing employment recovery relapse cannabis alcohol "
         "opioid psychosis depression trauma adolescents prison mortality screening medication peer support "
         "relatives stigma cohort qualitative outcomes ruslidelse psykisk behandling").split()
FAMILY = "Hansen Johansen Olsen Larsen Berg Haugen Dahl Lund Moen Strand Solberg Eide Lie Ødegård Smith".split()


def bibtex(n, seed=5) -> bytes:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 10)))
        authors = " and ".join(f"{rng.choice(FAMILY)}, {chr(65 + rng.randrange(26))}." for _ in range(3))
        out.append(f"@article{{e{i},\n  title = {{{words.capitalize()} {i}}},\n  author = {{{authors}}},\n"
                   f"  year = {{{rng.randint(1995, 2025)}}},\n  journal = {{Nordic Journal of Psychiatry}},\n"
                   f"  doi = {{10.5555/bench.{i}}},\n  abstract = {{{' '.join(rng.choice(WORDS) for _ in range(80))}}},\n}}\n")
    return "\n".join(out).encode()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--studies", type=int, default=5000, help="studies published in bulk")
    parser.add_argument("--baseline", type=int, default=500, help="studies published one by one (scaled)")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="kb-bench-publish-")
    os.environ["KB_SQLITE_TEST_NAME"] = os.path.join(workdir, "kb.sqlite3")
    os.environ["MEDIA_ROOT"] = os.path.join(workdir, "media")
    os.environ.pop("CELERY_BROKER_URL", None)
    teardown = setup_django(f"sqlite:///{workdir}/main.sqlite3")
    try:
        run(args)
    finally:
        teardown()


def run(args):
    from django.conf import settings
    from django.db import connection

    from apps.audit.models import AuditEntry
    from apps.imports import services as imports
    from apps.studies import publication, services
    from apps.studies.models import Study
    from search.backends import get_backend
    from search.backends.base import SearchFilters, SearchRequest
    from search.models import PendingIndex
    from search.query import parse
    from tests import factories

    assert connection.vendor == "sqlite" and settings.CELERY_TASK_ALWAYS_EAGER and not settings.KB_SEARCH["URL"]
    get_backend().setup()
    curator = factories.user("curator")
    total = args.studies + args.baseline
    f = io.BytesIO(bibtex(total))
    f.name = "bench.bib"
    started = time.perf_counter()
    job = imports.create_job(curator, f, file_name=f.name, enqueue=False)
    job = imports.run_job(job.pk)
    print(f"imported {job.counts.get('created')} draft studies in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    ids = list(Study.objects.filter(status="draft").order_by("pk").values_list("pk", flat=True))
    assert len(ids) == total, len(ids)
    one_by_one, bulk = ids[:args.baseline], ids[args.baseline:]

    started = time.perf_counter()
    for study in Study.objects.filter(pk__in=one_by_one).order_by("pk"):
        services.publish_study(curator, study)
    single = time.perf_counter() - started
    assert not PendingIndex.objects.exists()

    started = time.perf_counter()
    pub = publication.start(curator, "publish", bulk, {"ids": "bench"}, via="bench")
    pub.refresh_from_db()
    seconds = time.perf_counter() - started

    assert pub.status == "done" and pub.changed == len(bulk) and not pub.refused, (pub.status, pub.error)
    assert Study.objects.filter(pk__in=bulk, status="published").count() == len(bulk)
    assert AuditEntry.objects.filter(action="publish", object_id__in=bulk).count() == len(bulk)
    assert not PendingIndex.objects.exists()
    hits = get_backend().search(SearchRequest(kind="studies", query=parse(""), filters=SearchFilters(),
                                              page_size=1)).total  # what anonymous readers find: published only
    assert hits == total, (hits, total)

    scaled = single / args.baseline * len(bulk)
    print(f"\nmachine: {machine()}; git {git_revision()}; SQLite file, database search, tasks in-process")
    print(f"one by one (per-study path): {args.baseline:,} studies in {single:.1f} s "
          f"= {args.baseline / single:,.0f}/s -> {len(bulk):,} studies ~ {scaled:.0f} s (scaled)")
    print(f"bulk (one request, background job in-process): {len(bulk):,} studies in {seconds:.2f} s "
          f"= {len(bulk) / seconds:,.0f}/s, {scaled / seconds:.0f}x faster; target < 10 s: "
          f"{'met' if seconds < 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
