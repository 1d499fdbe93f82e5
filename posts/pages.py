"""Readers' article pages, post cards and the heads of search results, rendered when
content changes and stored with their post, so that a reader's request reads one row
instead of rendering.

A change bumps page versions (pagecache/versions.py); `note_changed` turns the bumped
tags into posts to render again, in the change's transaction, and `refresh` (a task)
renders them with the same view and templates as a live request, for an anonymous
reader. Each stored page keeps the versions it was rendered with: a page that a later
change or a scheduled time made stale is never sent; the view renders it live
instead, until the task has stored the new one. Absolute URLs (canonical, sharing,
structured data) are rendered for ORIGIN and given the request's origin when sent.
"""

import logging

from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from .models import Post, RenderBacklog
from .pagecache import versions

logger = logging.getLogger(__name__)

ORIGIN = "https://kiji.invalid"
# Changes that touch more posts than this render them all in one pass, in order.
EVERY_POST = 0
BATCH = 100


def note_changed(tags):
    """Posts whose stored pages `tags` affect go in the backlog, and the task that
    renders them runs once the transaction commits."""
    posts, everything = set(), False
    for tag in tags:
        kind, _, pk = tag.partition(":")
        if tag == versions.SITE:
            everything = True
        elif kind == "post" and pk.isdigit():
            posts.add(int(pk))
        elif kind in ("category", "tag") and pk.isdigit():
            through = Post.categories.through if kind == "category" else Post.tags.through
            posts |= set(through.objects.filter(**{f"{kind}_id": int(pk)}).values_list("post_id", flat=True))
    rows = [RenderBacklog(post_id=EVERY_POST)] if everything else [RenderBacklog(post_id=pk) for pk in posts]
    if not rows:
        return
    RenderBacklog.objects.bulk_create(rows, ignore_conflicts=True, batch_size=1000)
    from .tasks import render_pages  # tasks import this module

    transaction.on_commit(render_pages.enqueue)


def refresh():
    """Render and store the pages the backlog names; how many. Safe to run at any time
    and more than once: a change made meanwhile puts its posts back in the backlog."""
    with transaction.atomic():
        ids = set(RenderBacklog.objects.select_for_update().values_list("post_id", flat=True))
        RenderBacklog.objects.filter(post_id__in=ids).delete()
    if EVERY_POST in ids:
        ids = set(Post.objects.values_list("pk", flat=True))
    done = 0
    ordered = sorted(ids)
    try:
        for start in range(0, len(ordered), BATCH):
            for post in _article_posts(ordered[start : start + BATCH]):
                store(post)
                done += 1
    except BaseException:
        # A page that cannot be rendered (a template broken by an upgrade half done,
        # the database gone) leaves its posts and every one after it in the backlog,
        # for the next run: readers get those pages rendered live meanwhile.
        left = [RenderBacklog(post_id=pk) for pk in ordered[done:]]
        RenderBacklog.objects.bulk_create(left, ignore_conflicts=True, batch_size=1000)
        raise
    return done


# The templates of the stored card (`card_html`) and search result head (`result_html`).
CARD = "posts/_post_card.html"
RESULT_HEAD = "posts/_search_result_head.html"


def store(post):
    """Render `post`'s page, card and search result head as readers see them and keep
    them on the post. Drafts and other posts readers cannot see keep nothing."""
    if not post.is_published:
        Post.objects.filter(pk=post.pk).update(page_html="", card_html="", result_html="", rendered={})
        return
    snapshot = versions.current(fresh=True)  # before reading anything it will show
    seen, at = snapshot.versions, timezone.now().timestamp()
    from .views import article_response

    request = reader_request(post.get_absolute_url())
    page = article_response(request, post).content.decode()
    card = render_to_string(CARD, {"post": post}, request)
    head = render_to_string(RESULT_HEAD, {"post": post}, request)
    tags = {versions.SITE, *request._kiji_tags}
    rendered = {"versions": {tag: seen.get(tag, 0) for tag in tags}, "at": at}
    Post.objects.filter(pk=post.pk).update(page_html=page, card_html=card, result_html=head, rendered=rendered)


class _ReaderRequest(HttpRequest):
    """A GET by an anonymous reader of ORIGIN, for rendering outside a request."""

    def __init__(self, path):
        from django.contrib.auth.models import AnonymousUser

        super().__init__()
        self.method = "GET"
        self.path = self.path_info = path
        self.user = AnonymousUser()
        self._kiji_tags = set()

    def _get_scheme(self):
        return "https"

    def get_host(self):
        return ORIGIN.split("://", 1)[1]


def reader_request(path):
    return _ReaderRequest(path)


def fresh(rendered, now=None, snapshot=None):
    """Whether a stored page and card, rendered as `rendered` says, are current (as
    `snapshot`, this process's versions, says: read now if not given)."""
    rendered = rendered or {}
    if not rendered.get("versions"):
        return False
    now = now if now is not None else timezone.now().timestamp()
    return not (snapshot or versions.current()).stale(rendered["versions"], rendered["at"], now)


def for_readers(request):
    """Whether `request` may be answered with stored pages: a reader's, not staff's
    (who are signed in and see each change as it is saved)."""
    from django.conf import settings

    return settings.SESSION_COOKIE_NAME not in request.COOKIES


def for_origin(html, request):
    """Stored HTML with the request's scheme and host in its absolute URLs."""
    origin = f"{request.scheme}://{request.get_host()}"
    if origin == ORIGIN:
        return html
    from urllib.parse import quote

    return html.replace(ORIGIN, origin).replace(quote(ORIGIN, safe=""), quote(origin, safe=""))


def _article_posts(ids):
    from .views import article_queryset

    return article_queryset().filter(pk__in=ids).order_by("pk")


def cards(request, rows):
    """The cards of `rows` ((pk, stored card, rendered) in list order) as lists show
    them: stored, or, for staff and while out of date, rendered now (their posts read
    in two queries for the whole page)."""
    shown = as_readers_see(request, rows, CARD)
    return [shown[pk] for pk, _card, _rendered in rows if pk in shown]


def as_readers_see(request, rows, template):
    """{pk: HTML} for `rows` ((pk, what `template` stored, rendered)): the stored HTML,
    or, for staff and while out of date, `template` rendered now. A post deleted since
    the rows were read has none."""
    from django.utils.safestring import mark_safe

    readers, now, snapshot = for_readers(request), timezone.now().timestamp(), versions.current()
    # Rendered by this same template when stored, escaped there.
    shown = {pk: mark_safe(html) for pk, html, rendered in rows if readers and html and fresh(rendered, now, snapshot)}
    missing = [pk for pk, _html, _rendered in rows if pk not in shown]
    if missing:
        for post in Post.objects.for_list().filter(pk__in=missing):
            shown[post.pk] = render_to_string(template, {"post": post}, request)
    return shown
