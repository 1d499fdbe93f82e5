"""The weekly digest: a post listing the week's published posts, grouped by category,
each with its summary and link, drafted for an editor (or published, with
KIJI_DIGEST_PUBLISH). Every run is recorded (DigestRun), including the ones that had
nothing to do. Run weekly by `manage.py weekly_digest` from cron or a systemd timer
(docs/api.md), or queued as the `weekly_digest` task."""

from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from .. import services
from ..models import Category, DigestRun, Post

DIGEST_USER = "kiji-digest"
DAYS = 7


def digest_user(publish):
    """The program user digests are written as: an editor when it publishes them."""
    user, _created = get_user_model().objects.get_or_create(
        username=DIGEST_USER, defaults={"first_name": _("Weekly digest")}
    )
    if _created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.set(Group.objects.filter(name="Editor" if publish else "Writer"))
    return get_user_model().objects.get(pk=user.pk)  # without the cached permissions


def body(posts):
    """The digest's Markdown: a section per category (posts without one last), a line
    per post with its link and summary."""
    groups = defaultdict(list)
    for post in posts:
        categories = list(post.categories.all())
        groups[categories[0].name if categories else ""].append(post)
    lines = [_("This week's %(count)s posts, by category.") % {"count": len(posts)}, ""]
    for name in sorted(groups, key=lambda name: (name == "", name)):
        lines += [f"## {name or _('Other posts')}", ""]
        for post in groups[name]:
            title = post.title.replace("[", "\\[").replace("]", "\\]")
            summary = " ".join((post.description or post.summary).split())
            lines.append(f"- [{title}]({post.get_absolute_url()})" + (f": {summary}" if summary else ""))
        lines.append("")
    return "\n".join(lines)


def run(*, now=None, days=DAYS, publish=None, force=False):
    """Draft (or publish) the digest of the `days` before `now`; the DigestRun. A week
    already covered by a digest is skipped unless `force`."""
    now = now or timezone.now()
    publish = settings.KIJI_DIGEST_PUBLISH if publish is None else publish
    start = now - timedelta(days=days)
    record = DigestRun(period_start=start, period_end=now, started_at=timezone.now())
    earlier = DigestRun.objects.filter(post__isnull=False, period_end__gt=now - timedelta(days=days - 1)).first()
    digests = DigestRun.objects.filter(post__isnull=False).values("post")
    posts = list(
        Post.objects.published()
        .filter(published_at__gte=start, published_at__lt=now)
        .exclude(pk__in=digests)
        .prefetch_related("categories")
        .order_by("published_at", "pk")
    )
    if earlier is not None and not force:
        record.status = DigestRun.Status.SKIPPED
        record.message = _("A digest was made at %(time)s already; --force makes another.") % {
            "time": timezone.localtime(earlier.started_at).strftime("%Y-%m-%d %H:%M")
        }
    elif not posts:
        record.status = DigestRun.Status.SKIPPED
        record.message = _("No posts were published in the week.")
    else:
        try:
            record.post = _save(posts, start, now, publish)
            record.post_count = len(posts)
            record.status = DigestRun.Status.PUBLISHED if publish else DigestRun.Status.DRAFTED
        except Exception as error:  # recorded, then raised: a failed run is one to see
            record.status, record.message, record.finished_at = DigestRun.Status.FAILED, str(error), timezone.now()
            record.save()
            raise
    record.finished_at = timezone.now()
    record.save()
    return record


def _save(posts, start, end, publish):
    first, last = timezone.localdate(start), timezone.localdate(end - timedelta(seconds=1))
    post = Post(
        title=_("Weekly digest: %(start)s – %(end)s") % {"start": first.strftime("%Y-%m-%d"), "end": last.strftime("%m-%d")},
        slug=_unique_slug(f"weekly-digest-{last:%Y-%m-%d}"),
        body=body(posts),
        description=_("The %(count)s posts published from %(start)s to %(end)s, by category.")
        % {"count": len(posts), "start": first.strftime("%Y-%m-%d"), "end": last.strftime("%Y-%m-%d")},
        status=Post.Status.PUBLISHED if publish else Post.Status.DRAFT,
        published_at=timezone.now(),
    )
    name = settings.KIJI_DIGEST_CATEGORY
    categories = list(Category.objects.filter(name__iexact=name)) if name else None
    with transaction.atomic():
        return services.save_post(post, user=digest_user(publish), comment=_("The weekly digest."), categories=categories)


def _unique_slug(slug):
    taken = set(Post.objects.filter(slug__startswith=slug).values_list("slug", flat=True))
    number = 1
    candidate = slug
    while candidate in taken:
        number += 1
        candidate = f"{slug}-{number}"
    return candidate


@task()
def weekly_digest(force=False):
    """The weekly digest, on the task queue (`manage.py weekly_digest --queue`)."""
    return run(force=force).pk
