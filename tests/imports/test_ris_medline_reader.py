"""The RIS and MEDLINE readers on every shared export (/work/shared/formats) and on crafted bad input: one
entry per record with its line, never a crash; spot-checked fields; rispy as an oracle for the RIS files;
format detection; several files read as one."""
import io
import os
import re

import pytest
import rispy

from apps.common.identifiers import normalize_doi
from biblio import tagged
from biblio.formats import detect_format, open_stream
from biblio.medline import read_medline
from biblio.ris import read_ris

FORMATS_DIR = "/work/shared/formats"
RIS_FILES = ["asreview__baseline.ris", "asreview_embase.ris", "asreview_ovid_psycinfo.ris",
             "asreview_pubmed_endnote.txt", "asreview_scopus.ris", "asreview_web_of_science.txt",
             "jabref_RisImporterTest1.ris", "litstudy_example.ris", "rispy_example_multiline.ris",
             "rispy_example_utf_chars.ris"]
MEDLINE_FILES = ["biopython_pubmed_result2.txt", "jabref_MedlinePlainImporterTestMultipleEntries.txt",
                 "nbib_pubmed-balloongui-set.nbib", "pybtexnbib_marcelis-20301770.nbib"]


def data(name):
    with open(os.path.join(FORMATS_DIR, name), "rb") as f:
        return f.read()


def lines(name):
    return re.split(r"\r\n|\r|\n", data(name).decode("utf-8-sig", "replace").replace("\ufeff", ""))


def test_every_shared_export_is_covered():
    assert sorted(RIS_FILES + MEDLINE_FILES) == sorted(f for f in os.listdir(FORMATS_DIR) if f != "README.md")


@pytest.mark.parametrize("name", RIS_FILES)
def test_ris_one_entry_per_er_line_each_with_its_ty_line(name):
    result = read_ris(data(name))
    text = lines(name)
    assert len(result.entries) == sum(1 for line in text if line.startswith("ER  -"))
    assert [e.index for e in result.entries] == list(range(len(result.entries)))
    for e in result.entries:
        assert text[e.line - 1].startswith(("TY  -", "  TY  -")), (e.line, text[e.line - 1])
        assert (e.record is None) != (e.error == "")
        assert e.raw.startswith("TY  - ")
    assert result.encoding == "utf-8"


@pytest.mark.parametrize("name", MEDLINE_FILES)
def test_medline_one_entry_per_record_each_with_its_first_line(name):
    result = read_medline(data(name))
    text = lines(name)
    pmids = sum(1 for line in text if line.startswith("PMID-"))
    # JabRef's file has two more records without a PMID (JabRef reads 7 too)
    assert len(result.entries) == pmids + (2 if name.startswith("jabref") else 0)
    for e in result.entries:
        assert text[e.line - 1][:4].strip() and (e.record is None) != (e.error == "")
        if e.key:
            assert text[e.line - 1].replace(" ", "") == f"PMID-{e.key}"


