from django.core.management.base import BaseCommand

from posts import renditions
from posts.models import Post


class Command(BaseCommand):
    help = (
        "Make the resized cover copies of every post with a cover (after an import, or "
        "after the renditions folder was emptied); copies that exist are kept."
    )

    def handle(self, *args, **options):
        made, current, failed = 0, 0, 0
        done = {}  # cover name -> renditions, so a shared cover is read once
        # The dimensions are loaded too: ImageField reads them on every instance it makes.
        posts = Post.objects.exclude(cover="").only(
            "slug", "cover", "cover_width", "cover_height", "cover_renditions"
        )
        for post in posts.iterator(chunk_size=500):
            name = post.cover.name
            if name not in done:
                done[name] = renditions.renditions(post.cover)
            found = done[name]
            if not found:
                failed += 1
                self.stderr.write(
                    f"{post.slug}: cover {name} cannot be read: pages show it without resized copies"
                )
            elif found == post.cover_renditions:
                current += 1
            else:
                Post.objects.filter(pk=post.pk).update(cover_renditions=found)
                made += 1
        if options["verbosity"]:
            self.stdout.write(
                f"Cover renditions: {made} posts updated, {current} already up to date, "
                f"{failed} failed; {len(done)} distinct cover files."
            )
