"""A study as a bibliographic record for the "cite as" box.

The record comes from the export's ``study_record`` (one mapping from studies to records, also used
by ``GET /api/v1/studies/{id}/export/``), written with the importer's BibTeX writer. The cite box
leaves out the abstract and keywords: it is for citing, not for archiving.
"""

from biblio.writers import to_bibtex
from apps.studies.export import study_record


def study_bibtex(study) -> str:
    record = study_record(study)
    record.abstract = ""
    record.keywords = []
    return to_bibtex([(study.source_key or "", record)])
