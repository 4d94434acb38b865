"""Files in legacy 8-bit encodings: declarations honoured (JabRef, Emacs, Vim), guesses reported as guesses,
and the characters a guess may have got wrong flagged per entry, naming the field."""
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.imports import reader_process
from apps.imports.models import ImportOutcome
from biblio import iter_bibtex, read_bibtex
from biblio.encoding import codec_for
from tests import factories

ENTRY = "@article{k, title = {Šome title on Žižek}, author = {Šimek, Žana}, note = {costs 10 €}, year = 2001}\n"
LATIN1 = "@article{n, title = {Rusbruk og psykisk lidelse på Østlandet}, author = {Ødegård, Åse}, year = 2002}\n"


def _both(data: bytes):
    """The whole-file reader and the streaming reader (what imports use) agree; the stream is returned."""
    whole = read_bibtex(data)
    stream = iter_bibtex(data, chunk_entries=2)
    entries = [e for chunk in stream for e in chunk]
    assert [(e.record, e.warnings) for e in entries] == [(e.record, e.warnings) for e in whole.entries]
    assert (stream.encoding, stream.encoding_guessed) == (whole.encoding, whole.encoding_guessed)
    return stream, entries


@pytest.mark.parametrize("declaration", [
    "% -*- coding: latin-9-unix -*-",
    "% -*- mode: bibtex; coding: iso-latin-9-dos -*-",
    "% vim: set fileencoding=latin9 :",
    "% vim:fenc=iso-8859-15:ts=2",
    "% Encoding: ISO8859_15",
])
def test_a_declared_latin9_file_is_read_as_latin9(declaration):
    stream, (e,) = _both((declaration + "\n" + ENTRY).encode("iso8859-15"))
    assert stream.encoding == "iso8859-15" and not stream.encoding_guessed
    assert e.record.title == "Šome title on Žižek"
    assert (e.record.authors[0].family, e.record.authors[0].given) == ("Šimek", "Žana")
    assert e.record.note == "costs 10 €"
    assert not e.warnings and not stream.warnings


@pytest.mark.parametrize("declaration", ["% -*- coding: iso-latin-1-dos -*-", "% vim: set fileencoding=latin1 :",
                                         "% Encoding: ISO8859_1"])
def test_a_declared_latin1_file_is_read_as_latin1(declaration):
    stream, (e,) = _both((declaration + "\n" + LATIN1).encode("latin-1"))
    assert stream.encoding == "iso8859-1" and not stream.encoding_guessed
    assert e.record.title == "Rusbruk og psykisk lidelse på Østlandet" and not e.warnings


@pytest.mark.parametrize("name, codec", [
    ("latin-9-unix", "iso8859-15"), ("latin-0", "iso8859-15"), ("iso-latin-1", "iso8859-1"),
    ("latin-2-mac", "iso8859-2"),
    ("utf-8-dos", "utf-8"), ("utf-8-with-signature", "utf-8-sig"), ("ISO8859_15", "iso8859-15"),
    ("windows-1252", "cp1252"), ("japanese-shift-jis-unix", "shift_jis"), ("undecided-unix", ""), ("klingon", None),
])
def test_emacs_vim_and_jabref_names_map_to_python_codecs(name, codec):
    assert codec_for(name) == codec


def test_an_unknown_declaration_is_reported_and_the_content_decides():
    stream, (e,) = _both(("% -*- coding: klingon -*-\n" + LATIN1).encode("utf-8"))
    assert stream.encoding == "utf-8" and not stream.encoding_guessed
    assert any("klingon" in w for w in stream.warnings)
    assert e.record.title.endswith("Østlandet")


def test_an_undeclared_latin9_file_is_a_guess_and_the_doubtful_characters_are_flagged_by_field():
    stream, (e,) = _both(ENTRY.encode("iso8859-15"))
    assert stream.encoding == "cp1252" and stream.encoding_guessed
    assert any("guess" in w for w in stream.warnings)
    assert e.record.title == "¦ome title on ´i¸ek"  # what cp1252 makes of the bytes: the curator must look
    by_field = {w.split(":")[0]: w for w in e.warnings}
    assert set(by_field) == {"title", "author", "note"}
    assert "'Š' in latin-9" in by_field["title"] and "'Ž' in latin-9" in by_field["title"]
    assert "'€' in latin-9" in by_field["note"] and "guessed as cp1252" in by_field["note"]


