import pytest

from apps.studies.models import Study
from tests.search.conftest import drop_indices, refresh, use_backend


@pytest.fixture(params=["database", "elasticsearch"])
def backend(request, settings, db):
    """The expert finder and evidence map run against both search backends (Elasticsearch from
    KB_TEST_ELASTICSEARCH_URL; skipped without it, failed under CI)."""
    b = use_backend(settings, request.param)
    yield b
    drop_indices(b)


def index_studies(backend):
    backend.index("studies", list(Study.objects.values_list("id", flat=True)))
    refresh(backend)
