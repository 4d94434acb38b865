"""The search page's state lives in its URL, in the search API's own parameters.

These helpers build the links that change one part of it (add or remove a facet value, go to a
page, sort) and keep the rest, so every state can be bookmarked, shared and reached with Back.
"""

from __future__ import annotations

from urllib.parse import urlencode

#: Parameters that are comma-separated lists in the search API.
LIST_PARAMS = ("study_type", "design", "language", "topic", "researcher", "institution", "doi", "unexpand")
#: Facet name (as the backend reports it) -> the parameter that filters on it.
FACET_PARAMS = {"type": "study_type", "design": "design", "language": "language", "topic": "topic",
                "researcher": "researcher", "institution": "institution"}
#: What the page itself never carries into a new link.
DROP_ALWAYS = ("cursor", "facets", "highlight")


class UrlState:
    def __init__(self, query_dict, path):
        self.path = path
        self.params = {}
        for key in query_dict:
            value = query_dict.get(key, "")
            if key in DROP_ALWAYS or value in ("", None):
                continue
            self.params[key] = value

    def values(self, name):
        return [v.strip() for v in self.params.get(name, "").split(",") if v.strip()]

    def href(self, params):
        clean = {k: v for k, v in params.items() if v not in ("", None)}
        order = ["q", "type"] + sorted(k for k in clean if k not in ("q", "type", "page"))
        query = urlencode([(k, clean[k]) for k in order if k in clean] + ([("page", clean["page"])]
                                                                          if "page" in clean else []))
        return f"{self.path}?{query}" if query else self.path

    def _base(self, keep_page=False):
        params = dict(self.params)
        if not keep_page:
            params.pop("page", None)
        return params

    def with_(self, **changes):
        params = self._base(keep_page="page" in changes)
        for name, value in changes.items():
            if value in (None, ""):
                params.pop(name, None)
            else:
                params[name] = str(value)
        return self.href(params)

    def toggle(self, name, value):
        """The link that adds ``value`` to the list parameter ``name``, or removes it when present."""
        value = str(value)
        current = self.values(name)
        new = [v for v in current if v != value] if value in current else current + [value]
        return self.with_(**{name: ",".join(new)})

    def without(self, *names):
        params = self._base()
        for name in names:
            params.pop(name, None)
        return self.href(params)

    def hidden_fields(self, *exclude):
        """(name, value) pairs for hidden inputs that carry the state through a form."""
        return [(k, v) for k, v in self._base().items() if k not in exclude]

    def selection_query(self):
        """The query string of the q and filters alone (for the export, the feed and the evidence map)."""
        keep = ("q", "year_from", "year_to", "has_summary", "expand", "ranking", *LIST_PARAMS)
        return urlencode([(k, v) for k, v in self.params.items() if k in keep])
