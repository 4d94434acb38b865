"""The progress estimate of a stored file: the count a job shows as its total before the reader's exact count."""
import io

from biblio.formats import estimate


def _bibtex(n):
    entries = "".join(f"@article{{k{i},\n  title = {{Study {i}}},\n  year = {{2001}}\n}}\n" for i in range(n))
    return "@string{j = {Journal}}\n@comment{not an entry}\n" + entries


def test_bibtex_entries_are_counted_in_any_encoding_and_across_read_blocks():
    text = _bibtex(40_000)  # > 1 MB: lines cross the 1 MB read blocks
    assert len(text.encode()) > 2 << 20
    for data in (text.encode("utf-8"), text.encode("utf-16"), ("\ufeff" + text).encode("utf-8")):
        f = io.BytesIO(b"xx" + data)
        f.seek(2)
        assert estimate("bibtex", f) == 40_000
        assert f.tell() == 2  # left where it was, for the reader


def test_ris_and_medline_records_are_counted():
    ris = "".join(f"TY  - JOUR\nTI  - Study {i}\nER  - \n\n" for i in range(30_000)).encode()
    medline = "".join(f"PMID- {100 + i}\nTI  - Study {i}\n\n" for i in range(30_000)).encode()
    assert estimate("ris", io.BytesIO(ris)) == 30_000
    assert estimate("medline", io.BytesIO(medline)) == 30_000
    assert estimate("ris", io.BytesIO(b"")) == 0
