class SearchBackend:
    """The interface every search backend implements."""

    name = "base"

    def health(self):
        raise NotImplementedError
