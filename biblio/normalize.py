"""Decoded BibTeX fields -> :class:`Record`.

Every field that does not land in a Record attribute is kept in ``Record.extra``; a
field whose value could not be understood (an unparseable date, an invalid ISBN) is
kept there too, with a warning.
"""
from __future__ import annotations

import re

from apps.common.identifiers import (doi_from_url, find_isbns, find_issns, normalize_doi, normalize_orcid,
                                     normalize_pmcid, normalize_pmid)
from apps.common.text import strip_accents

from .model import Record
from .names import parse_names

__all__ = ["STUDY_TYPE_BY_ENTRY_TYPE", "LANGUAGE_CODES", "build_record", "parse_month", "parse_date",
           "normalize_pages", "language_code"]

STUDY_TYPE_BY_ENTRY_TYPE = {
    "article": "article",
    "inproceedings": "conference_paper", "conference": "conference_paper",
    "incollection": "book_chapter", "inbook": "book_chapter", "bookinbook": "book_chapter",
    "suppbook": "book_chapter", "suppcollection": "book_chapter", "inreference": "book_chapter",
    "book": "book", "mvbook": "book", "collection": "book", "mvcollection": "book",
    "reference": "book", "mvreference": "book",
    "phdthesis": "thesis", "mastersthesis": "thesis", "thesis": "thesis",
    "techreport": "report", "report": "report",
    "online": "web_page", "electronic": "web_page", "www": "web_page", "webpage": "web_page",
    "dataset": "dataset", "data": "dataset",
    "guideline": "guideline",
}

