from django.core.management.base import BaseCommand
from django.db import connection, transaction

from posts import search


class Command(BaseCommand):
    help = (
        "Write every post's search document again (after posts were changed without "
        "save(), or after an upgrade changes how text is split into words)."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            count = search.rebuild()
        if not options["verbosity"]:
            return
        if count is None:
            self.stdout.write(
                f"This database ({connection.vendor}) is searched without an index: nothing to do."
            )
        else:
            self.stdout.write(f"Indexed {count} posts.")
