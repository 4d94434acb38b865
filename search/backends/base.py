"""The search backend interface. Every caller goes through it; no caller knows which engine answers.

Two implementations: ``database.DatabaseBackend`` (SQLite FTS5 or PostgreSQL full-text search, the
embedded default) and ``elasticsearch.ElasticsearchBackend``. The contract tests in
``tests/search/test_backend_contract.py`` run against both.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from search.query import ParsedQuery

KINDS = ("studies", "researchers", "summaries")

RECONCILE_BATCH = 1000  # documents repaired per call of index() during a reconcile


class SearchUnavailable(Exception):
    """The search engine cannot answer now (down, unreachable, overloaded). The API answers 503."""

SORTS = ("relevance", "newest", "oldest", "title")
RANKINGS = ("hybrid", "lexical")
FACETS = ("year", "type", "design", "topic", "language", "researcher", "institution")
MAX_WINDOW = 10_000  # page-number pagination reaches this many hits; a cursor goes beyond


@dataclass
class SearchFilters:
    """Filters of the list API, resolved to ids (topics and institutions already include their sub-units)."""

    year_from: int | None = None
    year_to: int | None = None
    types: list[str] = field(default_factory=list)
    designs: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    topic_ids: list[int] = field(default_factory=list)       # any of (already expanded to sub-topics)
    researcher_ids: list[int] = field(default_factory=list)  # any of
    institution_ids: list[int] = field(default_factory=list)  # any of (already expanded to sub-units)
    has_summary: bool | None = None
    include_drafts: bool = False                              # curators only
    ids: list[int] | None = None                              # restrict to these study ids (e.g. a saved set)

    def active(self):
        """Names of the facets this filter set restricts (used to compute each facet without its own filter)."""
        names = set()
        if self.year_from is not None or self.year_to is not None:
            names.add("year")
        for name, value in (("type", self.types), ("design", self.designs), ("language", self.languages),
                            ("topic", self.topic_ids), ("researcher", self.researcher_ids),
                            ("institution", self.institution_ids)):
            if value:
                names.add(name)
        return names


@dataclass
class SearchRequest:
    kind: str = "studies"
    query: ParsedQuery = field(default_factory=ParsedQuery)
    filters: SearchFilters = field(default_factory=SearchFilters)
    sort: str = "relevance"
    page: int = 1
    page_size: int = 20
    search_after: list | None = None   # a cursor from a previous response's ``next_cursor``
    facets: bool = True
    highlight: bool = True
    explain_did_you_mean: bool = True
    ranking: str = "lexical"           # "hybrid": words and meaning fused (search/fusion.py)
    #: the page asked for lies past MAX_WINDOW: searched as page 1 (count, facets) and answered without hits
    past_window: bool = False

    def wants_hybrid(self) -> bool:
        """Hybrid ranking applies to a study search by relevance with words to embed."""
        return (self.ranking == "hybrid" and self.kind == "studies" and self.sort == "relevance"
                and bool(self.query.semantic_text()))


@dataclass
class Hit:
    id: int
    score: float | None = None
    highlights: dict[str, list[str]] = field(default_factory=dict)  # field -> fragments with <mark>…</mark>
    #: why this is a hit: {"lexical_rank", "semantic_rank"} (hybrid), "matched" words typed, "expansions" matched
    why: dict = field(default_factory=dict)


@dataclass
class FacetValue:
    value: str | int
    count: int


@dataclass
class SearchResponse:
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    next_cursor: list | None = None
    did_you_mean: str | None = None
    took_ms: float | None = None
    ranking: str = "lexical"           # the ranking actually used (hybrid falls back to lexical without vectors)


@dataclass
class Suggestion:
    kind: str       # "study", "researcher" or "topic"
    id: int | str
    text: str


class SearchBackend:
    """What a search engine must do for kb."""

    name = "base"

    # --- lifecycle ---------------------------------------------------------------------------------
    def health(self) -> dict:
        raise NotImplementedError

    def setup(self) -> None:
        """Create what the backend needs (indices, aliases, tables) if missing. Idempotent."""

    def unreachable(self, exc: Exception) -> bool:
        """Whether ``exc`` (raised by :meth:`index`) means the engine did not answer at all, rather than
        refusing this work: the outbox then retries that work as soon as :meth:`answers` again."""
        return False

    def answers(self) -> bool:
        """A cheap check that the engine answers requests now."""
        return True

    # --- writing -----------------------------------------------------------------------------------
    def index(self, kind: str, ids: list[int]) -> None:
        """(Re)index these objects from the database; ids that no longer exist or are hidden are removed.

        Raises on failure so the caller (the outbox) can retry.
        """
        raise NotImplementedError

    def refresh(self) -> None:
        """Make what was written visible to searches now (engines that show writes at once: nothing)."""

    def rebuild(self, kinds=KINDS, progress=None, merge=None) -> dict:
        """Build the whole index anew from the database, swapping it in atomically where possible
        (``merge``: compact the new index before it goes live, where the engine has segments)."""
        raise NotImplementedError

    def indexed_digests(self, kind: str) -> dict[int, str]:
        """Object id -> digest of every document of this kind in the index (a drill's or a test's check:
        :meth:`reconcile` streams them instead)."""
        return dict(self.indexed_digest_stream(kind))

    digest_page = 5000  # documents per page of indexed_digest_stream

    def indexed_digest_stream(self, kind: str):
        """(object id, digest) of every document of this kind in the index, in ascending id order, read
        ``digest_page`` at a time."""
        raise NotImplementedError

    def reconcile(self, kinds=KINDS) -> dict:
        """Compare the database with the index and repair missing, stale and orphan documents.

        Both sides are read in ascending id order, a page at a time, and merged like two sorted lists;
        repairs are sent every ``RECONCILE_BATCH`` documents. So memory stays the same however large the
        collection (holding every indexed digest took ~150 MB per million documents)."""
        from .. import sources

        self.setup()
        report = {}
        for kind in kinds:
            counts = {"missing": 0, "stale": 0, "orphans": 0}
            repair = []

            def found(what, object_id):
                counts[what] += 1
                repair.append(object_id)
                if len(repair) >= RECONCILE_BATCH:
                    self.index(kind, repair)
                    repair.clear()

            indexed = iter(self.indexed_digest_stream(kind))
            current = next(indexed, None)
            for page in sources.id_pages(kind):
                docs = sources.build(kind, page)
                for object_id in sorted(docs):
                    while current is not None and current[0] < object_id:
                        found("orphans", current[0])  # indexed, but not (or no longer) indexable
                        current = next(indexed, None)
                    if current is not None and current[0] == object_id:
                        if current[1] != sources.digest(docs[object_id]):
                            found("stale", object_id)
                        current = next(indexed, None)
                    else:
                        found("missing", object_id)
            while current is not None:
                found("orphans", current[0])
                current = next(indexed, None)
            if repair:
                self.index(kind, repair)
            report[kind] = counts
        return report

    # --- reading -----------------------------------------------------------------------------------
    def search(self, request: SearchRequest) -> SearchResponse:
        raise NotImplementedError

    def suggest(self, prefix: str, include_drafts: bool = False, size: int = 10) -> list[Suggestion]:
        raise NotImplementedError

    def related(self, study_id: int, include_drafts: bool = False, size: int = 10) -> list[Hit]:
        raise NotImplementedError


def wants_vector(request: SearchRequest) -> bool:
    """Whether the search is hybrid: it asks for it, has words to embed, and a model is there."""
    if not request.wants_hybrid():
        return False
    from .. import embedders

    return embedders.get_embedder() is not None


def query_vector(request: SearchRequest):
    """The query's vector for a hybrid search, or None (lexical ranking): no embedder, or nothing to embed."""
    if not wants_vector(request):
        return None
    from .. import embedders

    return _embed_query(embedders.get_embedder().identity, request.query.semantic_text())


