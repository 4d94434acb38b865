"""Users and their roles (curator, admin)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from apps.common.roles import CURATORS_GROUP


def curators_group():
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    return group


@transaction.atomic
def save_user(acting_user, data, user=None):
    data = dict(data)
    password = data.pop("password", None)
    curator = data.pop("is_curator", None)
    User = get_user_model()
    user = user or User()
    for field, value in data.items():
        setattr(user, field, value)
    if password:
        user.set_password(password)
    elif user.pk is None:
        user.set_unusable_password()
    if curator or user.is_superuser:
        user.is_staff = True  # curators work in the admin too
    user.save()
    if curator is not None:
        (user.groups.add if curator else user.groups.remove)(curators_group())
        user._kb_is_curator = curator
    return user
