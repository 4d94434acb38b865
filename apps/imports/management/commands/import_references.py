"""``manage.py import_references FILE [FILE ...] [--format bibtex|ris|medline] ...``: ``import_bibtex`` under
a name that does not say BibTeX (RIS and MEDLINE files are read too)."""
from .import_bibtex import Command as ImportCommand


class Command(ImportCommand):
    pass
