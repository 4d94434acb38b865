"""Calls a running kb through the Python client openapi-generator makes from /api/schema/ (scripts/client-check.sh):
list, detail and search of studies, the expert finder and the evidence map; with KB_TOKEN (a curator's) also a
study created and deleted, and a write the API refuses with a 422. Exits non-zero when a call fails or answers other than the schema says."""
import os
import sys

import kbclient
from kbclient.exceptions import ApiException

base = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
config = kbclient.Configuration(host=base)
token = os.environ.get("KB_TOKEN")
if token:
    config.api_key["tokenAuth"] = token
    config.api_key_prefix["tokenAuth"] = "Token"
client = kbclient.ApiClient(config)
studies, search = kbclient.StudiesApi(client), kbclient.SearchApi(client)

page = studies.studies_list(page_size=5, design=["rct", "cohort"], year_from=2000)
print(f"studies_list: count={page.count}, first={[s.title[:40] for s in page.results[:2]]}")
assert page.results and all(s.design in ("rct", "cohort") for s in page.results)
study = studies.studies_retrieve(id=page.results[0].id)
print(f"studies_retrieve: {study.id} {study.title[:50]!r} doi={study.doi!r} authors={len(study.authors)}")
assert study.id == page.results[0].id
hits = search.search(q="integrated treatment", design=["rct", "cohort", "systematic_review"], page_size=3)
print(f"search: count={hits.count}, ranking={hits.ranking}, results={len(hits.results)}, "
      f"next_cursor={'yes' if hits.next_cursor else 'no'}")
assert hits.count > 0
far = search.search(q="", page=600, page_size=20)
print(f"search past the window: results={len(far.results)}, warnings={far.warnings}")
experts = kbclient.ExpertsApi(client).experts_retrieve(q="", limit=3)
print(f"experts without words: {[e.full_name for e in experts.results]}")
grid = kbclient.EvidenceMapApi(client).evidence_map_retrieve(rows="design", cols="design")
print(f"evidence map design x design: {len(grid.cells)} cells, diagonal total "
      f"{sum(c.count for c in grid.cells if c.row == c.col)}")
if token:
    created = studies.studies_create(kbclient.StudyRequest(title="Client check study", year=2020, month=3, day=4,
                                                           isbn="0-306-40615-2"))
    print(f"studies_create: {created.id} isbn={created.isbn} {created.year}-{created.month}-{created.day}")
    assert created.isbn == "9780306406157"
    studies.studies_destroy(id=created.id)
    researchers = kbclient.ResearchersApi(client)
    try:
        researchers.researchers_create(kbclient.ResearcherRequest(given_name="Client", family_name="Check",
                                                                  orcid="0000-0002-1825-0098"))
        raise SystemExit("a wrong ORCID check digit was accepted")
    except ApiException as exc:
        print(f"researchers_create, wrong check digit: {exc.status} {exc.body}")
        assert exc.status == 422
print("client check: ok")
