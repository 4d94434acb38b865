"""Who may do what. One place that answers "is this user a curator / an admin"."""

CURATORS_GROUP = "curators"


def is_admin(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_superuser)


def is_curator(user) -> bool:
    """Curators write and publish; admins are curators too. Cached on the user object."""
    if not (user and user.is_authenticated and user.is_active):
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_kb_is_curator", None)
    if cached is None:
        cached = user.groups.filter(name=CURATORS_GROUP).exists()
        user._kb_is_curator = cached
    return cached
