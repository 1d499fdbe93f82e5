from django.core.management.base import BaseCommand
from django.db import transaction

from posts import related
from posts.models import RelatedBacklog
from posts.pagecache import bump, post_tag


class Command(BaseCommand):
    help = (
        "Score the related posts of every post again and store them (after an upgrade, or "
        "when no task worker ran for a while). Changes do this by themselves on the task queue."
    )

    def handle(self, *args, verbosity=1, **options):
        with transaction.atomic():
            RelatedBacklog.objects.all().delete()
            changed = related.recompute()
            bump({post_tag(pk) for pk in changed})
        if verbosity:
            self.stdout.write(f"Related posts: {len(changed)} lists changed.")
