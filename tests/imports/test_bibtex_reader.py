"""BibTeX reader: real files from other projects, LaTeX, names, encodings, bad input.

Plain pytest (no database). The shared files live in /work/shared/bib (read its README).
"""
from __future__ import annotations

import codecs
import io
import os
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from biblio import iter_bibtex, read_bibtex
from apps.common.identifiers import (
    doi_from_url, find_isbns, is_valid_isbn10, is_valid_isbn13, is_valid_orcid, isbn10_to_isbn13,
    normalize_doi, normalize_isbn, normalize_issn, normalize_orcid, normalize_pmcid, normalize_pmid,
    orcid_checksum,
)
from biblio.latex import decode_latex
from biblio.names import parse_names

SHARED = os.environ.get("BIB_SHARED_DIR", "/work/shared/bib")

# Hand-verified: raw entries (not @string/@preamble/@comment, not on '%' lines), how many
# become records and how many fail.  See the comments for what the failures are.
EXPECTED = {
    # ~990 @article(...) blocks; 14 duplicate keys are all kept; 22+5 "@Comment text" lines are not entries
    "bbt_873_paren_delimited.bib": (988, 988, 0),
    "biber_crossrefs.bib": (46, 46, 0),
    # 40 @BOOK blocks of which L27 and L28 are commented out with '%'
    "biber_names.bib": (38, 38, 0),
    # the two @set entries carry no title/author/year of their own
    "biblatex-examples.bib": (92, 90, 2),
    "jabref-authors.bib": (212, 212, 0),
    "jabref_tiny-LE-withBOM.bib": (1, 1, 0),
    # entry 2 has an unclosed brace
    "ropensci_unbalanced_braces.bib": (2, 1, 1),
    # misc-minimal and random-note-crossref have only a key and a note; @COMMENT{article-crossref,...} is a comment
    "xampl_mod.bib": (35, 33, 2),
}

_RAW_ENTRY = re.compile(r"^\s*@(?!string\b|preamble\b|comment\b)[a-z]\w*\s*[{(]", re.I)


def _path(name: str) -> str:
    return os.path.join(SHARED, name)


def _bytes(name: str) -> bytes:
    with open(_path(name), "rb") as f:
        return f.read()


def _text(name: str) -> str:
    data = _bytes(name)
    if data.startswith(codecs.BOM_UTF16_LE):
        return data.decode("utf-16")
    return data.decode("utf-8")


def _raw_entry_lines(text: str) -> list[int]:
    """Independent count: lines that start an entry, ignoring '%' comment lines."""
    return [i for i, line in enumerate(text.split("\n"), 1)
            if not line.lstrip().startswith("%") and _RAW_ENTRY.match(line)]


_cache: dict[str, object] = {}


def _read(name: str):
    if name not in _cache:
        _cache[name] = read_bibtex(_bytes(name))
    return _cache[name]


def _by_key(name: str) -> dict:
    out = {}
    for e in _read(name).entries:
        out.setdefault(e.key, e)
    return out


def test_every_shared_file_is_covered():
    present = sorted(f for f in os.listdir(SHARED) if f.endswith(".bib"))
    assert present == sorted(EXPECTED)


# --------------------------------------------------------------------------- whole files

@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shared_file_entries_and_outcomes(name):
    result = _read(name)
    total, ok, failed = EXPECTED[name]
    lines = _raw_entry_lines(_text(name))
    assert len(lines) == total  # the independent count agrees with the hand count
    assert len(result.entries) == total
    assert sum(1 for e in result.entries if e.record is not None) == ok
    assert sum(1 for e in result.entries if e.record is None) == failed
    for e in result.entries:
        assert (e.record is None) == bool(e.error), (e.key, e.error)
    assert [e.index for e in result.entries] == list(range(total))
    # line numbers point at the entry's '@', and raw is the entry's text
    assert [e.line for e in result.entries] == lines
    src = _text(name).split("\n")
    for e in result.entries:
        assert e.raw.startswith("@")
        assert src[e.line - 1].lstrip().lower().startswith("@" + e.entry_type)
        assert e.raw.split("\n")[0] in src[e.line - 1]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_streaming_reader_gives_the_same_entries(name):
    whole = _read(name)
    stream = iter_bibtex(_path(name), chunk_entries=7)
    chunks = list(stream)
    assert all(len(c) <= 7 for c in chunks)
    entries = [e for c in chunks for e in c]
    assert [(e.key, e.line, e.raw, e.record, e.error) for e in entries] == \
        [(e.key, e.line, e.raw, e.record, e.error) for e in whole.entries]
    assert stream.encoding == whole.encoding


