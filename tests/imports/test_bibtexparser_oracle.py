"""bibtexparser 2 as a differential test oracle for kb's own BibTeX reader (docs/imports.md, "Why kb
reads BibTeX itself"), over the shared files in /work/shared/bib.

Where both readers should agree they must: the entries, their keys in file order, their types, and
every field whose text is plain (no LaTeX, no braces, no macros, no ``#``). Where kb deliberately
differs, the difference is spelled out here, so a change on either side shows up as a failing test.
"""
import glob
import logging
import os
import re

import bibtexparser
import pytest

from biblio import read_bibtex

SHARED = os.environ.get("BIB_SHARED_DIR", "/work/shared/bib")
FILES = sorted(glob.glob(os.path.join(SHARED, "*.bib")))
PLAIN = re.compile(r"^[^\\{}$#%~\"`']*$")  # no LaTeX, braces, macros, quotes

#: kb keeps every raw entry (each gets an outcome); bibtexparser drops an entry whose key or one of
#: whose field names repeats an earlier one (it lists them among its failed blocks).
DROPPED_BY_BIBTEXPARSER = ("DuplicateBlockKeyBlock", "DuplicateFieldKeyBlock", "ParsingFailedBlock")


def _parse_both(path):
    data = open(path, "rb").read()
    ours = read_bibtex(data)
    logging.disable(logging.CRITICAL)  # bibtexparser logs every block it cannot read
    try:
        # bibtexparser reads text only and detects no encoding: it gets the text kb decoded
        theirs = bibtexparser.parse_string(data.decode(ours.encoding, errors="replace").lstrip("\ufeff"))
    finally:
        logging.disable(logging.NOTSET)
    return ours, theirs


def _commented_out_keys(path):
    """``%@BOOK{L27, ...}``: a commented-out entry. biber and kb skip it; bibtexparser reads it."""
    text = open(path, encoding="utf-8-sig", errors="replace").read()
    return {m.group(1) for m in re.finditer(r"^%\s*@\w+\s*[{(]\s*([^,\s]+)\s*,", text, re.M)}


def test_the_shared_files_are_there():
    """The oracle runs over ../shared/bib; without it these tests would prove nothing."""
    assert len(FILES) >= 5, f"no shared BibTeX files under {SHARED} (set BIB_SHARED_DIR)"


@pytest.mark.parametrize("path", FILES, ids=[os.path.basename(f) for f in FILES])
def test_the_two_readers_see_the_same_entries(path):
    ours, theirs = _parse_both(path)
    dropped = [b for b in theirs.failed_blocks if type(b).__name__ in DROPPED_BY_BIBTEXPARSER]
    commented = _commented_out_keys(path)
    their_keys = [e.key for e in theirs.entries if e.key not in commented]
    assert len(ours.entries) == len(their_keys) + len(dropped)
    first_seen = []
    for e in ours.entries:
        if e.key not in first_seen:
            first_seen.append(e.key)
    ok_keys = [k for k in first_seen if k in set(their_keys)]
    assert ok_keys == their_keys  # the same keys, in file order
    types = {e.key: e.entry_type.lower() for e in reversed(ours.entries)}
    assert all(types[e.key] == e.entry_type.lower() for e in theirs.entries if e.key in types)


def test_plain_fields_read_the_same():
    compared = 0
    for path in FILES:
        ours, theirs = _parse_both(path)
        first = {}
        for e in ours.entries:
            first.setdefault(e.key, e)
        for entry in theirs.entries:
            mine = first.get(entry.key)
            if mine is None:
                continue
            for f in entry.fields:
                value = f.value
                if not isinstance(value, str):
                    continue
                if (value[:1], value[-1:]) in (("{", "}"), ('"', '"')) and len(value) > 1:
                    value = value[1:-1]
                elif not value.isdigit():  # a bare word is a macro (oct, a @string): kb expands it
                    continue
                if not PLAIN.match(value) or f.key.lower() not in mine.fields:
                    continue
                # kb turns TeX's dashes into the characters they print (4--18 -> 4–18)
                expected = " ".join(value.replace("---", "—").replace("--", "–").split())
                assert " ".join(mine.fields[f.key.lower()].split()) == expected, (path, entry.key, f.key)
                compared += 1
    assert compared > 1_500  # 2,016 plain fields of the shared files (the others hold LaTeX or macros)


def _bibtexparser(text, *middleware):
    logging.disable(logging.CRITICAL)
    try:
        lib = bibtexparser.parse_string(text, append_middleware=list(middleware))
    finally:
        logging.disable(logging.NOTSET)
    return {e.key: e for e in lib.entries}, lib.failed_blocks


def test_where_bibtexparser_misreads_kb_reads_what_the_file_means():
    """The measured examples of docs/imports.md (bibtexparser 2.1; the LaTeX decoding and name
    middlewares appended in that order). If bibtexparser changes, these assertions say so."""
    from bibtexparser import middlewares as m

    names = (m.LatexDecodingMiddleware(), m.SeparateCoAuthors(), m.SplitNameParts())
    text = ('@string{j = "Journal of "}\n'
            '@article{a, title = {Effects: 95% CI and more}, journal = j # "Psychiatry", crossref = {b},'
            ' author = {Berg, Jan and {Helse- og omsorgsdepartementet} and others}}\n'
            '@book{b, publisher = {Gyldendal}, author = {{U.S. Department of Health and Human Services,'
            ' National Institute of Mental Health}}}\n'
            '@book{c, author = {family=Berg, given=Jan, prefix=van der, useprefix=true}}\n')
    ours = {e.key: e.record for e in read_bibtex(text).entries}
    assert ours["a"].title == "Effects: 95% CI and more"
    assert ours["a"].venue == "Journal of Psychiatry"
    assert ours["a"].publisher == "Gyldendal"  # inherited through crossref
    assert [(p.family, p.corporate) for p in ours["a"].authors] == [
        ("Berg", False), ("Helse- og omsorgsdepartementet", True)] and ours["a"].authors_et_al
    assert [(p.family, p.corporate) for p in ours["b"].authors] == [
        ("U.S. Department of Health and Human Services, National Institute of Mental Health", True)]
    assert [(p.family, p.given) for p in ours["c"].authors] == [("van der Berg", "Jan")]

    theirs, failed = _bibtexparser(text, *names)
    assert theirs["a"]["title"] == "Effects: 95"  # "%" taken for a comment
    assert theirs["a"]["journal"] == 'j # "Psychiatry"'  # concatenation left raw
    assert "publisher" not in theirs["a"].fields_dict  # crossref unresolved
    a_names = [(n.first, n.von, n.last) for n in theirs["a"]["author"]]
    assert a_names[1] == (["Helse-"], ["og"], ["omsorgsdepartementet"])  # a corporate name split
    assert a_names[2] == ([], [], ["others"])  # "and others" read as a person
    assert len(theirs["b"]["author"]) == 2  # one institution read as two garbled persons
    assert "c" not in theirs and any("Too many commas" in str(getattr(b, "error", "")) for b in failed)
