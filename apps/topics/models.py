from django.db import models
from django.db.models.functions import Lower

from apps.common.models import Timestamped


class Topic(Timestamped):
    """A node of the bilingual, hierarchical ROP vocabulary (e.g. "ACT- og FACT-team")."""

    slug = models.SlugField(max_length=100, unique=True)
    label_nb = models.CharField("label (Norwegian)", max_length=200)
    label_en = models.CharField("label (English)", max_length=200)
    description_nb = models.TextField(blank=True)
    description_en = models.TextField(blank=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "label_en"]
        indexes = [models.Index(Lower("label_en"), name="topic_label_en_lower"),
                   models.Index(Lower("label_nb"), name="topic_label_nb_lower")]

    def __str__(self):
        return f"{self.label_en} / {self.label_nb}"

    def clean(self):
        from django.core.exceptions import ValidationError

        node = self.parent
        while node is not None:
            if node.pk == self.pk and self.pk is not None:
                raise ValidationError({"parent": "A topic cannot be its own ancestor."})
            node = node.parent

    def label(self, language="en"):
        return self.label_nb if language in ("nb", "nn", "no") else self.label_en

    @classmethod
    def descendant_ids(cls, roots):
        """Ids of the given topics and all their sub-topics (one query per tree level)."""
        ids = set(roots)
        frontier = set(roots)
        while frontier:
            frontier = set(cls.objects.filter(parent_id__in=frontier).values_list("id", flat=True)) - ids
            ids |= frontier
        return ids
