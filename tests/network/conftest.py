from apps.studies.models import Study
from tests.search.conftest import refresh


def index_studies(backend):
    backend.index("studies", list(Study.objects.values_list("id", flat=True)))
    refresh(backend)
