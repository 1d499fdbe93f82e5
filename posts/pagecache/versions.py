"""Versions of what readers' pages depend on, shared by every process through the
database.

A page depends on tags: `site` (settings), `list` (home, lists, feeds, sitemap,
search), `post:<id>` (an article) and `category:<id>` / `tag:<id>` (a term's pages).
A change bumps the tags it affects in the change's own transaction (`bump`), so the new
versions become visible exactly when the change does, whichever process, machine or
command made it, and whatever cache (or none) is configured. Each process reads the
versions that moved since it last looked (`current`: one indexed query, at most every
KIJI_CACHE_VERSION_TRUST seconds) and keeps them in memory.

Time changes pages too: a scheduled post appears, an expiring one goes. Those are not
writes, so each process also knows the scheduled events around now (`Snapshot.events`)
and treats a page made before an event's time as stale once that time has passed.
"""

import logging
import math
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q
from django.utils import timezone

logger = logging.getLogger(__name__)

SITE, LIST = "site", "list"
# Scheduled events are looked up this far ahead; a post scheduled later is found on a
# later look (at the latest EVENTS_MAX_AGE seconds on).
EVENTS_AHEAD = timedelta(hours=1)
EVENTS_MAX_AGE = 30


def post_tag(pk):
    return f"post:{pk}"


def term_tag(term):
    return f"{term._meta.model_name}:{term.pk}"


_collecting = threading.local()


def bump(tags, using=None):
    """Give `tags` a new version, in the current transaction: readers see it when the
    change it belongs to commits. Once committed, the CDN purge hook hears of it.
    Inside `collecting()`, the tags wait for its end and are bumped together."""
    tags = set(tags)
    if not tags:
        return
    pending = getattr(_collecting, "tags", None)
    if pending is not None:
        pending |= tags
        return
    _bump(sorted(tags), using)


@contextmanager
def collecting():
    """Bump every tag that the changes inside bump, once, at the end (the importer
    saves a post, its terms and boxes in one go; each would bump on its own)."""
    if getattr(_collecting, "tags", None) is not None:
        yield  # already collecting: the outer block bumps
        return
    _collecting.tags = set()
    try:
        yield
        tags = _collecting.tags
    finally:
        _collecting.tags = None
    if tags:
        _bump(sorted(tags), None)


def _bump(tags, using):
    from django.db import connections

    from ..models import CacheTag, ContentVersion

    with transaction.atomic(using=using):
        # The counter row's lock orders concurrent bumps as their transactions commit,
        # so a reader that saw version N has seen every change numbered below it.
        connection = connections[using or "default"]
        table = connection.ops.quote_name(ContentVersion._meta.db_table)
        with connection.cursor() as cursor:
            # One statement on PostgreSQL and SQLite 3.35+: take the lock and the value.
            cursor.execute(f"UPDATE {table} SET value = value + 1 WHERE id = 1 RETURNING value")
            row = cursor.fetchone()
        if row is None:  # the row is made by a migration; a flushed database lacks it
            ContentVersion.objects.using(using).get_or_create(pk=1, defaults={"value": 1})
            row = (ContentVersion.objects.using(using).values_list("value", flat=True).get(pk=1),)
        CacheTag.objects.using(using).bulk_create(
            [CacheTag(tag=tag, version=row[0]) for tag in tags],
            update_conflicts=True,
            unique_fields=["tag"],
            update_fields=["version"],
        )
        from ..pages import note_changed  # pages imports this module

        note_changed(tags)
    # This process reads the new versions on its next look, whatever the trust says;
    # other processes within KIJI_CACHE_VERSION_TRUST seconds.
    _snapshot.read_at = -math.inf
    from .purge import changed  # purge imports the tasks, which import the models

    transaction.on_commit(lambda: changed(tags), using=using)