_LANG = {
    "nb": ("norwegian", "norsk", "bokmål", "bokmal", "nb", "no", "nob", "nor", "norwegian bokmål",
           "norwegian bokmal", "norsk bokmål", "nb-no", "no-no", "bokmaal", "norw", "norweg"),
    "nn": ("nynorsk", "nn", "nno", "norwegian nynorsk", "nn-no", "norsk nynorsk"),
    "en": ("english", "american", "british", "usenglish", "ukenglish", "canadian", "australian",
           "newzealand", "en", "eng", "en-us", "en-gb", "en-au", "en-ca", "engl", "american english",
           "british english", "engelsk"),
    "sv": ("swedish", "svenska", "sv", "swe", "sv-se", "svensk"),
    "da": ("danish", "dansk", "da", "dan", "da-dk"),
    "de": ("german", "ngerman", "austrian", "naustrian", "swissgerman", "nswissgerman", "deutsch",
           "de", "ger", "deu", "de-de", "de-at", "de-ch", "tysk"),
    "fr": ("french", "francais", "français", "frenchb", "acadian", "canadien", "fr", "fre", "fra",
           "fr-fr", "fr-ca", "fransk"),
    "es": ("spanish", "español", "espanol", "castilian", "es", "spa", "es-es"),
    "it": ("italian", "italiano", "it", "ita"),
    "nl": ("dutch", "nederlands", "flemish", "nl", "nld", "dut"),
    "fi": ("finnish", "suomi", "fi", "fin", "finsk"),
    "is": ("icelandic", "íslenska", "is", "isl", "ice", "islandsk"),
    "fo": ("faroese", "fo", "fao", "færøysk"),
    "se": ("samin", "sami", "northern sami", "northernsami", "se", "sme", "samisk", "nordsamisk"),
    "pt": ("portuguese", "portuges", "brazil", "brazilian", "portuguêse", "pt", "por", "pt-br", "pt-pt"),
    "ru": ("russian", "ru", "rus", "russisk"),
    "pl": ("polish", "polski", "pl", "pol", "polsk"),
    "cs": ("czech", "cs", "ces", "cze"),
    "sk": ("slovak", "sk", "slk", "slo"),
    "sl": ("slovene", "slovenian", "sl", "slv"),
    "hr": ("croatian", "hr", "hrv"),
    "sr": ("serbian", "sr", "srp"),
    "bg": ("bulgarian", "bg", "bul"),
    "uk": ("ukrainian", "ukrainian", "uk", "ukr"),
    "hu": ("hungarian", "magyar", "hu", "hun"),
    "ro": ("romanian", "ro", "ron", "rum"),
    "el": ("greek", "polutonikogreek", "el", "ell", "gre"),
    "tr": ("turkish", "tr", "tur"),
    "et": ("estonian", "et", "est"),
    "lv": ("latvian", "lv", "lav"),
    "lt": ("lithuanian", "lt", "lit"),
    "la": ("latin", "la", "lat"),
    "ca": ("catalan", "ca", "cat"),
    "eu": ("basque", "eu", "eus", "baq"),
    "ga": ("irish", "ga", "gle"),
    "cy": ("welsh", "cy", "cym", "wel"),
    "he": ("hebrew", "he", "heb"),
    "ar": ("arabic", "ar", "ara"),
    "fa": ("persian", "farsi", "fa", "fas", "per"),
    "hi": ("hindi", "hi", "hin"),
    "zh": ("chinese", "zh", "zho", "chi", "mandarin"),
    "ja": ("japanese", "ja", "jpn"),
    "ko": ("korean", "ko", "kor"),
    "th": ("thai", "th", "tha"),
    "vi": ("vietnamese", "vi", "vie"),
    "id": ("indonesian", "bahasa", "id", "ind"),
    "so": ("somali", "so", "som"),
    "ur": ("urdu", "ur", "urd"),
}
LANGUAGE_CODES = {name: code for code, names in _LANG.items() for name in names}
_LANG_SPLIT = re.compile(r"\s+and\s+|[,;/]", re.I)

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "mär": 3, "apr": 4, "may": 5, "mai": 5, "jun": 6, "jul": 7,
    "aug": 8, "sep": 9, "oct": 10, "okt": 10, "nov": 11, "dec": 12, "des": 12, "dez": 12,
}
_MONTH_WORD = re.compile(r"[^\W\d_]{3,}")
_NUM = re.compile(r"(?<!\d)(\d{1,2})(?!\d)")
_YEAR = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_DATE = re.compile(
    r"^\s*(-?\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?"     # 2019 / 2019-05 / 2019-05-03
    r"(?:T[\d:.]+(?:Z|[+-]\d{2}:?\d{2})?)?"            # time of day
    r"[?~%]?"                                          # EDTF uncertainty
    r"\s*(?:/.*)?$"                                    # range end
)
_DASHES = re.compile(r"\s*(?:-+|[\u2010-\u2015\u2212])\s*")
_KW_SPLIT = re.compile(r"\s*[,;]\s*")
_URLISH = re.compile(r"^(?:https?|ftp)://\S+$|^www\.\S+$", re.I)
_ISSUE_TYPES = frozenset(("article", "periodical", "suppperiodical"))

# Fields that never reach extra because Record has a place for them (or they are names).
_NAME_FIELDS = ("author", "editor")
_ALWAYS_USED = frozenset(("title", "subtitle", "abstract", "note", "volume", "issue", "pages", "edition",
                          "chapter", "author", "editor"))


_lang_cache: dict[str, str] = {}


def language_code(value: str) -> str:
    """'norwegian' / 'Norsk' / 'bokmål' -> 'nb', 'nynorsk' -> 'nn', 'english' -> 'en'; '' if unknown."""
    if not value:
        return ""
    got = _lang_cache.get(value)
    if got is None:
        got = _language_code(value)
        if len(_lang_cache) < 2000:
            _lang_cache[value] = got
    return got


def _language_code(value: str) -> str:
    for part in _LANG_SPLIT.split(value):
        p = part.strip().lower().rstrip(".")
        if not p:
            continue
        if p.startswith("lang") and p[4:] in LANGUAGE_CODES:  # biblatex bibstrings: langgerman
            p = p[4:]
        code = LANGUAGE_CODES.get(p)
        if code:
            return code
        if "-" in p or "_" in p:
            code = LANGUAGE_CODES.get(re.split(r"[-_]", p)[0])
            if code:
                return code
        return ""
    return ""


