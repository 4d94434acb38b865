import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kb.settings")
application = get_wsgi_application()


def _started():
    """Load what the first request would (the URL patterns and the views they import), then keep the
    collector's full passes off everything alive now (apps/common/collector.py, ``settle``)."""
    from django.urls import get_resolver

    from apps.common import collector

    get_resolver().url_patterns  # noqa: B018 (imports the views)
    collector.settle()


_started()
