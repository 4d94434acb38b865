"""Export studies as BibTeX, RIS or CSL-JSON, streamed in chunks.

``GET /api/v1/studies/export/?format=bibtex|ris|csljson`` (the list's filters, and ``q`` through the
search backend) and ``GET /api/v1/studies/{id}/export/``; the format may also come from the
``Accept`` header. Anonymous users export published studies only (the queryset decides).

* **Citation keys** are unique within an export and stable for the same query: the study's stored
  ``source_key`` when it is a plain ASCII key not used yet in the export, else
  ``make_citation_key`` (``odegard2019substance``, then ``...a``, ``...b``).
* **Unicode in BibTeX**: letters with a LaTeX form are written as BibTeX "special characters"
  (``{\\O}deg{\\aa}rd``, ``Andr{\\'e}``), which classic BibTeX (sorting, initials, case changes) and
  biber/biblatex both read back to the same text; anything else (Greek, symbols) stays UTF-8 and the
  file starts with a ``% Encoding: UTF-8`` line. URLs and identifiers are written verbatim.
* What a study's BibTeX entry held beyond the study's fields (editors, note, address, series ...)
  comes from its :class:`~apps.imports.models.SourceRecord`.
"""
from __future__ import annotations

import json
import re
import unicodedata

from django.db.models import Prefetch
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.exceptions import NotAcceptable, ValidationError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.mediatypes import media_type_matches, order_by_precedence

from apps.common.roles import is_curator

from .models import Authorship

from biblio.model import Person, Record
from biblio.names import person_from_json, printed_name
from biblio.normalize import STUDY_TYPE_BY_ENTRY_TYPE
from biblio.writers import make_citation_key, to_bibtex, to_csl_json, to_ris

CHUNK = 500
MAX_SEARCH_IDS = 200_000

FORMATS = {
    "bibtex": ("application/x-bibtex", "bib"),
    "ris": ("application/x-research-info-systems", "ris"),
    "csljson": ("application/vnd.citationstyles.csl+json", "json"),
}
ACCEPT_ALIASES = {"application/json": "csljson", "text/x-bibtex": "bibtex", "application/x-bibtex": "bibtex"}

# --------------------------------------------------------------------------- format selection


