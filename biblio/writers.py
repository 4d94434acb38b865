"""Records -> BibTeX, RIS and CSL-JSON.

Every writer takes an iterable of items, each one of:

* a ``(key, Record)`` pair (also accepted: ``(Record, key)``),
* an :class:`Entry` with a record (its key is used),
* a bare :class:`Record` (a key is made with :func:`make_citation_key`).

Missing, duplicate or unusable keys are replaced by generated ones, so the output never
has two entries with the same key.

BibTeX output is UTF-8 text readable by BibTeX, biber/biblatex and :func:`read_bibtex`:
special characters are escaped, capitalised words in titles are protected with braces,
names are written ``Family, Given`` (``Family, Jr, Given``; ``{Corporate Name}``), and
``and others`` marks et al.  Reading the output back gives the same Records.
"""
from __future__ import annotations

import re

from .model import Entry, Person, Record
from .names import parse_name
from .normalize import _LANG, ascii_fold

__all__ = ["make_citation_key", "to_bibtex", "to_ris", "to_csl_json", "person_to_bibtex",
           "BIBTEX_TYPE_BY_STUDY_TYPE", "RIS_TYPE_BY_STUDY_TYPE", "CSL_TYPE_BY_STUDY_TYPE"]

BIBTEX_TYPE_BY_STUDY_TYPE = {
    "article": "article", "book": "book", "book_chapter": "incollection", "thesis": "phdthesis",
    "report": "techreport", "conference_paper": "inproceedings", "guideline": "report",
    "dataset": "dataset", "web_page": "online", "other": "misc",
}
RIS_TYPE_BY_STUDY_TYPE = {
    "article": "JOUR", "book": "BOOK", "book_chapter": "CHAP", "thesis": "THES", "report": "RPRT",
    "conference_paper": "CONF", "guideline": "RPRT", "dataset": "DATA", "web_page": "ELEC",
    "other": "GEN",
}
CSL_TYPE_BY_STUDY_TYPE = {
    "article": "article-journal", "book": "book", "book_chapter": "chapter", "thesis": "thesis",
    "report": "report", "conference_paper": "paper-conference", "guideline": "report",
    "dataset": "dataset", "web_page": "webpage", "other": "document",
}
_LANG_NAME = {code: names[0] for code, names in _LANG.items()}
_MONTH_MACROS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")

# --------------------------------------------------------------------------- citation keys

_STOPWORDS = frozenset(
    "a an the of on in for and to with at by from about into over under as or is are was be "
    "en et ei og i på av for til med om den det de som fra ved hos under mot etter eller er "
    "ett och att som för till af der die das und ein eine le la les un une des du el los".split()
)
_KEY_BAD = re.compile(r"[\s,{}()\"#%'=\\~]")


def _key_word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", ascii_fold(text).lower())


def make_citation_key(record: Record, taken: set[str] | None = None) -> str:
    """``ødegård2019substance``: first family name + year + first significant title word.

    ASCII-folded and lower-case; ``a``, ``b``, ... ``z``, ``aa``, ... are appended while the
    key is in ``taken`` (compared case-insensitively).  The returned key is added to
    ``taken`` so that repeated calls with the same set give distinct keys.
    """
    people = record.authors or record.editors
    name = ""
    if people:
        p = people[0]
        fam = p.family_without_von if not p.corporate else p.family
        words = [w for w in re.split(r"[\s\-]+", fam) if _key_word(w)]
        if p.corporate:
            words = [w for w in words if w.lower() not in _STOPWORDS] or words
        name = _key_word(words[0]) if words else ""
        if not name:
            name = _key_word(fam)
    name = name or "anon"
    year = str(record.year) if record.year is not None else "nd"
    word = ""
    for w in re.split(r"[\s\-:;,.!?/()\[\]\"'«»“”‘’]+", record.title or ""):
        kw = _key_word(w)
        if kw and w.lower() not in _STOPWORDS and kw not in _STOPWORDS:
            word = kw
            break
    base = f"{name}{year}{word}"[:60]
    if taken is None:
        return base
    lowered = {t.lower() for t in taken} if len(taken) < 64 else None

    def is_taken(k: str) -> bool:
        return k.lower() in lowered if lowered is not None else (k in taken or k.lower() in taken)

    key = base
    n = 0
    while is_taken(key):
        n += 1
        suffix = ""
        m = n
        while m > 0:
            m -= 1
            suffix = chr(ord("a") + m % 26) + suffix
            m //= 26
        key = base + suffix
    taken.add(key)
    return key