def test_streaming_from_a_non_seekable_text_stream():
    class Pipe(io.StringIO):
        def seekable(self):
            return False

    text = _text("xampl_mod.bib")
    entries = [e for c in iter_bibtex(Pipe(text)) for e in c]
    assert [e.record for e in entries] == [e.record for e in read_bibtex(text).entries]


# --------------------------------------------------------------------------- specific files

def test_nordic_names_from_jabref():
    entries = _read("jabref-authors.bib").entries
    families = {p.family for e in entries if e.record for p in e.record.authors}
    givens = {p.given for e in entries if e.record for p in e.record.authors}
    assert "Tennøy" in families
    assert "Øie" in families
    assert "Håkan" in givens
    assert not any("\\" in f or "{" in f for f in families | givens)


def test_jabref_bare_months_and_file_field_kept():
    entries = _read("jabref-authors.bib").entries
    months = [e.record.month for e in entries if e.record and "month" in e.fields]
    assert months and all(isinstance(m, int) and 1 <= m <= 12 for m in months)
    with_file = [e for e in entries if e.record and "file" in e.record.extra]
    assert with_file and with_file[0].record.extra["file"].endswith(".pdf:PDF")


def test_utf16_file_with_bom_and_encoding_header():
    result = _read("jabref_tiny-LE-withBOM.bib")
    assert result.encoding.startswith("utf-16")
    (entry,) = result.entries
    rec = entry.record
    assert entry.key == "Verwilghen+vanGalen+Wilke2011"
    assert rec.title == "Investigation of the best suture pattern to close a stuffed Christmas turkey"
    assert rec.venue == "Veterinary Record"  # journaltitle
    assert (rec.year, rec.month) == (2011, 12)  # date = {2011-12}
    assert rec.doi == "10.1136/vr.d6221"
    assert rec.pages == "685–686"
    assert [p.family for p in rec.authors] == ["Verwilghen", "Busoni", "van Galen", "Wilke"]
    assert rec.authors[2].von == "van"


def test_biber_names_corporate_von_and_jr():
    e = _by_key("biber_names.bib")

    def person(key, i=0):
        return e[key].record.authors[i]

    assert person("L25").corporate
    assert person("L25").family == "American Psychological Association, Task Force on the Sexualization of Girls"
    assert person("L26").corporate and person("L26").family == "Sci-Art Publishers"
    assert person("L29").corporate and person("L29").family.startswith("U.S. Department of Health and Human")
    assert len(e["L29"].record.authors) == 1  # the "and" inside the braces does not split
    p = person("L5")
    assert (p.given, p.von, p.family) == ("Egbert", "von", "von Eel")
    p = person("L11")
    assert (p.given, p.von, p.family, p.suffix) == ("Kevin", "van", "van Kluster", "Jr.")
    p = person("L10")
    assert (p.given, p.family, p.suffix) == ("James", "Jolly", "III")
    p = person("L10a")
    assert (p.given, p.family, p.suffix) == ("Joseph J.", "Pimentel", "Jr.")
    p = person("L12")
    assert (p.given, p.von, p.family) == ("Charles Louis Xavier Joseph", "de la", "de la Vallée Poussin")
    p = person("L20")
    assert (p.given, p.family, p.corporate) == ("John Henry", "Ford", False)
    assert person("L21").given == "Šomeone" and person("L22").family == "Šmith"
    assert person("L23").given == "Šomeone" and person("L24").family == "Šmith"
    assert person("L1id").family == "Adler" and person("L1id").given == "Alfred"  # extended format
    p = person("L16")
    assert (p.given, p.family) == ("Roger P. G.", "van Gompel")
    assert person("L30").family == "El-Mallah"
    assert [x.family for x in e["upa4"].record.authors] == ["Deutsch", "Deutsch"]
    assert "L27" not in e and "L28" not in e  # commented out with '%'


