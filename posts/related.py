"""Related posts, computed when content changes and stored, so that no article pays
for scoring on a reader's request.

The score is the old site's Hugo `related` configuration: 100 for each category two
posts share, 80 for each shared tag, 10 for the same year (in the site's time zone);
a post counts from 80. Candidates are published posts, scheduled ones included (an
article shows those from their time on, see PostQuerySet.related_to) and expired ones
left out. Each post keeps its STORED best, more than an article shows, so that one
that is not live yet can be skipped without leaving the list short.

A change records the changed post in RelatedBacklog, in the change's transaction, and
queues `refresh_related` once it commits; the task takes the whole backlog at once, so
an import of 300 posts or a burst of saves costs one pass.
"""

import heapq
import threading
from collections import defaultdict
from contextlib import contextmanager

from django.db import transaction
from django.utils import timezone

from .models import Post, RelatedBacklog, RelatedPost

CATEGORY_WEIGHT = 100
TAG_WEIGHT = 80
SAME_YEAR_WEIGHT = 10
THRESHOLD = 80
STORED = 12
# Changed posts past which the whole site is scored in one pass.
WHOLE_SITE = 5000


_batch = threading.local()


def queue(post_ids):
    """Note that the related lists around `post_ids` may have changed; the task that
    refreshes them runs once the current transaction commits (or, inside `batch()`,
    once the batch ends)."""
    post_ids = {pk for pk in post_ids if pk is not None}
    if not post_ids:
        return
    RelatedBacklog.objects.bulk_create([RelatedBacklog(post_id=pk) for pk in post_ids], ignore_conflicts=True)
    if getattr(_batch, "depth", 0):
        _batch.queued = True
    else:
        _enqueue_after_commit()


@contextmanager
def batch():
    """Refresh related lists once for all the changes made inside (an import of 2,000
    posts queues one task, not 2,000)."""
    _batch.depth = getattr(_batch, "depth", 0) + 1
    try:
        yield
    finally:
        _batch.depth -= 1
        if not _batch.depth and getattr(_batch, "queued", False):
            _batch.queued = False
            _enqueue_after_commit()


def _enqueue_after_commit():
    from .tasks import refresh_related  # tasks import this module

    transaction.on_commit(refresh_related.enqueue)


def refresh():
    """Recompute the lists the backlog says may have changed; the ids of posts whose
    list changed. Safe to run at any time and more than once."""
    with transaction.atomic():  # the backlog rows go with the lists they were for
        changed_ids = list(RelatedBacklog.objects.select_for_update().values_list("post_id", flat=True))
        if not changed_ids:
            return set()
        RelatedBacklog.objects.filter(post_id__in=changed_ids).delete()
        return recompute(affected_by(changed_ids))


def affected_by(post_ids):
    """The posts whose lists a change to `post_ids` may move: those posts, the posts
    that list them now, and the posts that share a category or tag with them."""
    post_ids = set(post_ids)
    listers = RelatedPost.objects.filter(related__in=post_ids).values_list("post", flat=True)
    affected = post_ids | set(listers)
    for through, column in _links():
        terms = through.objects.filter(post__in=post_ids).values(column)
        affected |= set(through.objects.filter(**{f"{column}__in": terms}).values_list("post", flat=True))
    return affected


def recompute(post_ids=None):
    """Score and store the related lists of `post_ids` (every post when None); the
    ids of posts whose stored list changed."""
    if post_ids is not None and len(post_ids) > WHOLE_SITE:
        post_ids = None  # past this many, one pass over every link is the cheaper way
    candidates = {
        pk: (published_at, timezone.localtime(published_at).year)
        for pk, published_at in Post.objects.shown_or_scheduled().values_list("pk", "published_at")
    }
    targets = Post.objects.all() if post_ids is None else Post.objects.filter(pk__in=post_ids)
    targets = dict(targets.values_list("pk", "published_at"))
    terms_of = defaultdict(list)  # post -> [(weight, term key)]
    holders = defaultdict(list)  # term key -> candidate posts
    for (through, column), weight in zip(_links(), (CATEGORY_WEIGHT, TAG_WEIGHT)):
        links = through.objects.all()
        if post_ids is not None:  # the links of the targets' terms only
            links = links.filter(**{f"{column}__in": through.objects.filter(post__in=targets).values(column)})
        for post_id, term_id in links.values_list("post_id", f"{column}_id"):
            key = (column, term_id)
            if post_id in targets:
                terms_of[post_id].append((weight, key))
            if post_id in candidates:
                holders[key].append(post_id)
    lists = {pk: _best(pk, targets[pk], terms_of[pk], holders, candidates) for pk in targets}
    stored = defaultdict(list)
    for link in RelatedPost.objects.filter(post__in=targets).order_by("post", "rank"):
        stored[link.post_id].append((link.related_id, link.score))
    changed = {pk for pk, best in lists.items() if best != stored.get(pk, [])}
    if changed:
        RelatedPost.objects.filter(post__in=changed).delete()
        RelatedPost.objects.bulk_create(
            [
                RelatedPost(post_id=pk, related_id=related, score=score, rank=rank)
                for pk in changed
                for rank, (related, score) in enumerate(lists[pk])
            ],
            batch_size=1000,
        )
    return changed


def _best(pk, published_at, terms, holders, candidates):
    """[(related post, score)] of the STORED best candidates for one post."""
    scores = defaultdict(int)
    for weight, key in terms:
        for other in holders[key]:
            if other != pk:
                scores[other] += weight
    year = timezone.localtime(published_at).year
    ranked = []
    for other, score in scores.items():
        other_at, other_year = candidates[other]
        score += SAME_YEAR_WEIGHT if other_year == year else 0
        if score >= THRESHOLD:
            ranked.append((score, other_at, other))
    return [(other, score) for score, _at, other in heapq.nlargest(STORED, ranked)]


def _links():
    """(through model, term column) for categories and for tags."""
    return [(Post.categories.through, "category"), (Post.tags.through, "tag")]