def test_an_undeclared_latin1_file_without_doubtful_characters_has_no_entry_warnings():
    stream, (e,) = _both(LATIN1.encode("latin-1"))
    assert stream.encoding == "cp1252" and stream.encoding_guessed
    assert e.record.title == "Rusbruk og psykisk lidelse på Østlandet" and not e.warnings


def test_utf8_and_declared_files_are_not_guesses():
    for data in [ENTRY.encode("utf-8"), b"\xef\xbb\xbf" + ENTRY.encode("utf-8"), b"@misc{a, title={ASCII}}"]:
        stream, (e,) = _both(data)
        assert not stream.encoding_guessed and not e.warnings


def test_bytes_that_are_not_utf8_far_into_a_file_are_read_as_cp1252_and_reported():
    head = "".join(f"@misc{{m{i}, title = {{Plain ASCII title number {i}}}, year = 2000}}\n" for i in range(1500))
    data = head.encode("ascii") + "@misc{z, title = {Østlandet}, year = 2000}\n".encode("latin-1")
    assert len(head) > 65536  # beyond the bytes the decoder is chosen from
    stream = iter_bibtex(data)
    last = [e for chunk in stream for e in chunk][-1]
    assert last.record.title == "Østlandet"  # not U+FFFD
    assert stream.encoding_guessed and any("not UTF-8" in w for w in stream.warnings)


def test_a_stray_cp1252_byte_in_a_file_declared_utf8_is_kept_and_reported():
    data = ("% Encoding: UTF-8\n@misc{a, title = {Tennøy}, year = 2000}\n").encode() \
        + "@misc{b, title = {Østlandet}, year = 2000}\n".encode("cp1252")
    stream = iter_bibtex(data)
    a, b = [e for chunk in stream for e in chunk]
    assert (a.record.title, b.record.title) == ("Tennøy", "Østlandet")
    assert stream.encoding == "utf-8" and stream.encoding_guessed
    assert any(w.startswith("1 byte(s) of the file are not UTF-8") for w in stream.warnings)


@pytest.mark.django_db
@pytest.mark.parametrize("child", [False, True], ids=["in-process", "reader-process"])
def test_an_import_reports_the_guess_and_the_flagged_fields(child, monkeypatch, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    monkeypatch.setattr(reader_process, "SUBPROCESS_MIN_ENTRIES", 1 if child else 10**9)
    job = factories.import_file((ENTRY + LATIN1).encode("iso8859-15"))
    assert job.encoding == "cp1252" and job.encoding_guessed
    assert any("guess" in w for w in job.warnings)
    first, second = ImportOutcome.objects.filter(job=job).order_by("index")
    assert first.outcome == second.outcome == "created"
    assert [w.split(":")[0] for w in first.warnings] == ["title", "author", "note"]
    assert second.warnings == []
    declared = factories.import_file(("% -*- coding: latin-9-unix -*-\n" + ENTRY).encode("iso8859-15"),
                                     policy="overwrite")
    assert declared.encoding == "iso8859-15" and not declared.encoding_guessed
    (o,) = ImportOutcome.objects.filter(job=declared)
    assert o.study.title == "Šome title on Žižek" and o.warnings == []


@pytest.mark.django_db
def test_the_api_says_the_encoding_was_a_guess(curator_client, settings, tmp_path,
                                               django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    f = SimpleUploadedFile("old.bib", ENTRY.encode("iso8859-15"), content_type="application/x-bibtex")
    with django_capture_on_commit_callbacks(execute=True):
        response = curator_client.post("/api/v1/imports/", {"file": f}, format="multipart")
    job = curator_client.get(response.json()["url"]).json()
    assert (job["encoding"], job["encoding_guessed"]) == ("cp1252", True)
    (o,) = curator_client.get(job["outcomes_url"]).json()["results"]
    assert any(w.startswith("title: '¦'") and "'Š' in latin-9" in w for w in o["warnings"])


@pytest.mark.django_db
def test_the_import_page_says_the_encoding_was_a_guess(client, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    client.force_login(factories.user("curator"))
    guessed = factories.import_file(ENTRY.encode("iso8859-15"))
    page = client.get(f"/curator/imports/{guessed.pk}/").content.decode()
    assert "cp1252 <strong>(gjettet: filen sier det ikke)</strong>" in page
    assert "title: &#x27;¦&#x27; (byte 0xA6, &#x27;Š&#x27; in latin-9)" in page  # the entry's warning
    declared = factories.import_file(("% Encoding: ISO8859_15\n" + ENTRY).encode("iso8859-15"), policy="skip")
    assert "gjettet" not in client.get(f"/curator/imports/{declared.pk}/").content.decode()