class ExportNegotiation(BaseContentNegotiation):
    """Export actions answer errors in JSON; the export format itself is chosen by :func:`chosen_format`
    (``?format=`` would otherwise make DRF look for a renderer of that name)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        renderer = JSONRenderer()
        return renderer, renderer.media_type


def chosen_format(request) -> str:
    fmt = request.query_params.get("format") or None  # ``?format=`` is no format: the Accept header decides
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValidationError({"format": [f"Choose one of {', '.join(FORMATS)} (not {fmt[:40]!r})."]})
        return fmt
    accept = request.META.get("HTTP_ACCEPT") or "*/*"
    for group in order_by_precedence([m.strip() for m in accept.split(",") if m.strip()]):
        for media in group:
            for name, (mt, _) in FORMATS.items():
                if media_type_matches(mt, media) and not media.startswith("*/"):
                    return name
            base = media.split(";")[0].strip()
            if base in ACCEPT_ALIASES:
                return ACCEPT_ALIASES[base]
            if base in ("*/*", "text/*", "application/*"):
                return "bibtex"
    raise NotAcceptable("Ask for application/x-bibtex, application/x-research-info-systems or "
                        "application/vnd.citationstyles.csl+json (or use ?format=bibtex|ris|csljson).")


CSL_ITEMS = {"type": "array", "description": "CSL-JSON items (citeproc's input format).",
             "items": {"type": "object", "additionalProperties": True}}


def schema(detail: bool) -> dict:
    """drf-spectacular arguments for the export actions."""
    params = [OpenApiParameter("format", str, enum=list(FORMATS), required=False,
                               description="bibtex (default), ris or csljson; or ask through the Accept header.")]
    if not detail:
        params.append(OpenApiParameter("q", str, required=False, description=(
            "A search query (the search API's syntax): export the matching studies (with the other filters).")))
    return {
        "parameters": params,
        "filters": not detail,  # the list's filters apply to the list export
        "responses": {
            (200, "application/x-bibtex"): OpenApiTypes.STR,
            (200, "application/x-research-info-systems"): OpenApiTypes.STR,
            (200, "application/vnd.citationstyles.csl+json"): CSL_ITEMS,
            406: OpenApiResponse(OpenApiTypes.OBJECT,
                                 description="None of the formats named in Accept can be produced."),
        },
    }


# --------------------------------------------------------------------------- studies -> records

_STUDY_OWNED_EXTRA = frozenset((
    "title", "subtitle", "author", "editor", "year", "date", "month", "day", "doi", "url", "isbn", "pmid", "pmcid",
    "keywords", "keyword", "abstract", "pages", "volume", "edition", "chapter", "langid", "language", "crossref",
    "xdata", "journal", "journaltitle", "booktitle", "orcid-numbers", "orcids",
))


def export_queryset(queryset):
    return queryset.select_related("venue", "source_record").prefetch_related(
        Prefetch("authorships", queryset=Authorship.objects.select_related("researcher").order_by("position")))


def study_record(study) -> Record:
    """The study as a :class:`Record` for the writers: the study's fields, plus what its source kept."""
    source = getattr(study, "source_record", None)  # the reverse one-to-one may be missing
    data = source.data if source is not None else {}
    entry_type = ""
    if source is not None and STUDY_TYPE_BY_ENTRY_TYPE.get(source.entry_type, "other") == study.study_type:
        entry_type = source.entry_type
    venue = study.venue
    extra = {k: v for k, v in (data.get("extra") or {}).items() if k not in _STUDY_OWNED_EXTRA and v}
    rec = Record(
        entry_type=entry_type, study_type=study.study_type, title=study.title, subtitle=study.subtitle,
        abstract=study.abstract, language=study.language or data.get("language", ""), year=study.year,
        month=study.month, day=study.day, venue=venue.name if venue else "",
        issn=(venue.issn if venue else "") or data.get("issn", ""), volume=study.volume, issue=study.issue,
        pages=study.pages, publisher=study.publisher, edition=study.edition, chapter=study.chapter,
        doi=study.doi, pmid=study.pmid, pmcid=study.pmcid, isbn=study.isbn, eprint=data.get("eprint", ""),
        url=study.url, keywords=list(study.keywords or []), note=data.get("note", ""), extra=extra,
        authors_et_al=bool(data.get("et_al")),
    )
    as_editors = bool(data.get("editors_as_authors"))
    kept = data.get("editors" if as_editors else "authors") or []
    people = []
    for i, a in enumerate(study.authorships.all()):
        p = None
        if i < len(kept):
            candidate = person_from_json(kept[i])
            if printed_name(candidate) == a.name:
                p = candidate
        if p is None:
            p = Person(family=a.family_name or a.name, given=a.given_name, printed=a.name)
        if a.researcher_id and a.researcher.orcid and not p.orcid:
            p.orcid = a.researcher.orcid
        people.append(p)
    if as_editors:
        rec.editors = people
    else:
        rec.authors = people
        rec.editors = [person_from_json(e) for e in data.get("editors") or []]
    return rec


_KEY_OK = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_:.\-+/]{0,99}$")


def citation_key(study, rec: Record, taken: set) -> str:
    """The stored source key when it is usable and not taken yet, else a generated one (``taken`` is lower-case)."""
    key = (study.source_key or "").strip()
    if key and _KEY_OK.match(key) and key.lower() not in taken:
        taken.add(key.lower())
        return key
    key = make_citation_key(rec, taken)
    taken.add(key.lower())
    return key


# --------------------------------------------------------------------------- Unicode for BibTeX

_LETTERS = {"ø": r"{\o}", "Ø": r"{\O}", "å": r"{\aa}", "Å": r"{\AA}", "æ": r"{\ae}", "Æ": r"{\AE}",
            "œ": r"{\oe}", "Œ": r"{\OE}", "ß": r"{\ss}", "ł": r"{\l}", "Ł": r"{\L}", "ı": r"{\i}",
            "đ": r"{\dj}", "Đ": r"{\DJ}", "–": "--", "—": "---"}
_ACCENTS = {"\u0301": "'", "\u0300": "`", "\u0302": "^", "\u0308": '"', "\u0303": "~", "\u0304": "=",
            "\u0307": ".", "\u0306": "u", "\u030c": "v", "\u030b": "H", "\u030a": "r", "\u0328": "k",
            "\u0327": "c", "\u0323": "d", "\u0331": "b"}
_FIELD_LINE = re.compile(r"^(\s+)([A-Za-z][\w\-:.+/]*)(\s*=\s*)(.*)$", re.S)
_VERBATIM = frozenset(("url", "doi", "eprint", "file", "pdf", "urlraw", "verba", "verbb", "verbc", "biburl", "ids",
                       "entryset", "related", "pmid", "pmcid", "isbn", "issn", "localfile", "sortkey", "timestamp",
                       "owner"))