def test_ris_fields_of_real_exports():
    base = read_ris(data("asreview__baseline.ris")).entries
    first = base[0].record
    assert base[0].key == "000-463-679-101-319" and base[0].line == 1 and first.study_type == "article"
    assert first.doi == "10.1007/s11307-012-0572-0" and first.year == 2012 and first.pages == "97–105"
    assert (first.authors[0].family, first.authors[0].given) == ("Blomberg", "Björn A.")
    assert base[1].record.authors[0].given == "Primož" and base[1].line == 32
    # a bare LF inside a CRLF file continues the abstract on the next line
    multi = [e for e in base if e.record and "\n" in e.record.abstract]
    assert multi and all(len(e.record.abstract) > 200 for e in multi)

    cyrillic = read_ris(data("rispy_example_utf_chars.ris")).entries[0].record
    assert cyrillic.title.startswith("Состояние рецепторного аппарата эндометрия")  # from ST: no TI/T1
    assert "The state of the receptor apparatus" in cyrillic.abstract  # the untagged second line
    assert cyrillic.study_type == "article" and cyrillic.volume == "8" and cyrillic.pages == "52–57"

    embase = read_ris(data("asreview_embase.ris")).entries[0].record
    assert [(p.family, p.given) for p in embase.authors] == [("Liu", "R."), ("Adler", "D.G.")]
    assert embase.issn == "2226-7190" and embase.language == "en" and len(embase.keywords) >= 19

    endnote = read_ris(data("asreview_pubmed_endnote.txt")).entries[0]
    assert endnote.record.pmid == "21553931"  # AN of a PubMed-sourced record
    assert endnote.record.pages == "349–369"  # SP 349-69 written out
    assert "Boswellia" in endnote.record.keywords  # MeSH qualifiers dropped ("Boswellia/*chemistry")
    assert "Clinical Trials as Topic" in endnote.record.keywords  # untagged KW lines are keywords

    wos = read_ris(data("asreview_web_of_science.txt")).entries[0].record
    assert [(p.family, p.given) for p in wos.authors] == [("Alceste", "F."), ("Luke", "T. J."), ("Kassin", "S. M.")]

    ovid = read_ris(data("asreview_ovid_psycinfo.ris"))
    assert ovid.entries[0].record.doi == "10.1002/cpp.2398" and ovid.entries[0].line == 2
    assert any("tags outside a record ignored (NL)" in w for w in ovid.warnings)

    ieee = read_ris(data("litstudy_example.ris")).entries
    assert len(ieee) == 25 and ieee[1].line == 27 and ieee[1].record.study_type == "conference_paper"
    assert len(ieee[0].record.authors) == 1 and any("repeated" in w for w in ieee[0].warnings)

    jabref = read_ris(data("jabref_RisImporterTest1.ris")).entries
    assert len(jabref) == 1 and jabref[0].key == "123456" and jabref[0].record.year == 2001
    assert any("TY lines" in w for w in jabref[0].warnings)


def test_medline_fields_of_real_exports():
    nbib = read_medline(data("nbib_pubmed-balloongui-set.nbib")).entries
    r = nbib[0].record
    assert nbib[0].key == "30776994" and r.pmid == "30776994" and r.doi == "10.1161/strokeaha.118.021126"
    assert r.title.endswith("Outcomes in the STRATIS Stroke Thrombectomy Registry.")  # a wrapped TI
    assert "  " not in r.title and r.year == 2019 and r.month == 3 and r.venue == "Stroke"
    assert (r.volume, r.issue, r.pages, r.language) == ("50", "3", "697–704", "en")
    assert len(r.authors) >= 60 and (r.authors[0].family, r.authors[0].given) == ("Zaidat", "Osama O")
    assert "Brain Ischemia" in r.keywords and not any("/" in k or "*" in k for k in r.keywords)
    assert any(p.corporate for e in nbib if e.record for p in e.record.authors)  # CN: a group author

    bio = read_medline(data("biopython_pubmed_result2.txt")).entries
    assert bio[0].line == 2 and bio[0].record.abstract.startswith("BACKGROUND: Benchmarking algorithms")
    assert "\n" not in bio[0].record.abstract and "  " not in bio[0].record.abstract

    chapter = read_medline(data("pybtexnbib_marcelis-20301770.nbib")).entries[0].record
    assert chapter.study_type == "book_chapter" and chapter.venue == "GeneReviews(®)"
    assert chapter.title == "Feingold Syndrome 1." and chapter.editors and chapter.publisher

    jabref = read_medline(data("jabref_MedlinePlainImporterTestMultipleEntries.txt"))
    assert jabref.entries[0].record.pages == "454–481"
    assert any("not a MEDLINE tag line" in w for w in jabref.warnings)


def test_a_record_without_ty_fails_naming_its_line_and_the_others_are_read():
    text = ("TY  - JOUR\nTI  - Fine\nPY  - 2020\nER  - \n\n"
            "TI  - No type here\nAU  - Smith, J\nER  - \n"
            "TY  - JOUR\nTI  - Also fine\nER  - \n"
            "TY  - JOUR\nN1  - only a note\nER  - \n")
    entries = read_ris(text).entries
    assert [e.line for e in entries] == [1, 6, 9, 12]
    assert entries[1].record is None and "no 'TY  - ' line" in entries[1].error and "line 8" in entries[1].error
    assert entries[0].record.title == "Fine" and entries[2].record.title == "Also fine"
    assert entries[3].record is None and entries[3].error


