from tests.network.conftest import backend  # noqa: F401  (both search backends)