def _items(items) -> list[tuple[str, Record]]:
    """Normalise writer input to (key, record) pairs with unique, valid keys."""
    pairs: list[tuple[str, Record]] = []
    if isinstance(items, (Record, Entry)) or (isinstance(items, tuple) and len(items) == 2
                                               and any(isinstance(x, Record) for x in items)):
        items = [items]
    for item in items:
        if isinstance(item, Record):
            pairs.append(("", item))
        elif isinstance(item, Entry):
            if item.record is not None:
                pairs.append((item.key, item.record))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            a, b = item
            if isinstance(a, Record):
                a, b = b, a
            if isinstance(b, Record):
                pairs.append((str(a or ""), b))
            else:
                raise TypeError(f"expected (key, Record), got {type(a).__name__}, {type(b).__name__}")
        else:
            raise TypeError(f"expected a Record, an Entry or a (key, Record) pair, got {type(item).__name__}")
    taken: set[str] = set()
    out: list[tuple[str, Record]] = []
    for key, rec in pairs:
        key = key.strip()
        if key and not _KEY_BAD.search(key) and key.lower() not in taken:
            taken.add(key.lower())
            out.append((key, rec))
        else:
            out.append(("", rec))
    result = []
    for key, rec in out:
        if not key:
            key = make_citation_key(rec, taken)
            taken.add(key.lower())
        result.append((key, rec))
    return result


# --------------------------------------------------------------------------- BibTeX

_TEX_ESCAPE = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
    "#": r"\#", "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
    "`": r"\textasciigrave{}",
}
_TEX_SPECIAL = re.compile(r"[\\{}&%$#_~^`]|--|''|\s{2,}|[\t\r\n]")


def _tex_sub(m: re.Match) -> str:
    t = m.group(0)
    if t == "--":
        return "-{}-"
    if t == "''":
        return "'{}'"
    if t[0].isspace():
        return " "
    return _TEX_ESCAPE[t]


def _escape(text: str) -> str:
    """Plain Unicode -> a BibTeX value that reads back to the same text."""
    text = text.strip()
    if not _TEX_SPECIAL.search(text):
        return text
    out = _TEX_SPECIAL.sub(_tex_sub, text)
    # "---" became "-{}--", "'''" became "'{}''": split the remaining pairs too
    while "--" in out:
        out = out.replace("--", "-{}-")
    while "''" in out:
        out = out.replace("''", "'{}'")
    return out


_WORD = re.compile(r"\S+")


def _protect_case(text: str) -> str:
    """Escape, and brace words whose capitals a BibTeX style must not lower-case."""
    out: list[str] = []
    pos = 0
    sentence_start = True
    for m in _WORD.finditer(text.strip()):
        word = m.group(0)
        out.append(text.strip()[pos:m.start()])
        pos = m.end()
        esc = _escape(word)
        letters = [c for c in word if c.isalpha()]
        uppers = sum(1 for c in letters if c.isupper())
        protect = False
        if uppers:
            first_upper_only = letters[0].isupper() and uppers == 1
            protect = not (sentence_start and first_upper_only)
        if protect:
            esc = "{" + esc + "}"
        out.append(esc)
        sentence_start = word.endswith(":")  # BibTeX styles keep the capital after a colon
    return "".join(out)


def _brace_part(part: str) -> str:
    """One name part: escaped, braced when it would confuse the name parser."""
    esc = _escape(part)
    low = f" {part.lower()} "
    if "," in part or " and " in low or part.lower() in ("others", "and"):
        return "{" + esc + "}"
    return esc


