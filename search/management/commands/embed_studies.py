"""``manage.py embed_studies``: compute study vectors now, in this process, with a progress bar.

Normally vectors are computed in the background (``search/vectors.py``); this command is for a model
change (``--all``: re-embed every study), for filling what is missing after semantic search was off
(``--missing``), or for working off the pending rows at once (no flag). The index takes the new
vectors as ordinary index work after each batch.
"""

import sys
import time

from django.core.management.base import BaseCommand, CommandError

from search import sync, vectors
from search.embedders import get_embedder, unavailable_reason
from search.models import StudyVector


class Command(BaseCommand):
    help = ("Compute study vectors now: the pending ones, --missing (every study without a vector of the "
            "current model for its text) or --all (re-embed everything, e.g. after a model change).")

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--all", action="store_true", help="Re-embed every study.")
        group.add_argument("--missing", action="store_true", help="Embed the studies without a current vector.")
        parser.add_argument("--limit", type=int, help="Embed at most N studies in this run.")
        parser.add_argument("--batch", type=int, help="Passages per model call (default KB_EMBEDDINGS['BATCH']).")
        parser.add_argument("--prune", action="store_true",
                            help="Delete the vectors of other models (after a model change, once done).")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, all, missing, limit, batch, prune, quiet, **options):
        embedder = get_embedder()
        if embedder is None:
            raise CommandError(f"Semantic search is off: {unavailable_reason() or 'no embedder'}.")
        with sync.embedding_here():  # this process embeds them: no background run besides
            if all:
                self._forget(embedder.identity)
            if all or missing:
                marked = vectors.mark_all(missing_only=missing)
                self.stdout.write(f"marked {marked} studies for embedding with {embedder.identity}")
            total = vectors.pending_count() if limit is None else min(limit, vectors.pending_count())
            bar = Progress(total, quiet=quiet, write=self._progress, tty=self.stderr.isatty())
            result = vectors.embed_pending(limit=limit, batch=batch, progress=bar.advance)
            bar.close()
        self.stdout.write(self.style.SUCCESS(f"{embedder.identity}: {result}"))
        others = StudyVector.objects.exclude(model=embedder.identity)
        if prune:
            self.stdout.write(f"deleted {others.delete()[0]} vectors of other models")
        elif others.exists():
            self.stdout.write(f"{others.count()} vectors of other models are kept (--prune deletes them)")

    def _progress(self, text):
        self.stderr.write(text, ending="")
        self.stderr.flush()

    def _forget(self, model):
        """--all re-embeds even unchanged texts: drop the digests that would let it skip them (the
        vectors stay searchable until replaced)."""
        StudyVector.objects.filter(model=model).update(digest="")


class Progress:
    """done/total, rate and ETA on one line of stderr (redrawn in place on a terminal)."""

    def __init__(self, total, quiet=False, write=None, tty=None, every=2.0):
        self.total, self.done, self.quiet = total, 0, quiet
        self.write = write or _stderr
        self.tty = sys.stderr.isatty() if tty is None else tty
        self.started = self.shown = time.monotonic()
        self.every = every

    def advance(self, n):
        self.done += n
        now = time.monotonic()
        if self.tty or now - self.shown >= self.every or self.done >= self.total:
            self.shown = now
            self._draw(now)

    def _draw(self, now):
        if self.quiet:
            return
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        left = max(self.total - self.done, 0)
        eta = _clock(left / rate) if rate else "?"
        width = 30
        filled = int(width * min(self.done / self.total, 1)) if self.total else width
        line = (f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} "
                f"{rate:.1f}/s ETA {eta}")
        self.write(("\r" + line) if self.tty else line + "\n")

    def close(self):
        if not self.quiet and self.tty:
            self.write("\n")


def _stderr(text):
    sys.stderr.write(text)
    sys.stderr.flush()


def _clock(seconds):
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