@functools.lru_cache(maxsize=512)
def _embed_query(identity, text):
    """Query vectors are cached per process (the next page or a facet click asks again)."""
    from .. import embedders

    vector = embedders.get_embedder().query(text)
    vector.setflags(write=False)
    return vector


def related_vector(study_id: int) -> list[float] | None:
    """The study's own vector for "related studies" by meaning, or None (no model, no vector yet)."""
    from .. import embedders
    from .. import vector_store as vectors

    if embedders.get_embedder() is None:
        return None
    return vectors.vectors_for([study_id]).get(study_id)


def related_hits(study_id, lexical, semantic, size) -> list[Hit]:
    """Related studies: the backend's "more like this" list and the nearest vectors, fused as a hybrid
    search is (search/fusion.py); the study itself is left out."""
    from .. import fusion

    lexical = [(i, s) for i, s in lexical if i != study_id]
    semantic = [(i, s) for i, s in semantic if i != study_id]
    fused = fusion.fuse(lexical, semantic, weight=fusion.RELATED_LEXICAL_WEIGHT)
    return [Hit(id=f.id, score=round(f.score, 6), why={"lexical_rank": f.lexical_rank,
                                                        "semantic_rank": f.semantic_rank})
            for f in fused[:size]]


def topic_suggestions(prefix: str, size: int) -> list[Suggestion]:
    """Topics whose Norwegian or English label has a word starting with ``prefix`` (from the database:
    the vocabulary is small and curated, so both backends answer the same)."""
    from django.db.models import Q

    from apps.topics.models import Topic

    topics = Topic.objects.filter(Q(label_nb__istartswith=prefix) | Q(label_en__istartswith=prefix)
                                  | Q(label_nb__icontains=f" {prefix}") | Q(label_en__icontains=f" {prefix}"))
    return [Suggestion("topic", t.slug, t.label_nb if t.label_nb.lower().startswith(prefix.lower()) else t.label_en)
            for t in topics[:size]]
