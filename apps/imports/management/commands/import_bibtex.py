"""``manage.py import_bibtex FILE [FILE ...] [--format bibtex|ris|medline] [--dry-run] [--policy ...] [--user NAME]``

Creates an import job exactly as the API does and runs it here, synchronously, with a progress bar
and a summary table at the end. Several files are one import, read in the order given (BibTeX
``@string`` definitions and crossref parents apply across them). The format is found from the files'
content and names unless ``--format`` names it. ``--resume JOB_ID`` finishes an interrupted job.
``import_references`` is the same command under a name that does not say BibTeX.
"""
import sys
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apps.imports import services
from django.core.exceptions import ValidationError

from apps.imports.models import Format, ImportJob, JobStatus, Outcome, Policy


class Command(BaseCommand):
    help = ("Import a BibTeX, RIS or MEDLINE file, or several as one import (the same code path as "
            "POST /api/v1/imports/), with a progress bar and a summary.")

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="*", help="The file(s) to import, in reading order.")
        parser.add_argument("--format", choices=Format.values,
                            help="How to read the files (default: found from their content and names).")
        parser.add_argument("--dry-run", action="store_true", help="Report what would happen; write no studies.")
        parser.add_argument("--policy", choices=Policy.values, default=Policy.FILL,
                            help="For entries that match an existing study (default: fill empty fields only).")
        parser.add_argument("--user", help="User name to record as the uploader (default: none).")
        parser.add_argument("--resume", type=int, metavar="JOB_ID", help="Finish an interrupted job instead.")
        parser.add_argument("--chunk", type=int, default=services.CHUNK, help="Entries per transaction.")
        parser.add_argument("--failures", type=int, default=20, help="How many failed entries to list.")

    def handle(self, *args, **opts):
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"No user named {opts['user']!r}.")
        if opts["resume"]:
            job = ImportJob.objects.filter(pk=opts["resume"]).first()
            if job is None:
                raise CommandError(f"No import job {opts['resume']}.")
        else:
            if not opts["file"]:
                raise CommandError("Name a file to import (or --resume JOB_ID).")
            handles = []
            try:
                for path in opts["file"]:
                    try:
                        handles.append(open(path, "rb"))
                    except OSError as exc:
                        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}")
                job = services.create_job(user, handles, policy=opts["policy"], dry_run=opts["dry_run"],
                                          format=opts["format"], enqueue=False)
            except ValidationError as exc:
                raise CommandError(" ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items()))
            finally:
                for f in handles:
                    f.close()
        self.stdout.write(f"Import job {job.pk}: {job.file_name} ({job.size:,} bytes, sha256 {job.checksum[:12]}…), "
                          f"{job.get_format_display()}, policy {job.policy}{', dry run' if job.dry_run else ''}")
        started = time.perf_counter()
        job = services.run_job(job.pk, chunk_size=opts["chunk"], progress=self._progress(started))
        if job.status in (JobStatus.QUEUED, JobStatus.RUNNING):
            raise CommandError(f"Import job {job.pk} is being run by another worker; nothing was done.")
        if self._tty:
            self.stdout.write("")
        self._summary(job, time.perf_counter() - started, opts["failures"])
        if job.status == JobStatus.FAILED:
            raise CommandError(job.error or "The import failed.")

    @property
    def _tty(self):
        return hasattr(self.stdout, "isatty") and self.stdout.isatty()

    def _progress(self, started):
        last = [0.0]

        def show(done, total):
            now = time.perf_counter()
            if now - last[0] < 0.2 and done < (total or 0):
                return
            last[0] = now
            total = max(total or 0, done)
            width = 30
            filled = int(width * done / total) if total else 0
            rate = done / (now - started) if now > started else 0
            line = f"[{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,} entries  {rate:,.0f}/s"
            if self._tty:
                self.stdout.write("\r" + line, ending="")
                sys.stdout.flush()
            elif done == total:
                self.stdout.write(line)
        return show

    def _summary(self, job, seconds, failures):
        counts = job.counts or {}
        rows = [(Outcome(o).label, counts.get(o, 0)) for o in Outcome.values]
        total = sum(n for _, n in rows)
        width = max(len(label) for label, _ in rows)
        self.stdout.write("")
        self.stdout.write(f"{'outcome'.ljust(width)}  {'entries':>8}")
        self.stdout.write(f"{'-' * width}  {'-' * 8}")
        for label, n in rows:
            self.stdout.write(f"{label.ljust(width)}  {n:>8,}")
        self.stdout.write(f"{'-' * width}  {'-' * 8}")
        self.stdout.write(f"{'raw entries in the file'.ljust(width)}  {total:>8,}")
        rate = total / seconds if seconds else 0
        self.stdout.write(f"\nStatus: {job.status}; {total:,} entries in {seconds:.1f} s ({rate:,.0f}/s); "
                          f"encoding {job.encoding or '?'}{' (guessed)' if job.encoding_guessed else ''}.")
        for w in (job.warnings or [])[:10]:
            self.stdout.write(f"  file warning: {w}")
        failed = job.outcomes.filter(outcome=Outcome.FAILED).order_by("index")[:failures]
        names = [f.file_name for f in job.files.order_by("position")]
        for o in failed:
            where = f"{names[o.file_position]}, " if len(names) > 1 and o.file_position < len(names) else ""
            self.stdout.write(f"  failed #{o.index} ({where}line {o.line}, key {o.key or '-'}): {o.message}")
        reviews = counts.get(Outcome.REVIEW, 0)
        if reviews and not job.dry_run:
            self.stdout.write(f"  {reviews} uncertain match(es) wait in the review queue (admin or "
                              f"/api/v1/import-reviews/).")
