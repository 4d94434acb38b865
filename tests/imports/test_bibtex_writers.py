"""BibTeX / RIS / CSL-JSON writers and citation keys (plain pytest, no database)."""
from __future__ import annotations

import dataclasses
import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblio import Person, Record, read_bibtex
from biblio.normalize import STUDY_TYPE_BY_ENTRY_TYPE
from biblio.writers import make_citation_key, to_bibtex, to_csl_json, to_ris

SHARED = os.environ.get("BIB_SHARED_DIR", "/work/shared/bib")
SHARED_FILES = sorted(f for f in os.listdir(SHARED) if f.endswith(".bib")) if os.path.isdir(SHARED) else []


def _person_key(p: Person) -> tuple:
    return (p.family, p.given, p.von, p.suffix, p.corporate, p.orcid)


def _comparable(rec: Record) -> dict:
    """Everything a user sees; ``printed`` is how the source spelled the name, so it may differ."""
    d = dataclasses.asdict(rec)
    d["authors"] = [_person_key(p) for p in rec.authors]
    d["editors"] = [_person_key(p) for p in rec.editors]
    # crossref/xdata were resolved into the record's own fields, so the writer drops them
    d["extra"] = {k: v for k, v in rec.extra.items() if k not in ("crossref", "xdata")}
    return d


def _roundtrip(pairs):
    text = to_bibtex(pairs)
    again = read_bibtex(text)
    assert len(again.entries) == len(pairs), text
    return text, again


@pytest.mark.parametrize("name", SHARED_FILES)
def test_shared_files_round_trip_through_bibtex(name):
    with open(os.path.join(SHARED, name), "rb") as f:
        first = read_bibtex(f.read())
    pairs = [(e.key, e.record) for e in first.entries if e.record is not None]
    text, again = _roundtrip(pairs)
    for (key, rec), e in zip(pairs, again.entries):
        assert e.record is not None, (key, e.error)
        assert _comparable(e.record) == _comparable(rec), key
    # nothing the reader had to warn about was introduced by the writer
    assert not [w for e in again.entries for w in e.warnings
                if "undefined macro" not in w and "could not read" not in w]


def _record(**kw) -> Record:
    base = dict(entry_type="article", study_type="article")
    base.update(kw)
    return Record(**base)


def test_bibtex_output_escapes_and_protects():
    rec = _record(
        title="HIV and R&D: 50% of {braces} cost $5 in Norway's_study #1 -- ~x^2 \\ ok",
        authors=[Person(family="Ødegård", given="Kari Marie"), Person(family="van Beethoven", given="Ludwig", von="van"),
                 Person(family="World Health Organization, Europe", corporate=True),
                 Person(family="Jolly", given="James", suffix="III")],
        authors_et_al=True, year=2019, month=5, venue="Tidsskrift for Den norske legeforening",
        pages="12–34", doi="10.4045/tidsskr.18.0123", keywords=["rus", "psykisk helse"], language="nb",
    )
    text = to_bibtex([("key1", rec)])
    assert text.startswith("@article{key1,\n")
    assert r"R\&D" in text and r"50\%" in text and r"\$5" in text and r"\#1" in text and r"\_" in text
    assert r"\{braces\}" in text
    assert "{HIV}" in text and "{Norway's\\_study}" in text
    assert "author  = {Ødegård, Kari Marie and van Beethoven, Ludwig and {World Health Organization, Europe}" \
           " and Jolly, III, James and others}" in text.replace("author   ", "author  ")
    assert "month   = may," in text.replace("month    ", "month   ")
    assert "12--34" in text
    (e,) = read_bibtex(text).entries
    assert _comparable(e.record) == _comparable(rec)


def test_records_without_keys_get_stable_unique_keys():
    rec = _record(title="The effect of integrated treatment", authors=[Person(family="Ødegård", given="Kari")],
                  year=2019)
    text = to_bibtex([rec, rec, ("", rec), ("bad key,", rec), ("Odegard2019effect", rec), ("ødegård", rec)])
    keys = [line.split("{", 1)[1].rstrip(",") for line in text.splitlines() if line.startswith("@")]
    assert keys == ["odegard2019effecta", "odegard2019effectb", "odegard2019effectc", "odegard2019effectd",
                    "Odegard2019effect", "ødegård"]  # given keys are kept; made ones avoid them
    assert [e.key for e in read_bibtex(text).entries] == keys


def test_make_citation_key():
    taken: set[str] = set()
    rec = _record(title="A randomized trial of integrated care", year=2021,
                  authors=[Person(family="van der Berg", given="Jan", von="van der")])
    assert make_citation_key(rec, taken) == "berg2021randomized"
    assert make_citation_key(rec, taken) == "berg2021randomizeda"
    assert make_citation_key(rec, taken) == "berg2021randomizedb"
    assert make_citation_key(rec) == "berg2021randomized"  # stable, nothing taken
    corp = _record(title="Nasjonal faglig retningslinje for behandling", year=None,
                   authors=[Person(family="Helsedirektoratet", corporate=True)])
    assert make_citation_key(corp) == "helsedirektoratetndnasjonal"
    assert make_citation_key(_record(title="")) == "anonnd"
    assert make_citation_key(_record(title="Tennøy og Øie på Ås", year=2000,
                                     authors=[Person(family="Skjærvø")])) == "skjaervo2000tennoy"


