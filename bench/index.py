"""Indexing throughput: kb's indexing path against a raw ``elasticsearch.helpers.bulk`` of the same documents.

    .venv/bin/python bench/index.py                 # 10k and 100k synthetic studies
    .venv/bin/python bench/index.py --sizes 10000

kb's path is what ``manage.py search_index --rebuild`` runs: read the studies from PostgreSQL in batches,
build the documents (authors, topics, summaries, institutions), bulk them into a new index, swap the
alias. The baseline gets the very same documents prepared in memory beforehand and only sends them, into
an index with the same settings and mapping. Target: kb at 80 % or more of the raw rate.
"""

from __future__ import annotations

import sys
import time

from common import Timer, git_revision, machine, make_studies, parse_args, setup_django


def measure(backend, raw_limit=None, after_rebuild=None):
    """kb's rebuild of every study against a raw ``helpers.bulk`` of the same documents.

    ``raw_limit``: the baseline sends only the first N documents (at 1M studies a second full load would
    double the run), and kb's rate over its own first N documents is reported beside it, so the two are
    compared over the same documents. ``after_rebuild()`` runs between the two (bench/growth.py reads the
    indexer's peak memory there, before the baseline holds its documents in memory)."""
    from elasticsearch import helpers

    from apps.studies.models import Study
    from search import sources

    marks = {}
    total = Study.objects.count()  # (no list of every id here: the indexer's peak memory is measured)
    n_raw = min(total, raw_limit or total)

    def progress(kind, done):
        if done >= n_raw and "raw_n" not in marks:
            marks["raw_n"] = time.perf_counter()

    # kb: the rebuild path, from the database to a swapped alias (without the merge into one
    # segment that a rebuild does by default: the baseline below does not merge either)
    with Timer() as kb:
        started = time.perf_counter()
        backend.rebuild(["studies"], merge=False, progress=progress)
    extra = after_rebuild() if after_rebuild else None
    # baseline: the same documents, prepared beforehand, sent with helpers.bulk
    ids = list(Study.objects.order_by("id").values_list("id", flat=True)[:n_raw])
    prepared = []
    for start in range(0, n_raw, 1000):
        for doc in sources.build("studies", ids[start:min(n_raw, start + 1000)]).values():
            prepared.append(backend._source("studies", doc))
    index = backend._new_index("studies", building=True)
    actions = ({"_index": index, "_id": d["id"], "_source": d} for d in prepared)
    with Timer() as raw:
        helpers.bulk(backend.client, actions, chunk_size=1000, max_retries=2)
        backend.client.indices.put_settings(index=index, settings={"index": {"refresh_interval": "1s"}})
        backend.client.indices.refresh(index=index)
    backend.client.indices.delete(index=index)
    del prepared
    count = backend.client.count(index=backend.alias("studies"))["count"]
    assert count == total, (count, total)
    # over the same documents: the whole rebuild when the baseline sent them all (both end with a refresh),
    # else kb's first n_raw documents as they streamed out (its rate before the last ones and the swap)
    kb_first = total / kb.seconds if n_raw == total else n_raw / (marks["raw_n"] - started)
    return {"documents": total, "kb_seconds": round(kb.seconds, 1), "kb_per_s": total / kb.seconds,
            "raw_documents": n_raw, "raw_per_s": n_raw / raw.seconds, "kb_first_per_s": kb_first,
            "kb_over_raw": kb_first / (n_raw / raw.seconds), "after_rebuild": extra}


def main():
    args = parse_args(__doc__, lambda p: p.add_argument("--sizes", default="10000,100000"))
    sizes = [int(s) for s in args.sizes.split(",")]
    teardown = setup_django(args.database_url, args.elasticsearch_url, prefix="kbbench-index")
    rows = []
    try:
        from search.backends import get_backend

        backend = get_backend()
        made = 0
        for n in sizes:
            made += make_studies(n - made)
            m = measure(backend)
            rows.append((m["documents"], m["kb_per_s"], m["raw_per_s"]))
            print(f"  {m['documents']}: kb {m['kb_per_s']:.0f}/s, raw {m['raw_per_s']:.0f}/s", file=sys.stderr)
    finally:
        from search.backends import get_backend

        get_backend().client.indices.delete(index="kbbench-index-*", ignore_unavailable=True)
        teardown()
    print(f"# indexing: {machine()}; Elasticsearch {args.elasticsearch_url}; kb {git_revision()}")
    print("| studies | kb rebuild (docs/s) | raw helpers.bulk (docs/s) | kb / raw |")
    print("|---|---|---|---|")
    for n, kb_rate, raw_rate in rows:
        print(f"| {n} | {kb_rate:.0f} | {raw_rate:.0f} | {kb_rate / raw_rate:.0%} |")


if __name__ == "__main__":
    main()
