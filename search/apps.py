from django.apps import AppConfig


class SearchConfig(AppConfig):
    name = "search"
    label = "search"
    verbose_name = "Search"

    def ready(self):
        from . import signals, vocabulary

        signals.connect()
        vocabulary.connect()
