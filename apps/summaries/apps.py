from django.apps import AppConfig


class SummariesConfig(AppConfig):
    name = "apps.summaries"
    label = "summaries"
    verbose_name = "Plain-language summaries"