def test_biber_crossrefs_inherit_with_biblatex_rules():
    e = _by_key("biber_crossrefs.bib")
    cr1 = e["cr1"].record
    assert cr1.venue == "Graphs of the Continent"  # parent @book title -> booktitle
    assert e["cr1"].fields["booktitle"] == "Graphs of the Continent"
    assert cr1.title == "Great and Good Graphs"  # child fields win
    assert cr1.year == 1974 and cr1.publisher == "Grimble"
    assert [p.family for p in cr1.editors] == ["Erbriss"]
    cr7 = e["cr7"].record
    assert cr7.venue == "Book Title" and cr7.year == 2010
    assert cr7.extra["booksubtitle"] == "Book Subtitle"
    assert cr7.extra["bookauthor"] == "Brian Bookauthor"
    cr6 = e["cr6"].record
    assert cr6.venue == "Manual booktitle"  # own booktitle wins over the parent's title
    # mvbook -> book: title becomes maintitle; nested: ccr3 -> ccr2 -> (alias) ccr1
    assert e["ccr2"].fields["maintitle"] == "Stuff Concerning Varia"
    assert e["ccr3"].fields["maintitle"] == "Stuff Concerning Varia"
    assert e["ccr3"].record.venue == "Misc etc."
    # missing parent: a warning, not a failure
    assert e["mcr"].record is not None
    assert any("missing1" in w for w in e["mcr"].warnings)
    # cycles terminate and are reported
    for key in ("circ1", "circ2", "circ3"):
        assert e[key].record is not None
        assert any("cycle" in w for w in e[key].warnings)


def test_xampl_strings_months_preamble_and_crossref():
    result = _read("xampl_mod.bib")
    e = _by_key("xampl_mod.bib")
    assert len(result.preamble) == 1 and "noopsort" in result.preamble[0]
    full = e["inproceedings-full"].record
    assert full.extra["organization"] == "The OX Association for Computing Machinery"  # @STRING{ACM = ...}
    assert full.venue == "Proc. Fifteenth Annual ACM Symposium on the Theory of Computing"  # "..." # STOC
    inbook = e["inbook-full"].record
    assert (inbook.month, inbook.day) == (1, 10)  # month = "10~" # jan
    assert inbook.year == 1973  # {\noopsort{1973b}}1973, with \noopsort from @preamble
    assert e["article-full"].record.month == 7  # month = jul
    assert e["manual-full"].record.month == 4  # apr # "-" # may
    assert e["whole-set"].record.year == 1968
    cross = e["inproceedings-crossref"].record
    assert cross.venue == "Proc. Fifteenth Annual ACM Symposium on the Theory of Computing"
    assert cross.year == 1983
    assert e["inbook-crossref"].fields["booktitle"] == "The Art of Computer Programming"
    assert e["mastersthesis-minimal"].record.authors[0].given == "Édouard"
    assert e["unpublished-minimal"].record.authors[0].family == "Ünderwood"
    assert e["techreport-minimal"].record.title == "An O(n log n / log log n) Sorting Algorithm"
    assert e["misc-minimal"].record is None and e["misc-minimal"].error.startswith("no title")
    assert "article-crossref" not in e  # inside @COMMENT


def test_unbalanced_braces_keep_entry_one_and_report_entry_two():
    result = _read("ropensci_unbalanced_braces.bib")
    first, second = result.entries
    assert first.record is not None and first.record.title == "Parsing Rd files" and first.record.year == 2009
    assert second.record is None
    assert second.key == "murdoch:2010"
    assert second.line == 9
    assert "unbalanced braces" in second.error
    assert "title" in second.error  # points at the field that swallowed the rest


def test_biblatex_examples_dates_journaltitle_and_types():
    e = _by_key("biblatex-examples.bib")
    aksin = e["aksin"].record
    assert aksin.venue == "J. Organomet. Chem."  # journaltitle = jomch (@string)
    assert aksin.year == 2006 and aksin.pages == "3027–3036"
    assert [p.family for p in aksin.authors][:4] == ["Aksın", "Türkmen", "Artok", "Çetinkaya"]
    assert e["angenendt"].record.language == "de"
    assert e["angenendt"].record.title == "In Honore Salvatoris – Vom Sinn und Unsinn der Patrozinienkunde"
    assert e["angenendt"].record.pages == "431–456, 791–823"
    assert e["westfahl:space"].record.subtitle.startswith("Confronting and Avoiding")
    assert e["westfahl:space"].record.venue == "Space and Beyond"  # via crossref
    dated = [x.record for x in e.values() if x.record and "date" in x.fields]
    assert dated and all(r.year for r in dated)
    assert e["cicero"].record.extra["language"] == "langlatin and langgerman"
    types = {x.record.study_type for x in e.values() if x.record}
    assert {"article", "book", "book_chapter", "report", "thesis", "web_page", "other"} <= types
    assert e["set"].record is None and e["set"].fields == {} or e["set"].error


