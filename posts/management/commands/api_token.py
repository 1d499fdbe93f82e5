"""Make, list and revoke the API's tokens (docs/api.md)."""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError
from django.utils import timezone

from posts.api import auth
from posts.models import ApiToken


class Command(BaseCommand):
    help = "Make (create), list or revoke API tokens. The secret of a new token is printed once."

    def add_arguments(self, parser):
        commands = parser.add_subparsers(dest="action", required=True)
        create = commands.add_parser("create", help="Make a token and print its secret.")
        create.add_argument("--name", required=True, help="The program's name: letters, digits, - and _.")
        create.add_argument("--role", choices=ApiToken.Role.values, default=ApiToken.Role.WRITER)
        create.add_argument(
            "--scope", action="append", choices=ApiToken.Scope.values, dest="scopes",
            help="A scope to give (repeat for more); all of them by default.",
        )  # fmt: skip
        create.add_argument("--expires-days", type=int, help="Days until the token stops working.")
        create.add_argument("--rate", type=int, help="Requests a minute (default: KIJI_API_RATE).")
        commands.add_parser("list", help="List the tokens.")
        revoke = commands.add_parser("revoke", help="Stop a token working.")
        revoke.add_argument("name")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _create(self, name, role, scopes, expires_days, rate, **options):
        token = ApiToken(name=name)
        try:
            token.clean_fields(exclude=["prefix", "secret_hash", "user", "role", "scopes"])
        except Exception as error:
            raise CommandError(f"{name}: {' '.join(sum(error.message_dict.values(), []))}")
        if ApiToken.objects.filter(name=name).exists():
            raise CommandError(f"{name}: a token has this name already: revoke it or choose another name")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        try:
            token, secret = auth.create_token(name=name, role=role, scopes=scopes, expires_at=expires_at, rate_per_minute=rate)
        except IntegrityError:
            raise CommandError(f"{name}: a user called api+{name} exists already: choose another name")
        self.stdout.write(f"{token.name}: made, role {token.role}, scopes {', '.join(token.scopes)}.")
        self.stdout.write("Its secret, shown only now (Kiji keeps a hash of it):")
        self.stdout.write(secret)

    def _list(self, **options):
        tokens = list(ApiToken.objects.all())
        for token in tokens:
            state = "revoked" if token.revoked_at else "active" if token.is_active else "expired"
            used = f"last used {timezone.localtime(token.last_used_at):%Y-%m-%d %H:%M}" if token.last_used_at else "never used"
            self.stdout.write(f"{token.name}: {token.role}, {state}, {token.prefix}…, {used}, scopes {', '.join(token.scopes)}")
        self.stdout.write(f"{len(tokens)} tokens.")

    def _revoke(self, name, **options):
        token = ApiToken.objects.filter(name=name).first()
        if token is None:
            raise CommandError(f"{name}: no token has this name")
        if token.revoked_at:
            self.stdout.write(f"{name}: revoked already, on {timezone.localtime(token.revoked_at):%Y-%m-%d %H:%M}.")
            return
        auth.revoke(token)
        self.stdout.write(f"{name}: revoked; requests with it are refused from now on.")
