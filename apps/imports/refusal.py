"""The error the import services raise for a request they cannot grant (the API answers 409 or 400)."""


class ImportRefused(Exception):
    """A request about an import that cannot be granted; ``status`` is the HTTP status to answer."""

    def __init__(self, message, status=409, **extra):
        super().__init__(message)
        self.message, self.status, self.extra = message, status, extra
