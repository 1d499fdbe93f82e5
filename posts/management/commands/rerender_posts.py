from django.core.management.base import BaseCommand
from django.db import transaction

from posts.models import Post


class Command(BaseCommand):
    help = "Render every post's body again (after an upgrade changes the renderer)."

    def handle(self, *args, **options):
        count = 0
        with transaction.atomic():
            for post in Post.objects.iterator(chunk_size=200):
                post.rerender()
                count += 1
        if options["verbosity"]:
            self.stdout.write(f"Rendered {count} posts again.")
