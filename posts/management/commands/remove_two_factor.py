"""Take away the authenticator apps of people who lost them (the admin can too: Admin
group, *TOTP devices*), so that they log in with their password and add a new one."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp import devices_for_user


class Command(BaseCommand):
    help = (
        "Remove every authenticator app (two-factor device) of the given users. With "
        "KIJI_REQUIRE_2FA_FOR_ADMINS, an admin is asked to add a new one at the next login."
    )

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="+", metavar="USERNAME")

    def handle(self, *args, usernames, **options):
        User = get_user_model()
        removed = missing = 0
        for username in usernames:
            user = User._default_manager.filter(**{User.USERNAME_FIELD: username}).first()
            if user is None:
                self.stderr.write(f"{username}: no such user: nothing removed")
                missing += 1
                continue
            devices = list(devices_for_user(user, confirmed=None))
            for device in devices:
                device.delete()
            removed += len(devices)
            self.stdout.write(f"{username}: {len(devices)} authenticator app(s) removed")
        self.stdout.write(f"{removed} authenticator app(s) removed for {len(usernames) - missing} user(s).")
        if missing:
            raise CommandError(f"{missing} user(s) not found.")
