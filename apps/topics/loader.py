"""Load the topic vocabulary from fixtures/topics.json (idempotent: upsert by slug)."""

import json
from pathlib import Path

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
        topic, _ = Topic.objects.update_or_create(
            slug=item["slug"],
            defaults={
                "label_nb": item["label_nb"],
                "label_en": item["label_en"],
                "description_nb": item.get("description_nb", ""),
                "description_en": item.get("description_en", ""),
                "parent": parent,
                "sort_order": order,
            },
        )
        by_slug[topic.slug] = topic
    return len(by_slug)
