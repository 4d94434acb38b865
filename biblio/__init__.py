"""Pure-Python BibTeX reader and BibTeX/RIS/CSL-JSON writers (no Django imports).

    from biblio import read_bibtex
    result = read_bibtex(open("refs.bib", "rb").read())
    for entry in result.entries:          # every raw entry, in file order
        if entry.record is None:
            print(entry.line, entry.key, entry.error)
"""
from .model import Entry, Person, ReadResult, Record, STUDY_TYPES
from .reader import BibtexStream, iter_bibtex, read_bibtex
from .writers import make_citation_key, to_bibtex, to_csl_json, to_ris

__all__ = ["Entry", "Person", "ReadResult", "Record", "STUDY_TYPES", "BibtexStream", "iter_bibtex",
           "read_bibtex", "make_citation_key", "to_bibtex", "to_csl_json", "to_ris"]
