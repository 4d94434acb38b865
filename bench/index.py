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

from common import Timer, git_revision, machine, make_studies, parse_args, setup_django


def main():
    args = parse_args(__doc__, lambda p: p.add_argument("--sizes", default="10000,100000"))
    sizes = [int(s) for s in args.sizes.split(",")]
    teardown = setup_django(args.database_url, args.elasticsearch_url, prefix="kbbench-index")
    rows = []
    try:
        from elasticsearch import helpers

        from apps.studies.models import Study
        from search import sources
        from search.backends import get_backend

        backend = get_backend()
        made = 0
        for n in sizes:
            made += make_studies(n - made)
            ids = list(Study.objects.order_by("id").values_list("id", flat=True))
            # kb: the rebuild path, from the database to a swapped alias (without the merge into one
            # segment that a rebuild does by default: the baseline below does not merge either)
            with Timer() as kb:
                backend.rebuild(["studies"], merge=False)
            # baseline: the same documents, prepared beforehand, sent with helpers.bulk
            prepared = []
            for start in range(0, len(ids), 1000):
                for doc in sources.build("studies", ids[start:start + 1000]).values():
                    prepared.append(backend._source("studies", doc))
            index = backend._new_index("studies", building=True)
            actions = ({"_index": index, "_id": d["id"], "_source": d} for d in prepared)
            with Timer() as raw:
                helpers.bulk(backend.client, actions, chunk_size=1000, max_retries=2)
                backend.client.indices.put_settings(index=index, settings={"index": {"refresh_interval": "1s"}})
                backend.client.indices.refresh(index=index)
            backend.client.indices.delete(index=index)
            count = backend.client.count(index=backend.alias("studies"))["count"]
            assert count == len(ids), (count, len(ids))
            rows.append((len(ids), len(ids) / kb.seconds, len(ids) / raw.seconds))
            print(f"  {len(ids)}: kb {len(ids) / kb.seconds:.0f}/s, raw {len(ids) / raw.seconds:.0f}/s",
                  file=sys.stderr)
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
