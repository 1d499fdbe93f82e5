"""What people and programs do to posts, in one place: the admin calls these functions,
and so will the API, so that a save, a status change or a preview means the same
thing wherever it comes from.

Who may do what is posts/workflow.py's; the publication rule is PostQuerySet's; these
functions apply them and do what a save brings with it (the author, who saved, a
revision with its comment, a new cover in the media library). A refusal is a
`PermissionDenied` (not allowed for this user) or a `ValidationError` (not possible:
a schedule in the past), each with a message to show as it is.
"""

import copy
from contextlib import contextmanager
from datetime import timedelta

import reversion
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.timesince import timesince, timeuntil
from django.utils.translation import gettext as _

from . import uploads, workflow
from .models import Post

# A schedule this far in the past still counts as "now": the time a person read on
# the clock when they chose it, and the round trip of the form.
SCHEDULE_GRACE = timedelta(minutes=1)
# What create_preview takes from the form; nothing else of a post is set from outside.
PREVIEW_FIELDS = ("title", "slug", "body", "description", "cover_alt", "pr_notice", "published_at")


def _only_editors():
    return PermissionDenied(_("Only editors publish and unpublish. Choose “In review” to ask an editor to publish it."))


@contextmanager
def _revision(user, comment):
    """A revision for what happens inside, or the one already open around it (the
    admin's views open one)."""
    if reversion.is_active():
        if comment:
            reversion.set_comment(comment)
        yield
        return
    with transaction.atomic(), reversion.create_revision():
        reversion.set_user(user)
        if comment:
            reversion.set_comment(comment)
        yield


def save_post(post, *, user, status=None, at=None, comment="", cover_upload_name=None, categories=None, tags=None):
    """Save `post` (its fields as `user` edited them) as `user` wrote it: the author (the
    user, for a new post), who saved it last, a revision, its categories and tags when
    given, and, for a cover uploaded with it (`cover_upload_name`, as the file was
    called), an entry in the media library. With `status`, the post moves to it as
    `change_status` would move it (publish time `at` for a schedule), in the same
    save. The post, saved."""
    stored = Post.objects.filter(pk=post.pk).first() if post.pk is not None else None
    if stored is None and not user.has_perm("posts.add_post"):
        raise PermissionDenied(_("You may not add posts."))
    if stored is not None and not workflow.can_edit(user, stored):
        raise PermissionDenied(_("You may not change this post."))
    if status is not None:
        published_at = check_status(stored or post, status, user=user, at=at)
        if status == Post.Status.PUBLISHED:
            post.published_at = published_at
        post.status = status
    if post.status not in Post.WRITER_STATUSES and not workflow.can_publish(user):
        raise _only_editors()
    if post.author_id is None:
        post.author = user
    post.updated_by = user
    moved = stored is None or (stored.status, stored.published_at) != (post.status, post.published_at)
    if status is not None and moved:
        comment = " ".join(filter(None, [comment, status_comment(post)]))
    with _revision(user, comment):
        post.save()
        if categories is not None:
            post.categories.set(categories)
        if tags is not None:
            post.tags.set(tags)
        if cover_upload_name and post.cover:
            uploads.add_cover_to_library(post, cover_upload_name, user)
    return post


def check_status(post, status, *, user, at=None, now=None):
    """Whether `user` may move `post` (as it is stored; or new, not saved yet) to
    `status`, published at `at` for a schedule: raises as `change_status` would, and
    changes nothing. The publish time the post would then have."""
    now = now or timezone.now()
    if not workflow.can_edit(user, post if post.pk is not None else None):
        raise PermissionDenied(_("You may not change this post."))
    if status not in Post.WRITER_STATUSES and not workflow.can_publish(user):
        raise _only_editors()
    if status != Post.Status.PUBLISHED:
        return post.published_at
    if at is None:
        # Publishing what readers already see changes nothing, its date included.
        return post.published_at if post.pk is not None and post.is_published else now
    if at <= now - SCHEDULE_GRACE:
        raise ValidationError(_past(_local(at)), code="past")
    return at