_month_cache: dict[str, tuple[int | None, int | None]] = {}


def parse_month(value: str) -> tuple[int | None, int | None]:
    """'jan' / 'January' / '1' / '10 January' / 'jun-aug' / 'Sept.' -> (month, day)."""
    if not value:
        return None, None
    got = _month_cache.get(value)
    if got is None:
        got = _parse_month(value)
        if len(_month_cache) < 2000:
            _month_cache[value] = got
    return got


def _parse_month(value: str) -> tuple[int | None, int | None]:
    s = value.strip().lower()
    if s.isdigit():
        n = int(s)
        return (n, None) if 1 <= n <= 12 else (None, None)
    month = None
    for w in _MONTH_WORD.findall(s):
        month = _MONTHS.get(w[:3])
        if month:
            break
    nums = [int(x) for x in _NUM.findall(s)]
    if month is None:
        if nums and 1 <= nums[0] <= 12:
            return nums[0], None
        return None, None
    day = nums[0] if nums and 1 <= nums[0] <= 31 else None
    return month, day


def parse_date(value: str) -> tuple[int | None, int | None, int | None]:
    """biblatex ``date``: '2019-05-03', '2019-05', '2019', '2004-03-03/2005-08-09' -> (y, m, d)."""
    m = _DATE.match(value or "")
    if not m:
        return None, None, None
    y = int(m.group(1))
    mo = int(m.group(2)) if m.group(2) else None
    d = int(m.group(3)) if m.group(3) else None
    if mo is not None and not 1 <= mo <= 12:
        if 21 <= mo <= 24:  # EDTF seasons
            return y, None, None
        return None, None, None
    if d is not None and not 1 <= d <= 31:
        return y, mo, None
    return y, mo, d


def normalize_pages(value: str) -> str:
    """'12--34' / '12-34' / '12 – 34' -> '12–34'; '123--' -> '123'."""
    if not value:
        return ""
    s = value.strip()
    if "-" in s or " " in s or "\u2014" in s or "\u2212" in s or "\u2010" in s or "\u2011" in s:
        s = _DASHES.sub("–", s)
    return s.strip("–").strip()


_id_cache: dict[tuple[str, str], list[str]] = {}


def _cached_find(kind: str, value: str) -> list[str]:
    key = (kind, value)
    got = _id_cache.get(key)
    if got is None:
        got = find_issns(value) if kind == "issn" else find_isbns(value)
        if len(_id_cache) > 20_000:
            _id_cache.clear()
        _id_cache[key] = got
    return got


_GUIDELINE = re.compile(r"guideline|retningslinje|veileder|veiledning|riktlinje|retningslinie", re.I)
_ORCID_ITEM = re.compile(r"\s*[;,]?\s*([^/;]+?)\s*/\s*((?:https?://orcid\.org/)?\d{4}-\d{4}-\d{4}-\d{3}[\dXx])")


def ascii_fold(text: str) -> str:
    """'Ødegård Skjærvø' -> 'Odegard Skjaervo' (letters without ASCII forms are dropped)."""
    return strip_accents(text).encode("ascii", "ignore").decode()


def _fold_name(s: str) -> str:
    return "".join(c for c in ascii_fold(s).lower() if c.isalnum())


