import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_feed_key():
    return secrets.token_urlsafe(24)


class SavedSearch(models.Model):
    """A user's search (the search API's query and filters), with its own Atom feed and a "new since" count."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches")
    name = models.CharField(max_length=200)
    params = models.JSONField(default=dict, blank=True,
                              help_text="The search API's parameters, e.g. {\"q\": \"FACT\", \"design\": \"rct\"}.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_seen_at = models.DateTimeField(default=timezone.now,
                                        help_text="The user's last visit; newer matching studies count as new.")
    feed_key = models.CharField(
        max_length=64, unique=True, default=new_feed_key, editable=False,
        help_text="The secret in the feed URL, so a feed reader can fetch it without signing in.")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "saved searches"

    def __str__(self):
        return self.name
