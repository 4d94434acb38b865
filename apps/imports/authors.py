"""Printed author names -> researchers of the network, only when the match is certain.

1. An ORCID in the entry links to the researcher with that ORCID.
2. Otherwise the folded family name (``Ødegård`` = ``Odegard``) and compatible initials
   (``K.`` fits ``Kari`` and ``Kari M.``; written-out first names must be equal: ``Kari`` is not
   ``Karin``) find the researchers of that name. A researcher with a different ORCID than the
   entry's is never a candidate.
3. One candidate: linked. Several: evidence decides: a co-author on the entry who has written with
   the candidate before, or one of the candidate's institutions named in the entry's affiliation
   fields. Evidence for exactly one candidate links it; otherwise the name stays unlinked and is
   listed in the report as ambiguous. A name without given names is never linked by name alone.

Two printed names of one entry that would link to the same researcher are both left unlinked
(two different people are never merged silently). Nothing here creates or changes researchers.
"""
from __future__ import annotations

from collections import defaultdict

from apps.researchers.models import Affiliation, Researcher
from apps.studies.keys import family_key, first_given, fold, initials
from apps.studies.models import Authorship

AFFILIATION_FIELDS = ("affiliation", "affiliations", "institution", "school", "organization", "address")


def given_compatible(printed_given: str, researcher_given: str) -> bool:
    a, b = initials(printed_given), initials(researcher_given)
    if not a or not b or a[0] != b[0] or not (a.startswith(b) or b.startswith(a)):
        return False
    fa, fb = first_given(printed_given), first_given(researcher_given)
    return not (fa and fb and fa != fb)


class ResearcherIndex:
    """All researchers by folded family name and ORCID, loaded once per import run."""

    def __init__(self):
        self.by_family = defaultdict(list)
        self.by_orcid = {}
        self.given = {}
        self.orcid = {}
        for rid, family, given, orcid in Researcher.objects.values_list("id", "family_name", "given_name", "orcid"):
            self.by_family[family_key(family)].append(rid)
            self.given[rid] = given
            self.orcid[rid] = orcid
            if orcid:
                self.by_orcid[orcid] = rid
        self._institutions = None
        self._coauthors = {}

    def __len__(self):
        return len(self.given)

    def institutions(self, rid) -> list[str]:
        if self._institutions is None:
            self._institutions = defaultdict(list)
            for r, *names in Affiliation.objects.values_list("researcher_id", "institution__name_nb",
                                                             "institution__name_en", "institution__short_name"):
                self._institutions[r].extend(fold(n) for n in names if n and len(n) > 2)
        return self._institutions.get(rid, [])

    def coauthors(self, rid) -> tuple[set, set]:
        """(researcher ids, family keys) of everyone who shares a study with researcher ``rid``."""
        if rid not in self._coauthors:
            rows = Authorship.objects.filter(study__authorships__researcher_id=rid).exclude(researcher_id=rid) \
                .values_list("researcher_id", "family_key")[:5000]
            self._coauthors[rid] = ({r for r, _ in rows if r}, {k for _, k in rows if k})
        return self._coauthors[rid]

    def candidates(self, author: dict) -> list[int]:
        if author.get("corporate"):
            return []
        orcid = author.get("orcid") or ""
        out = []
        for rid in self.by_family.get(family_key(author["family_name"]), ()):
            if orcid and self.orcid[rid] and self.orcid[rid] != orcid:
                continue
            if given_compatible(author["given_name"], self.given[rid]):
                out.append(rid)
        return out

    def link(self, authors: list[dict], extra: dict) -> list[dict]:
        """Set ``author["researcher"]`` where certain; return the ambiguous names for the report."""
        if not self.given:
            return []
        ambiguous = []
        pending = []
        for i, a in enumerate(authors):
            orcid = a.get("orcid")
            if orcid and orcid in self.by_orcid:
                a["researcher"] = self.by_orcid[orcid]
                continue
            cands = self.candidates(a)
            if not cands:
                continue
            if not a["given_name"].strip():
                ambiguous.append({"name": a["name"], "candidates": cands, "why": "no given name"})
            elif len(cands) == 1:
                a["researcher"] = cands[0]
            else:
                pending.append((i, cands))
        if pending:
            linked = {a["researcher"] for a in authors if a.get("researcher")}
            keys = {family_key(a["family_name"]) for a in authors}
            affiliation = fold(" ".join(str(extra.get(f, "")) for f in AFFILIATION_FIELDS))
            for i, cands in pending:
                own = family_key(authors[i]["family_name"])
                with_evidence = []
                for rid in cands:
                    co_ids, co_keys = self.coauthors(rid)
                    if (co_ids & linked) or (co_keys & (keys - {own})) \
                            or (affiliation and any(n in affiliation for n in self.institutions(rid))):
                        with_evidence.append(rid)
                if len(with_evidence) == 1:
                    authors[i]["researcher"] = with_evidence[0]
                else:
                    ambiguous.append({"name": authors[i]["name"], "candidates": cands,
                                      "why": "several researchers have this name"
                                      + ("" if not with_evidence else " and co-author or affiliation evidence")})
        seen = defaultdict(list)
        for i, a in enumerate(authors):
            if a.get("researcher"):
                seen[a["researcher"]].append(i)
        for rid, positions in seen.items():
            if len(positions) > 1:
                for i in positions:
                    authors[i]["researcher"] = None
                    ambiguous.append({"name": authors[i]["name"], "candidates": [rid],
                                      "why": "two names of this entry fit the same researcher"})
        return ambiguous
