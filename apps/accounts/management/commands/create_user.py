import getpass

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

from apps.accounts.services import save_user


class Command(BaseCommand):
    help = "Create or update a user with a role (reader, curator, admin) and print an API token."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", choices=["reader", "curator", "admin"], default="curator")
        parser.add_argument("--email", default="")
        parser.add_argument("--password", help="Prompted for when omitted and a terminal is attached.")
        parser.add_argument("--token", action="store_true", help="Print an API token for the user.")

    def handle(self, username, role, email, password, token, **options):
        if password is None and self.stdin_is_tty():
            password = getpass.getpass(f"Password for {username}: ")
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        data = {"username": username, "email": email, "is_curator": role in ("curator", "admin"),
                "is_superuser": role == "admin"}
        if password:
            data["password"] = password
        if not username.strip():
            raise CommandError("A username is required.")
        user = save_user(None, data, user)
        self.stdout.write(self.style.SUCCESS(f"{username}: {role}"))
        if token:
            self.stdout.write(Token.objects.get_or_create(user=user)[0].key)

    @staticmethod
    def stdin_is_tty():
        import sys

        return sys.stdin is not None and sys.stdin.isatty()
