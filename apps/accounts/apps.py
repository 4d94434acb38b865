from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from .signals import ensure_curators_group

        post_migrate.connect(ensure_curators_group, dispatch_uid="kb-curators-group")
