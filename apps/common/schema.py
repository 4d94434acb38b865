from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework.permissions import SAFE_METHODS

from .permissions import CuratorWriteOrReadOnly

ERROR_SCHEMA = {
    "type": "object",
    "description": "``detail`` for general errors, or one key per invalid field with a list of messages.",
    "additionalProperties": True,
}


class AutoSchema(SpectacularAutoSchema):
    """kb's schema conventions: public reads are open to anonymous clients; error responses are documented."""

    def get_auth(self):
        auths = super().get_auth()
        public_read = any(isinstance(p, CuratorWriteOrReadOnly) for p in self.view.get_permissions())
        if public_read and self.method in SAFE_METHODS and {} not in auths:
            auths.append({})
        return auths

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)

        def add(code, description):
            responses.setdefault(str(code), {"description": description,
                                             "content": {"application/json": {"schema": ERROR_SCHEMA}}})

        has_params = bool(self._get_filter_parameters() or self._get_pagination_parameters()
                          or self.get_override_parameters())
        if self.method not in SAFE_METHODS or has_params:
            add(400, "Invalid input: the body names each field that is wrong.")
        if self.method not in SAFE_METHODS or not self.get_auth() or {} not in self.get_auth():
            add(401, "Authentication is required.")
            add(403, "The signed-in user may not do this.")
        if "{" in self.path or has_params:
            add(404, "Not found (or not visible to this user; an invalid page number).")
        add(429, "Too many requests from an anonymous client; retry later.")
        if getattr(self.view, "uses_search_engine", False):
            add(503, "The search engine is unavailable for a moment; retry shortly.")
        return responses
