"""Benchmark: GET /api/v1/network/ on a network of 2,000 researchers and ~10,000 studies.

    KB_ENV=test .venv/bin/python bench/network.py [--researchers 2000] [--studies 10000] [--repeat 5]
    KB_ENV=test DATABASE_URL=postgres://kb:kb@127.0.0.1:5432/kb .venv/bin/python bench/network.py

Creates a temporary database (an in-memory SQLite database, or ``kb_bench_network`` on PostgreSQL,
dropped afterwards), fills it with bulk inserts (no signals: no search indexing or audit entries),
and requests the endpoint in-process through the full Django/DRF stack (URL routing, parameter
validation, queries, networkx, JSON rendering). For each scenario it prints the wall-clock time of
the first request and the median/max of the repeats, the number of SQL queries, the nodes and links
returned and the size of the JSON.

The data has the shape of a research network: 40 research groups of 50 researchers, each study
written mostly within one group (85 %) with 2-6 linked authors and 0-3 unlinked co-authors, 1-3
topics from the seeded vocabulary, years 1995-2025, 60 % network members, 1-2 affiliations each.
"""
from __future__ import annotations

import argparse
import datetime
import os
import random
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
os.environ.setdefault("KB_ENV", "test")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402


def generate(n_researchers, n_studies, seed=1):
    from apps.researchers.models import Affiliation, Institution, Researcher
    from apps.studies.models import Authorship, Study
    from apps.topics.models import Topic

    rng = random.Random(seed)
    institutions = Institution.objects.bulk_create(
        [Institution(name_nb=f"Institusjon {i}", short_name=f"I{i}",
                     health_region=rng.choice(["north", "central", "west", "south-east"])) for i in range(40)])
    researchers = Researcher.objects.bulk_create([
        Researcher(given_name=f"Forsker{i}", family_name=f"Etternavn{i}",
                   member_since=datetime.date(2012 + i % 12, 1, 1) if rng.random() < 0.6 else None)
        for i in range(n_researchers)])
    group_size = max(1, n_researchers // 40)
    Affiliation.objects.bulk_create([
        Affiliation(researcher=r, institution=institutions[min(i // group_size, 39) if k == 0 else rng.randrange(40)],
                    start_date=datetime.date(2010 if k == 0 else 2000, 1, 1),
                    end_date=None if k == 0 else datetime.date(2009, 12, 31))
        for i, r in enumerate(researchers) for k in range(1 if rng.random() < 0.7 else 2)])
    topics = list(Topic.objects.values_list("id", flat=True))
    studies = Study.objects.bulk_create([
        Study(title=f"Study {i} of integrated treatment", year=rng.randint(1995, 2025), status="published",
              design=rng.choice(["rct", "cohort", "qualitative", "cross_sectional", "systematic_review"]),
              language=rng.choice(["nb", "en", "en"]), published_at=None) for i in range(n_studies)],
        batch_size=2000)
    authorships, links = [], []
    through = Study.topics.through
    for study in studies:
        group = rng.randrange(40)
        people = set()
        for _ in range(rng.choice([2, 3, 3, 4, 4, 5, 6])):
            if rng.random() < 0.85:
                people.add(researchers[min(group * group_size + rng.randrange(group_size), n_researchers - 1)])
            else:
                people.add(rng.choice(researchers))
        names = [(p, f"{p.family_name}, {p.given_name}") for p in people]
        names += [(None, f"Unlinked{rng.randrange(10**6)}, A") for _ in range(rng.randrange(4))]
        rng.shuffle(names)
        for position, (person, name) in enumerate(names, start=1):
            authorships.append(Authorship(study=study, position=position, name=name, family_name=name.split(",")[0],
                                          researcher=person))
        for topic_id in rng.sample(topics, k=min(len(topics), rng.randint(1, 3))):
            links.append(through(study_id=study.pk, topic_id=topic_id))
    Authorship.objects.bulk_create(authorships, batch_size=5000)
    through.objects.bulk_create(links, batch_size=5000)
    return {"researchers": len(researchers), "studies": len(studies), "authorships": len(authorships),
            "linked authorships": sum(1 for a in authorships if a.researcher_id), "topic links": len(links)}


SCENARIOS = [
    ("all researchers, degree centrality", {}),
    ("members only", {"members_only": "true"}),
    ("one topic (with sub-topics)", {"topic": "__TOPIC__"}),
    ("years 2015-2025", {"year_from": 2015, "year_to": 2025}),
    ("institution nodes too", {"include_institutions": "true"}),
    ("links with >= 2 shared studies", {"min_weight": 2}),
    ("eigenvector centrality", {"centrality": "eigenvector"}),
    ("betweenness centrality", {"centrality": "betweenness"}),
    ("one topic, >= 2 shared, eigenvector", {"topic": "__TOPIC__", "min_weight": 2, "centrality": "eigenvector"}),
    ("one topic, >= 2 shared, betweenness", {"topic": "__TOPIC__", "min_weight": 2, "centrality": "betweenness"}),
]


def run(repeat):
    from django.contrib.auth import get_user_model
    from rest_framework.test import APIClient

    from apps.topics.models import Topic

    client = APIClient()
    client.force_authenticate(get_user_model().objects.create(username="bench"))  # no anonymous throttle
    root = Topic.objects.filter(parent__isnull=True, children__isnull=False).first()
    print(f"{'scenario':36} {'first ms':>9} {'median ms':>10} {'max ms':>8} {'queries':>8} {'nodes':>6} "
          f"{'links':>7} {'JSON kB':>8}  centrality used")
    for label, params in SCENARIOS:
        params = {k: (root.slug if v == "__TOPIC__" else v) for k, v in params.items()}
        times = []
        for i in range(repeat + 1):
            with CaptureQueriesContext(connection) as queries:
                start = time.perf_counter()
                response = client.get("/api/v1/network/", params)
                elapsed = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.content[:300]
            times.append(elapsed)
        body = response.json()
        meta = body["meta"]
        estimated = meta["centrality_note"] and meta["centrality"] != "degree"
        used = meta["centrality"] + (" (estimated)" if estimated else "")
        print(f"{label:36} {times[0]:9.0f} {statistics.median(times[1:]):10.0f} {max(times[1:]):8.0f} "
              f"{len(queries):8d} {len(body['nodes']):6d} {len(body['links']):7d} "
              f"{len(response.content) / 1024:8.0f}  {used}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--researchers", type=int, default=2000)
    parser.add_argument("--studies", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    setup_test_environment()
    settings.DEBUG = False
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        db.setdefault("TEST", {})["NAME"] = "kb_bench_network"
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        started = time.perf_counter()
        counts = generate(args.researchers, args.studies)
        print(f"database: {connection.vendor}; generated in {time.perf_counter() - started:.1f} s: "
              + ", ".join(f"{v} {k}" for k, v in counts.items()))
        run(args.repeat)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