def _attach_orcids(value: str, persons: list, warnings: list[str]) -> bool:
    """Web of Science style ``ORCID-Numbers = {Family, Given/0000-0002-1825-0097; ...}``.

    Returns True when every listed ORCID found its person (the field is then consumed).
    """
    all_ok = True
    for m in _ORCID_ITEM.finditer(value):
        name, raw = m.group(1), m.group(2)
        orcid = normalize_orcid(raw)
        if not orcid:
            warnings.append(f"invalid ORCID {raw!r} for {name!r}")
            all_ok = False
            continue
        fam, _, giv = name.partition(",")
        ff, gg = _fold_name(fam), _fold_name(giv)
        same_family = [p for p in persons if _fold_name(p.family) == ff]
        match = [p for p in same_family if _fold_name(p.given) == gg]
        if not match:
            match = [p for p in same_family if gg and _fold_name(p.given)[:1] == gg[:1]] if gg else same_family
        match = [p for p in match if not p.orcid] + [p for p in match if p.orcid]
        if not match:
            all_ok = False
            warnings.append(f"ORCID {orcid} for {name!r} matches no author")
            continue
        if match[0].orcid and match[0].orcid != orcid:
            all_ok = False
        match[0].orcid = match[0].orcid or orcid
    return all_ok


def _split_keywords(value: str) -> list[str]:
    out: list[str] = []
    seen = set()
    for k in _KW_SPLIT.split(value):
        k = k.strip()
        if k and k.lower() not in seen:
            seen.add(k.lower())
            out.append(k)
    return out