@pytest.mark.parametrize("garbage", [b"", b"\x00\xff\xfe" * 500, b"plain prose\nno tags\n", "ÆØÅ\n".encode("latin-1")])
def test_garbage_gives_no_records_and_a_warning(garbage):
    for reader in (read_ris, read_medline):
        result = reader(garbage)
        assert result.entries == [] and result.warnings and "no " in result.warnings[-1]


def test_lines_are_counted_across_read_blocks(monkeypatch):
    monkeypatch.setattr(tagged, "_READ_SIZE", 7)  # a CRLF split between two blocks is one line end
    text = "TY  - JOUR\r\nTI  - Åse\r\nER  - \r\n\rTY  - BOOK\r\nTI  - Two\r\nER  - \r\n"
    entries = read_ris(text.encode("utf-8")).entries
    assert [(e.line, e.record.title) for e in entries] == [(1, "Åse"), (5, "Two")]


def test_rispy_reads_the_same_titles_and_dois():
    """rispy as an oracle: the same records, titles and DOIs (after turning lone CRs into new lines, which
    rispy does not read as line ends: it finds 1 record in litstudy's file of 25)."""
    for name in RIS_FILES:
        if name == "jabref_RisImporterTest1.ris":  # rispy keeps the last T1, kb the first
            continue
        text = data(name).decode("utf-8-sig")
        theirs = rispy.loads(re.sub(r"\r\n?", "\n", text).replace("\ufeff", ""))
        ours = read_ris(data(name)).entries
        assert len(theirs) == len(ours), name
        for t, o in zip(theirs, ours):
            title = t.get("title") or t.get("primary_title") or t.get("short_title") or ""
            if o.record is not None:
                assert " ".join(title.split()) == o.record.title, name
                if t.get("doi"):
                    assert normalize_doi(t["doi"]) == o.record.doi, name
    assert len(rispy.loads(data("litstudy_example.ris").decode("utf-8"))) == 1


@pytest.mark.parametrize("name,fmt", [(n, "ris") for n in RIS_FILES] + [(n, "medline") for n in MEDLINE_FILES]
                         + [("x.bib", "bibtex")])
def test_format_is_found_from_the_content_first(name, fmt):
    head = data(name) if name != "x.bib" else b"% a comment\n@Article{k, title={T}}\n"
    assert detect_format(head, "export.txt") == fmt
    assert detect_format(head, "renamed.bib") == fmt


def test_format_falls_back_on_the_extension():
    assert detect_format(b"nothing recognisable", "refs.nbib") == "medline"
    assert detect_format(b"nothing recognisable", "refs.RIS") == "ris"
    assert detect_format(b"nothing recognisable", "notes.txt") is None


def test_bibtex_files_read_as_one_share_strings_and_crossrefs():
    strings = b"@string{jn = {Journal of Things}}\n"
    entries = "\n\n@article{a, title={Uses a macro}, journal=jn, year=2020}\n@incollection{b, title={Child}, crossref={p}}\n"
    parents = "@book{p, title={Parent book}, publisher={Forlaget}, year=2021}\n".encode("latin-1")
    stream = open_stream("bibtex", [io.BytesIO(strings), io.BytesIO(entries.encode("utf-16")), io.BytesIO(parents)])
    got = [e for chunk in stream for e in chunk]
    assert [(e.index, e.source, e.line, e.key) for e in got] == [(0, 1, 3, "a"), (1, 1, 4, "b"), (2, 2, 1, "p")]
    assert got[0].record.venue == "Journal of Things"
    assert got[1].record.publisher == "Forlaget" and got[1].record.year == 2021  # from the parent in file 3
    assert stream.entries_read == 3 and "utf-16" in stream.encoding


def test_ris_files_read_as_one_number_on():
    stream = open_stream("ris", [os.path.join(FORMATS_DIR, "asreview_embase.ris"),
                                 os.path.join(FORMATS_DIR, "rispy_example_utf_chars.ris")], chunk_entries=4)
    got = [e for chunk in stream for e in chunk]
    assert [(e.index, e.source) for e in got] == [(i, 0) for i in range(6)] + [(6, 1)]
    assert got[-1].line == 1 and stream.entries_read == 7
