"""The search backend is chosen by settings: Elasticsearch when ELASTICSEARCH_URL is set, else the database."""

from functools import lru_cache

from django.conf import settings


@lru_cache(maxsize=1)
def get_backend():
    if settings.KB_SEARCH.get("URL"):
        from .elasticsearch import ElasticsearchBackend

        return ElasticsearchBackend(settings.KB_SEARCH)
    from .database import DatabaseBackend

    return DatabaseBackend()


def reset_backend():
    get_backend.cache_clear()
