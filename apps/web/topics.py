"""The topic vocabulary as a tree, in the interface language (small and curated: read whole)."""

from __future__ import annotations

from django.utils.translation import get_language

from apps.topics.models import Topic


def topic_label(topic, language=None):
    language = language or get_language() or "nb"
    return topic.label(language)


def all_topics():
    return list(Topic.objects.order_by("sort_order", "label_en"))


def children_map(topics):
    children = {}
    for t in topics:
        children.setdefault(t.parent_id, []).append(t)
    return children


def flat_tree(topics=None):
    """[(topic, depth)] in tree order, for a <select> with indented options."""
    topics = topics if topics is not None else all_topics()
    children = children_map(topics)
    out = []

    def walk(parent, depth):
        for t in children.get(parent, []):
            out.append((t, depth))
            walk(t.id, depth + 1)

    walk(None, 0)
    return out
