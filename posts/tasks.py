"""Work done after a change commits, on the task queue (django-tasks; the database is
the queue and `manage.py db_worker` runs it, see the README)."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string
from django_tasks import task

from . import pages, related, renditions
from .models import MediaImage
from .pagecache.versions import bump, post_tag

logger = logging.getLogger(__name__)


@task()
def refresh_related():
    """Score again the related lists that changes may have moved."""
    with transaction.atomic():
        changed = related.refresh()
        bump({post_tag(pk) for pk in changed})
    return len(changed)


@task()
def make_library_copies(image_id):
    """Make the resized copies of a media-library image, which the admin's lists show."""
    image = MediaImage.objects.filter(pk=image_id).first()
    return bool(image and image.make_renditions())


@task()
def render_pages():
    """Render again the stored pages and cards that changes made out of date."""
    return pages.refresh()


@task()
def publication_due(post_id):
    """A scheduled post appears, or an expiring one goes, now: the pages around it change
    as they would on a save (readers see it on time either way; this re-renders the
    stored pages)."""
    from . import changes
    from .models import Post

    post = Post.objects.filter(pk=post_id).first()
    if post is not None:
        with transaction.atomic():
            changes.post_changed_by_time(post)


@task()
def make_renditions(name):
    """Resize the cover stored as `name` for every post that shows it."""
    return len(renditions.store(name))


@task()
def purge_cdn(tags, paths):
    """Tell the CDN (KIJI_CDN_PURGE_HOOK) which pages changed."""
    hook = settings.KIJI_CDN_PURGE_HOOK
    if hook:
        import_string(hook)(tags, paths)