def test_ris_output():
    rec = _record(title="Rusbruk", subtitle="en studie", authors=[Person(family="Øie", given="Kari")],
                  editors=[Person(family="Lid", given="Per")], year=2020, month=3, day=7, venue="Nordisk tidsskrift",
                  volume="4", issue="2", pages="100–110", doi="10.1/abc", issn="0029-2001", url="https://x.no",
                  keywords=["a", "b"], abstract="Line one\nline two", language="nb", publisher="Pub")
    text = to_ris([("k", rec)])
    lines = text.split("\r\n")
    assert lines[0] == "TY  - JOUR"
    for expected in ("AU  - Øie, Kari", "ED  - Lid, Per", "TI  - Rusbruk: en studie", "T2  - Nordisk tidsskrift",
                     "PY  - 2020", "DA  - 2020/03/07/", "VL  - 4", "IS  - 2", "SP  - 100", "EP  - 110",
                     "DO  - 10.1/abc", "SN  - 0029-2001", "UR  - https://x.no", "KW  - a", "KW  - b",
                     "AB  - Line one line two", "LA  - nb", "PB  - Pub", "ER  - "):
        assert expected in lines, expected
    types = {st: to_ris([_record(study_type=st, title="t")]).split("\r\n")[0] for st in
             ("article", "book", "book_chapter", "thesis", "report", "conference_paper", "web_page", "dataset",
              "other")}
    assert types == {"article": "TY  - JOUR", "book": "TY  - BOOK", "book_chapter": "TY  - CHAP",
                     "thesis": "TY  - THES", "report": "TY  - RPRT", "conference_paper": "TY  - CONF",
                     "web_page": "TY  - ELEC", "dataset": "TY  - DATA", "other": "TY  - GEN"}


_CSL_TYPES = {"article", "article-journal", "book", "chapter", "thesis", "report", "paper-conference",
              "webpage", "dataset", "document"}
_CSL_STRING_FIELDS = {"id", "type", "title", "container-title", "collection-title", "volume", "issue", "page",
                      "DOI", "ISBN", "ISSN", "PMID", "PMCID", "URL", "abstract", "language", "publisher",
                      "publisher-place", "keyword", "note", "edition", "chapter-number", "genre", "number"}
_CSL_NAME_FIELDS = {"family", "given", "suffix", "non-dropping-particle", "dropping-particle", "literal"}


def _check_csl_item(item: dict) -> None:
    """The parts of the CSL-JSON schema (csl-data.json) that these writers use."""
    assert set(item) <= _CSL_STRING_FIELDS | {"author", "editor", "issued"}, set(item)
    assert item["type"] in _CSL_TYPES
    for k in _CSL_STRING_FIELDS & set(item):
        assert isinstance(item[k], (str, int)), k
    for role in ("author", "editor"):
        for name in item.get(role, []):
            assert set(name) <= _CSL_NAME_FIELDS and name
            assert ("literal" in name) != ("family" in name)
            assert all(isinstance(v, str) for v in name.values())
    if "issued" in item:
        parts = item["issued"]["date-parts"]
        assert len(parts) == 1 and 1 <= len(parts[0]) <= 3 and all(isinstance(x, int) for x in parts[0])


def test_csl_json_output():
    rec = _record(title="T", subtitle="S", year=2020, month=3,
                  authors=[Person(family="van Beethoven", given="Ludwig", von="van"),
                           Person(family="Folkehelseinstituttet", corporate=True)],
                  venue="J", pages="1–5", doi="10.1/x", pmid="123", isbn="9780306406157", keywords=["a", "b"],
                  language="nn", extra={"address": "Oslo", "series": "Rapport"})
    (item,) = to_csl_json([("k", rec)])
    _check_csl_item(item)
    assert item["id"] == "k" and item["type"] == "article-journal" and item["title"] == "T: S"
    assert item["author"] == [{"non-dropping-particle": "van", "family": "Beethoven", "given": "Ludwig"},
                              {"literal": "Folkehelseinstituttet"}]
    assert item["issued"] == {"date-parts": [[2020, 3]]}
    assert (item["container-title"], item["page"], item["DOI"], item["PMID"], item["ISBN"]) == \
        ("J", "1-5", "10.1/x", "123", "9780306406157")
    assert item["keyword"] == "a, b" and item["language"] == "nn" and item["publisher-place"] == "Oslo"
    json.dumps(item)


@pytest.mark.parametrize("name", SHARED_FILES)
def test_csl_json_and_ris_for_shared_files(name):
    with open(os.path.join(SHARED, name), "rb") as f:
        entries = [e for e in read_bibtex(f.read()).entries if e.record is not None]
    items = to_csl_json(entries)
    assert len(items) == len(entries)
    assert len({i["id"] for i in items}) == len(items)
    for item in items:
        _check_csl_item(item)
    json.dumps(items)
    ris = to_ris(entries)
    assert ris.count("TY  - ") == len(entries) == ris.count("ER  - ")