def _name_candidate(p: Person, fam: str) -> str:
    if not p.given and not p.suffix:
        # "Iliad Ipswich," keeps several words together as the family name, not corporate
        return fam if " " not in p.family.strip() else fam + ","
    if p.suffix:
        return f"{fam}, {_brace_part(p.suffix)}, {_brace_part(p.given)}"
    return f"{fam}, {_brace_part(p.given)}"


def person_to_bibtex(p: Person) -> str:
    """``Family, Given`` / ``Family, Jr, Given`` / ``{Corporate Name}``; reads back to the same parts."""
    if p.corporate:
        return "{" + _escape(p.family) + "}"
    text = _name_candidate(p, _brace_part(p.family))
    back = parse_name(text)
    if back is None or (back.family, back.given, back.von, back.suffix) != (p.family, p.given, p.von, p.suffix):
        # e.g. family "Vázques de Parga" without a particle: keep the family in one brace group
        text = _name_candidate(p, "{" + _escape(p.family) + "}")
    return text


def _names(people: list[Person], et_al: bool = False) -> str:
    parts = [person_to_bibtex(p) for p in people if p.family or p.given]
    if et_al:
        parts.append("others")
    return " and ".join(parts)


_URL_BRACES = str.maketrans({"{": "%7B", "}": "%7D"})


def _verbatim(text: str) -> str:
    return " ".join(text.translate(_URL_BRACES).split())


_VERBATIM_OUT = frozenset(("url", "doi", "eprint", "file", "pdf", "urlraw", "verba", "verbb", "verbc",
                           "biburl", "ids", "entryset", "related", "pmid", "pmcid", "isbn", "issn",
                           "localfile", "sortkey", "timestamp", "owner"))
_SKIP_EXTRA = frozenset(("crossref", "xdata"))  # inherited fields are already flattened
_FIELD_NAME_OK = re.compile(r"^[A-Za-z][\w\-:.+/]*$")


def _bibtex_fields(rec: Record) -> list[tuple[str, str, bool]]:
    """(name, value, raw) in output order; raw values are written without escaping."""
    f: dict[str, tuple[str, bool]] = {}
    extra = rec.extra or {}
    if rec.authors or rec.authors_et_al:
        f["author"] = (_names(rec.authors, rec.authors_et_al), True)
    if rec.editors:
        f["editor"] = (_names(rec.editors), True)
    if rec.title:
        f["title"] = (_protect_case(rec.title), True)
    if rec.subtitle:
        f["subtitle"] = (_protect_case(rec.subtitle), True)
    if rec.venue:
        st = rec.study_type
        if st == "article":
            vf = "journal"
        elif st in ("book", "thesis", "report") and "series" not in extra:
            vf = "series"
        else:
            vf = "booktitle"
        if vf in extra:
            vf = "journaltitle" if "journaltitle" not in extra else "journal"
        f[vf] = (_protect_case(rec.venue) if vf == "booktitle" else _escape(rec.venue), True)
    if rec.year is not None:
        f["year"] = (str(rec.year), False)
    if rec.month:
        f["month"] = (_MONTH_MACROS[rec.month - 1] if 1 <= rec.month <= 12 else str(rec.month), "macro")
    if rec.day:
        f["day"] = (str(rec.day), False)
    for name, value in (("volume", rec.volume), ("pages", rec.pages), ("edition", rec.edition),
                        ("chapter", rec.chapter)):
        if value:
            f[name] = (_escape(value).replace("–", "--") if name == "pages" else value,
                       True if name == "pages" else False)
    if rec.issue:
        inum = "number" if rec.study_type == "article" and "number" not in extra else "issue"
        f[inum] = (rec.issue, False)
    if rec.publisher and rec.publisher not in (extra.get("institution"), extra.get("school"),
                                               extra.get("organization")):
        f["publisher"] = (rec.publisher, False)
    for name, value in (("doi", rec.doi), ("url", rec.url), ("isbn", rec.isbn), ("issn", rec.issn),
                        ("pmid", rec.pmid), ("pmcid", rec.pmcid), ("eprint", rec.eprint)):
        if value:
            f[name] = (value, "verbatim")
    if rec.keywords:
        f["keywords"] = (", ".join(rec.keywords), False)
    with_orcid = [p for p in rec.authors + rec.editors if p.orcid]
    if with_orcid and "orcid-numbers" not in extra:
        # Web of Science's convention, read back by read_bibtex
        f["orcid-numbers"] = ("; ".join(f"{p.family}, {p.given}/{p.orcid}" if p.given else f"{p.family}/{p.orcid}"
                                        for p in with_orcid), False)
    if rec.language:
        lf = "langid" if "langid" not in extra else "language"
        if lf not in extra:
            f[lf] = (_LANG_NAME.get(rec.language, rec.language), False)
    if rec.abstract:
        f["abstract"] = (rec.abstract, False)
    if rec.note:
        f["note"] = (rec.note, False)
    for name, value in extra.items():
        if name in _SKIP_EXTRA or not value:
            continue
        if not _FIELD_NAME_OK.match(name):
            continue
        # an extra field with the same name keeps the original, fuller text (e.g. year "1968--90")
        f[name] = (value, "verbatim" if name in _VERBATIM_OUT else False)
    out = []
    for name, (value, kind) in f.items():
        if kind is True or kind == "macro":
            out.append((name, value, kind))
        elif kind == "verbatim":
            out.append((name, _verbatim(value), True))
        else:
            out.append((name, _escape(value), True))
    return out


