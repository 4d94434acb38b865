"""The database search backend: SQLite FTS5 for the embedded default, PostgreSQL full-text otherwise.

Text is analyzed in Python (search/analysis.py) and stored as tokens, so both engines match the
same words: stemmed Norwegian and English, with and without æ/ø/å. Structured filters, facets
and sorting are ordinary SQL over the studies table.
"""

from __future__ import annotations

import time
from collections import Counter

from django.db import connection, transaction
from django.db.models import Count, Q

from apps.common.sql import id_list as _id_list_sql
from apps.researchers.models import Researcher
from apps.studies.models import Authorship, Status, Study
from apps.summaries.models import Summary, SummaryStatus

from .. import analysis, fusion, highlight, sources
from ..models import SearchDocument
from ..query import EXPANSION_WEIGHT, AnyOf, ParsedQuery, Phrase, Term
from .base import (
    FACETS, KINDS, MAX_WINDOW, FacetValue, Hit, SearchBackend, SearchRequest, SearchResponse, Suggestion,
    query_vector, related_hits, related_vector, topic_suggestions,
)

FIELD_COLUMNS = {"title": "title", "abstract": "abstract", "author": "author", "topic": "topic",
                 "keyword": "other", "venue": "other"}
PG_WEIGHTS = {"title": "A", "author": "B", "topic": "C", "abstract": "D", "other": "D"}
# column weights: title 2, the rest 1 (measured on SciFact: title 6 -> nDCG@10 0.681 / Recall@100 0.913;
# 2 -> 0.685 / 0.916); each query word is scored under one form (``_scoring_terms``)
SQLITE_BM25 = "bm25(search_fts, 0, 0, 2.0, 1.0, 1.0, 1.0, 1.0, 0)"
PG_RANK_WEIGHTS = "{0.3, 0.5, 0.6, 1.0}"  # D, C, B, A
FACET_SIZE = 50


def _text_fields(kind, doc):
    """Map a document to the analyzed columns: title, abstract, author, topic, other, exact."""
    if kind == "studies":
        title = f"{doc['title']} {doc['subtitle']}"
        raw = {"title": title, "abstract": doc["abstract"], "author": " ".join(doc["authors"]),
               "topic": " ".join(doc["topic_labels"]),
               "other": " ".join([*doc["keywords"], doc["venue"], doc["publisher"], doc["summary_text"],
                                  doc["doi"], doc["pmid"], doc["isbn"], str(doc["year"] or "")])}
    elif kind == "researchers":
        raw = {"title": doc["name"], "abstract": doc["bio"], "author": doc["name"],
               "topic": " ".join(doc["interests"]), "other": " ".join([*doc["affiliations"], doc["orcid"]])}
    else:
        raw = {"title": doc["title"], "abstract": "\n".join([doc["body"], doc["key_findings"], doc["implications"]]),
               "author": "", "topic": "", "other": " ".join(doc["study_titles"])}
    fields = {k: analysis.index_tokens(v) for k, v in raw.items()}
    fields["exact"] = analysis.exact_tokens(" | ".join(raw[k] for k in ("title", "abstract", "author", "topic",
                                                                          "other")))
    return fields


