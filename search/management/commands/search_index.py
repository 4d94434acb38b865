from django.core.management.base import BaseCommand, CommandError

from search.backends import get_backend
from search.backends.base import KINDS
from search.models import PendingIndex
from search.sync import VECTORS, announce_index_change, drain, retry_now


class Command(BaseCommand):
    help = ("Manage the search index: --rebuild (new index, merged into one segment, atomic alias swap), "
            "--reconcile (repair drift), --drain (index pending changes now), --merge (merge the live "
            "Elasticsearch index into one segment: at a quiet hour), --status.")

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--rebuild", action="store_true")
        group.add_argument("--reconcile", action="store_true")
        group.add_argument("--drain", action="store_true")
        group.add_argument("--status", action="store_true")
        group.add_argument("--merge", action="store_true")
        parser.add_argument("--no-merge", action="store_true",
                            help="--rebuild: leave the new index's segments as they are (ELASTICSEARCH_MERGE_ON_REBUILD=0)")
        parser.add_argument("--kind", choices=KINDS, action="append", help="Only this kind (repeatable).")
        parser.add_argument("--quiet", action="store_true")

    def handle(self, rebuild, reconcile, drain: bool, status, merge, no_merge, kind, quiet, **options):
        backend = get_backend()
        kinds = tuple(kind or KINDS)
        say = (lambda *a: None) if quiet else self.stdout.write
        if merge and not hasattr(backend, "merge"):
            raise CommandError(f"{backend.name}: nothing to merge (the database backend has no segments)")
        try:
            if rebuild:
                result = backend.rebuild(kinds, progress=None if quiet else self._progress,
                                         merge=False if no_merge else None)
                retry_now()  # changes made while the new index filled: the outbox catches up at once
                announce_index_change(backend)
                say(self.style.SUCCESS(f"{backend.name}: rebuilt {result}"))
            elif reconcile:
                retry_now()
                say(f"drained: {_drain()}")
                result = backend.reconcile(kinds)
                announce_index_change(backend)
                say(self.style.SUCCESS(f"{backend.name}: reconciled {result}"))
            elif merge:
                for k in kinds:
                    say(self.style.SUCCESS(f"{backend.name}: {k} merged into one segment in {backend.merge(kind=k)} s"))
            elif drain:
                retry_now()
                say(self.style.SUCCESS(f"{backend.name}: {_drain()}"))
            else:
                say(f"backend: {backend.name}")
                health = backend.health()
                say(f"health: {health}")
                if health.get("rebuild_needed"):
                    say(self.style.WARNING(f"indices built by another version of kb: {', '.join(health['rebuild_needed'])}"
                                           " (searches work; run search_index --rebuild for the new mapping)"))
                say(f"pending index work: {PendingIndex.objects.exclude(kind=VECTORS).count()}")
                say(_vectors_status())
        except Exception as exc:
            raise CommandError(f"{backend.name}: {type(exc).__name__}: {exc}")

    def _progress(self, kind, done):
        if done % 10000 == 0:
            self.stdout.write(f"  {kind}: {done}")


def _drain():
    return drain()


def _vectors_status():
    from search import vectors
    from search.embedders import unavailable_reason

    model = vectors.current_model()
    if model is None:
        reason = unavailable_reason() or "no embedder"
        return f"semantic search off: {reason} (pending vectors: {vectors.pending_count()})"
    return f"vectors: model {model}, pending {vectors.pending_count()}"
