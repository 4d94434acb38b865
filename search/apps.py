from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    label = "search"
    verbose_name = "Search"

    def ready(self):
        from . import signals, sync, tasks, vectors, vocabulary  # noqa: F401  (tasks: sent by name)

        sync.background_embedder = lambda: vectors.run_in_background()
        signals.connect()
        vocabulary.connect()
