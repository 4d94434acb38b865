from django.apps import AppConfig


class SummariesConfig(AppConfig):
    name = "apps.summaries"
    label = "summaries"
    verbose_name = "Plain-language summaries"

    def ready(self):
        from . import signals

        signals.connect()
