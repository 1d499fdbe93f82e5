"""Post saves as webhook events. Connected from posts/models/api.py, so that every
save is heard whichever door it came through (the admin, the API, an import, a shell);
this module imports no models when it is imported, as the models import it.

A save that makes a post published is `post.published` (a scheduled one's delivery
waits for its time, where the task queue can run tasks later); a save that takes it
out of published is `post.unpublished`; a save of a published post that stays
published is `post.updated`. Deliveries are queued once the save's transaction commits,
from the post as it was committed (its terms included).
"""

from django.db import transaction
from django.db.models.signals import post_save, pre_save

PUBLISHED, UNPUBLISHED, UPDATED = "post.published", "post.unpublished", "post.updated"


def connect():
    """Connect the receivers (posts/models/api.py)."""
    pre_save.connect(_saving, sender="posts.Post", dispatch_uid="kiji-api-webhook-saving")
    post_save.connect(_saved, sender="posts.Post", dispatch_uid="kiji-api-webhook-saved")


def _saving(sender, instance, raw=False, **kwargs):
    from ..models import Webhook

    # The status as stored, or None when no webhook listens (and nothing is looked up).
    instance._kiji_status_before = None
    if raw or not Webhook.objects.filter(is_active=True).exists():
        return
    before = sender.objects.filter(pk=instance.pk).values_list("status", flat=True).first() if instance.pk else None
    instance._kiji_status_before = before or ""


def _saved(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    before = getattr(instance, "_kiji_status_before", None)
    instance._kiji_status_before = None
    if raw or before is None:
        return
    if update_fields is not None and set(update_fields) <= set(sender.RENDERED_FIELDS):
        return  # rendered again (rerender_posts): nothing a reader would call a change
    was = before == sender.Status.PUBLISHED
    now = instance.status == sender.Status.PUBLISHED
    event = PUBLISHED if now and not was else UNPUBLISHED if was and not now else UPDATED if now else None
    if event:
        from . import webhooks

        post_id = instance.pk
        transaction.on_commit(lambda: webhooks.queue(event, post_id))