# --------------------------------------------------------------------------- property: round trip

_settings = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_letters = "abcdefghijklmnopqrstuvwxyzæøåéüçšł"
_chars = _letters + _letters.upper() + "0123456789 .,:;!?'\"()[]-–—/&%$#_{}~^\\`@*+=<>|"
# text with the characters BibTeX treats specially, plus fragments that look like LaTeX or entries
_fragments = st.sampled_from(["", "--", "'''", " and ", "HIV", "Ø", "{\\'e}", "$x$", "\n@misc{x,", "%", "\\url{"])
_text = st.builds(lambda a, frag, b: " ".join((a + frag + b).split()),
                  st.text(alphabet=_chars, max_size=25), _fragments, st.text(alphabet=_chars, max_size=8)) \
    .filter(bool)
_word = st.text(alphabet=_letters, min_size=1, max_size=10)
_cap_word = _word.map(lambda w: w[:1].upper() + w[1:])


@st.composite
def _person(draw) -> Person:
    if draw(st.integers(0, 9)) == 0:
        return Person(family=draw(_text), corporate=True)
    von = draw(st.sampled_from(["", "", "", "van", "de la", "von"]))
    last = " ".join(draw(st.lists(_cap_word, min_size=1, max_size=2)))
    given = " ".join(draw(st.lists(st.one_of(_cap_word, _cap_word.map(lambda w: w[0] + ".")), max_size=3)))
    suffix = draw(st.sampled_from(["", "", "", "Jr.", "III"])) if given else ""
    orcid = draw(st.sampled_from(["", "", "0000-0002-1825-0097"]))
    family = f"{von} {last}" if von else last
    return Person(family=family, given=given, von=von, suffix=suffix, orcid=orcid)


_STUDY_PAIRS = sorted(STUDY_TYPE_BY_ENTRY_TYPE.items()) + [("misc", "other"), ("proceedings", "other")]


@st.composite
def _records(draw) -> Record:
    entry_type, study_type = draw(st.sampled_from(_STUDY_PAIRS))
    rec = Record(entry_type=entry_type, study_type=study_type)
    rec.title = draw(_text)
    if draw(st.booleans()):
        rec.subtitle = draw(_text)
    rec.authors = draw(st.lists(_person(), max_size=4))
    rec.authors_et_al = bool(rec.authors) and draw(st.booleans())
    rec.editors = draw(st.lists(_person(), max_size=2))
    people = [(p.family, p.given) for p in rec.authors + rec.editors]
    if len(set(people)) != len(people):  # an ORCID must be attributable to one person
        for p in rec.authors + rec.editors:
            p.orcid = ""
    if draw(st.booleans()):
        rec.year = draw(st.integers(1000, 2100))
        if draw(st.booleans()):
            rec.month = draw(st.integers(1, 12))
            if draw(st.booleans()):
                rec.day = draw(st.integers(1, 28))
    if draw(st.booleans()):
        rec.venue = draw(_text)
    rec.volume = draw(st.sampled_from(["", "12", "IV"]))
    rec.issue = draw(st.sampled_from(["", "3", "Suppl 1"]))
    rec.pages = draw(st.sampled_from(["", "12–34", "e1234", "5"]))
    rec.publisher = draw(st.one_of(st.just(""), _text))
    rec.edition = draw(st.sampled_from(["", "2"]))
    rec.doi = draw(st.sampled_from(["", "10.1016/j.drugalcdep.2019.01.001", "10.4045/tidsskr.18.0123"]))
    rec.pmid = draw(st.sampled_from(["", "31234567"]))
    rec.pmcid = draw(st.sampled_from(["", "PMC6543210"]))
    rec.isbn = draw(st.sampled_from(["", "9780306406157"]))
    rec.issn = draw(st.sampled_from(["", "0029-2001", "2049-3630"]))
    rec.url = draw(st.sampled_from(["", "https://www.helsedirektoratet.no/retningslinjer/rus_og_psykisk?x=1&y=%20"]))
    rec.language = draw(st.sampled_from(["", "nb", "nn", "en", "sv", "da", "de"]))
    kws = draw(st.lists(_word, max_size=4))
    rec.keywords = list(dict.fromkeys(k for k in kws))
    rec.abstract = draw(st.one_of(st.just(""), _text))
    rec.note = draw(st.one_of(st.just(""), _text))
    extra = draw(st.dictionaries(st.sampled_from(["address", "translator", "urldate", "annote", "location"]),
                                 _text, max_size=3))
    rec.extra = extra
    if not rec.title and not rec.authors and not rec.editors and rec.year is None:
        rec.title = "Untitled"
    return rec


@_settings
@given(st.lists(_records(), min_size=1, max_size=4))
def test_generated_records_round_trip(records):
    text, again = _roundtrip(records)
    for rec, e in zip(records, again.entries):
        assert e.record is not None, (e.error, text)
        assert _comparable(e.record) == _comparable(rec), text
    # and the other writers accept whatever the BibTeX writer accepts
    for item in to_csl_json(records):
        _check_csl_item(item)
    assert to_ris(records).count("ER  - ") == len(records)
