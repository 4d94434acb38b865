from django.contrib.auth.models import Group, Permission

from apps.common.roles import CURATORS_GROUP

# Curators change the content; user administration stays with admins.
CURATOR_APPS = ["studies", "researchers", "summaries", "topics", "imports", "search"]


def ensure_curators_group(**kwargs):
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    perms = Permission.objects.filter(content_type__app_label__in=CURATOR_APPS)
    group.permissions.add(*perms)
