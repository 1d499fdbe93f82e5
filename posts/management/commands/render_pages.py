from django.core.management.base import BaseCommand

from posts import pages
from posts.models import RenderBacklog


class Command(BaseCommand):
    help = (
        "Render every post's stored page and card again (after an upgrade changes the "
        "templates, or when no task worker ran for a while). Changes do this by themselves "
        "on the task queue."
    )

    def handle(self, *args, verbosity=1, **options):
        RenderBacklog.objects.get_or_create(post_id=pages.EVERY_POST)
        count = pages.refresh()
        if verbosity:
            self.stdout.write(f"Rendered {count} pages.")