def test_bbt_paren_delimited_duplicates_and_undefined_macros():
    result = _read("bbt_873_paren_delimited.bib")
    keys = [e.key for e in result.entries]
    assert len(keys) - len(set(keys)) == 14  # duplicate keys are all kept
    e = _by_key("bbt_873_paren_delimited.bib")
    assert e["Biermann:75"].record.title == "Approaches to automatic programming"
    assert e["Sacerdoti:75"].record.venue == "IJCAI-75"  # undefined macro kept as text
    assert any("undefined macro" in w for w in e["Sacerdoti:75"].warnings)
    miller = e["miller85"].record
    assert [p.family for p in miller.authors] == ["Miller", "Firby", "Dean"]
    assert any("commas" in w for w in e["miller85"].warnings)
    bagchi = e["Bagchi:1983:AHS"].record
    assert bagchi.issn == "0304-3975"
    assert "heuristic search" in bagchi.keywords
    assert "beebe@math.utah.edu" in bagchi.extra["acknowledgement"]


# --------------------------------------------------------------------------- syntax

def test_string_macros_are_case_insensitive_and_concatenate():
    src = ('@STRING{Jnl = "Journal of "}\n@string{ROOT = {Things}}\n'
           '@article{a, title = jnl # root # " and more", journal = JNL # Root, year = 2001, month = "10~" # Jan}\n')
    (e,) = read_bibtex(src).entries
    assert e.record.title == "Journal of Things and more"
    assert e.record.venue == "Journal of Things"
    assert (e.record.month, e.record.day) == (1, 10)


def test_paren_delimiters_and_field_name_case():
    (e,) = read_bibtex('@Article(k1, Title = {Paren {entry}}, AUTHOR = "Ola Nordmann", YeAr = 1999)').entries
    assert e.record.title == "Paren entry"
    assert e.record.authors[0].family == "Nordmann"
    assert e.record.year == 1999
    assert set(e.fields) == {"title", "author", "year"}


def test_percent_comment_lines_are_not_fields_or_entries_but_escaped_percent_is_data():
    src = ("% @article{ghost, title = {Ghost}}\n"
           "@article{real,\n"
           "  title = {Half \\% of 50% done},\n"
           "% note = {commented out},\n"
           "  %@book{ghost2, title={no}}\n"
           "  year = 2020,\n"
           "}\n")
    result = read_bibtex(src)
    (e,) = result.entries
    assert e.key == "real"
    assert e.record.title == "Half % of 50% done"
    assert "note" not in e.fields
    assert e.record.year == 2020


def test_text_between_entries_and_at_signs_in_comments():
    src = ("Some notes, mail me at someone@example.org.\n\n"
           "@book{b, title = {One}}\nstray text\n@comment{not @article{x, title={y}} an entry}\n"
           "@preamble{\"\\newcommand{\\x}{}\"}\n@misc{m, title = {Two}}\n")
    result = read_bibtex(src)
    assert [e.key for e in result.entries] == ["b", "m"]
    assert result.comments >= 2


def test_duplicate_fields_missing_comma_missing_key():
    src = ("@article{d, title = {First}, title = {Second}, year = 2000}\n"
           "@article{c, title = {No comma} year = 2001}\n"
           "@article{title = {No key}, year = 2002}\n")
    d, c, k = read_bibtex(src).entries
    assert d.record.title == "First" and any("duplicate field 'title'" in w for w in d.warnings)
    assert "Second" in " ".join(d.warnings)  # nothing is lost: the ignored value is reported
    assert c.record.title == "No comma" and c.record.year == 2001 and any("comma" in w for w in c.warnings)
    assert k.key == "" and k.record.title == "No key" and any("key" in w for w in k.warnings)


def test_a_broken_entry_does_not_swallow_the_following_entries():
    src = ("@article{ok1, title = {One}}\n"
           "@article{bad, title = {Two, year = 2000,\n"
           "}\n\n"
           "@article{ok2, title = {Three}}\n"
           "@article{bad2, title = \"Four, year = 2000}\n"
           "@article{ok3, title = {Five}}\n")
    result = read_bibtex(src)
    assert [e.key for e in result.entries] == ["ok1", "bad", "ok2", "bad2", "ok3"]
    assert [e.record is not None for e in result.entries] == [True, False, True, False, True]
    assert result.entries[1].line == 2 and result.entries[3].line == 6
    assert "unbalanced" in result.entries[1].error
    assert result.entries[1].raw.startswith("@article{bad") and "ok2" not in result.entries[1].raw