def build_record(entry_type: str, fields: dict[str, str], name_fields: dict[str, str],
                 warnings: list[str]) -> tuple[Record | None, str]:
    """Build a Record from decoded ``fields``; ``name_fields`` holds author/editor before decoding.

    Returns (record, error). Warnings are appended to ``warnings``.
    """
    et = entry_type.lower()
    study_type = STUDY_TYPE_BY_ENTRY_TYPE.get(et, "other")
    if study_type in ("report", "other", "web_page") and _GUIDELINE.search(fields.get("type", "")):
        study_type = "guideline"  # @report{..., type = {Nasjonal faglig retningslinje}}
    rec = Record(entry_type=et, study_type=study_type)
    used: set[str] = set()  # consumed besides _ALWAYS_USED
    get = fields.get

    rec.title = get("title", "")
    rec.subtitle = get("subtitle", "")
    rec.abstract = get("abstract", "")
    rec.note = get("note", "")

    # language
    for lf in ("langid", "language"):
        v = get(lf)
        if not v:
            continue
        code = language_code(v)
        if not code:
            warnings.append(f"unknown language {v!r} kept in extra")
        elif not rec.language:
            rec.language = code
            used.add(lf)
        elif code == rec.language:
            used.add(lf)

    # dates
    date = get("date")
    if date:
        y, mo, d = parse_date(date)
        if y is not None:
            rec.year, rec.month, rec.day = y, mo, d
            used.add("date")
        else:
            warnings.append(f"could not read date {date!r}")
    if rec.year is None:
        ys = get("year")
        if ys and len(ys) == 4 and ys.isdigit():
            rec.year = int(ys)
            used.add("year")
        elif ys:
            m = _YEAR.search(ys)
            if m:
                rec.year = int(m.group(1))
                if ys.strip() == m.group(1):
                    used.add("year")
            else:
                warnings.append(f"could not read year {ys!r}")
        ms = get("month")
        if ms:
            mo, d = parse_month(ms)
            if mo is not None:
                rec.month = mo
                used.add("month")
                if d is not None and not get("day"):
                    rec.day = d
            else:
                warnings.append(f"could not read month {ms!r}")
        ds = get("day")
        if ds and rec.month:
            ds2 = ds.strip()
            if ds2.isdigit() and 1 <= int(ds2) <= 31:
                rec.day = int(ds2)
                used.add("day")

    # venue
    for vf in ("journaltitle", "journal", "booktitle"):
        v = get(vf)
        if v:
            rec.venue = v
            used.add(vf)
            break
    if not rec.venue:
        v = get("series")
        if v:
            rec.venue = v
            used.add("series")

    rec.volume = get("volume", "")
    issue = get("issue", "")
    if not issue and (et in _ISSUE_TYPES or "journal" in fields or "journaltitle" in fields):
        issue = get("number", "")
        used.add("number")
    rec.issue = issue
    pages = get("pages")
    if pages:
        rec.pages = normalize_pages(pages)
    rec.edition = get("edition", "")
    rec.chapter = get("chapter", "")

    pub = get("publisher")
    if pub:
        rec.publisher = pub
        used.add("publisher")
    else:  # the issuing body; the original field stays in extra too
        for pf in ("institution", "school", "organization"):
            if get(pf):
                rec.publisher = fields[pf]
                break

    # identifiers
    eprinttype = (get("eprinttype") or get("archiveprefix") or "").strip().lower()
    eprint = get("eprint") or ""
    v = get("doi")
    if v:
        doi = normalize_doi(v)
        if doi:
            rec.doi = doi
            used.add("doi")
        else:
            warnings.append(f"invalid DOI {v!r} kept in extra")
    if eprint and eprinttype in ("pubmed", "pmid") and not get("pmid"):
        fields = dict(fields)
        fields["pmid"] = eprint
        get = fields.get
        used.add("eprint")
    elif eprint and eprinttype in ("pmc", "pmcid", "pubmedcentral") and not get("pmcid"):
        fields = dict(fields)
        fields["pmcid"] = eprint
        get = fields.get
        used.add("eprint")
    elif eprint and eprinttype == "doi" and not rec.doi:
        rec.doi = normalize_doi(eprint)
        if rec.doi:
            used.add("eprint")
    if "eprint" not in used and eprint:
        rec.eprint = eprint
        used.add("eprint")
    v = get("pmid")
    if v:
        rec.pmid = normalize_pmid(v)
        if rec.pmid:
            used.add("pmid")
        else:
            warnings.append(f"invalid PMID {v!r} kept in extra")
    v = get("pmcid")
    if v:
        rec.pmcid = normalize_pmcid(v)
        if rec.pmcid:
            used.add("pmcid")
        else:
            warnings.append(f"invalid PMCID {v!r} kept in extra")
    v = get("isbn")
    if v:
        isbns = _cached_find("isbn", v)
        if isbns:
            rec.isbn = isbns[0]
            if len(isbns) == 1:
                used.add("isbn")
        else:
            warnings.append(f"invalid ISBN {v!r} kept in extra")
    v = get("issn")
    if v:
        issns = _cached_find("issn", v)
        if issns:
            rec.issn = issns[0]
            if len(issns) == 1 and len(v) <= 12:
                used.add("issn")
        else:
            warnings.append(f"invalid ISSN {v!r} kept in extra")

    url = get("url")
    if url:
        first = url.split()[0]
        rec.url = first
        if first == url:
            used.add("url")
    else:
        hp = get("howpublished")
        if hp and _URLISH.match(hp.strip()):
            rec.url = hp.strip()
            used.add("howpublished")
    if not rec.doi and rec.url:
        rec.doi = doi_from_url(rec.url)

    kw = get("keywords") or get("keyword")
    if kw:
        rec.keywords = _split_keywords(kw)
        used.add("keywords" if get("keywords") else "keyword")

    # names (from the raw text: decoded per part after splitting)
    for nf in _NAME_FIELDS:
        raw = name_fields.get(nf)
        if not raw or not raw.strip():
            continue
        persons, et_al, w = parse_names(raw)
        for msg in w:
            warnings.append(f"{nf}: {msg}")
        if nf == "author":
            rec.authors = persons
            rec.authors_et_al = et_al
        else:
            rec.editors = persons
        if not persons and not et_al:
            warnings.append(f"{nf}: no usable name in {fields.get(nf, raw)!r}")

    orcids = get("orcid-numbers") or get("orcids")
    if orcids and (rec.authors or rec.editors):
        if _attach_orcids(orcids, rec.authors + rec.editors, warnings):
            used.add("orcid-numbers" if get("orcid-numbers") else "orcids")

    rec.extra = {k: v for k, v in fields.items() if v and k not in _ALWAYS_USED and k not in used}

    if not rec.title and not rec.authors and not rec.editors and rec.year is None:
        return None, "no title, author, editor or year"
    return rec, ""
