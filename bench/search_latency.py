"""Search latency on 100k studies: the search API against raw Elasticsearch, in the same run.

    .venv/bin/python bench/search_latency.py                  # 100k studies, 300 timed requests each
    .venv/bin/python bench/search_latency.py --studies 20000 --requests 100

The API time is a full GET /api/v1/search/ through Django's WSGI handler, as a WSGI server calls it
(middlewares, parameter validation, query parsing, the Elasticsearch request with facets and highlights,
loading the page's studies from PostgreSQL, rendering; bench/common.py ``WSGIClient``). The raw time is
the very same Elasticsearch request body sent with the client.
Target: API p95 at most 1.5x the raw p95.
"""

from __future__ import annotations

import random
import sys
import time

from common import (
    WORDS_EN, WORDS_NB, WSGIClient, git_revision, machine, make_studies, parse_args, percentiles, setup_django,
)


def query_mix(rng, n):
    """Plain words, longer questions, phrases, fields, filters, sorting: what the search page sends."""
    out = []
    for i in range(n):
        kind = i % 6
        en, nb = rng.sample(WORDS_EN, 4), rng.sample(WORDS_NB, 3)
        if kind == 0:
            out.append({"q": en[0]})
        elif kind == 1:
            out.append({"q": f"{en[0]} {en[1]}"})
        elif kind == 2:
            out.append({"q": " ".join(en + nb[:2])})
        elif kind == 3:
            out.append({"q": f'"{nb[0]} {nb[1]}"', "language": "nb"})
        elif kind == 4:
            out.append({"q": f"{en[0]} year:2005..2020", "design": "rct,cohort"})
        else:
            out.append({"q": f"title:{en[1]} {en[2]}", "sort": "newest", "page": rng.randint(1, 5)})
    return out


KINDS = ("one word", "two words", "six-word question", "Norwegian phrase + language", "word + years + design",
         "field search, newest, page 1-5")


def measure(backend, client, mix, warm=30):
    """Each request of ``mix`` through the API and its very Elasticsearch body raw, in turn.

    Returns {"api": [ms], "raw": [ms], "kind": [index into KINDS], "hits": requests with hits}."""
    from django.contrib.auth.models import AnonymousUser

    from search.params import SearchParamsSerializer, build_request

    for params in mix[:warm]:  # warm caches on both paths
        client.get("/api/v1/search/", params)
    from apps.common import collector

    collector.settle()  # as a web process does once started (kb/wsgi.py): start-up objects frozen
    api, raw, kinds, hits = [], [], [], 0
    for i, params in enumerate(mix):
        serializer = SearchParamsSerializer(data=params)
        serializer.is_valid(raise_exception=True)
        # the same Elasticsearch requests kb sends (hits and facets side by side in one _msearch)
        searches = [s for s in backend.build_searches(build_request(serializer.validated_data, AnonymousUser()))
                    if s is not None]
        body = backend.msearch_body(searches)
        # the facet request is kept in Elasticsearch's request cache: whichever path runs a query first
        # computes its counts, the other reads them, so the two take turns at going first (each kind alike)
        for path in (("api", "raw") if (i // len(KINDS)) % 2 == 0 else ("raw", "api")):
            start = time.perf_counter()
            if path == "api":
                response = client.get("/api/v1/search/", params)
                api.append((time.perf_counter() - start) * 1000)
                assert response.status_code == 200, response.content[:300]
                hits += bool(response.json()["count"])
            else:
                backend.client.msearch(body=body)
                raw.append((time.perf_counter() - start) * 1000)
        kinds.append(i % len(KINDS))
    return {"api": api, "raw": raw, "kind": kinds, "hits": hits}


def main():
    def extra(p):
        p.add_argument("--studies", type=int, default=100_000)
        p.add_argument("--requests", type=int, default=300)

    args = parse_args(__doc__, extra)
    teardown = setup_django(args.database_url, args.elasticsearch_url, prefix="kbbench-latency")
    try:
        from search.backends import get_backend

        make_studies(args.studies)
        backend = get_backend()
        backend.rebuild(["studies"])
        mix = query_mix(random.Random(7), args.requests)
        m = measure(backend, WSGIClient(), mix)
        hits = m["hits"]
        a, r = percentiles(m["api"]), percentiles(m["raw"])
    finally:
        from search.backends import get_backend

        get_backend().client.indices.delete(index="kbbench-latency-*", ignore_unavailable=True)
        teardown()
    print(f"# search latency: {args.studies} studies, {len(mix)} requests ({hits} with hits), facets and "
          f"highlights on; {machine()}; kb {git_revision()}")
    print("| path | p50 ms | p95 ms | p99 ms | mean ms |")
    print("|---|---|---|---|---|")
    print(f"| raw Elasticsearch (same request body) | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | {r['mean']:.1f} |")
    print(f"| kb search API (GET /api/v1/search/) | {a['p50']:.1f} | {a['p95']:.1f} | {a['p99']:.1f} | {a['mean']:.1f} |")
    print(f"| ratio API / raw | {a['p50'] / r['p50']:.2f} | {a['p95'] / r['p95']:.2f} | {a['p99'] / r['p99']:.2f} | "
          f"{a['mean'] / r['mean']:.2f} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
