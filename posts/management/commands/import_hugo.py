from django.core.management.base import BaseCommand, CommandError

from posts.hugo import HugoImporter, SourceError


class Command(BaseCommand):
    help = (
        "Import the posts of a Hugo site (content/posts/, static/, hugo.toml). Safe to run "
        "again: only new and changed files are written. Each file is imported on its own; "
        "a file that cannot be imported gets one line and the others go on."
    )

    def add_arguments(self, parser):
        parser.add_argument("site_dir", help="The Hugo site's root folder.")
        parser.add_argument("--dry-run", action="store_true", help="Report what would change; write nothing.")
        parser.add_argument(
            "--prune", action="store_true", help="Delete imported posts whose file is gone from the site."
        )
        parser.add_argument(
            "--fetch-remote-covers",
            action="store_true",
            help="Download covers given as web addresses on other sites (checked like any upload), "
            "so that pages stop hotlinking them. Without it, those posts are imported without a cover.",
        )

    def handle(self, site_dir, dry_run=False, prune=False, fetch_remote_covers=False, verbosity=1, **options):
        on_terminal = verbosity >= 1 and self.stdout.isatty()

        def progress(done, total):
            if on_terminal and (done % 25 == 0 or done == total):
                self.stdout.write(f"\rReading {done}/{total} files…", ending="")
                if done == total:
                    self.stdout.write("")

        def report(line):
            # Problems go to stderr even at --verbosity 0; notices only when asked.
            if ": not imported" in line or ": imported without" in line or verbosity >= 1:
                (self.stderr if ": not imported" in line else self.stdout).write(line)

        importer = HugoImporter(
            site_dir,
            dry_run=dry_run,
            prune=prune,
            fetch_remote_covers=fetch_remote_covers,
            report=report,
            progress=progress,
        )
        try:
            summary = importer.run()
        except SourceError as error:
            raise CommandError(str(error))
        if verbosity >= 1:
            for key, link in summary.broken_links:
                self.stdout.write(f"{key}: links to {link}, which is not a post here: left as it is")
            for key in summary.missing:
                action = "deleted (--prune)" if prune else "kept (delete it with --prune)"
                self.stdout.write(f"{key}: imported before but gone from the site: {action}")
            prefix = "Dry run, nothing written. Would have: " if dry_run else ""
            remote = (
                f", remote covers not fetched {len(summary.remote_covers)} (--fetch-remote-covers)"
                if summary.remote_covers
                else ""
            )
            self.stdout.write(
                f"{prefix}created {summary.created}, updated {summary.updated}, "
                f"unchanged {summary.unchanged}, warnings {summary.warnings}, "
                f"broken links {len(summary.broken_links)}, failed {summary.failed}{remote}."
            )
        if summary.failed:
            raise CommandError(f"{summary.failed} file(s) could not be imported; see the lines above.")
