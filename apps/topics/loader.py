"""Load the topic vocabulary from fixtures/topics.json (idempotent: upsert by slug, saving only what changed)."""

import json
from pathlib import Path

from apps.common.changes import differs

TOPICS_FILE = Path(__file__).resolve().parents[2] / "fixtures" / "topics.json"


def load_topics(Topic, path=TOPICS_FILE):
    """Create or update every topic in the file; parents before children. Returns the count."""
    if not Path(path).exists():
        return 0
    items = json.loads(Path(path).read_text(encoding="utf-8"))
    by_slug = {}
    for order, item in enumerate(items):
        parent = by_slug.get(item.get("parent")) if item.get("parent") else None
        if item.get("parent") and parent is None:
            parent = Topic.objects.get(slug=item["parent"])
        values = {
            "label_nb": item["label_nb"],
            "label_en": item["label_en"],
            "description_nb": item.get("description_nb", ""),
            "description_en": item.get("description_en", ""),
            "parent": parent,
            "sort_order": order,
        }
        by_slug[item["slug"]] = _upsert(Topic, item["slug"], values)
    return len(by_slug)


def _upsert(Topic, slug, values):
    """The topic with these values, saved only when new or changed: a topic save queues re-indexing of
    every study and researcher tagged with it."""
    topic = Topic.objects.filter(slug=slug).first()
    if topic is None:
        return Topic.objects.create(slug=slug, **values)
    if differs(topic, values):
        for field, value in values.items():
            setattr(topic, field, value)
        topic.save()
    return topic
