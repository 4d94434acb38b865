from django.apps import AppConfig


class StudiesConfig(AppConfig):
    name = "apps.studies"
    label = "studies"
    verbose_name = "Studies"

    def ready(self):
        from . import tasks  # noqa: F401  (registered, so publication._enqueue sends it by name)