class DatabaseBackend(SearchBackend):
    name = "database"

    @property
    def vendor(self):
        return connection.vendor

    # --- lifecycle ---------------------------------------------------------------------------------
    def health(self):
        return {"status": "ok", "backend": self.name, "engine": self.vendor,
                "documents": SearchDocument.objects.count()}

    # --- writing -----------------------------------------------------------------------------------
    def index(self, kind, ids):
        ids = sorted({int(i) for i in ids})
        if not ids:
            return
        docs = sources.build(kind, ids)
        with transaction.atomic():
            self._store(kind, docs, ids)

    def _store(self, kind, docs, ids):
        gone = [i for i in ids if i not in docs]
        if gone:
            self._delete(kind, gone)
        if not docs:
            return
        rows = []
        for object_id, doc in docs.items():
            fields = _text_fields(kind, doc)
            rows.append(SearchDocument(kind=kind, object_id=object_id, digest=sources.digest(doc), **fields))
        SearchDocument.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["kind", "object_id"],
            update_fields=["title", "abstract", "author", "topic", "other", "exact", "digest"], batch_size=500)
        stored = list(SearchDocument.objects.filter(kind=kind, object_id__in=list(docs)))
        if self.vendor == "sqlite":
            self._sqlite_write(stored)
        elif self.vendor == "postgresql":
            self._postgres_write(stored)

    def _delete(self, kind, object_ids):
        qs = SearchDocument.objects.filter(kind=kind, object_id__in=list(object_ids))
        if self.vendor == "sqlite":
            row_ids = list(qs.values_list("id", flat=True))
            with connection.cursor() as cursor:
                for chunk in _chunks(row_ids, 500):
                    cursor.execute(f"DELETE FROM search_fts WHERE rowid IN ({','.join('%s' for _ in chunk)})", chunk)
        qs.delete()

    def _sqlite_write(self, stored):
        with connection.cursor() as cursor:
            for chunk in _chunks(stored, 500):
                cursor.execute(f"DELETE FROM search_fts WHERE rowid IN ({','.join('%s' for _ in chunk)})",
                               [d.id for d in chunk])
            cursor.executemany(
                "INSERT INTO search_fts (rowid, kind, object_id, title, abstract, author, topic, other, exact) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(d.id, d.kind, d.object_id, d.title, d.abstract, d.author, d.topic, d.other, d.exact)
                 for d in stored])

    def _postgres_write(self, stored):
        with connection.cursor() as cursor:
            cursor.executemany(
                "UPDATE search_searchdocument SET tsv = %s::tsvector, tsv_exact = %s::tsvector WHERE id = %s",
                [(_pg_weighted(d), _pg_positions(d.exact), d.id) for d in stored])

    def rebuild(self, kinds=KINDS, progress=None, merge=None):
        counts = {}
        for kind in kinds:
            with transaction.atomic():
                if self.vendor == "sqlite":
                    with connection.cursor() as cursor:
                        cursor.execute("DELETE FROM search_fts WHERE kind = %s", [kind])
                SearchDocument.objects.filter(kind=kind).delete()
                total = 0
                for page in sources.id_pages(kind):
                    self._store(kind, sources.build(kind, page), page)
                    total += len(page)
                    if progress:
                        progress(kind, total)
            counts[kind] = SearchDocument.objects.filter(kind=kind).count()
        return counts

    def indexed_digest_stream(self, kind):
        rows = SearchDocument.objects.filter(kind=kind).order_by("object_id").values_list("object_id", "digest")
        for page in sources.keyset_pages(rows, "object_id", self.digest_page, key=lambda row: row[0]):
            yield from page

    # --- reading -----------------------------------------------------------------------------------
    def _base(self, kind, include_drafts):
        if kind == "studies":
            qs = Study.objects.all()
            return qs if include_drafts else qs.filter(status=Status.PUBLISHED)
        if kind == "researchers":
            return Researcher.objects.all()
        return Summary.objects.filter(status=SummaryStatus.PUBLISHED).exclude(studies__status=Status.DRAFT)

    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        vector = query_vector(request)
        if vector is not None:
            response = self._hybrid(request, vector)
            response.took_ms = round((time.perf_counter() - started) * 1000, 2)
            return response
        query, filters = request.query, request.filters
        base = self._base(request.kind, filters.include_drafts)
        scores, matched, expanded = None, {}, {}
        if not query.is_empty:
            ids, scores, (matched, expanded) = self._match(request.kind, query)
            base = base.filter(id__in=_id_list_sql(ids))
        if query.year_from is not None or query.year_to is not None:
            if request.kind == "studies":
                base = _year_range(base, query.year_from, query.year_to)
        filtered = self._apply_filters(request.kind, base, filters) if request.kind == "studies" else base
        total = filtered.count()
        ordered = self._order(request.kind, filtered, request.sort, scores)
        offset = (request.page - 1) * request.page_size
        if request.search_after:
            offset = int(request.search_after[0]) if str(request.search_after[0]).isdigit() else 0
        page_ids = ordered[offset:offset + request.page_size]
        hits = [Hit(id=i, score=(scores or {}).get(i), why=_why(matched.get(i), expanded.get(i))) for i in page_ids]
        if request.highlight and not query.is_empty and hits:
            self._highlight(request.kind, hits, query)
        facets = self._facets(base, filters) if request.facets and request.kind == "studies" else {}
        next_offset = offset + len(page_ids)
        response = SearchResponse(total=total, hits=hits, facets=facets,
                                  next_cursor=[next_offset] if next_offset < total else None)
        if total == 0 and request.explain_did_you_mean and query.plain_terms():
            response.did_you_mean = self._did_you_mean(request, query)
        response.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return response

    def _hybrid(self, request: SearchRequest, vector) -> SearchResponse:
        """Words and meaning (search/fusion.py): the lexical ranking and the ``POOL`` nearest vectors
        (exact, numpy over the vectors this process holds), both under the same filters."""
        import numpy as np

        query, filters = request.query, request.filters
        base = self._base("studies", filters.include_drafts)
        if query.year_from is not None or query.year_to is not None:
            base = _year_range(base, query.year_from, query.year_to)
        allowed = self._apply_filters("studies", base, filters)
        lexical_ids, scores, (matched, expanded) = self._match("studies", query)
        rows = list(allowed.filter(id__in=_id_list_sql(lexical_ids)).values_list("id", "year"))
        rows.sort(key=lambda r: (-round(scores.get(r[0], 0.0), 9), -(r[1] or 0), r[0]))
        lexical = [(r[0], scores.get(r[0], 0.0)) for r in rows]
        allowed_ids = np.fromiter(allowed.values_list("id", flat=True), dtype=np.int64)
        nearest = self._nearest(vector, allowed_ids, fusion.POOL)
        fused = fusion.hybrid(lexical, nearest, vector, self._vectors_of, fusion.lexical_weight(query))
        offset = (request.page - 1) * request.page_size
        after = request.search_after
        if after and len(after) == 2 and after[0] == "hybrid" and isinstance(after[1], int) and after[1] >= 0:
            offset = after[1]
        page = fused[offset:offset + request.page_size]
        hits = [Hit(id=f.id, score=round(f.score, 6),
                    why={"lexical_rank": f.lexical_rank, "semantic_rank": f.semantic_rank,
                         **_why(matched.get(f.id), expanded.get(f.id))})
                for f in page]
        if request.highlight and hits:
            lexical_hits = [h for h in hits if h.why["lexical_rank"]]
            if lexical_hits:
                self._highlight("studies", lexical_hits, query)
        facets = {}
        if request.facets:  # over the union: word matches (each facet without its own filter) + nearest
            union = set(lexical_ids) | {i for i, _ in nearest}
            facets = self._facets(base.filter(id__in=_id_list_sql(union)), filters)
        end = offset + len(page)
        return SearchResponse(total=len(fused), hits=hits, facets=facets, ranking="hybrid",
                              next_cursor=["hybrid", end] if end < len(fused) else None)

    # -- text matching
    def _match(self, kind, query: ParsedQuery):
        """Ids matching the query (with minimum-should-match) and their relevance scores."""
        positive, negative = query.positive, query.negative
        plain = query.plain_terms()
        required = [c for c in positive if c not in plain]
        need = query.required_count()
        result = None
        counts = Counter()
        matched, expanded = {}, {}  # id -> words typed / vocabulary expansions it matched ("why this hit")
        if plain:
            for clause in plain:
                clause_ids = self._clause_ids(kind, clause)
                for i in clause_ids:
                    matched.setdefault(i, []).append(clause.text.lower())
                for text in clause.alternatives:  # an expansion counts as the word it stands for
                    alt = Phrase(text) if len(text.split()) > 1 else Term(text)
                    alt_ids = self._clause_ids(kind, alt)
                    for i in alt_ids:
                        expanded.setdefault(i, []).append(text)
                    clause_ids = clause_ids | alt_ids
                counts.update(clause_ids)
            result = {i for i, n in counts.items() if n >= need}
        for clause in required:
            ids = self._clause_ids(kind, clause)
            result = ids if result is None else result & ids
        if query.dois:
            doi_ids = set(Study.objects.filter(doi__in=query.dois).values_list("id", flat=True)) \
                if kind == "studies" else set()
            result = doi_ids if result is None else result & doi_ids
        if result is None:  # only negative clauses: start from everything
            result = set(SearchDocument.objects.filter(kind=kind).values_list("object_id", flat=True))
        for clause in negative:
            result -= self._clause_ids(kind, clause)
        scores = self._scores(kind, positive, result) if result else {}
        alternatives = [a for c in plain for a in c.alternatives]
        if alternatives and result:  # expansions score too, at EXPANSION_WEIGHT of a typed word
            extra = self._scores(kind, [Phrase(a) if len(a.split()) > 1 else Term(a) for a in alternatives],
                                 set(expanded) & result)
            for i, value in extra.items():
                scores[i] = scores.get(i, 0.0) + EXPANSION_WEIGHT * value
        return result, scores, (matched, expanded)

    def _clause_ids(self, kind, clause) -> set[int]:
        expr = self._expression(clause)
        if expr is None:
            return set()
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                cursor.execute("SELECT object_id FROM search_fts WHERE search_fts MATCH %s AND kind = %s",
                               [expr, kind])
            else:
                column = "tsv_exact" if isinstance(clause, Phrase) else "tsv"
                if isinstance(clause, AnyOf):
                    sql, params = self._pg_anyof(clause)
                    cursor.execute(f"SELECT object_id FROM search_searchdocument WHERE kind = %s AND ({sql})",
                                   [kind, *params])
                    return {row[0] for row in cursor.fetchall()}
                cursor.execute(f"SELECT object_id FROM search_searchdocument WHERE kind = %s AND "
                               f"{column} @@ %s::tsquery", [kind, expr])
            return {row[0] for row in cursor.fetchall()}

    def _pg_anyof(self, clause):
        parts, params = [], []
        for c in clause.clauses:
            expr = self._expression(c)
            if expr is None:
                continue
            parts.append(f"{'tsv_exact' if isinstance(c, Phrase) else 'tsv'} @@ %s::tsquery")
            params.append(expr)
        return (" OR ".join(parts) or "FALSE"), params

    def _expression(self, clause):
        """The engine's match expression for one clause (None when it cannot match anything)."""
        sqlite = self.vendor == "sqlite"
        if isinstance(clause, AnyOf):
            if not sqlite:
                return "__anyof__"
            parts = [p for p in (self._expression(c) for c in clause.clauses) if p]
            return " OR ".join(f"({p})" for p in parts) if parts else None
        if isinstance(clause, Phrase):
            tokens = analysis.exact_tokens(clause.text).split()
            if not tokens:
                return None
            if sqlite:
                return 'exact : "' + " ".join(tokens) + '"'
            return " <-> ".join(f"'{t}'" for t in tokens)
        word = clause.text.lower()
        column = FIELD_COLUMNS.get(clause.field) if clause.field else None
        if clause.prefix:
            stem = analysis.fold(word.rstrip("*"))
            forms = [stem] if stem else []
            if sqlite:
                return f'{{{column}}} : "{stem}"*' if column else f'"{stem}"*'
            return f"'{stem}':*{PG_WEIGHTS[column] if column else ''}" if forms else None
        forms = analysis.query_forms(word)
        if not forms:
            return None
        if sqlite:
            inner = " OR ".join(f'"{f}"' for f in forms)
            return f"{{{column}}} : ({inner})" if column else f"({inner})"
        weight = PG_WEIGHTS[column] if column else ""
        return "(" + " | ".join(f"'{f}'{':' + weight if weight else ''}" for f in forms) + ")"

    def _scores(self, kind, positive, ids) -> dict[int, float]:
        words = []  # the forms of each word to score (any of them may match)
        for clause in positive:
            for c in (clause.clauses if isinstance(clause, AnyOf) else [clause]):
                if isinstance(c, Term) and not c.prefix:
                    words.append(analysis.query_forms(c.text))
                elif isinstance(c, Phrase):
                    words.extend(analysis.query_forms(w) for w in analysis.words(c.text))
        words = [forms for forms in words if forms]
        if not words:
            return {i: 1.0 for i in ids}
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                terms = self._scoring_terms(cursor, words)
                if not terms:
                    return {i: 0.0 for i in ids}
                cursor.execute(f"SELECT object_id, {SQLITE_BM25} FROM search_fts WHERE search_fts MATCH %s "
                               "AND kind = %s", [" OR ".join(f'"{t}"' for t in terms), kind])
                raw = {oid: -score for oid, score in cursor.fetchall() if oid in ids}
            else:
                expr = " | ".join(f"'{t}'" for t in dict.fromkeys(f for forms in words for f in forms))
                cursor.execute(f"SELECT object_id, ts_rank('{PG_RANK_WEIGHTS}', tsv, %s::tsquery, 1) "
                               "FROM search_searchdocument WHERE kind = %s AND tsv @@ %s::tsquery",
                               [expr, kind, expr])
                raw = {oid: float(score) for oid, score in cursor.fetchall() if oid in ids}
        return {i: raw.get(i, 0.0) for i in ids}

    @staticmethod
    def _scoring_terms(cursor, words) -> list[str]:
        """One token per word for FTS5's BM25: the form of the word that most documents hold (its stem,
        as a rule, which covers the others). Every form is matched, but were each scored, a word found
        under three forms would count three times (SciFact, lexical: nDCG@10 0.685 -> 0.696, Recall@100
        0.915 -> 0.93 offline, docs/benchmarks.md)."""
        forms = list(dict.fromkeys(f for group in words for f in group))
        cursor.execute(f"SELECT term, doc FROM search_fts_vocab WHERE term IN ({','.join('%s' for _ in forms)})",
                       forms)
        documents = dict(cursor.fetchall())
        chosen = (max(group, key=lambda f: (documents.get(f, 0), f.startswith("0"))) for group in words)
        return list(dict.fromkeys(t for t in chosen if documents.get(t)))

    # -- filters, facets, order
    def _apply_filters(self, kind, qs, filters, skip=None):
        return qs.matching(filters, skip=skip)

    def _facets(self, base, filters):
        out = {}
        for name in FACETS:
            qs = self._apply_filters("studies", base, filters, skip=name)
            ids = qs.values("id")
            if name == "year":
                rows = qs.exclude(year=None).values("year").annotate(n=Count("id")).order_by("year")
                out[name] = [FacetValue(r["year"], r["n"]) for r in rows]
                continue
            if name in ("type", "design", "language"):
                column = {"type": "study_type"}.get(name, name)
                rows = qs.exclude(**{column: ""}).values(column).annotate(n=Count("id")).order_by("-n", column)
                values = [FacetValue(r[column], r["n"]) for r in rows]
            elif name == "topic":
                rows = (Study.topics.through.objects.filter(study_id__in=ids).values("topic_id")
                        .annotate(n=Count("study_id", distinct=True)).order_by("-n", "topic_id"))
                values = [FacetValue(r["topic_id"], r["n"]) for r in rows]
            elif name == "researcher":
                rows = (Authorship.objects.filter(study_id__in=ids, researcher__isnull=False)
                        .values("researcher_id").annotate(n=Count("study_id", distinct=True))
                        .order_by("-n", "researcher_id"))
                values = [FacetValue(r["researcher_id"], r["n"]) for r in rows]
            else:
                pairs = set(Authorship.objects.filter(study_id__in=ids, researcher__isnull=False)
                            .exclude(researcher__affiliations__institution_id=None)
                            .values_list("study_id", "researcher__affiliations__institution_id"))
                values = _institution_counts(pairs)
            out[name] = values[:FACET_SIZE]
        return out

    def _order(self, kind, qs, sort, scores):
        if kind != "studies":
            ids = list(qs.values_list("id", flat=True)[:MAX_WINDOW * 2])
            if scores:
                ids.sort(key=lambda i: (-scores.get(i, 0), i))
            return ids
        if sort == "relevance" and scores:
            rows = list(qs.values_list("id", "year"))
            rows.sort(key=lambda r: (-round(scores.get(r[0], 0.0), 9), -(r[1] or 0), r[0]))
            return [r[0] for r in rows]
        order = {"newest": ["-year", "-month", "-id"], "oldest": ["year", "month", "id"],
                 "title": ["title", "id"]}.get(sort, ["-year", "-month", "-id"])
        if sort == "oldest":
            from django.db.models import F

            order = [F("year").asc(nulls_last=True), F("month").asc(nulls_last=True), "id"]
        elif sort in ("newest", "relevance"):
            from django.db.models import F

            order = [F("year").desc(nulls_last=True), F("month").desc(nulls_last=True), "-id"]
        return list(qs.order_by(*order).values_list("id", flat=True))

    def _highlight(self, kind, hits, query):
        words, prefixes = [], []
        for clause in query.positive:
            for c in (clause.clauses if isinstance(clause, AnyOf) else [clause]):
                if isinstance(c, Term) and c.prefix:
                    prefixes.append(analysis.fold(c.text.lower().rstrip("*")))
                else:
                    words.extend(analysis.words(c.text))
        forms = highlight.query_form_set(words)
        model = {"studies": Study, "researchers": Researcher, "summaries": Summary}[kind]
        fields = {"studies": ("title", "abstract"), "researchers": ("given_name", "family_name"),
                  "summaries": ("title", "body")}[kind]
        rows = {r["id"]: r for r in model.objects.filter(id__in=[h.id for h in hits]).values("id", *fields)}
        for hit in hits:
            row = rows.get(hit.id, {})
            if kind == "studies":
                title = highlight.fragments(row.get("title"), forms, prefixes, whole=True)
                abstract = highlight.fragments(row.get("abstract"), forms, prefixes)
                hit.highlights = {k: v for k, v in (("title", title), ("abstract", abstract)) if v}
            elif kind == "summaries":
                hit.highlights = {k: v for k, v in (
                    ("title", highlight.fragments(row.get("title"), forms, prefixes, whole=True)),
                    ("body", highlight.fragments(row.get("body"), forms, prefixes))) if v}
            else:
                name = f"{row.get('given_name', '')} {row.get('family_name', '')}"
                marked = highlight.fragments(name, forms, prefixes, whole=True)
                hit.highlights = {"name": marked} if marked else {}

    def _did_you_mean(self, request, query):
        from rapidfuzz import process
        from rapidfuzz.distance import Levenshtein

        vocabulary = self._vocabulary()
        if not vocabulary:
            return None
        changed, words = False, []
        for term in query.plain_terms():
            word = term.text.lower()
            if word in vocabulary:
                words.append(word)
                continue
            match = process.extractOne(word, vocabulary, scorer=Levenshtein.normalized_similarity,
                                       score_cutoff=0.6)
            if match:
                words.append(match[0])
                changed = True
            else:
                words.append(word)
        if not changed:
            return None
        suggestion = " ".join(words)
        from ..query import parse

        probe = SearchRequest(kind=request.kind, query=parse(suggestion), filters=request.filters, page_size=1,
                              facets=False, highlight=False, explain_did_you_mean=False)
        return suggestion if self.search(probe).total else None

    def _vocabulary(self):
        words = set()
        for title, topic in SearchDocument.objects.values_list("title", "topic")[:20000]:
            words.update(t for t in f"{title} {topic}".split() if not t.startswith("0") and len(t) > 2)
        return list(words)

    def suggest(self, prefix, include_drafts=False, size=10):
        prefix = " ".join(prefix.split())[:100]
        if len(prefix) < 2:
            return []
        out = []
        studies = self._base("studies", include_drafts).filter(
            Q(title__istartswith=prefix) | Q(title__icontains=f" {prefix}")).order_by("-year")[:size]
        out += [Suggestion("study", s.id, s.title) for s in studies]
        parts = prefix.split()
        rq = Q()
        for p in parts:
            rq &= Q(given_name__istartswith=p) | Q(family_name__istartswith=p)
        out += [Suggestion("researcher", r.id, r.full_name) for r in Researcher.objects.filter(rq)[:size]]
        out += topic_suggestions(prefix, size)
        return out[: size * 3]

    def related(self, study_id, include_drafts=False, size=10):
        doc = SearchDocument.objects.filter(kind="studies", object_id=study_id).first()
        if doc is None:
            return []
        weights = Counter()
        for text, weight in ((doc.title, 3), (doc.topic, 2), (doc.abstract, 1)):
            for token in text.split():
                if not token.isdigit():
                    weights[token] += weight
        chosen = [t for t, _ in weights.most_common(40)]
        if not chosen:
            return []
        allowed = set(self._base("studies", include_drafts).values_list("id", flat=True))
        with connection.cursor() as cursor:
            if self.vendor == "sqlite":
                expr = " OR ".join(f'"{t}"' for t in chosen)
                cursor.execute(f"SELECT object_id, {SQLITE_BM25} FROM search_fts WHERE search_fts MATCH %s "
                               "AND kind = 'studies' ORDER BY 2 LIMIT %s", [expr, size * 5 + 1])
                rows = [(oid, -score) for oid, score in cursor.fetchall()]
            else:
                expr = " | ".join(f"'{t}'" for t in chosen)
                cursor.execute(f"SELECT object_id, ts_rank('{PG_RANK_WEIGHTS}', tsv, %s::tsquery, 1) AS r "
                               "FROM search_searchdocument WHERE kind = 'studies' AND tsv @@ %s::tsquery "
                               "ORDER BY r DESC LIMIT %s", [expr, expr, size * 5 + 1])
                rows = [(oid, float(score)) for oid, score in cursor.fetchall()]
        lexical = [(oid, score) for oid, score in rows if oid != study_id and oid in allowed]
        vector = related_vector(study_id)
        if vector is None:
            return [Hit(id=oid, score=score) for oid, score in lexical[:size]]
        return related_hits(study_id, lexical, self._nearest(vector, allowed, size + 1), size)

    def _vectors_of(self, study_ids) -> dict:
        """Study id -> held vector, for those of these studies that have one."""
        import numpy as np

        from .. import vector_store as vectors

        ids, matrix = vectors.matrix()
        study_ids = list(study_ids)
        rows = np.searchsorted(ids, study_ids) if len(ids) else []
        return {i: matrix[r] for r, i in zip(rows, study_ids) if r < len(ids) and ids[r] == i}

    def _nearest(self, vector, allowed_ids, k) -> list[tuple[int, float]]:
        """The ``k`` studies among ``allowed_ids`` whose vectors are nearest (exact cosine, numpy)."""
        import numpy as np

        from .. import vector_store as vectors

        ids, matrix = vectors.matrix()
        if not len(ids):
            return []
        similarity = matrix @ np.asarray(vector, dtype=np.float32)
        if not isinstance(allowed_ids, np.ndarray):
            allowed_ids = np.fromiter(allowed_ids, dtype=np.int64)
        candidates = np.flatnonzero(np.isin(ids, allowed_ids))
        best = candidates[np.argsort(-similarity[candidates], kind="stable")[:k]]
        return [(int(ids[i]), float(similarity[i])) for i in best]


