"""Kiji's admin site: the site's name and Kiji's on every admin page, and a writer's
desk as its index (templates/admin/index.html).

The desk is what a writer coming from WordPress or Ghost looks for first: a button for a
new post, their drafts, the posts in review, the scheduled ones with their times, the
latest published, and for those who may see it, what the store links earned. Posts are
chosen by the one publication rule (PostQuerySet) and shown as docs/roles.md says:
writers see their own, editors everyone's. The page costs the same few queries
however many posts there are.

This module is apart from posts/admin/, which registers models on this very site
when it is imported.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum, Window
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import security, workflow
from .services import relative_time
from .models import ClickCount, Post, SiteSettings, ViewCount

# Posts each list of the desk shows; the rest are a link away.
SHOWN = 5
TOP_POSTS = 3
# What the lists show of a post (its author decides who may open it).
LISTED_FIELDS = (
    "title", "slug", "published_at", "updated_at", "author", "author__username", "author__first_name",
    "author__last_name",
)  # fmt: skip
# The periods of the click summary, in days up to today (the click dashboard's too).
PERIODS = (7, 30)


def brand():
    """The admin's name: the site's title beside Kiji's."""
    title = SiteSettings.load().title.strip()
    return "Kiji" if title in ("", "Kiji") else f"{title} · Kiji"


class DeskSite(security.AdminSite):
    """The admin site with every sign-in check of security.AdminSite, under the site's
    name, opening on the desk."""

    index_title = gettext_lazy("Dashboard")

    @property
    def site_header(self):
        return brand()

    site_title = site_header

    def index(self, request, extra_context=None):
        return super().index(request, {**desk(request.user), **(extra_context or {})})


@dataclass
class Entry:
    """A post as the desk lists it."""

    post: Post
    url: str  # its form, or its article for a post the user may not open in the admin
    at: datetime  # the time the list goes by
    relative: str
    article_url: str = ""


@dataclass
class Section:
    """One list of the desk: its first posts, how many there are, and where the rest are."""

    key: str
    title: str
    time_label: str  # what the listed time is
    entries: list
    total: int
    more_url: str
    empty: str
    show_author: bool

    @property
    def more(self):
        return self.total - len(self.entries)


def _first(posts):
    """The first SHOWN of `posts` and how many there are, in one query: the window
    counts the rows before the limit applies."""
    rows = list(posts.annotate(listed=Window(Count("pk")))[:SHOWN])
    return rows, rows[0].listed if rows else 0


def _section(user, key, posts, *, title, time_field, time_label, list_filters, empty, show_author, on_site=False):
    """A Section of `posts` for `user`; `list_filters` choose the same posts in the
    post list, where the rest of them are."""
    rows, total = _first(posts)
    now = timezone.now()
    entries = []
    for post in rows:
        at = getattr(post, time_field)
        # A writer cannot open someone else's post in the admin, only its public page.
        if workflow.can_see(user, post):
            url = reverse("admin:posts_post_change", args=[post.pk])
        else:
            url = post.get_absolute_url()
        entries.append(Entry(post, url, at, relative_time(at, now), post.get_absolute_url() if on_site else ""))
    more_url = f"{reverse('admin:posts_post_changelist')}?{urlencode(list_filters)}"
    return Section(key, title, time_label, entries, total, more_url, empty, show_author)


def sections(user):
    """The desk's lists of posts for `user`: their drafts, the posts in review and the
    scheduled ones (everyone's for an editor, their own for a writer) and the latest
    published, which readers see anyway; none for staff who may not see posts."""
    if not workflow.can_see(user, None):
        return []
    editor = workflow.can_publish(user)
    posts = Post.objects.select_related("author").only(*LISTED_FIELDS)
    mine = posts.filter(author=user)
    theirs = posts if editor else mine
    return [
        _section(
            user, "drafts", mine.filter(status=Post.Status.DRAFT).order_by("-updated_at", "-pk"),
            title=_("My drafts"), time_field="updated_at", time_label=_("Edited"),
            list_filters={"publication": Post.Publication.DRAFT.value, "author__id__exact": user.pk},
            empty=_("No drafts. A new post starts as one."), show_author=False,
        ),
        _section(
            # Longest waiting first: the queue an editor works through.
            user, "review", theirs.filter(status=Post.Status.REVIEW).order_by("updated_at", "pk"),
            title=_("In review") if editor else _("My posts in review"), time_field="updated_at", time_label=_("Edited"),
            list_filters={"publication": Post.Publication.REVIEW.value},
            empty=_("Nothing waits for review."), show_author=editor,
        ),
        _section(
            user, "scheduled", theirs.scheduled().order_by("published_at", "pk"),
            title=_("Scheduled"), time_field="published_at", time_label=_("Publishes"),
            list_filters={"publication": Post.Publication.SCHEDULED.value},
            empty=_("No post is scheduled."), show_author=editor,
        ),
        _section(
            user, "published", posts.published().order_by("-published_at", "-pk"),
            title=_("Recently published"), time_field="published_at", time_label=_("Published"),
            list_filters={"publication": Post.Publication.LIVE.value},
            empty=_("Nothing has been published yet."), show_author=True, on_site=True,
        ),
    ]  # fmt: skip


@dataclass
class Period:
    days: int
    clicks: int
    views: int

    @property
    def per_thousand(self):
        """Clicks per 1,000 views, as the click dashboard shows it."""
        return f"{1000 * self.clicks / self.views:.1f}" if self.views else "–"

    @property
    def url(self):
        return f"{reverse('admin:posts_clickcount_changelist')}?days={self.days}"


def click_summary():
    """Clicks and views of the last 7 and 30 days, and the posts clicked most in the
    30: three queries, on the counts per day (posts/clicks.py)."""
    today = timezone.localdate()
    starts = {days: today - timedelta(days=days - 1) for days in PERIODS}
    longest = min(starts.values())

    def totals(model):
        rows = model.objects.filter(day__range=(longest, today))
        return rows.aggregate(**{f"d{days}": Sum("count", filter=Q(day__gte=start)) for days, start in starts.items()})

    clicks, views = totals(ClickCount), totals(ViewCount)
    top = (
        ClickCount.objects.filter(day__range=(longest, today))
        .values("post", "post__title")
        .annotate(total=Sum("count"))
        .order_by("-total", "post")[:TOP_POSTS]
    )
    return {
        "periods": [Period(days, clicks[f"d{days}"] or 0, views[f"d{days}"] or 0) for days in PERIODS],
        "top_posts": [
            {
                "title": row["post__title"],
                "clicks": row["total"],
                "url": reverse("admin:posts_post_change", args=[row["post"]]),
            }
            for row in top
        ],
        "top_days": max(PERIODS),
        "url": reverse("admin:posts_clickcount_changelist"),
    }


def desk(user):
    """What templates/admin/index.html shows `user` besides the app list."""
    return {
        "desk_sections": sections(user),
        "desk_add_url": reverse("admin:posts_post_add") if user.has_perm("posts.add_post") else "",
        "desk_clicks": click_summary() if user.has_perm("posts.view_clickcount") else None,
    }
