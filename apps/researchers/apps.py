from django.apps import AppConfig


class ResearchersConfig(AppConfig):
    name = "apps.researchers"
    label = "researchers"
    verbose_name = "Researchers and institutions"
