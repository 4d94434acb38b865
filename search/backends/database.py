from django.db import connection

from .base import SearchBackend


class DatabaseBackend(SearchBackend):
    name = "database"

    def health(self):
        return {"status": "ok", "backend": self.name, "engine": connection.vendor}