def test_xdata_and_crossref_to_a_later_parent_with_odd_key_case():
    src = ("@xdata{pub, publisher = {Universitetsforlaget}, location = {Oslo}}\n"
           "@incollection{ch, title = {Kapittel}, crossref = {BOOK1}, xdata = {pub}, year = 2015}\n"
           "@collection{book1, title = {Rus og psykiske lidelser}, editor = {Lid, Per}, year = 2014}\n")
    x, ch, book = read_bibtex(src).entries
    assert x.record is None and x.error.startswith("no title")  # an @xdata container is not a reference
    assert ch.record.publisher == "Universitetsforlaget" and ch.record.extra["location"] == "Oslo"
    assert ch.record.venue == "Rus og psykiske lidelser" and ch.record.year == 2015
    assert [p.family for p in ch.record.editors] == ["Lid"]
    assert book.record.title == "Rus og psykiske lidelser"


def test_guideline_orcid_numbers_and_preamble_macros():
    src = (r'@preamble{"\newcommand{\SortNoop}[1]{} \providecommand{\abbr}[1]{#1}"}' "\n"
           "@report{g, title = {Nasjonal faglig retningslinje for utredning, behandling og oppfølging},"
           " type = {Nasjonal faglig retningslinje}, institution = {Helsedirektoratet}, year = {\\SortNoop{a}2012},"
           " author = {{Helsedirektoratet}}}\n"
           "@article{o, title = {\\abbr{ROP}}, author = {Lid, Per and Øie, Kari},"
           " orcid-numbers = {Lid, Per/0000-0002-1825-0097; Oie, Kari/0000-0001-5109-3700}}\n")
    g, o = read_bibtex(src).entries
    assert g.record.study_type == "guideline" and g.record.year == 2012
    assert g.record.publisher == "Helsedirektoratet" and g.record.authors[0].corporate
    assert o.record.title == "ROP"
    assert [p.orcid for p in o.record.authors] == ["0000-0002-1825-0097", "0000-0001-5109-3700"]
    assert "orcid-numbers" not in o.record.extra


def test_emails_and_at_signs_in_free_text_are_not_entries():
    src = "Contact: post@rus-psyk.no(office) or x@y{z}\n@misc{m, title = {Real}}\n"
    (e,) = read_bibtex(src).entries
    assert e.key == "m"


def test_no_title_author_or_year_is_an_error_title_alone_is_enough():
    a, b, c = read_bibtex("@misc{a, note = {x}}\n@misc{b, title = {Only a title}}\n@misc{c, year = 1999}").entries
    assert a.record is None and a.error.startswith("no title")
    assert b.record is not None and b.record.title == "Only a title"
    assert c.record is not None and c.record.year == 1999


# --------------------------------------------------------------------------- LaTeX

@pytest.mark.parametrize("src, expected", [
    (r"\'e \"o \`a \^o \~n \=a \.z \u{g} \H{o} \r{a} \k{a} \c{c} \v{s}", "é ö à ô ñ ā ż ğ ő å ą ç š"),
    (r"{\'e} \'{e} \' e \'{\i} {\i}", "é é é í ı"),
    (r"{\o} {\O} {\aa} {\AA} {\ae} {\AE} {\oe} {\l} {\L} {\ss}", "ø Ø å Å æ Æ œ ł Ł ß"),
    (r"Tenn{\o}y {\O}ie H{\aa}kan Nordfj{\ae}rn", "Tennøy Øie Håkan Nordfjærn"),
    ("1--2, a---b, x~y", "1–2, a—b, x y"),
    (r"\& \% \_ \$ \# \{ \}", "& % _ $ # { }"),
    (r"\textit{x} \emph{y} \textbf{z} \url{http://a.no/~b--c_d}", "x y z http://a.no/~b--c_d"),
    (r"$\alpha$-synuclein, $x^2$, $\geq$ 65, $<$ 5", "α-synuclein, x², ≥ 65, < 5"),
    ("``quoted''", "“quoted”"),
    (r"{HIV} in {N}orway", "HIV in Norway"),
    (r"\unknowncommand{kept text}", "kept text"),
    (r"An {$O(n \log n)$} algorithm", "An O(n log n) algorithm"),
    (r"\mkbibquote{Intention} und", "“Intention” und"),
    ("  spread\n\t over   lines ", "spread over lines"),
    ("plain text, nothing to do", "plain text, nothing to do"),
])
def test_latex_decoding(src, expected):
    assert decode_latex(src) == expected


