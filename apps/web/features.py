"""Which optional parts of kb exist in this installation, so the pages link only to what answers.

The export, the feeds and the import API are built by other apps; a page asks here instead of
assuming. Each answer comes from the URL configuration (no request is made).
"""

from __future__ import annotations

from functools import lru_cache

from django.urls import Resolver404, resolve


def _route(path, not_named=()):
    try:
        match = resolve(path)
    except Resolver404:
        return None
    if match.url_name in not_named:
        return None
    return match


@lru_cache(maxsize=None)
def has_export():
    """``GET /api/v1/studies/export/?format=bibtex|ris|csljson`` (not the detail route of a study called "export")."""
    return _route("/api/v1/studies/export/", not_named=("study-detail",)) is not None


@lru_cache(maxsize=None)
def has_study_export():
    """``GET /api/v1/studies/{id}/export/?format=...``: one study in a reference format."""
    return _route("/api/v1/studies/1/export/") is not None


@lru_cache(maxsize=None)
def has_search_feed():
    return _route("/api/v1/search/feed.atom") is not None


@lru_cache(maxsize=None)
def has_saved_search_feed():
    """``GET /api/v1/saved-searches/{id}/feed.atom?key=...``: a saved search's private Atom feed."""
    return _route("/api/v1/saved-searches/1/feed.atom") is not None


@lru_cache(maxsize=None)
def has_imports():
    return _route("/api/v1/imports/") is not None


@lru_cache(maxsize=None)
def has_network_api():
    return _route("/api/v1/network/") is not None


def reset():
    for f in (has_export, has_study_export, has_search_feed, has_saved_search_feed, has_imports,
              has_network_api):
        f.cache_clear()


EXPORT_FORMATS = (("bibtex", "BibTeX"), ("ris", "RIS"), ("csljson", "CSL-JSON"))