def _bibtex_type(rec: Record) -> str:
    et = (rec.entry_type or "").strip().lower()
    if et and re.fullmatch(r"[a-z][a-z0-9_\-]*", et) and et not in ("string", "preamble", "comment"):
        return et
    return BIBTEX_TYPE_BY_STUDY_TYPE.get(rec.study_type, "misc")


def to_bibtex(items) -> str:
    """BibTeX text (UTF-8 str) for the given records."""
    chunks: list[str] = []
    for key, rec in _items(items):
        lines = [f"@{_bibtex_type(rec)}{{{key},"]
        fields = _bibtex_fields(rec)
        width = max((len(n) for n, _, _ in fields), default=0)
        for name, value, kind in fields:
            if kind == "macro":
                lines.append(f"  {name.ljust(width)} = {value},")
            else:
                lines.append(f"  {name.ljust(width)} = {{{value}}},")
        lines.append("}")
        chunks.append("\n".join(lines))
    return "\n\n".join(chunks) + ("\n" if chunks else "")


# --------------------------------------------------------------------------- RIS

def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _ris_name(p: Person) -> str:
    if p.corporate or not p.given:
        return _one_line(p.family)
    if p.suffix:
        return _one_line(f"{p.family}, {p.given}, {p.suffix}")
    return _one_line(f"{p.family}, {p.given}")


def _split_pages(pages: str) -> tuple[str, str]:
    first = re.split(r"\s*,\s*", pages.strip())[0]
    if "–" in first:
        sp, ep = first.split("–", 1)
        return sp.strip(), ep.strip()
    if "-" in first and re.fullmatch(r"\w+-\w+", first):
        sp, ep = first.split("-", 1)
        return sp, ep
    return first, ""


