from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "apps.imports"
    label = "imports"
    verbose_name = "Imports"

    def ready(self):
        from . import tasks  # noqa: F401  (registered, so jobs.enqueue_job sends run_import by name)