class Snapshot:
    """One process's view of the versions, refreshed at most every TRUST seconds."""

    def __init__(self):
        self._lock = threading.Lock()
        self.versions = {}  # replaced, never changed in place: a request keeps its own
        self.high = 0
        self.read_at = -math.inf
        self.events = ()  # ((time as a timestamp, frozenset of tags), ...)
        self.next_change = math.inf  # when the next scheduled event happens, from any horizon
        self._events_read_at = -math.inf  # Django's clock, which tests may move
        self._events_dirty = True
        self._failing_since = None
        self.memo = {}  # what callers keep per version (site settings, see SingletonModel)

    def current(self, fresh=False):
        trust = 0 if fresh else settings.KIJI_CACHE_VERSION_TRUST
        now = timezone.now().timestamp()
        if time.monotonic() - self.read_at >= trust or now >= min(self.next_change, self._events_read_at + EVENTS_MAX_AGE):
            with self._lock:
                if time.monotonic() - self.read_at >= trust or now >= min(self.next_change, self._events_read_at + EVENTS_MAX_AGE):
                    self._refresh()
        return self

    def version(self, tag):
        return self.versions.get(tag, 0)

    def kept(self, key, tag, make, scheduled=False, found_only=False):
        """`make()`, kept in this process for as long as `tag`'s version holds (and,
        if `scheduled`, until the next scheduled publication or expiry: what time alone
        changes, such as a list's count). Site settings, counts, shared page parts.
        With `found_only`, a None is not kept: for what a request names (a term's slug),
        so that requests for what does not exist cannot fill the memo."""
        version, now = self.version(tag), timezone.now().timestamp()
        known = self.memo.get(key)  # (version, value, good until)
        if known is None or known[0] != version or now >= known[2]:
            known = (version, make(), self.next_change if scheduled else math.inf)
            if known[1] is None and found_only:
                self.memo.pop(key, None)
                return None
            self.memo[key] = known
        return known[1]

    def stale(self, versions, rendered_at, now):
        """Whether a page made at `rendered_at` with `versions` ({tag: version}) is out
        of date at `now` (timestamps)."""
        # Loops rather than any() over generators, which cost a list page's or search
        # page's ten stored cards or heads a tenth of a millisecond.
        current = self.versions
        for tag, version in versions.items():
            if current.get(tag, 0) != version:
                return True
        for at, tags in self.events:
            if rendered_at < at <= now and not tags.isdisjoint(versions):
                return True
        return False

    def _refresh(self):
        from ..models import CacheTag, ContentVersion

        try:
            newest = ContentVersion.objects.filter(pk=1).values_list("value", flat=True).first() or 0
            if newest < self.high:  # the database was restored or rolled back: start over
                self.versions, self.high = {}, 0
            if newest > self.high or not self.versions:
                rows = list(CacheTag.objects.filter(version__gt=self.high).values_list("tag", "version"))
                if rows:
                    self.versions = {**self.versions, **dict(rows)}
                    self.high = max(self.high, newest, *(version for _tag, version in rows))
                    self._events_dirty = True
            now = timezone.now()
            if self._events_dirty or now.timestamp() >= min(self.next_change, self._events_read_at + EVENTS_MAX_AGE):
                self.events, self.next_change = scheduled_events(now), next_change(now)
                self._events_read_at, self._events_dirty = now.timestamp(), False
            self._failing_since = None
        except DatabaseError as error:
            # Keep what is known: cached pages may be a little late, but readers get pages.
            if self._failing_since is None:
                self._failing_since = time.monotonic()
                logger.warning("cannot read page versions (%s); using the last ones known", error)
        self.read_at = time.monotonic()


def scheduled_events(now=None):
    """((timestamp, tags), …) of the times around now when a post appears or goes by
    itself: from as long ago as a cached page may live to EVENTS_AHEAD from now."""
    from ..models import Post, RelatedPost

    now = now or timezone.now()
    start, end = now - timedelta(seconds=max(settings.KIJI_PAGE_CACHE_SECONDS, 1)), now + EVENTS_AHEAD
    rows = list(
        Post.objects.changing_between(start, end)
        # A post published when it was made needs no event: its save changed the
        # versions. Scheduled posts, imported ones dated ahead and expiries do.
        .exclude(published_at__lte=F("created_at"), expires_at__isnull=True)
        .values_list("pk", "published_at", "expires_at")
        .order_by("published_at")[:200]
    )
    if not rows:
        return ()
    ids = [pk for pk, _published, _expires in rows]
    tags = {pk: {post_tag(pk), LIST} for pk in ids}
    for through, model in ((Post.categories.through, "category"), (Post.tags.through, "tag")):
        for pk, term_id in through.objects.filter(post__in=ids).values_list("post_id", f"{model}_id"):
            tags[pk].add(f"{model}:{term_id}")
    for post_id, related_id in RelatedPost.objects.filter(related__in=ids).values_list("post_id", "related_id"):
        tags[related_id].add(post_tag(post_id))
    events = []
    for pk, published_at, expires_at in rows:
        for at in (published_at, expires_at):
            if at is not None and start < at <= end:
                neighbours = {post_tag(other) for other in neighbour_ids(published_at, pk, at=at) if other}
                events.append((at.timestamp(), frozenset(tags[pk] | neighbours)))
    return tuple(events)


def next_change(now):
    """When the set of posts readers see next changes by itself (a scheduled post
    appears or one expires), as a timestamp; infinity when nothing is pending."""
    from ..models import Post

    moment = Post.objects.next_change(now)
    return moment.timestamp() if moment else math.inf


def neighbour_ids(published_at, pk, at=None):
    """The ids of the posts readers see at time `at` (now by default) just before and
    just after a post published at `published_at`: the articles whose previous and next
    links that post changes when it appears, moves or goes."""
    from ..models import Post, published_q

    live = Post.objects.filter(published_q(at=at)).exclude(pk=pk)
    before = (
        live.filter(Q(published_at__lt=published_at) | Q(published_at=published_at, pk__lt=pk or 0))
        .order_by("-published_at", "-pk")
        .values_list("pk", flat=True)
        .first()
    )
    after = (
        live.filter(Q(published_at__gt=published_at) | Q(published_at=published_at, pk__gt=pk or 0))
        .order_by("published_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    return before, after


_snapshot = Snapshot()


def current(fresh=False):
    """This process's versions, no older than KIJI_CACHE_VERSION_TRUST seconds (or read
    now, when `fresh`: before rendering something to keep)."""
    return _snapshot.current(fresh)


def forget():
    """Start over, as a new process would (tests use this between databases)."""
    global _snapshot
    _snapshot = Snapshot()
