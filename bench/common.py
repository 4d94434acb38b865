"""Shared set-up for the benchmarks: Django on a throw-away database, synthetic ROP studies, timing.

Every benchmark creates its own database (``test_<name>`` of --database-url, created and migrated
with Django's test-database machinery and dropped at the end), so it never touches real data.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS_EN = ("integrated treatment assertive community outreach housing employment recovery relapse cannabis "
            "alcohol opioid stimulant psychosis schizophrenia depression anxiety trauma adhd personality "
            "disorder youth adolescents prison mortality suicide screening assessment medication "
            "motivational interviewing peer support relatives family stigma primary care emergency "
            "randomised cohort qualitative outcomes adherence retention services coordination").split()
WORDS_NB = ("ruslidelse ruslidelser psykisk psykiske lidelse lidelser behandling oppfølging kartlegging "
            "pasientforløp brukermedvirkning pårørende bolig arbeid kommune spesialisthelsetjenesten "
            "tverrfaglig oppsøkende team ungdom fengsel overdødelighet legemidler rusmidler samhandling "
            "tjenester retningslinje").split()
FAMILY = ("Hansen Johansen Olsen Larsen Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Johnsen Pettersen "
          "Eriksen Berg Haugen Hagen Johannessen Andreassen Jacobsen Dahl Jørgensen Halvorsen Henriksen Lund "
          "Sørensen Jakobsen Moen Gundersen Iversen Strand Solberg Svendsen Eide Knutsen Martinsen Paulsen "
          "Bakken Kristoffersen Mathisen Lie Ødegård Sæther Bråten Løvås Smith Brown Wilson Taylor Clark").split()
GIVEN = "Kari Ola Ingrid Per Anne Lars Marit Jon Silje Erik Hanne Knut Nina Tor Liv Anders Sara Mona".split()


def parse_args(description, extra=None):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL",
                                                                 "postgres://kb:kb@127.0.0.1:5432/kb_bench"),
                        help="a server the benchmark may create test_<name> on (default: local PostgreSQL)")
    parser.add_argument("--elasticsearch-url", default=os.environ.get("BENCH_ELASTICSEARCH_URL",
                                                                      "http://127.0.0.1:9200"))
    if extra:
        extra(parser)
    return parser.parse_args()


def setup_django(database_url, elasticsearch_url=None, prefix="kbbench", keepdb=False):
    os.environ["KB_ENV"] = "test"
    os.environ["DATABASE_URL"] = database_url
    os.environ["ELASTICSEARCH_INDEX_PREFIX"] = prefix
    os.environ["KB_ANON_THROTTLE"] = "100000000/minute"  # a benchmark is not abuse
    if elasticsearch_url:
        os.environ["ELASTICSEARCH_URL"] = elasticsearch_url
    else:
        os.environ.pop("ELASTICSEARCH_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
    import logging

    import django

    django.setup()
    logging.getLogger("search.sync").setLevel(logging.ERROR)
    from django.db import connection

    old_name = connection.settings_dict["NAME"]
    # serialize=False: no benchmark rolls back to a serialized copy, and serializing a kept 100k corpus
    # took minutes at every start
    connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=keepdb, serialize=False)

    def teardown():
        connection.creation.destroy_test_db(old_name, verbosity=0)

    return teardown


def make_studies(n, seed=42, batch=5000, progress=True):
    """Bulk-create ``n`` synthetic published studies with authors and topics (no signals: fast)."""
    from apps.studies.models import Authorship, Study
    from apps.topics.loader import load_topics
    from apps.topics.models import Topic
    from search import sync

    rng = random.Random(seed)
    load_topics(Topic)
    topic_ids = list(Topic.objects.values_list("id", flat=True))
    through = Study.topics.through
    types = ["article"] * 6 + ["report", "thesis", "book_chapter", "conference_paper"]
    designs = ["rct", "cohort", "qualitative", "cross_sectional", "systematic_review", "case_control",
               "mixed_methods", "other"]
    made = 0
    with sync.paused():
        while made < n:
            size = min(batch, n - made)
            studies = []
            for _ in range(size):
                nb = rng.random() < 0.3
                vocab = WORDS_NB if nb else WORDS_EN
                title = " ".join(rng.choice(vocab) for _ in range(rng.randint(5, 12))).capitalize()
                abstract = " ".join(rng.choice(vocab) for _ in range(rng.randint(60, 160))) + "."
                studies.append(Study(title=title, abstract=abstract, language="nb" if nb else "en",
                                     year=rng.randint(1990, 2025), study_type=rng.choice(types),
                                     design=rng.choice(designs), status="published", provenance="fixture",
                                     keywords=[rng.choice(vocab) for _ in range(3)]))
            Study.objects.bulk_create(studies, batch_size=1000)
            authors, links = [], []
            for s in studies:
                for pos in range(1, rng.randint(2, 6)):
                    f, g = rng.choice(FAMILY), rng.choice(GIVEN)
                    authors.append(Authorship(study_id=s.id, position=pos, name=f"{f}, {g}", family_name=f,
                                              given_name=g))
                for t in rng.sample(topic_ids, rng.randint(1, 3)):
                    links.append(through(study_id=s.id, topic_id=t))
            Authorship.objects.bulk_create(authors, batch_size=2000)
            through.objects.bulk_create(links, batch_size=2000)
            made += size
            if progress:
                print(f"  created {made}/{n} studies", file=sys.stderr)
    return made


def percentiles(values):
    values = sorted(values)

    def pct(p):
        return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]

    return {"p50": pct(50), "p95": pct(95), "p99": pct(99), "mean": statistics.fmean(values)}


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def git_revision():
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "?"


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def _plain_fields(model, **values):
    """The columns of ``model`` and one row of database values for a new instance (defaults, derived
    keys, timestamps), the template every copied row starts from."""
    from django.db import connection

    obj = model(**values)
    fields = model._meta.concrete_fields
    return ([f.column for f in fields],
            {f.column: f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields})


def _secondary_indexes(cursor, tables):
    """(name, definition) of the indexes of ``tables`` that back no constraint (those can be dropped
    and built again after a bulk load)."""
    cursor.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
                   "AND i.tablename = ANY(%s) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
                   "WHERE c.conname = i.indexname)", [list(tables)])
    return cursor.fetchall()


def rop_words(rng, nb):
    """(title, abstract, keywords) drawn evenly from the ~50 ROP words of the study's language: a stress
    corpus for search, where every word occurs in most studies (37-70 % of a mixed corpus)."""
    vocab = WORDS_NB if nb else WORDS_EN
    title = " ".join(rng.choices(vocab, k=rng.randint(5, 12))).capitalize()
    return title, " ".join(rng.choices(vocab, k=rng.randint(60, 160))) + ".", rng.choices(vocab, k=3)


SCIFACT_CORPUS = ROOT.parent / "shared" / "eval" / "scifact" / "corpus.jsonl"


class TopicalText:
    """(title, abstract, keywords) with the word statistics of real abstracts: background words drawn
    from the unigram frequencies of SciFact's 5,183 biomedical abstracts (Zipf-distributed, common words
    and all), and two ROP words of the study's language as its topics, each used 2-5 times. So a word
    is as common as it is in real literature (``treatment`` in many studies, ``cannabis`` in a few), and
    an ROP word marks the few percent of studies about it."""

    def __init__(self, corpus=SCIFACT_CORPUS, size=20_000):
        counts = {}
        with open(corpus, encoding="utf-8") as f:
            for line in f:
                doc = json.loads(line)
                for word in re.findall(r"[^\W\d_]{2,}", f"{doc['title']} {doc['text']}".lower()):
                    counts[word] = counts.get(word, 0) + 1
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:size]
        self.words = [w for w, _ in top]
        self.cum = list(itertools.accumulate(c for _, c in top))

    def _background(self, rng, k):
        return rng.choices(self.words, cum_weights=self.cum, k=k)

    def __call__(self, rng, nb):
        topics = rng.sample(WORDS_NB if nb else WORDS_EN, 2)
        words = self._background(rng, rng.randint(60, 160))
        for topic in topics:
            for _ in range(rng.randint(2, 5)):
                words.insert(rng.randrange(len(words) + 1), topic)
        title = self._background(rng, rng.randint(4, 10)) + [topics[0]]
        rng.shuffle(title)
        return " ".join(title).capitalize(), " ".join(words) + ".", topics + self._background(rng, 1)


def copy_studies(n, seed=42, batch=50_000, family=None, progress=True, text=rop_words):
    """See :func:`_copy_studies`; with the search sync paused (saving the topics would otherwise mark
    every study of a topic for indexing, and drain that outbox one batch at a time)."""
    from search import sync

    with sync.paused():
        return _copy_studies(n, seed, batch, family, progress, text)


def _copy_studies(n, seed, batch, family, progress, text):
    """``n`` more synthetic published studies like :func:`make_studies` (languages, years, types,
    designs, 1-4 authors, 1-3 topics; the words from ``text(rng, nb)``: :func:`rop_words`, as
    make_studies, or a :class:`TopicalText`), plus a DOI, a venue, volume and pages each, written with
    PostgreSQL's ``COPY`` in batches of ``batch`` with the tables' secondary indexes dropped before and
    built again after (about 20x faster than ``bulk_create``: 1M studies in minutes). ``family(rng)``
    gives a first author's family name (default: one of FAMILY). No signals, no search outbox rows."""
    from django.db import connection, transaction
    from django.utils import timezone

    from apps.studies.keys import family_key, title_key
    from apps.studies.models import Authorship, Study, Venue
    from apps.topics.loader import load_topics
    from apps.topics.models import Topic

    if n <= 0:
        return 0
    rng = random.Random(seed + Study.objects.count())
    load_topics(Topic)
    topic_ids = list(Topic.objects.values_list("id", flat=True))
    venue_ids = [Venue.objects.get_or_create(name=f"Nordic Journal of Growth {i}")[0].pk for i in range(12)]
    through = Study.topics.through
    types = ["article"] * 6 + ["report", "thesis", "book_chapter", "conference_paper"]
    designs = ["rct", "cohort", "qualitative", "cross_sectional", "systematic_review", "case_control",
               "mixed_methods", "other"]
    now = timezone.now()
    s_cols, s_tpl = _plain_fields(Study, title="x", status="published", provenance="fixture", published_at=now)
    a_cols, a_tpl = _plain_fields(Authorship, study_id=1, position=1, name="x")
    t_cols = ["study_id", "topic_id"]
    pick = family or (lambda r: r.choice(FAMILY))
    tables = [Study._meta.db_table, Authorship._meta.db_table, through._meta.db_table]
    made = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {', '.join(tables)} IN EXCLUSIVE MODE")
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # checked per COPY: no pending events at CREATE INDEX
        cursor.execute("SELECT coalesce(max(id), 0) FROM " + tables[0])
        next_id = cursor.fetchone()[0] + 1
        cursor.execute("SELECT coalesce(max(id), 0) FROM " + tables[1])
        next_author = cursor.fetchone()[0] + 1
        indexes = _secondary_indexes(cursor, tables)
        for name, _ in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        pg = cursor.cursor  # psycopg's own cursor: COPY
        while made < n:
            size = min(batch, n - made)
            studies, authors, links = [], [], []
            for _ in range(size):
                nb = rng.random() < 0.3
                title, abstract, keywords = text(rng, nb)
                row = dict(s_tpl)
                row.update(id=next_id, title=title, title_key=title_key(title), abstract=abstract,
                           language="nb" if nb else "en", year=rng.randint(1990, 2025),
                           study_type=rng.choice(types), design=rng.choice(designs),
                           keywords=json.dumps(keywords), doi=f"10.5555/kbg.{next_id}",
                           venue_id=rng.choice(venue_ids), volume=str(rng.randint(1, 60)),
                           pages=f"{(p := rng.randint(1, 900))}-{p + rng.randint(3, 20)}")
                studies.append(tuple(row[c] for c in s_cols))
                for pos in range(1, rng.randint(2, 6)):
                    f = pick(rng) if pos == 1 else rng.choice(FAMILY)
                    g = rng.choice(GIVEN)
                    a = dict(a_tpl)
                    a.update(id=next_author, study_id=next_id, position=pos, name=f"{f}, {g}", family_name=f,
                             given_name=g, family_key=family_key(f))
                    authors.append(tuple(a[c] for c in a_cols))
                    next_author += 1
                for t in rng.sample(topic_ids, rng.randint(1, 3)):
                    links.append((next_id, t))
                next_id += 1
            for table, cols, rows in ((tables[0], s_cols, studies), (tables[1], a_cols, authors),
                                      (tables[2], t_cols, links)):
                names = ", ".join(f'"{c}"' for c in cols)
                with pg.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
                    for r in rows:
                        copy.write_row(r)
            made += size
            if progress:
                print(f"  copied {made}/{n} studies", file=sys.stderr, flush=True)
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")  # each index sorted in memory
        for _, definition in indexes:
            cursor.execute(definition)
        for table, column in ((tables[0], "id"), (tables[1], "id")):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
                           f"(SELECT max(id) FROM \"{table}\"))")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return made


class WSGIClient:
    """GET requests through Django's WSGI handler, the entry point a WSGI server (gunicorn) calls: the
    middlewares, the view and the rendering, without an HTTP connection. Django's test client, which the
    latency benchmarks used before session 11, adds its own work a server does not: signals recording
    templates, the response linked to the request and to a ``json()`` of its own (reference cycles the
    collector then frees inside later requests), ~0.3 ms a request and more garbage."""

    class Answer:
        def __init__(self, status, content):
            self.status_code, self.content = status, content

        def json(self):
            return json.loads(self.content)

    def __init__(self):
        from django.core.handlers.wsgi import WSGIHandler

        self.handler = WSGIHandler()

    def get(self, path, params=None):
        import io
        from urllib.parse import urlencode

        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": urlencode(params or {}, doseq=True),
                   "SERVER_NAME": "localhost", "SERVER_PORT": "80", "HTTP_HOST": "localhost",
                   "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr}
        status = []
        response = self.handler(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            content = b"".join(response)
        finally:
            response.close()
        return self.Answer(int(status[0][:3]), content)
