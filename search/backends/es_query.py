"""Elasticsearch query building for the Elasticsearch backend: the text query of a parsed query
(BM25F per analysis, vocabulary expansions as named queries), filters, sort orders and highlighting.
Pure functions of the request; the backend (search/backends/elasticsearch.py) sends them."""

from __future__ import annotations

import functools

from elasticsearch_dsl import Q

from ..query import EXPANSION_WEIGHT, AnyOf, ParsedQuery, Phrase
from .base import SearchRequest

TIE_BREAKER = 0.5  # how much the other analyses of a word (English, folded) add to the best one (tuned on SciFact)
PROSE = {
    "studies": {"title": 3.0, "subtitle": 1.5, "abstract": 1.0, "keywords": 1.5, "topic_labels": 1.5,
                "venue": 0.5, "summary_text": 0.5},
    "researchers": {"affiliations": 1.0, "interests": 1.5, "bio": 0.5},
    "summaries": {"title": 3.0, "body": 1.0, "key_findings": 1.0, "implications": 0.5, "study_titles": 1.0},
}
NAMES = {"studies": {"authors": 2.0}, "researchers": {"name": 4.0}, "summaries": {}}
FIELD_PREFIXES = {"title": ["title", "subtitle"], "abstract": ["abstract"], "topic": ["topic_labels"],
                  "keyword": ["keywords"], "venue": ["venue"], "author": []}
FACET_FIELDS = {"year": "year", "type": "type", "design": "design", "language": "language",
                "topic": "topic_ids", "researcher": "researcher_ids", "institution": "institution_ids"}


def text_query(kind, query: ParsedQuery):
    """The query's words as an Elasticsearch query: typed words (with their expansions) as ``should``
    with the query's minimum, other positive clauses as ``must``, negative ones as ``must_not``."""
    must, should, must_not = [], [], []
    plain = query.plain_terms()
    for clause in query.positive:
        q = _clause(kind, clause)
        if q is None:
            continue
        if clause in plain:
            q = _with_alternatives(kind, clause, q)
        (should if clause in plain else must).append(q)
    for clause in query.negative:
        q = _clause(kind, clause)
        if q is not None:
            must_not.append(q)
    if query.dois and kind == "studies":
        must.append(Q("terms", doi=query.dois))
    if not (must or should or must_not):
        return Q("match_all")
    kwargs = {"must": must, "must_not": must_not}
    if should:
        kwargs["should"] = should
        kwargs["minimum_should_match"] = query.required_count()
    if not must and not should:
        kwargs["must"] = [Q("match_all")]
    return Q("bool", **kwargs)


def _with_alternatives(kind, term, q):
    """A typed word, or one of its vocabulary expansions at ``EXPANSION_WEIGHT``. Each part is a
    named query, so a hit tells which words and expansions it matched ("why this hit")."""
    q = Q("bool", should=[q], _name=f"w:{term.text.lower()}")
    if not term.alternatives:
        return q
    parts = [q]
    for text in term.alternatives:
        if len(text.split()) > 1:
            alt = Q("multi_match", query=text, fields=_fields(kind), type="phrase")
        else:
            alt = _word(kind, text)
        parts.append(Q("bool", should=[alt], boost=EXPANSION_WEIGHT, _name=f"x:{text}"))
    return Q("bool", should=parts, minimum_should_match=1)


def _fields(kind, field=None):
    if field == "author":
        return _names(NAMES[kind] or {"authors": 1.0})
    if field:
        names = {n: PROSE[kind].get(n, 1.0) for n in FIELD_PREFIXES.get(field, []) if n in PROSE[kind]}
        return _expand(names) if names else None
    return _expand(PROSE[kind]) + _names(NAMES[kind])


def _clause(kind, clause):
    if isinstance(clause, AnyOf):
        parts = [q for q in (_clause(kind, c) for c in clause.clauses) if q is not None]
        return Q("bool", should=parts, minimum_should_match=1) if parts else None
    fields = _fields(kind, clause.field)
    if not fields:
        return None
    if isinstance(clause, Phrase):
        return Q("multi_match", query=clause.text, fields=fields, type="phrase")
    if clause.prefix:
        return Q("multi_match", query=clause.text.rstrip("*"), fields=fields, type="phrase_prefix")
    if clause.field == "author":
        return Q("multi_match", query=clause.text, fields=fields, type="most_fields")
    return _word(kind, clause.text, clause.field)


