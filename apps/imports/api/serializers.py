from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from apps.common import serializers
from rest_framework.reverse import reverse

from ..models import Format, ImportJob, ImportOutcome, Outcome, Policy, ReviewItem, ReviewStatus

#: At most this many files in one upload.
MAX_FILES = 20


class ImportUploadSerializer(serializers.Serializer):
    file = serializers.ListField(
        child=serializers.FileField(), min_length=1, max_length=MAX_FILES,
        help_text="A BibTeX (.bib), RIS (.ris) or MEDLINE (.nbib, .txt) file; repeat the part to send several files "
                  f"as one import (at most {MAX_FILES}; BibTeX @string definitions and crossref parents apply across "
                  "them, in the order sent). At most KB_MAX_UPLOAD_BYTES bytes (50 MB by default) together.")
    format = serializers.ChoiceField(
        choices=Format.choices, required=False, allow_blank=True,
        help_text="How to read the files; by default (or empty) found from their content, then their names.")
    policy = serializers.ChoiceField(choices=Policy.choices, default=Policy.FILL,
                                     help_text="What to do with an entry that matches an existing study.")
    dry_run = serializers.BooleanField(default=False, help_text="Report what would happen; write no studies.")

    def validate_file(self, value):
        limit, size = settings.KB_MAX_UPLOAD_BYTES, sum(f.size for f in value)
        if size > limit:
            what = "The file is" if len(value) == 1 else f"The {len(value)} files are together"
            raise serializers.ValidationError(f"{what} {size:,} bytes; the limit is {limit:,} bytes.")
        return value


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField(help_text="Entries with an outcome.")
    total = serializers.IntegerField(allow_null=True, help_text="Raw entries in the file (estimated until done).")
    percent = serializers.FloatField(allow_null=True)


class CountsSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    merged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    review = serializers.IntegerField()
    failed = serializers.IntegerField()
    total = serializers.IntegerField(help_text="The sum of the outcomes: every raw entry has exactly one.")


class ImportFileSerializer(serializers.Serializer):
    position = serializers.IntegerField(help_text="Order of reading, from 0.")
    file_name = serializers.CharField()
    size = serializers.IntegerField()
    checksum = serializers.CharField(help_text="SHA-256.")


class ImportJobSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    outcomes_url = serializers.SerializerMethodField()
    uploaded_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    progress = serializers.SerializerMethodField()
    counts = serializers.SerializerMethodField()
    open_reviews = serializers.SerializerMethodField()
    incomplete_drafts = serializers.SerializerMethodField(help_text=(
        "Entries whose study (created, or merged into) is an incomplete draft: it has no title and cannot be "
        "published until a curator gives it one (their outcomes' warnings say so; GET studies/?incomplete=true)."))
    files = ImportFileSerializer(many=True, read_only=True,
                                 help_text="The job's files in reading order (one for most jobs).")

    class Meta:
        model = ImportJob
        fields = ["id", "url", "outcomes_url", "file_name", "files", "format", "size", "checksum", "uploaded_by",
                  "policy", "dry_run", "status", "progress", "counts", "open_reviews", "incomplete_drafts",
                  "encoding", "encoding_guessed", "warnings", "error", "attempts",
                  "created_at", "started_at", "finished_at", "undone_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_url(self, job):
        return reverse("v1:import-job-detail", args=[job.pk], request=self.context.get("request"))

    @extend_schema_field(serializers.URLField())
    def get_outcomes_url(self, job):
        return reverse("v1:import-job-outcomes", args=[job.pk], request=self.context.get("request"))

    @extend_schema_field(ProgressSerializer())
    def get_progress(self, job):
        total = job.total
        if total is not None:
            total = max(total, job.done)
        percent = round(100.0 * job.done / total, 1) if total else (100.0 if job.status == "done" else None)
        return {"done": job.done, "total": total, "percent": percent}

    @extend_schema_field(CountsSerializer())
    def get_counts(self, job):
        counts = {o: int((job.counts or {}).get(o, 0)) for o in Outcome.values}
        counts["total"] = sum(counts.values())
        return counts

    @extend_schema_field(serializers.IntegerField())
    def get_incomplete_drafts(self, job):
        value = getattr(job, "incomplete_drafts", None)
        return value if value is not None else job.incomplete_outcomes().count()

    @extend_schema_field(serializers.IntegerField())
    def get_open_reviews(self, job):
        value = getattr(job, "open_reviews", None)
        return value if value is not None else job.reviews.filter(status=ReviewStatus.OPEN).count()


class AmbiguousAuthorSerializer(serializers.Serializer):
    name = serializers.CharField()
    candidates = serializers.ListField(child=serializers.IntegerField(), help_text="Researcher ids.")
    why = serializers.CharField()


class ImportOutcomeSerializer(serializers.ModelSerializer):
    ambiguous_authors = AmbiguousAuthorSerializer(many=True, read_only=True)
    changed_fields = serializers.ListField(child=serializers.CharField(), read_only=True)
    warnings = serializers.ListField(child=serializers.CharField(), read_only=True)
    previous = serializers.DictField(read_only=True, help_text="Values before this import changed them.")
    file = serializers.SerializerMethodField(help_text="The name of the entry's file (``line`` is in that file).")

    class Meta:
        model = ImportOutcome
        fields = ["index", "key", "file", "line", "entry_type", "outcome", "study", "rule", "score", "duplicate_of",
                  "changed_fields", "previous", "message", "warnings", "ambiguous_authors", "raw", "retries"]
        read_only_fields = fields


    @extend_schema_field(serializers.CharField())
    def get_file(self, outcome):
        names = self.context.get("file_names")
        if names is None:
            names = file_names(outcome.job)
        position = outcome.file_position or 0
        return names[position] if position < len(names) else ""


def file_names(job) -> list[str]:
    """The names of a job's files by position (jobs from before ImportFile: their one file)."""
    return [f.file_name for f in job.files.order_by("position")] or [job.file_name]


class RetrySerializer(serializers.Serializer):
    text = serializers.CharField(max_length=1_000_000, trim_whitespace=False,
                                 help_text="The corrected text of this one entry, in the job's format "
                                           "(BibTeX, RIS or MEDLINE).")


class EditedStudySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    updated_at = serializers.DateTimeField()
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=["changed", "topics", "summaries"]),
        help_text="Why undo would lose later work: changed since the import, has topics, has summaries.")
    why = serializers.CharField(help_text="The reasons in English words.")


class UndoConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    edited_studies = EditedStudySerializer(many=True, required=False,
                                           help_text="Undo only: the studies changed since the import (absent when "
                                                     "the job's state is the reason).")


class ReviewEntrySerializer(serializers.Serializer):
    index = serializers.IntegerField()
    key = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)
    title = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    authors = serializers.ListField(child=serializers.CharField())
    doi = serializers.CharField()
    raw = serializers.CharField()


class ReviewCandidateSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    year = serializers.IntegerField(allow_null=True)
    authors = serializers.ListField(child=serializers.CharField())
    doi = serializers.CharField()


class ReviewItemSerializer(serializers.ModelSerializer):
    entry = serializers.SerializerMethodField()
    candidate = serializers.SerializerMethodField()
    resolved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = ReviewItem
        fields = ["id", "job", "status", "score", "reasons", "entry", "candidate", "created_at", "resolved_at",
                  "resolved_by"]
        read_only_fields = fields

    @extend_schema_field(ReviewEntrySerializer())
    def get_entry(self, item):
        data = item.data or {}
        fields = data.get("fields", {})
        return {"index": data.get("index", item.outcome.index), "key": data.get("key", ""), "line": data.get("line"),
                "title": fields.get("title", ""), "year": fields.get("year"),
                "authors": [a.get("name", "") for a in data.get("authors", [])], "doi": fields.get("doi", ""),
                "raw": data.get("raw", "")}

    @extend_schema_field(ReviewCandidateSerializer(allow_null=True))
    def get_candidate(self, item):
        study = item.candidate
        if study is None:
            return None
        return {"id": study.pk, "title": study.title, "year": study.year, "doi": study.doi,
                "authors": [a.name for a in study.authorships.all()]}


class ResolveSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[("merge", "Same work: merge into the candidate"),
                                                ("create", "Different works: create a new study")])
