import os
from concurrent.futures import ProcessPoolExecutor

from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand
from django.db import connections, transaction

from posts import renditions
from posts.models import MediaImage, Post
from posts.pagecache import bump, post_tag


def _make(name):
    """In a worker process: the copies of one stored cover."""
    return name, renditions.make(name, default_storage)


class Command(BaseCommand):
    help = (
        "Make the resized cover copies of every post with a cover, on every CPU (after a "
        "large import, or after the renditions folder was emptied); copies that exist are kept. "
        "The task queue does this by itself for each new cover."
    )

    def add_arguments(self, parser):
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="Processes (default: every CPU).")

    def handle(self, *args, workers=None, verbosity=1, **options):
        names = set(Post.objects.exclude(cover="").values_list("cover", flat=True).distinct())
        # Forked workers must not share this process's database connection; inside a
        # transaction (a caller's, or a test's) closing it would lose the transaction, and
        # the workers never touch the database anyway.
        if not any(conn.in_atomic_block for conn in connections.all(initialized_only=True)):
            connections.close_all()
        made, failed = {}, []
        with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
            for name, found in pool.map(_make, sorted(names), chunksize=4):
                if found:
                    made[name] = found
                else:
                    failed.append(name)
        updated = 0
        with transaction.atomic():
            for name, found in made.items():
                stale = Post.objects.filter(cover=name).exclude(cover_renditions=found)
                ids = list(stale.values_list("pk", flat=True))
                updated += Post.objects.filter(pk__in=ids).update(cover_renditions=found)
                bump({post_tag(pk) for pk in ids})
        for name in failed:
            self.stderr.write(f"{name}: cannot be read: pages show it without resized copies")
        # The library's images, for the admin's thumbnails: few, and each made once.
        library = [image for image in MediaImage.objects.all() if not image.current_renditions()]
        library_made = sum(bool(image.make_renditions()) for image in library)
        if verbosity:
            self.stdout.write(
                f"Cover renditions: {len(names)} distinct cover files, {updated} posts updated, "
                f"{len(failed)} failed; {library_made} of {len(library)} library images without copies given them."
            )