_cache: dict[str, str] = {}


def _latex_char(ch: str) -> str:
    rep = _cache.get(ch)
    if rep is not None:
        return rep
    rep = _LETTERS.get(ch)
    if rep is None:
        d = unicodedata.normalize("NFD", ch)
        base, marks = d[0], d[1:]
        if base.isascii() and base.isalpha() and len(marks) == 1 and marks in _ACCENTS:
            cmd = _ACCENTS[marks]
            if base == "i" and cmd in "'`^\"~=.":
                base = r"\i"
            rep = "{\\" + cmd + (base if not cmd.isalpha() else "{" + base + "}") + "}"
        else:
            rep = ch
    _cache[ch] = rep
    return rep


def latex_encode(text: str) -> str:
    if text.isascii():
        return text
    return "".join(ch if ch < "\x80" else _latex_char(ch) for ch in text)


def bibtex_ascii(text: str) -> str:
    """``to_bibtex`` output with letters written as BibTeX special characters (verbatim fields untouched)."""
    if text.isascii():
        return text
    out = []
    for line in text.split("\n"):
        if not line.isascii():
            m = _FIELD_LINE.match(line)
            if m and m.group(2).lower() not in _VERBATIM:
                line = m.group(1) + m.group(2) + m.group(3) + latex_encode(m.group(4))
        out.append(line)
    return "\n".join(out)


# --------------------------------------------------------------------------- streaming

def search_ids(request) -> list[int] | None:
    """Ids of the studies matching ``q`` through the search backend, in relevance order (None: no q)."""
    q = request.query_params.get("q")
    if q is None or not q.strip():
        return None
    from search.backends import get_backend
    from search.params import SearchParamsSerializer, build_request

    params = SearchParamsSerializer(data={"q": q, "include_drafts": is_curator(request.user), "facets": False,
                                          "highlight": False, "page_size": 100})
    params.is_valid(raise_exception=True)
    search_request = build_request(params.validated_data, request.user)
    search_request.page_size = 1000
    search_request.explain_did_you_mean = False
    backend = get_backend()
    ids, seen = [], set()
    while len(ids) < MAX_SEARCH_IDS:
        response = backend.search(search_request)
        for hit in response.hits:
            if hit.id not in seen:
                seen.add(hit.id)
                ids.append(hit.id)
        if not response.hits or not response.next_cursor:
            break
        search_request.search_after = response.next_cursor
    return ids


def _batches(queryset, ids):
    if ids is None:
        batch = []
        for study in queryset.iterator(chunk_size=CHUNK):
            batch.append(study)
            if len(batch) >= CHUNK:
                yield batch
                batch = []
        if batch:
            yield batch
        return
    for i in range(0, len(ids), CHUNK):
        part = ids[i:i + CHUNK]
        found = {s.pk: s for s in queryset.filter(pk__in=part).order_by()}
        batch = [found[pk] for pk in part if pk in found]
        if batch:
            yield batch


def render_chunks(fmt: str, batches):
    """Text pieces of the export, one per batch of studies."""
    taken: set[str] = set()
    if fmt == "bibtex":
        yield "% Encoding: UTF-8\n\n"
    if fmt == "csljson":
        yield "["
    first = True
    for batch in batches:
        pairs = []
        for study in batch:
            rec = study_record(study)
            pairs.append((citation_key(study, rec, taken), rec))
        if fmt == "bibtex":
            yield bibtex_ascii(to_bibtex(pairs)) + "\n"
        elif fmt == "ris":
            yield to_ris(pairs) + "\r\n"
        else:
            items = to_csl_json(pairs)
            text = ",\n".join(json.dumps(item, ensure_ascii=False) for item in items)
            if text:
                yield ("\n" if first else ",\n") + text
                first = False
    if fmt == "csljson":
        yield "\n]\n"


def export_response(request, queryset, filename="studies", ids=None) -> StreamingHttpResponse:
    """Stream ``queryset`` (or the studies ``ids`` in that order, within ``queryset``) in the requested format."""
    fmt = chosen_format(request)
    if ids is None:
        ids = search_ids(request)
    media_type, extension = FORMATS[fmt]
    stream = render_chunks(fmt, _batches(export_queryset(queryset), ids))
    response = StreamingHttpResponse((piece.encode("utf-8") for piece in stream),
                                     content_type=f"{media_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