def to_ris(items) -> str:
    """RIS text (tags TY AU ED TI T2 PY DA VL IS SP EP DO SN UR KW AB LA PB ... ER)."""
    out: list[str] = []
    for key, rec in _items(items):
        tags: list[tuple[str, str]] = [("TY", RIS_TYPE_BY_STUDY_TYPE.get(rec.study_type, "GEN"))]
        tags.append(("ID", key))
        for p in rec.authors:
            tags.append(("AU", _ris_name(p)))
        for p in rec.editors:
            tags.append(("ED", _ris_name(p)))
        title = rec.title + (f": {rec.subtitle}" if rec.subtitle else "")
        if title:
            tags.append(("TI", title))
        if rec.venue:
            tags.append(("T2", rec.venue))
            if rec.study_type == "article":
                tags.append(("JO", rec.venue))
        if rec.year is not None:
            tags.append(("PY", str(rec.year)))
            y = f"{rec.year:04d}"
            m = f"{rec.month:02d}" if rec.month else ""
            d = f"{rec.day:02d}" if rec.day and rec.month else ""
            tags.append(("DA", f"{y}/{m}/{d}/"))
        if rec.volume:
            tags.append(("VL", rec.volume))
        if rec.issue:
            tags.append(("IS", rec.issue))
        if rec.pages:
            sp, ep = _split_pages(rec.pages)
            if sp:
                tags.append(("SP", sp))
            if ep:
                tags.append(("EP", ep))
        if rec.edition:
            tags.append(("ET", rec.edition))
        if rec.publisher:
            tags.append(("PB", rec.publisher))
        place = rec.extra.get("address") or rec.extra.get("location")
        if place:
            tags.append(("CY", place))
        if rec.doi:
            tags.append(("DO", rec.doi))
        if rec.issn:
            tags.append(("SN", rec.issn))
        if rec.isbn:
            tags.append(("SN", rec.isbn))
        if rec.pmid:
            tags.append(("AN", f"PMID:{rec.pmid}"))
        if rec.url:
            tags.append(("UR", rec.url))
        for kw in rec.keywords:
            tags.append(("KW", kw))
        if rec.abstract:
            tags.append(("AB", rec.abstract))
        if rec.language:
            tags.append(("LA", rec.language))
        if rec.note:
            tags.append(("N1", rec.note))
        tags.append(("ER", ""))
        for tag, value in tags:
            out.append(f"{tag}  - {_one_line(value)}".rstrip() if tag != "ER" else "ER  - ")
        out.append("")
    return "\r\n".join(out)


# --------------------------------------------------------------------------- CSL-JSON

def _csl_name(p: Person) -> dict:
    if p.corporate:
        return {"literal": p.family}
    d: dict[str, str] = {}
    fam = p.family
    if p.von and fam.startswith(p.von + " "):
        d["non-dropping-particle"] = p.von
        fam = fam[len(p.von) + 1:]
    d["family"] = fam
    if p.given:
        d["given"] = p.given
    if p.suffix:
        d["suffix"] = p.suffix
    return d


def to_csl_json(items) -> list[dict]:
    """CSL-JSON items (json.dumps-able)."""
    out: list[dict] = []
    for key, rec in _items(items):
        st = rec.study_type
        ctype = CSL_TYPE_BY_STUDY_TYPE.get(st, "document")
        if st == "article" and not rec.venue:
            ctype = "article"
        item: dict = {"id": key, "type": ctype}
        title = rec.title + (f": {rec.subtitle}" if rec.subtitle else "")
        if title:
            item["title"] = title
        if rec.authors:
            item["author"] = [_csl_name(p) for p in rec.authors]
        if rec.editors:
            item["editor"] = [_csl_name(p) for p in rec.editors]
        if rec.year is not None:
            parts = [rec.year]
            if rec.month:
                parts.append(rec.month)
                if rec.day:
                    parts.append(rec.day)
            item["issued"] = {"date-parts": [parts]}
        if rec.venue:
            item["container-title"] = rec.venue
        series = rec.extra.get("series")
        if series and series != rec.venue:
            item["collection-title"] = series
        for csl, value in (("volume", rec.volume), ("issue", rec.issue), ("edition", rec.edition),
                           ("chapter-number", rec.chapter), ("publisher", rec.publisher),
                           ("DOI", rec.doi), ("ISBN", rec.isbn), ("ISSN", rec.issn),
                           ("PMID", rec.pmid), ("PMCID", rec.pmcid), ("URL", rec.url),
                           ("abstract", rec.abstract), ("language", rec.language), ("note", rec.note)):
            if value:
                item[csl] = value
        if rec.pages:
            item["page"] = rec.pages.replace("–", "-")
        place = rec.extra.get("address") or rec.extra.get("location")
        if place:
            item["publisher-place"] = place
        if rec.keywords:
            item["keyword"] = ", ".join(rec.keywords)
        genre = rec.extra.get("type")
        if genre:
            item["genre"] = genre
        number = rec.extra.get("number")
        if number and st != "article":
            item["number"] = number
        out.append(item)
    return out
