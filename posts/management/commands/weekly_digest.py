"""Draft the weekly digest post; run weekly by cron or a systemd timer (docs/api.md)."""

from django.core.management.base import BaseCommand

from posts.api import digest


class Command(BaseCommand):
    help = "Draft (or, with --publish, publish) a post listing the last week's published posts by category."

    def add_arguments(self, parser):
        parser.add_argument("--publish", action="store_true", help="Publish the digest instead of drafting it.")
        parser.add_argument("--days", type=int, default=digest.DAYS, help="How many days back (default 7).")
        parser.add_argument("--force", action="store_true", help="Make a digest even if one covers this week.")
        parser.add_argument("--queue", action="store_true", help="Queue the task for the worker instead of running here.")

    def handle(self, *args, publish, days, force, queue, **options):
        if queue:
            digest.weekly_digest.enqueue(force=force)
            self.stdout.write("weekly digest: queued for the task worker.")
            return
        record = digest.run(days=days, publish=publish or None, force=force)
        if record.post is None:
            self.stdout.write(f"weekly digest: skipped: {record.message}")
        else:
            self.stdout.write(
                f"weekly digest: {record.get_status_display().lower()} “{record.post.title}” "
                f"with {record.post_count} posts: /admin/posts/post/{record.post.pk}/change/"
            )