def test_latex_decoding_of_deep_nesting_and_huge_values():
    deep = "{" * 10_000 + "x" + "}" * 10_000
    assert decode_latex(deep) == "x"
    (e,) = read_bibtex("@misc{deep, title = " + deep + "}").entries
    assert e.record.title == "x"
    big = "word " * 200_000  # ~1 MB
    (e,) = read_bibtex("@misc{big, title = {T}, abstract = {" + big + "}}").entries
    assert len(e.record.abstract) == len(big.strip())


# --------------------------------------------------------------------------- names

def test_names_and_others_and_decoding_after_splitting():
    persons, et_al, warnings = parse_names(r"{\O}deg{\aa}rd, Kari Marie and {World Health Organization} "
                                           r"AND Ludwig van Beethoven and others")
    assert et_al and not warnings
    assert [(p.family, p.given, p.corporate) for p in persons] == [
        ("Ødegård", "Kari Marie", False), ("World Health Organization", "", True),
        ("van Beethoven", "Ludwig", False)]
    assert persons[2].von == "van"
    assert persons[0].printed == "Ødegård, Kari Marie"


def test_malformed_author_list_is_a_warning_not_a_lost_entry():
    src = "@article{m, author = {Smith, John and and , Jane, X, Y, Z, W}, title = {Kept}}"
    (e,) = read_bibtex(src).entries
    assert e.record is not None and e.record.title == "Kept"
    assert e.record.authors[0].family == "Smith"
    assert any(w.startswith("author:") for w in e.warnings)


# --------------------------------------------------------------------------- fields

def test_dates_months_language_identifiers_keywords():
    src = r"""
@online{o, title = {Side}, date = {2019-05-03}, langid = {norsk}, url = {https://doi.org/10.1000/ABC.def}}
@article{a, title = {A}, year = {2020}, month = {Sept.}, language = {Nynorsk}, doi = {doi:10.5555/XYZ},
  pmid = {PMID: 12345678}, pmcid = {pmc7654321}, isbn = {0-306-40615-2}, issn = {03043975},
  keywords = {alcohol; mental health,  comorbidity ;}, eprint = {2101.00001}, eprinttype = {arxiv}}
@report{r, title = {R}, date = {2004-03/2005-08}, language = {english and german}}
@misc{h, title = {H}, howpublished = {\url{https://rus-psyk.no/x_y}}, year = {in press}}
"""
    o, a, r, h = (e.record for e in read_bibtex(src).entries)
    assert (o.year, o.month, o.day, o.language, o.study_type) == (2019, 5, 3, "nb", "web_page")
    assert o.doi == "10.1000/abc.def" and o.url == "https://doi.org/10.1000/ABC.def"
    assert (a.month, a.language, a.doi, a.pmid, a.pmcid) == (9, "nn", "10.5555/xyz", "12345678", "PMC7654321")
    assert a.isbn == "9780306406157" and a.issn == "0304-3975"
    assert a.keywords == ["alcohol", "mental health", "comorbidity"]
    assert a.eprint == "2101.00001" and a.extra["eprinttype"] == "arxiv"
    assert (r.year, r.month, r.language, r.study_type) == (2004, 3, "en", "report")
    assert h.url == "https://rus-psyk.no/x_y" and h.year is None and h.extra["year"] == "in press"


@pytest.mark.parametrize("entry_type, study_type", [
    ("article", "article"), ("inproceedings", "conference_paper"), ("conference", "conference_paper"),
    ("incollection", "book_chapter"), ("inbook", "book_chapter"), ("book", "book"), ("mvbook", "book"),
    ("collection", "book"), ("mvcollection", "book"), ("phdthesis", "thesis"),
    ("mastersthesis", "thesis"), ("thesis", "thesis"), ("techreport", "report"), ("report", "report"),
    ("online", "web_page"), ("electronic", "web_page"), ("www", "web_page"), ("dataset", "dataset"),
    ("proceedings", "other"), ("misc", "other"), ("manual", "other"), ("booklet", "other"),
    ("unpublished", "other"), ("patent", "other"), ("software", "other"), ("whatever", "other"),
])
def test_entry_types_map_to_study_types(entry_type, study_type):
    (e,) = read_bibtex(f"@{entry_type.upper()}{{k, title = {{T}}}}").entries
    assert e.record.study_type == study_type
    assert e.record.entry_type == entry_type


