from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from posts.hugo import export_site


class Command(BaseCommand):
    help = (
        "Write every post, with its terms, affiliate boxes and cover, as a Hugo site in "
        "OUT_DIR (also Kiji's backup format: import_hugo reads it back)."
    )

    def add_arguments(self, parser):
        parser.add_argument("out_dir", help="A new or empty folder.")

    def handle(self, out_dir, verbosity=1, **options):
        out = Path(out_dir)
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            raise CommandError(f"{out} is not an empty folder; export into a new one (one folder per backup).")
        count = export_site(out)
        if verbosity >= 1:
            self.stdout.write(f"Exported {count} posts to {out}.")