def _why(matched, expanded):
    why = {}
    if matched:
        why["matched"] = sorted(set(matched))
    if expanded:
        why["expansions"] = sorted(set(expanded))
    return why


def _institution_counts(pairs):
    """Distinct studies per institution, each institution also counting its sub-units' studies."""
    from apps.researchers.models import Institution

    parents = dict(Institution.objects.values_list("id", "parent_id"))
    studies = {}
    for study_id, institution_id in pairs:
        node, seen = institution_id, set()
        while node is not None and node not in seen:
            seen.add(node)
            studies.setdefault(node, set()).add(study_id)
            node = parents.get(node)
    ranked = sorted(studies.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    return [FacetValue(i, len(s)) for i, s in ranked]


def _year_range(qs, start, end):
    if start is not None:
        qs = qs.filter(year__gte=start)
    if end is not None:
        qs = qs.filter(year__lte=end)
    return qs


def _chunks(items, size):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _pg_weighted(doc):
    """A tsvector literal: every token of every column, with its column's weight."""
    lexemes = {}
    position = 0
    for column in ("title", "author", "topic", "abstract", "other"):
        weight = PG_WEIGHTS[column]
        for token in getattr(doc, column).split():
            position = min(position + 1, 16383)
            lexemes.setdefault(token, []).append(f"{position}{weight}")
    return " ".join(f"'{tok}':{','.join(pos[:256])}" for tok, pos in lexemes.items())


def _pg_positions(text):
    lexemes = {}
    for position, token in enumerate(text.split(), start=1):
        lexemes.setdefault(token, []).append(str(min(position, 16383)))
    return " ".join(f"'{tok}':{','.join(pos[:256])}" for tok, pos in lexemes.items())