# --------------------------------------------------------------------------- identifiers

@pytest.mark.parametrize("raw, expected", [
    ("https://doi.org/10.1000/ABC", "10.1000/abc"),
    ("http://dx.doi.org/10.1109/ICDSP.2015.7252052", "10.1109/icdsp.2015.7252052"),
    ("doi:10.1136/vr.d6221", "10.1136/vr.d6221"),
    ("DOI: 10.1136/VR.D6221 ", "10.1136/vr.d6221"),
    (" 10.1000/\nabc ", "10.1000/abc"),
    ("https://doi.org/10.1000/a%2Fb", "10.1000/a/b"),
    ("not a doi", ""),
    ("", ""),
])
def test_doi_normalization(raw, expected):
    assert normalize_doi(raw) == expected


def test_doi_from_url():
    assert doi_from_url("http://dx.doi.org/10.1109/ECCTD.2015.7300060") == "10.1109/ecctd.2015.7300060"
    assert doi_from_url("https://example.org/10.1000/x") == ""


def test_isbn_10_to_13_and_validation():
    assert is_valid_isbn10("0-306-40615-2")
    assert not is_valid_isbn10("0-306-40615-3")
    assert isbn10_to_isbn13("0-306-40615-2") == "9780306406157"
    assert isbn10_to_isbn13("080442957X") == "9780804429573"
    assert is_valid_isbn13("978-0-306-40615-7")
    assert normalize_isbn("ISBN 978-82-15-02931-3") == "9788215029313"
    assert normalize_isbn("0-306-40615-3") == ""
    assert find_isbns("0-19-852663-6 (pbk.), 978-0-306-40615-7") == ["9780198526636", "9780306406157"]
    with pytest.raises(ValueError):
        isbn10_to_isbn13("1234567890")


def test_orcid_checksum():
    assert orcid_checksum("000000021825009") == "7"
    assert is_valid_orcid("0000-0002-1825-0097")
    assert is_valid_orcid("https://orcid.org/0000-0001-5109-3700")
    assert normalize_orcid("https://orcid.org/0000-0002-1694-233X") == "0000-0002-1694-233X"
    assert not is_valid_orcid("0000-0002-1825-0098")
    assert not is_valid_orcid("0000-0002-1825")


def test_issn_pmid_pmcid():
    assert normalize_issn("0029-2001") == "0029-2001"
    assert normalize_issn("0029-2002") == ""
    assert normalize_issn("2049-3630") == "2049-3630"
    assert normalize_pmid("PMID: 31234567") == "31234567"
    assert normalize_pmid("https://pubmed.ncbi.nlm.nih.gov/31234567/") == "31234567"
    assert normalize_pmcid("PMC1234567") == "PMC1234567"
    assert normalize_pmcid("1234567") == "PMC1234567"
    assert normalize_pmcid("x") == ""


# --------------------------------------------------------------------------- encodings

def test_encodings():
    entry = "@article{k, title = {Rusbruk og psykisk lidelse på Østlandet}, author = {Ødegård, Åse}}\n"
    for data, enc in [
        (entry.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + entry.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF16_LE + entry.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + entry.encode("utf-16-be"), "utf-16-be"),
        (("% Encoding: ISO8859_1\n" + entry).encode("latin-1"), "iso8859-1"),
    ]:
        result = read_bibtex(data)
        assert result.encoding == enc
        (e,) = result.entries
        assert e.record.title == "Rusbruk og psykisk lidelse på Østlandet"
        assert e.record.authors[0].family == "Ødegård" and e.record.authors[0].given == "Åse"
    result = read_bibtex(entry.encode("cp1252"))
    assert result.encoding == "cp1252"
    assert any("cp1252" in w for w in result.warnings)
    assert result.entries[0].record.title.endswith("Østlandet")


