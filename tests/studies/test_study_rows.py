"""Studies read as rows (apps/studies/api/rows.py) render exactly as StudyListSerializer renders them.

The serializer is the oracle: the search API's hits are built from rows, and a client must not be able to
tell. Compared as the JSON bytes a client receives, so a missing, extra, reordered or differently
formatted field fails.
"""

import datetime

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from apps.studies.api.rows import study_list_rows
from apps.studies.api.serializers import StudyListSerializer
from apps.studies.models import Authorship, Study
from search.api.serializers import StudyHitSerializer, study_hit_rows_later
from search.backends.base import Hit
from search.results import hydrate
from tests import factories

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


@pytest.fixture
def shelf():
    """Studies of every shape a page can hold."""
    first = factories.topic(slug="b-second", label_en="B", label_nb="B", sort_order=2)
    second = factories.topic(slug="a-first", label_en="A", label_nb="A", sort_order=1)
    kari = factories.researcher(given_name="Kari", family_name="Ødegård")
    full = factories.study(
        title="Integrated treatment for dual diagnosis", subtitle="A trial", abstract="Långt sammendrag.",
        year=2019, month=3, day=7, language="nb", study_type="report", design="rct",
        venue=factories.venue(name="Tidsskrift for Den norske legeforening", issn="0029-2001", kind="journal"),
        volume="12", issue="3", pages="100-110", publisher="Universitetsforlaget", edition="2", chapter="4",
        doi="10.1000/xyz.1", pmid="123456", pmcid="PMC42", isbn="9788215000007", url="https://example.org/a",
        keywords=["ROP", "rus"], topics=[first, second], authors=[kari, "Smith, John", "Berg, Åse"],
        published_at=timezone.now() - datetime.timedelta(days=3), retracted=True, source_key="odegard2019",
        provenance="bibtex")
    Authorship.objects.filter(study=full, position=2).update(corresponding=True, family_name="Smith",
                                                             given_name="John")
    bare = factories.study(title="Bare", abstract="", authors=(), year=None, language="", design="unknown")
    draft = factories.study(title="Draft study", status="draft", topics=[second])
    untitled = factories.study(title="", status="draft", authors=("Hansen, Per", "Olsen, Eva"),
                               venue=factories.venue(name="Nordic Studies"), volume="7", pages="1-9", year=2001)
    Authorship.objects.filter(study=untitled).update(family_name="Hansen")
    now = timezone.now()
    factories.summary(studies=[full], title="Publisert", audience="users", language="en",
                      published_at=now - datetime.timedelta(days=1))
    factories.summary(studies=[full], title="Eldre", published_at=now - datetime.timedelta(days=2))
    factories.summary(studies=[full], title="Utkast", status="draft")
    factories.summary(studies=[full, draft], title="Om et utkast too")  # hidden from readers: a draft's
    return [full, bare, draft, untitled]


def _json(data):
    return JSONRenderer().render(data)


@pytest.mark.parametrize("zone", [None, "UTC"])  # the site's (Europe/Oslo: +01:00, +02:00) and UTC (DRF writes Z)
@pytest.mark.parametrize("who", ["anonymous", "curator"])
def test_rows_render_as_the_study_list_serializer_does(shelf, who, zone):
    user = AnonymousUser() if who == "anonymous" else factories.user("curator")
    hits = [Hit(id=s.id) for s in shelf]
    with timezone.override(zone or timezone.get_current_timezone()):
        oracle = StudyListSerializer(hydrate("studies", hits, user), many=True).data
        rows = study_list_rows([s.id for s in shelf], user)
    assert _json([rows[s["id"]] for s in oracle]) == _json(oracle)
    assert any(s["created_at"].endswith("Z") for s in oracle) == (zone == "UTC")
    visible = {s.id for s in shelf if who == "curator" or s.status == "published"}
    assert set(rows) == visible
    full = rows[shelf[0].id]
    summaries = [s["title"] for s in full["summaries"]]
    assert summaries == (["Publisert", "Eldre"] if who == "anonymous" else summaries)
    assert full["topics"] == ["a-first", "b-second"] and full["has_summary"] is True
    if who == "curator":
        assert {"Utkast", "Om et utkast too"} <= set(summaries)
        assert rows[shelf[3].id]["display_title"].startswith("[untitled] Hansen et al., Nordic Studies 7:1-9")
        assert rows[shelf[3].id]["gaps"] == ["title"] and rows[shelf[3].id]["incomplete"] is True


@pytest.mark.parametrize("who", ["anonymous", "curator"])
def test_search_hits_as_rows_match_the_hit_serializer(shelf, who):
    """Scores, highlights and the why of each hit, in hit order; a hit the database lacks is left out."""
    user = AnonymousUser() if who == "anonymous" else factories.user("curator")
    missing = Study.objects.order_by("-id").first().id + 100
    hits = [Hit(id=shelf[1].id, score=3, highlights={"title": ["<mark>Bare</mark>"], "title.folded": ["x"]},
                why={"matched": ["bare"], "lexical_rank": 1, "semantic_rank": None, "extra": 1}),
            Hit(id=missing, score=2.0),
            Hit(id=shelf[0].id, score=None, highlights={}, why={}),
            Hit(id=shelf[2].id, score=1.5), Hit(id=shelf[3].id, score=1.0)]
    oracle = StudyHitSerializer(hydrate("studies", hits, user), many=True).data
    rows = study_hit_rows_later(hits, user)()
    assert _json(rows) == _json(oracle)
    expected = [shelf[1].id, shelf[0].id] + ([shelf[2].id, shelf[3].id] if who == "curator" else [])
    assert [r["id"] for r in rows] == expected
    assert rows[0]["score"] == 3.0 and rows[0]["highlight"] == {"title": ["<mark>Bare</mark>"]}


def test_no_ids_and_no_visible_studies_read_nothing(shelf, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert study_list_rows([], AnonymousUser()) == {}
    with django_assert_num_queries(1):
        assert study_list_rows([shelf[2].id], AnonymousUser()) == {}