def _word(kind, word, field=None):
    """One word: BM25F over the prose fields (``combined_fields``) in each analysis — Norwegian,
    English, folded — and the name fields; the best analysis counts, the others a little."""
    prose = ({n: PROSE[kind].get(n, 1.0) for n in FIELD_PREFIXES.get(field, []) if n in PROSE[kind]}
             if field else PROSE[kind])
    variants = []
    for suffix in ("", ".en", ".folded"):
        # combined_fields takes boosts >= 1, so the weights are scaled by 2 (ratios unchanged)
        variants.append(Q("combined_fields", query=word,
                          fields=[f"{n}{suffix}^{b * 2}" for n, b in prose.items()]))
    if not field and NAMES[kind]:
        variants.append(Q("multi_match", query=word, fields=_names(NAMES[kind]), type="best_fields"))
    return Q("dis_max", queries=variants, tie_breaker=TIE_BREAKER)


def filters_of(request: SearchRequest):
    """(filters that always apply, facet filters by facet name)."""
    f, q = request.filters, request.query
    always, facet = [], {}
    if request.kind == "studies":
        if not f.include_drafts:
            always.append(Q("term", status="published"))
        if q.year_from is not None or q.year_to is not None:
            always.append(Q("range", year=_range(q.year_from, q.year_to)))
        if f.has_summary is not None:
            always.append(Q("term", has_summary=f.has_summary))
        if f.ids is not None:
            always.append(Q("terms", id=list(f.ids)))
        if f.year_from is not None or f.year_to is not None:
            facet["year"] = Q("range", year=_range(f.year_from, f.year_to))
        for name, values in (("type", f.types), ("design", f.designs), ("language", f.languages),
                             ("topic", f.topic_ids), ("researcher", f.researcher_ids),
                             ("institution", f.institution_ids)):
            if values:
                facet[name] = Q("terms", **{FACET_FIELDS[name]: list(values)})
    return always, facet


def sort_order(kind, sort, query):
    tiebreak = {"id": {"order": "asc"}}
    if kind != "studies":
        return ["_score", tiebreak]
    if sort == "relevance" and not query.is_empty:
        return ["_score", {"year": {"order": "desc", "missing": "_last"}}, tiebreak]
    if sort == "oldest":
        return [{"year": {"order": "asc", "missing": "_last"}}, {"month": {"order": "asc", "missing": "_last"}},
                tiebreak]
    if sort == "title":
        return [{"title_sort": {"order": "asc"}}, tiebreak]
    return [{"year": {"order": "desc", "missing": "_last"}}, {"month": {"order": "desc", "missing": "_last"}},
            {"id": {"order": "desc"}}]


def highlighting(kind, s):
    """``s`` (an elasticsearch-dsl ``Search``) with ``highlight_body(kind)``."""
    return s.extra(highlight=highlight_body(kind))


@functools.cache
def highlight_body(kind) -> dict:
    """The ``highlight`` section of a search of ``kind``: titles whole, two fragments of an abstract or a
    summary's body, in each of its analyses (folded, English). One dict per kind, shared: never change it."""
    base = {"studies": [("title", 0), ("abstract", 2)], "researchers": [("name", 0)],
            "summaries": [("title", 0), ("body", 2)]}[kind]
    fields = {}
    for name, count in base:
        for variant in [name] if kind == "researchers" else [name, f"{name}.folded", f"{name}.en"]:
            fields[variant] = {"number_of_fragments": count, "fragment_size": 160}
    return {"pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html", "require_field_match": False,
            "fields": fields}


def _expand(fields):
    """``title^3`` -> title^3, title.folded^(3*0.6), title.en^(3*0.8) (exact spelling counts most)."""
    out = []
    for name, boost in fields.items():
        out += [f"{name}^{boost}", f"{name}.folded^{round(boost * 0.6, 2)}", f"{name}.en^{round(boost * 0.8, 2)}"]
    return out


def _names(fields):
    return [f"{n}^{b}" for n, b in fields.items()] + [f"{n}.simple^{round(b * 0.5, 2)}" for n, b in fields.items()]


def _range(start, end):
    out = {}
    if start is not None:
        out["gte"] = start
    if end is not None:
        out["lte"] = end
    return out