def change_status(post, status, *, user, at=None):
    """Move `post` to `status` as `user`, in a revision that says so. Publishing
    without `at` publishes now (a post readers already see keeps its date); with `at`
    (to come) it schedules the post, which then appears by itself at that time
    (PostQuerySet.published). The post, saved."""
    post.published_at = check_status(post, status, user=user, at=at)
    post.status = status
    post.updated_by = user
    with _revision(user, status_comment(post)):
        post.save()
    return post


def publish(post, *, user, at=None):
    """Publish `post` now, or schedule it for `at`."""
    return change_status(post, Post.Status.PUBLISHED, user=user, at=at)


def unpublish(post, *, user):
    """Take `post` off the site; it keeps its text and its date."""
    return change_status(post, Post.Status.UNPUBLISHED, user=user)


def status_comment(post):
    """What a revision says of the status `post` now has."""
    if post.is_scheduled:
        return _("Scheduled for %(time)s.") % {"time": _local(post.published_at)}
    return _("Status changed to “%(status)s”.") % {"status": post.get_status_display()}


def schedule_note(moment, now=None):
    """When readers will see a post scheduled for `moment`, in words:
    「2026-12-02 15:00、3時間後に公開されます。」."""
    now = now or timezone.now()
    if moment - now < timedelta(minutes=1):
        return _("Readers see it in a moment, at %(time)s.") % {"time": _local(moment)}
    return _("Readers see it %(in)s, at %(time)s.") % {"in": relative_time(moment, now), "time": _local(moment)}


def schedule_note_templates():
    """schedule_note's sentences with {in} and {time} left to fill, and the refusal of a
    past time with {time}: for a page that says them again as a person types a time."""
    return {
        "later": _("Readers see it %(in)s, at %(time)s.") % {"in": "{in}", "time": "{time}"},
        "soon": _("Readers see it in a moment, at %(time)s.") % {"time": "{time}"},
        "past": _past("{time}"),
    }


def create_preview(post=None, *, user, values=None, categories=(), tags=(), boxes=()):
    """An unsaved copy of `post` (or a new post by `user`) with `values` (of
    PREVIEW_FIELDS: title, body, description, slug, cover_alt…), `categories`, `tags`
    and affiliate `boxes`, rendered as a save would render it and ready for the public
    template (views.render_preview). Nothing is written, `post` itself included."""
    if post is None:
        if not user.has_perm("posts.add_post"):
            raise PermissionDenied(_("You may not add posts."))
        # Id 0, which no row has: its relations then read what is given here, from
        # the prefetch cache, as a saved post's are read.
        preview = Post(pk=0, author=user, published_at=timezone.now(), slug="preview")
    elif not workflow.can_see(user, post):
        raise PermissionDenied(_("You may not see this post."))
    else:
        preview = copy.copy(post)
    for name, value in (values or {}).items():
        if name in PREVIEW_FIELDS:
            setattr(preview, name, value)
    preview.slug = preview.slug or "preview"
    preview.render()
    preview._prefetched_objects_cache = {
        "categories": list(categories),
        "tags": list(tags),
        "affiliate_boxes": sorted(boxes, key=lambda box: box.position),
    }
    return preview


def relative_time(moment, now=None):
    """`moment` in words from now, to the nearest minute: 「3時間後」, 「2日前」."""
    now = now or timezone.now()
    seconds = (moment - now).total_seconds()
    if abs(seconds) < 60:
        return _("in a moment") if seconds > 0 else _("just now")
    # To the nearest minute: timeuntil() truncates, and a post scheduled three hours
    # ahead is a few milliseconds short of them by the time a page says so.
    now = moment - timedelta(minutes=round(seconds / 60))
    if seconds > 0:
        return _("in %(time)s") % {"time": timeuntil(moment, now, depth=1)}
    return _("%(time)s ago") % {"time": timesince(moment, now, depth=1)}


def _past(time):
    return _("The publish time %(time)s has passed: choose a time to come, or publish now.") % {"time": time}


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")
