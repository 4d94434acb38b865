"""The Elasticsearch backend (elasticsearch-dsl over the official 8.x client).

One versioned index per kind (``<prefix>-studies-<timestamp>``) behind an alias (``<prefix>-studies``).
Rebuilds fill a new index and swap the alias in one atomic request, so searches never stop.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import dataclasses
import functools

from elasticsearch import ApiError, NotFoundError, TransportError, helpers
from elasticsearch_dsl import Q, Search

from apps.common.readahead import ReadAhead

from .. import embedders, es_analysis, fusion, sources
from .. import vector_store as vectors
from ..documents import DOCUMENTS
from .es_client import make_client
from .es_query import FACET_FIELDS, filters_of, highlight_body, highlighting, sort_order, text_query
from .base import (
    FACETS, KINDS, MAX_WINDOW, FacetValue, Hit, SearchBackend, SearchRequest, SearchResponse, SearchUnavailable,
    Suggestion, query_vector, related_hits, related_vector, topic_suggestions, wants_vector,
)

FACET_SIZE = 50
SUGGEST_CHARS = 300  # of a title, for autocompletion
MERGE_TIMEOUT_S = 6 * 3600  # a merge into one segment answers when it is done
HIGHLIGHT_AHEAD = 10  # a hybrid page's word matches: their lexical ranks reach this far around the page's


class _Body:
    """A search request written as plain data: what ``msearch_body`` reads of an elasticsearch-dsl
    ``Search`` (its index, its parameters, its body)."""

    __slots__ = ("_index", "_params", "_body")

    def __init__(self, index, body, params):
        self._index, self._params, self._body = [index], params, body

    def to_dict(self):
        return self._body


def _counting_body(index, text, always, facet, aggs=True):
    """The request that counts: total (``f_all`` when facet filters apply) and, with ``aggs``, the seven
    facets, each without its own filter; the queries as dicts. Written as plain data: elasticsearch-dsl's
    objects for its eight aggregations, built and turned into a dict again, took 0.4 ms of every search
    (tests/search/test_es_bodies.py checks the body is the one elasticsearch-dsl writes)."""
    buckets = {}
    if facet:  # the total of the page: every facet filter applies
        buckets["f_all"] = {"filter": {"bool": {"filter": list(facet.values())}}}
    for name in FACETS if aggs else ():
        others = [v for k, v in facet.items() if k != name]
        values = ({"histogram": {"field": "year", "interval": 1, "min_doc_count": 1}} if name == "year"
                  else {"terms": {"field": FACET_FIELDS[name], "size": FACET_SIZE}})
        buckets[f"f_{name}"] = {"filter": {"bool": {"filter": others}} if others else {"match_all": {}},
                                "aggs": {"values": values}}
    body = {"query": {"bool": {"filter": [text, *always]}}}
    if buckets:
        body["aggs"] = buckets
    body.update(size=0, track_total_hits=True)
    return _Body(index, body, {"request_cache": True})


def reading(method):
    """Reads survive a missing index (created on first use) and report an unreachable cluster clearly."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            try:
                return method(self, *args, **kwargs)
            except NotFoundError:
                self.setup()
                return method(self, *args, **kwargs)
        except (TransportError, ApiError) as exc:
            if isinstance(exc, ApiError) and exc.status_code == 400:
                raise
            raise SearchUnavailable(f"Elasticsearch did not answer: {type(exc).__name__}") from exc
    return wrapper


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, config):
        self.config = config
        self.client = make_client(config)
        self.prefix = config.get("INDEX_PREFIX") or "kb"
        self._flavour = None
        self._built_with = {}  # live index name -> the layout digest it was built with (never changes)

    # --- names and setup ---------------------------------------------------------------------------
    def alias(self, kind):
        return f"{self.prefix}-{kind}"

    def flavour(self):
        if self._flavour is None:
            self._flavour = es_analysis.detect(self.client)
        return self._flavour

    def _layout(self, kind):
        """(mapping, analysis settings, their digest) that this kb gives an index of ``kind``."""
        mapping = {"dynamic": "false", **DOCUMENTS[kind]._doc_type.mapping.to_dict()}
        analysis = es_analysis.settings(self.flavour())
        digest = hashlib.sha256(json.dumps([mapping, analysis], sort_keys=True).encode()).hexdigest()[:16]
        return mapping, analysis, digest

    def _index_body(self, kind, building=False):
        mapping, analysis, digest = self._layout(kind)
        return {
            "settings": {
                "number_of_shards": self.config.get("SHARDS", 1),
                "number_of_replicas": 0 if building else self.config.get("REPLICAS", 0),
                "refresh_interval": "-1" if building else "1s",
                "max_result_window": MAX_WINDOW,
                "analysis": analysis,
            },
            # the digest travels with the index, so an upgrade that changes the layout is noticed
            "mappings": {**mapping, "_meta": {"kb_layout": digest}},
        }

    def live_indices(self) -> dict[str, list[str]]:
        """Kind -> the concrete indices its alias points to (none: no alias), in one request."""
        found = self.client.options(ignore_status=404).indices.get_alias(
            name=",".join(self.alias(k) for k in KINDS)).body
        out = {k: [] for k in KINDS}
        by_alias = {self.alias(k): k for k in KINDS}
        for index, value in found.items():
            for name in (value.get("aliases", {}) if isinstance(value, dict) else ()):
                if name in by_alias:
                    out[by_alias[name]].append(index)
        return out

    def outdated(self, live=None):
        """The kinds whose live index was built with another mapping or analysis than this kb's (an
        upgrade changed them): a ``search_index --rebuild`` brings them up to date.

        An index's layout digest (``_meta.kb_layout``) is read once per index name and kept: an index
        never changes its layout, a rebuild makes a new one. So a health check polled every second asks
        Elasticsearch for one alias list, not for three mappings."""
        live = self.live_indices() if live is None else live
        unknown = [i for indices in live.values() for i in indices if i not in self._built_with]
        if unknown:
            for index, m in self.client.indices.get_mapping(index=",".join(unknown)).body.items():
                self._built_with[index] = m["mappings"].get("_meta", {}).get("kb_layout")
        return [kind for kind in KINDS if live[kind]
                and {self._built_with.get(i) for i in live[kind]} != {self._layout(kind)[2]}]

    def _new_index(self, kind, building=False):
        name = f"{self.alias(kind)}-{datetime.now(timezone.utc).strftime('%Y%m%d%H%M%S%f')}"
        self.client.indices.create(index=name, **self._index_body(kind, building))
        return name

    def setup(self):
        for kind in KINDS:
            if not self.client.indices.exists_alias(name=self.alias(kind)):
                index = self._new_index(kind)
                self.client.indices.put_alias(index=index, name=self.alias(kind))

    def unreachable(self, exc):
        if isinstance(exc, ApiError):  # answered, but cannot serve: no master, a shard without a copy
            return exc.status_code in (502, 503, 504)
        return isinstance(exc, (TransportError, SearchUnavailable))  # refused, reset, timed out

    def answers(self):
        try:
            self.client.options(request_timeout=3).cluster.health()
        except (TransportError, ApiError):
            return False
        return True

    def health(self):
        health = self.client.options(request_timeout=3).cluster.health()
        live = self.live_indices()
        aliases = {k: bool(live[k]) for k in KINDS}
        ok = health["status"] in ("green", "yellow") and all(aliases.values())
        return {"status": "ok" if ok else "error", "backend": self.name, "cluster": health["status"],
                "indices": aliases, "analysis": self.flavour(), "rebuild_needed": self.outdated(live)}

    def refresh(self):
        for kind in KINDS:
            if self.client.indices.exists_alias(name=self.alias(kind)):
                self.client.indices.refresh(index=self.alias(kind))

    # --- writing -----------------------------------------------------------------------------------
    def _source(self, kind, doc):
        body = dict(doc)
        body["digest"] = sources.digest(doc)
        if kind == "studies":
            body["title_sort"] = (doc["title"] or "")[:200]
            body["title_suggest"] = (doc["title"] or "")[:SUGGEST_CHARS]
        elif kind == "researchers":
            body["suggest"] = {"input": [doc["name"], doc["family_name"]]}
        return body

    def _actions(self, kind, docs, index):
        for object_id, doc in docs.items():
            yield {"_op_type": "index", "_index": index, "_id": object_id, "_source": self._source(kind, doc)}

    def index(self, kind, ids):
        ids = sorted({int(i) for i in ids})
        if not ids:
            return
        self.setup()
        docs = sources.build(kind, ids)
        actions = list(self._actions(kind, docs, self.alias(kind)))
        actions += [{"_op_type": "delete", "_index": self.alias(kind), "_id": i} for i in ids if i not in docs]
        _, errors = helpers.bulk(self.client, actions, raise_on_error=False, raise_on_exception=True,
                                 chunk_size=500, max_retries=2)
        real = [e for e in errors if e.get("delete", {}).get("status") != 404]
        if real:
            raise RuntimeError(f"{len(real)} of {len(actions)} index actions failed: {str(real[0])[:500]}")

    def bulk_index_prepared(self, kind, docs_iter, index=None, chunk_size=1000):
        """Index already-built source documents (used by rebuild and the indexing benchmark)."""
        target = index or self.alias(kind)
        actions = ({"_op_type": "index", "_index": target, "_id": doc["id"], "_source": self._source(kind, doc)}
                   for doc in docs_iter)
        count = 0
        for ok, item in helpers.streaming_bulk(self.client, actions, chunk_size=chunk_size, raise_on_error=True,
                                               max_retries=2):
            count += ok
        return count

    def rebuild(self, kinds=KINDS, progress=None, merge=None):
        """Fill a new index per kind, merge it into one segment (``merge``; default: the
        ``MERGE_ON_REBUILD`` setting), then swap the alias atomically and drop the old index."""
        merge = self.config.get("MERGE_ON_REBUILD", True) if merge is None else merge
        result = {}
        for kind in kinds:
            started = time.time()
            index = self._new_index(kind, building=True)
            merged_s = None
            try:
                total = self.bulk_index_prepared(kind, _built(kind, progress),
                                                 index=index)
                if merge:  # before replicas: the merge then runs once, and the copies are made of one segment
                    merged_s = self.merge(index)
                self.client.indices.put_settings(index=index, settings={
                    "index": {"refresh_interval": "1s", "number_of_replicas": self.config.get("REPLICAS", 0)}})
                self.client.indices.refresh(index=index)
            except Exception:
                self.client.indices.delete(index=index, ignore_unavailable=True)
                raise
            alias = self.alias(kind)
            old = list(self.client.indices.get_alias(name=alias).keys()) \
                if self.client.indices.exists_alias(name=alias) else []
            if self.client.indices.exists(index=alias) and not old:
                self.client.indices.delete(index=alias)  # a plain index squatting on the alias name
            actions = [{"remove": {"index": o, "alias": alias}} for o in old] + [{"add": {"index": index, "alias": alias}}]
            self.client.indices.update_aliases(actions=actions)
            for o in old:
                self.client.indices.delete(index=o, ignore_unavailable=True)
            result[kind] = {"index": index, "documents": total, "seconds": round(time.time() - started, 2),
                            **({"merge_seconds": merged_s} if merged_s is not None else {})}
        return result

    def merge(self, index=None, kind="studies"):
        """Merge an index (default: the live one of ``kind``) into one segment; returns the seconds it took.

        Elasticsearch's advice for approximate kNN: every segment has its own HNSW graph, and a search
        visits each of them (measured at 100k studies: 16 segments -> one, a kNN of 200 from 74 to 22 ms).
        The merge rewrites the index (minutes at 100k studies with vectors); on a live index run it at a
        quiet hour: searches go on meanwhile."""
        started = time.time()
        self.client.options(request_timeout=MERGE_TIMEOUT_S).indices.forcemerge(
            index=index or self.alias(kind), max_num_segments=1)
        return round(time.time() - started, 2)

    def indexed_digest_stream(self, kind):
        page = self.digest_page
        # search_after on the numeric ``id``: each page skips straight to its ids (a sort on a point field
        # needs no scroll context kept open however long the comparison with the database takes)
        self.setup()
        s = (Search(using=self.client, index=self.alias(kind)).source(["digest"]).sort("id")
             .extra(size=page, track_total_hits=False))
        after = None
        while True:
            hits = (s if after is None else s.extra(search_after=after)).execute().hits
            for hit in hits:
                yield int(hit.meta.id), hit.digest if "digest" in hit else ""
            if len(hits) < page:
                return
            after = list(hits[-1].meta.sort)

    # --- reading -----------------------------------------------------------------------------------
    def build_searches(self, request: SearchRequest) -> tuple[_Body, _Body | None]:
        """(hits, facets): the ranked page with highlights, and the facet counts as a second request
        (also used by bench/search_latency.py).

        The two run side by side in one ``_msearch`` (on two cores that halves the wait), and the
        facet request, which needs no scores and no hits (``size=0``, the text query as a filter),
        is kept in Elasticsearch's shard request cache until the index next changes: the counts of a
        popular search (the home page: every published study) come from memory.
        """
        kind = request.kind
        always, facet_filters = filters_of(request)
        text = text_query(kind, request.query)
        index = self.alias(kind)
        # written as plain data, as the counting request is (tests/search/test_es_bodies.py: the body
        # elasticsearch-dsl wrote); its Search objects, a reference cycle each, were also most of the
        # cyclic garbage a search left to the collector
        text, always = text.to_dict(), [q.to_dict() for q in always]
        facet_filters = {name: q.to_dict() for name, q in facet_filters.items()}
        query = {"must": [text]}
        if always:
            query["filter"] = always
        body = {"query": {"bool": query}}
        if facet_filters:
            body["post_filter"] = {"bool": {"filter": list(facet_filters.values())}}
        body["sort"] = sort_order(kind, request.sort, request.query)
        if request.search_after:
            body.update(search_after=request.search_after, size=request.page_size)
        else:
            body.update({"from": (request.page - 1) * request.page_size, "size": request.page_size})
        with_facets = request.facets and kind == "studies"
        # With facets the total comes from the facet request, which visits every match anyway; the
        # ranked page then need not count, and Elasticsearch can skip documents that cannot make
        # the page (measured: 91 -> 64 ms for a two-word query matching 61k of 100k studies).
        # Ranked by relevance, the scores are there anyway; asking to "track" them as well stops
        # Elasticsearch from skipping non-competitive documents (recovery: 47 -> 29 ms at 100k).
        by_relevance = kind != "studies" or (request.sort == "relevance" and not request.query.is_empty)
        body.update(track_total_hits=not with_facets, track_scores=not by_relevance, _source=False)
        if request.highlight and not request.query.is_empty:
            body["highlight"] = highlight_body(kind)
        hits = _Body(index, body, {})
        if not with_facets:
            return hits, None
        return hits, _counting_body(index, text, always, facet_filters)

    def _counting_search(self, index, text, always, facet_filters, aggs=True):
        """``_counting_body`` of elasticsearch-dsl queries (a hybrid search's)."""
        return _counting_body(index, text.to_dict(), [q.to_dict() for q in always],
                              {name: q.to_dict() for name, q in facet_filters.items()}, aggs)

    def msearch_body(self, searches) -> list[dict]:
        body = []
        for search in searches:
            body += [{"index": search._index[0], **search._params}, search.to_dict()]
        return body

    def _execute(self, searches) -> list[dict]:
        """Run the searches in one ``_msearch``; an item's error is raised as the error it is."""
        if len(searches) == 1 and isinstance(searches[0], Search):
            return [searches[0].execute().to_dict()]
        responses = self.client.msearch(body=self.msearch_body(searches))
        out = []
        for item in responses["responses"]:
            if "error" in item:
                status = item.get("status", 500)
                meta = dataclasses.replace(responses.meta, status=status)
                error = NotFoundError if status == 404 else ApiError
                raise error(message=str(item["error"].get("type", "error")), meta=meta, body=item)
            out.append(item)
        return out

    @reading
    def search(self, request: SearchRequest) -> SearchResponse:
        started = time.perf_counter()
        result = self._hybrid(request) if wants_vector(request) else None
        if result is not None:
            result.took_ms = round((time.perf_counter() - started) * 1000, 2)
            return result
        hits_search, facets_search = self.build_searches(request)
        results = self._execute([hits_search] + ([facets_search] if facets_search is not None else []))
        response = results[0]["hits"]
        hits = [Hit(id=int(h["_id"]), score=h.get("_score"), highlights=_merge_highlights(h),
                    why=_why(None, h.get("matched_queries")))
                for h in response["hits"]]
        last = response["hits"][-1] if response["hits"] else None
        last_sort = list(last["sort"]) if last and "sort" in last else None
        facets = {}
        if facets_search is None:
            total = response["total"]["value"]
        else:
            total, facets = _counts(results[1])
        fetched = (request.page - 1) * request.page_size + len(hits) if not request.search_after else None
        more = len(hits) == request.page_size and (fetched is None or fetched < total)
        result = SearchResponse(total=total, hits=hits, facets=facets, next_cursor=last_sort if more else None)
        if total == 0 and request.explain_did_you_mean and request.query.plain_terms():
            result.did_you_mean = self._did_you_mean(request)
        result.took_ms = round((time.perf_counter() - started) * 1000, 2)
        return result

    def _hybrid(self, request: SearchRequest) -> SearchResponse | None:
        """Words and meaning, fused by search/fusion.py. Two requests run side by side:

        - while the query is embedded, one ``_msearch`` fetches the lexical ranking (the first
          ``WINDOW`` word matches) and counts the word matches (total, facets) with the very request
          the lexical path sends, which Elasticsearch keeps in its request cache;
        - once the vector is there, the kNN request fetches the ``POOL`` studies nearest to it (under
          the same filters) and counts those among them that match no word, by facet value.

        A hit is a word match or one of the nearest studies, so the total and each facet count are the
        word matches' plus the semantic-only hits'. Feedback reads the candidates' vectors from the
        database by id (no second search). The page's word matches are highlighted afterwards, by id.
        None when the query has no vector after all (the caller searches lexically)."""
        always, facet_filters = filters_of(request)
        text = text_query("studies", request.query)
        index = self.alias("studies")
        offset = _hybrid_offset(request)
        lexical = (Search(using=self.client, index=index).query(Q("bool", must=[text], filter=always))
                   .sort(*sort_order("studies", "relevance", request.query))
                   .extra(from_=0, size=min(MAX_WINDOW, max(fusion.WINDOW, offset + request.page_size)),
                          track_total_hits=False).source(False))
        if facet_filters:
            lexical = lexical.post_filter(Q("bool", filter=list(facet_filters.values())))
        counting = self._counting_search(index, text, always, facet_filters, aggs=request.facets)
        # the page's word matches are most likely ranked around the page by the words too: their
        # highlights are fetched as soon as the window is there, while the results are fused (the rest,
        # if any, after fusion)
        ahead = (slice(max(0, offset - HIGHLIGHT_AHEAD), offset + request.page_size + HIGHLIGHT_AHEAD)
                 if request.highlight else slice(0))
        words_running = _pool().submit(self._words, index, text, [lexical, counting], ahead)
        try:
            vector = query_vector(request)
        except BaseException:
            words_running.cancel() or _settle(words_running)
            raise
        if vector is None:
            _settle(words_running)
            return None
        knn_filter = ([q.to_dict() for q in [*always, *facet_filters.values()]]
                      + [{"term": {"vector_model": embedders.get_embedder().identity}}])
        knn = {"field": "vector", "query_vector": [float(x) for x in vector], "k": fusion.POOL,
               "num_candidates": fusion.POOL + fusion.POOL // 2, "filter": knn_filter}
        near = Search(using=self.client, index=index).extra(knn=knn, size=fusion.POOL, track_total_hits=False)
        only = near.aggs.bucket("semantic_only", "filter", filter=Q("bool", must_not=[text]))
        for name in FACETS if request.facets else ():
            if name == "year":
                only.bucket(name, "histogram", field="year", interval=1, min_doc_count=1)
            else:
                only.bucket(name, "terms", field=FACET_FIELDS[name], size=FACET_SIZE)
        try:
            [nearest_response] = self._execute([near.source(False)])
            nearest = [(int(h["_id"]), h["_score"]) for h in nearest_response["hits"]["hits"]]
            # feedback rescores the window and the nearest by their vectors: those of the nearest are read
            # while the lexical side may still run
            held = vectors.arrays_for([i for i, _ in nearest]) if fusion.FEEDBACK_WEIGHT else {}
        finally:
            lex, counted, highlighting_ahead = words_running.result()
        words = [(int(h["_id"]), h.get("_score") or 0.0) for h in lex["hits"]["hits"]]
        matched = {int(h["_id"]): h.get("matched_queries", []) for h in lex["hits"]["hits"]}

        def vectors_of(ids):
            missing = [i for i in ids if i not in held]
            return {**held, **vectors.arrays_for(missing)} if missing else held

        fused = fusion.hybrid(words, nearest, vector, vectors_of, fusion.lexical_weight(request.query))
        page = fused[offset:offset + request.page_size]
        hits = [Hit(id=f.id, score=round(f.score, 6), why=_why(f, matched.get(f.id))) for f in page]
        highlights = highlighting_ahead.result() if highlighting_ahead is not None else {}
        if request.highlight and hits:
            self._highlight_page(index, text, hits, highlights)
        total, facets = _counts(counted)
        total, facets = _with_semantic_only(total, facets, nearest_response["aggregations"]["semantic_only"])
        if not request.facets:
            facets = {}
        end = offset + len(page)
        more = len(page) == request.page_size and end < min(total, len(fused))
        return SearchResponse(total=total, hits=hits, facets=facets, ranking="hybrid",
                              next_cursor=["hybrid", end] if more else None)

    def _words(self, index, text, searches, ahead):
        """A hybrid search's lexical side (run beside the query's embedding and the kNN): the lexical
        window and the counts; the highlights of the word matches ranked ``ahead`` (a slice) are then
        fetched while the caller fuses (a future, or None)."""
        lex, counted = self._execute(searches)
        likely = [int(h["_id"]) for h in lex["hits"]["hits"][ahead]]
        return lex, counted, _pool().submit(self._highlights, index, text, likely) if likely else None

    def _highlights(self, index, text, ids):
        """{id: highlights} of these studies for the words (``text``)."""
        if not ids:
            return {}
        s = (Search(using=self.client, index=index).query(Q("bool", must=[text], filter=[Q("ids", values=ids)]))
             .extra(size=len(ids)).source(False))
        return {int(h["_id"]): _merge_highlights(h) for h in highlighting("studies", s).execute().to_dict()["hits"]["hits"]}

    def _highlight_page(self, index, text, hits, known):
        """Highlights for the hits of one page that match the words (semantic-only hits have none):
        those ``known`` already, the others fetched by id."""
        lexical = [h for h in hits if h.why.get("lexical_rank")]
        found = {**known, **self._highlights(index, text, [h.id for h in lexical if h.id not in known])}
        for hit in lexical:
            hit.highlights = found.get(hit.id, {})

    def _did_you_mean(self, request):
        if request.kind != "studies":
            return None
        words = [t.text for t in request.query.plain_terms()]
        s = Search(using=self.client, index=self.alias("studies")).extra(size=0)
        for i, w in enumerate(words):
            s = s.suggest(f"w{i}", w.lower(), term={"field": "spell", "suggest_mode": "always", "min_word_length": 3,
                                                    "max_edits": 2, "prefix_length": 1})
        suggest = s.execute().suggest
        changed, out = False, []
        for i, w in enumerate(words):
            options = suggest[f"w{i}"][0].options if suggest[f"w{i}"] else []
            if options and options[0].text != w.lower():
                out.append(options[0].text)
                changed = True
            else:
                out.append(w)
        if not changed:
            return None
        from ..query import parse

        probe = SearchRequest(kind="studies", query=parse(" ".join(out)), filters=request.filters, page_size=1,
                              facets=False, highlight=False, explain_did_you_mean=False)
        return " ".join(out) if self.search(probe).total else None

    @reading
    def suggest(self, prefix, include_drafts=False, size=10):
        prefix = " ".join(prefix.split())[:100]
        if len(prefix) < 2:
            return []
        statuses = ["published", "draft"] if include_drafts else ["published"]
        # every typed word but the last whole, the last as a beginning, in any word of the title (best
        # matches first); one study per title text
        typed = Q("match_bool_prefix", title_suggest={"query": prefix, "operator": "and"})
        studies = self.client.search(index=self.alias("studies"), size=size, _source=["title"],
                                     query=Q("bool", must=[typed], filter=[Q("terms", status=statuses)]).to_dict(),
                                     collapse={"field": "title_sort"})
        out = [Suggestion("study", int(h["_id"]), h["_source"]["title"]) for h in studies["hits"]["hits"]]
        people = self.client.search(index=self.alias("researchers"), suggest={
            "s": {"prefix": prefix, "completion": {"field": "suggest", "size": size, "skip_duplicates": True}}},
            _source=["name"])
        out += [Suggestion("researcher", int(o["_id"]), o["_source"]["name"])
                for o in people["suggest"]["s"][0]["options"]]
        out += topic_suggestions(prefix, size)
        return out[: size * 3]

    @reading
    def related(self, study_id, include_drafts=False, size=10):
        filters = [] if include_drafts else [Q("term", status="published")]
        mlt = Q("more_like_this", fields=["title", "abstract", "keywords", "topic_labels"],
                like=[{"_index": self.alias("studies"), "_id": str(study_id)}], min_term_freq=1, min_doc_freq=1,
                max_query_terms=40, minimum_should_match="10%")
        index = self.alias("studies")
        vector = related_vector(study_id)
        s = (Search(using=self.client, index=index)
             .query(Q("bool", must=[mlt], filter=filters)).extra(size=size if vector is None else fusion.KNN_K)
             .source(False))
        try:
            if vector is None:
                return [Hit(id=int(h.meta.id), score=h.meta.score) for h in s.execute().hits]
            knn = {"field": "vector", "query_vector": vector, "k": size + 1, "num_candidates": 100,
                   "filter": [q.to_dict() for q in filters] + [{"term": {"vector_model": embedders.get_embedder().identity}}]}
            near = Search(using=self.client, index=index).extra(knn=knn, size=size + 1).source(False)
            lexical, semantic = self._execute([s, near])
        except NotFoundError:  # the study is not indexed (yet)
            if not self.client.indices.exists_alias(name=index):
                raise
            return []
        return related_hits(study_id, [(int(h["_id"]), h["_score"]) for h in lexical["hits"]["hits"]],
                            [(int(h["_id"]), h["_score"]) for h in semantic["hits"]["hits"]], size)


def _built(kind, progress=None):
    """Documents of every object of ``kind``, a page of ids at a time (``sources.id_pages``), each page
    read and built one batch ahead in a second thread while the current batch is sent, so reading
    PostgreSQL and Elasticsearch's indexing overlap. Inside a transaction (tests) the thread could not
    see uncommitted rows, so there the batches are read and built in line."""
    from django.db import connection, connections

    batches = sources.id_pages(kind)
    done = 0

    def build(batch):
        return list(sources.build(kind, batch).values())

    if connection.in_atomic_block:
        built = map(build, batches)
    else:  # a failed rebuild closes this generator: the thread stops and closes its connection
        built = ReadAhead(batches, build, name=f"kb-index-{kind}", on_exit=connections.close_all)
    try:
        for docs in built:
            yield from docs
            done += len(docs)
            if progress:
                progress(kind, done)
    finally:
        if isinstance(built, ReadAhead):
            built.close()


def _counts(response):
    """(total, facets) of a counting request (see ``_counting_search``)."""
    aggregations = response.get("aggregations", {})
    total = aggregations["f_all"]["doc_count"] if "f_all" in aggregations else response["hits"]["total"]["value"]
    facets = {}
    for name in FACETS:
        if f"f_{name}" not in aggregations:
            continue
        buckets = aggregations[f"f_{name}"]["values"]["buckets"]
        facets[name] = [FacetValue(int(b["key"]) if name in ("year", "topic", "researcher", "institution")
                                   else b["key"], b["doc_count"]) for b in buckets]
    return total, facets


def _with_semantic_only(total, facets, only):
    """The word matches' total and facets plus the semantic-only hits' (the ``semantic_only``
    aggregation of the kNN request): the counts of a hybrid search's hits."""
    merged = {}
    for name in FACETS:
        if name not in facets:
            continue
        counts = {v.value: v.count for v in facets[name]}
        for bucket in only.get(name, {}).get("buckets", ()):
            key = int(bucket["key"]) if name in ("year", "topic", "researcher", "institution") else bucket["key"]
            counts[key] = counts.get(key, 0) + bucket["doc_count"]
        order = sorted(counts.items()) if name == "year" else sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        merged[name] = [FacetValue(key, count) for key, count in order[:FACET_SIZE]]
    return total + only["doc_count"], merged


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """Threads for a request's side-by-side Elasticsearch calls (one set per process: a forked worker
    makes its own, the parent's threads did not come along)."""
    pid = os.getpid()
    if pid not in _POOLS:
        _POOLS.clear()
        _POOLS[pid] = ThreadPoolExecutor(max_workers=4, thread_name_prefix="kb-es")
    return _POOLS[pid]


def _settle(future):
    """Wait for a call whose answer is no longer needed; its error, if any, is dropped."""
    try:
        future.result()
    except Exception:
        pass


def _hybrid_offset(request):
    """Where the page starts in the fused order: a hybrid cursor is ``["hybrid", offset]``."""
    after = request.search_after
    if after and len(after) == 2 and after[0] == "hybrid" and isinstance(after[1], int) and after[1] >= 0:
        return min(after[1], MAX_WINDOW)
    return (request.page - 1) * request.page_size


def _why(fused, matched_queries):
    why = {"lexical_rank": fused.lexical_rank, "semantic_rank": fused.semantic_rank} if fused else {}
    for key, prefix in (("matched", "w:"), ("expansions", "x:")):
        found = sorted({m[2:] for m in matched_queries or () if m.startswith(prefix)})
        if found:
            why[key] = found
    return why


def _merge_highlights(hit: dict):
    """Pick, for each field, the variant (exact, folded, English) whose fragments mark the most words."""
    if not hit.get("highlight"):
        return {}
    best = {}
    for name, fragments in hit["highlight"].items():
        base = name.split(".")[0]
        marks = sum(f.count("<mark>") for f in fragments)
        if base not in best or marks > best[base][0]:
            best[base] = (marks, list(fragments))
    return {k: v[1] for k, v in best.items()}