def test_mostly_utf8_with_a_bad_byte_keeps_the_utf8():
    data = "@misc{k, title = {Tennøy Øie Håkan}, note = {x".encode() + b"\xff" + b"}}"
    result = read_bibtex(data)
    assert result.entries[0].record.title == "Tennøy Øie Håkan"
    assert result.warnings


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("data", [
    b"", "", b"\x00\x01\x02\xff\xfe\xfa" * 100, "just some words, no entries at all",
    "TY  - JOUR\nTI  - A RIS file\nER  - \n", '[{"title": "json"}]', "@", "@@@@", "@article",
    "@article{", "@article{k,", "@article{k, title = ", "@article{k, title = {", '@article{k, title = "',
    "@string{x = }", "@preamble{", "@comment{", "}}}}{{{", "@article{k, title = {a}} }}} @misc(",
    "@article{k, = {x}}", "@article{k, title = # # {x}}", "@article{k, author = { and and }, title={t}}",
])
def test_bad_input_never_raises(data):
    result = read_bibtex(data)
    for e in result.entries:
        assert (e.record is None) == bool(e.error)


def test_not_bibtex_gives_a_file_warning():
    for data in (b"\x00\x01\x02\xff\xfe\xfa" * 100, "plain prose", "TY  - JOUR\nER  - \n"):
        result = read_bibtex(data)
        assert result.entries == []
        assert any("no BibTeX entries" in w for w in result.warnings)


_settings = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# BibTeX-ish fragments, so that the generated text often looks like almost-valid entries
_bibish = st.lists(st.sampled_from(list("@{}()\"#%,=\\ \n\tabcAB01~$-'`ø") + [
    "@article{", "@string{", "@comment{", "title =", "author = {", " and ", "\\'e", "{\\o}", "k1,",
    "crossref = {k1}", "month = jan", " # ", "\n%", "\n@misc(", "}\n"])).map("".join)


@_settings
@given(st.one_of(st.text(), _bibish, st.lists(_bibish).map("".join)))
def test_arbitrary_text_never_raises(text):
    result = read_bibtex(text)
    for e in result.entries:
        assert (e.record is None) == bool(e.error)
        assert e.raw.startswith("@")


@_settings
@given(st.binary())
def test_arbitrary_bytes_never_raise(data):
    result = read_bibtex(data)
    for e in result.entries:
        assert (e.record is None) == bool(e.error)


# --------------------------------------------------------------------------- the pre-pass, only when needed

def _needs(text, encoding="utf-8"):
    from biblio.reader import BibtexStream

    return BibtexStream._needs_prepass(io.BytesIO(text.encode(encoding)))


def test_the_pre_pass_runs_only_for_crossrefs_xdata_or_strings_defined_after_an_entry():
    plain = '@string{j = "Addiction"}\n@article{a, title={T}, journal=j}\n@article{b, title={U}}\n'
    assert not _needs(plain)
    assert _needs(plain + "@inbook{c, CrossRef = {b}, title={V}}\n")
    assert _needs(plain + "@article{d, XDATA = {x}}\n")
    assert _needs(plain + '@STRING ( k = "Later" )\n')
    assert _needs(plain, "utf-16")  # not ASCII-compatible: no quick look
    # the words may straddle the reader's 1 MB blocks
    filler = "@misc{f, note={" + "x" * ((1 << 20) - 30) + "}}\n"
    assert _needs(filler + "@inbook{c, crossref = {f}}\n")


@pytest.mark.parametrize("name", sorted(n for n in os.listdir(SHARED) if n.endswith(".bib")))
def test_skipping_the_pre_pass_reads_every_file_the_same(monkeypatch, name):
    """With the pre-pass forced for every file, each entry reads the same as with the quick look."""
    from biblio.reader import BibtexStream

    path = os.path.join(SHARED, name)

    def read():
        stream = iter_bibtex(path, chunk_entries=50)
        entries = [(e.index, e.key, e.fields, e.record, e.error, e.warnings) for chunk in stream for e in chunk]
        return entries, stream.warnings

    quick = read()
    monkeypatch.setattr(BibtexStream, "_needs_prepass", staticmethod(lambda f: True))
    assert read() == quick


def test_a_string_defined_after_an_entry_is_known_to_entries_before_it():
    text = '@article{a, title={T}, journal=later}\n@string{later = "Addiction"}\n@article{b, title={U}, journal=later}\n'
    result = read_bibtex(text.encode())
    assert [e.record.venue for e in result.entries] == ["Addiction", "Addiction"]
