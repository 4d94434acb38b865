"""A curator's corrections to a finished import: retry a failed entry with corrected text, and answer
an uncertain match held for review."""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.audit import context as audit_context
from apps.common.identifiers import clean_doi, clean_pmid
from apps.studies.models import Study
from biblio.formats import LABELS, read_references
from search.sync import batched

from .entries import Decision
from .importer import Importer, recount
from .matching import Candidate, Match
from .models import ImportJob, ImportOutcome, JobStatus, Outcome, Policy, ReviewItem, ReviewStatus, Rule
from .prepare import Prepared
from .refusal import ImportRefused
from .write import Writer


def retry_outcome(user, outcome: ImportOutcome, text: str) -> ImportOutcome:
    """Import corrected text for one failed entry, with the job's options; the outcome is updated."""
    job = outcome.job
    result = read_references(text or "", job.format)
    if len(result.entries) != 1:
        raise ValidationError({"text": f"Expected exactly one {LABELS.get(job.format, 'BibTeX')} entry, "
                                       f"found {len(result.entries)}."})
    entry = result.entries[0]
    entry.index = outcome.index
    entry.source = outcome.file_position
    if job.dry_run:
        raise ImportRefused("A dry run writes nothing; upload the corrected file again instead.")
    if job.status in (JobStatus.UNDONE, JobStatus.QUEUED, JobStatus.RUNNING):
        raise ImportRefused(f"The job is {job.status}; only entries of a finished job can be retried.")
    importer = Importer(job, user)
    with transaction.atomic(), importer.acting(), batched():
        ImportJob.objects.select_for_update().get(pk=job.pk)
        outcome = ImportOutcome.objects.select_for_update().get(pk=outcome.pk)
        if outcome.outcome != Outcome.FAILED:
            raise ImportRefused(f"Only failed entries can be retried; this one is {outcome.outcome}.")
        decisions = importer.decider.decide(importer.prepare_entries([entry]))
        fresh = importer.writer.write(decisions)[0]
        for name in ("key", "entry_type", "outcome", "study_id", "rule", "score", "duplicate_of",
                     "changed_fields", "previous", "study_updated_at", "message", "warnings", "ambiguous_authors"):
            setattr(outcome, name, fresh[name])
        outcome.raw = text
        outcome.retries += 1
        outcome.message = f"Retried with corrected text: {outcome.message}"
        outcome.save()
        importer.writer.write_reviews(decisions, [outcome.pk])
        job.counts = recount(job)
        job.save(update_fields=["counts", "created_venues"])
    return outcome


def _leave_out_taken_identifiers(p: Prepared) -> list[str]:
    """A DOI or PMID that another study holds stays with it (they are unique): the new study of "different
    works" is written without it (the raw entry keeps it). E.g. the same DOI with clearly different abstracts."""
    notes = []
    for name, clean in (("doi", clean_doi), ("pmid", clean_pmid)):
        value = clean(p.fields.get(name) or "")
        other = Study.objects.filter(**{name: value}).values_list("pk", flat=True).first() if value else None
        if other is not None:
            p.fields[name] = ""
            notes.append(f"Its {name.upper()} {value} belongs to study {other}: left out of the new study "
                         "(kept in its raw entry)")
    return notes


def resolve_review(user, item: ReviewItem, decision: str) -> ReviewItem:
    """A curator's answer to an uncertain match: ``merge`` (same work) or ``create`` (different works)."""
    if decision not in ("merge", "create"):
        raise ValidationError({"decision": "Either 'merge' (same work) or 'create' (different works)."})
    job = item.job
    writer = Writer(job, user)
    with transaction.atomic(), audit_context.acting_as(user, action="import", via=writer.via), batched():
        item = ReviewItem.objects.select_for_update().select_related("outcome").get(pk=item.pk)
        if item.status != ReviewStatus.OPEN:
            raise ImportRefused(f"This review was already resolved ({item.status}).")
        if job.status == JobStatus.UNDONE:
            raise ImportRefused("The import was undone.")
        p = Prepared.from_json(item.data)
        d = Decision(index=p.index, key=p.key, line=p.line, entry_type=p.entry_type, raw=p.raw,
                     outcome=Outcome.CREATED, prepared=p, rule=Rule.CURATOR)
        writer.resolve_venues([d])
        if decision == "merge":
            if item.candidate_id is None:
                raise ImportRefused("The candidate study no longer exists; resolve as 'create' instead.")
            d.study_id = item.candidate_id
            d.match = Match(Candidate(None, item.candidate_id), Rule.CURATOR, True, item.score,
                            ["a curator decided: same work"])
            if job.policy == Policy.SKIP:
                d.outcome = Outcome.SKIPPED
                d.message = writer.match_message(d)
            else:
                d.outcome = Outcome.MERGED
                writer.write_merges([d])
            item.status = ReviewStatus.MERGED
        else:
            taken = _leave_out_taken_identifiers(p)
            writer.write_creates([d])
            d.message = f"A curator decided: different works. {d.message}" + "".join(f" {t}." for t in taken)
            item.status = ReviewStatus.CREATED
        outcome = item.outcome
        outcome.outcome, outcome.study_id, outcome.rule = d.outcome, d.study_id, Rule.CURATOR
        outcome.changed_fields, outcome.previous = d.changed_fields, d.previous
        outcome.study_updated_at, outcome.message = d.study_updated_at, d.message
        outcome.save()
        item.resolved_by = user if getattr(user, "is_authenticated", False) else None
        item.resolved_at = timezone.now()
        item.save(update_fields=["status", "resolved_by", "resolved_at"])
        job.counts = recount(job)
        job.save(update_fields=["counts", "created_venues"])
    return item
