"""What a change to content affects, worked out when it happens.

Every way content changes through the ORM (the admin, actions, imports, the API, a
shell) sends signals; the receivers here bump the page versions the change affects
(posts/pagecache/versions.py), in the change's transaction, and note posts whose
related lists may move (posts/related.py). Bulk writes send no signals: code that
changes content with `bulk_create`, `update()` or raw SQL calls `post_links_changed`
or `versions.bump` itself (the importer and the term tools do).
"""

import bisect
import threading
from contextlib import contextmanager

from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save
from django.utils import timezone

from . import related, renditions
from .pagecache.versions import LIST, SITE, bump, neighbour_ids, post_tag, term_tag

# A save that changes only these leaves other posts' pages as they are.
_OWN_FIELDS = {"body", "body_html", "summary_boxes_at", "toc", "body_text", "word_count", "reading_time", "faq"}
# What a post shows on other pages (lists, neighbours' links, related cards).
_SHOWN_FIELDS = ("title", "slug", "status", "published_at", "expires_at", "cover", "summary", "description")


def _state(pk):
    """What other pages show of a saved post, and where it stood among the others."""
    from .models import Post

    row = Post.objects.filter(pk=pk).values(*_SHOWN_FIELDS).first()
    if row is None:
        return None
    return row, neighbour_ids(row["published_at"], pk)


def _terms_of(post):
    from .models import Post

    tags = set()
    for through, kind in ((Post.categories.through, "category"), (Post.tags.through, "tag")):
        tags |= {f"{kind}:{pk}" for pk in through.objects.filter(post=post.pk).values_list(f"{kind}_id", flat=True)}
    return tags


def _listers(pk):
    """Pages that show `pk` among their related posts."""
    from .models import RelatedPost

    return {post_tag(lister) for lister in RelatedPost.objects.filter(related=pk).values_list("post", flat=True)}


_batch = threading.local()


@contextmanager
def batch():
    """Look at the posts changed inside together, once, when it ends: an import of
    2,000 posts then costs one pass over their neighbours, terms and related lists
    and one bump, not 2,000 of each. Ends even on Ctrl-C, so the posts an interrupted
    import finished are not left out of date."""
    if getattr(_batch, "posts", None) is not None:
        yield
        return
    _batch.posts, _batch.moved_from = set(), []
    try:
        with related.batch():
            yield
    finally:
        posts, moved_from = _batch.posts, _batch.moved_from
        _batch.posts = _batch.moved_from = None
        if posts:
            with transaction.atomic():
                _bump_batch(posts, moved_from)


def _bump_batch(posts, moved_from):
    from .models import Post

    tags = {LIST, *map(post_tag, posts)}
    for through, kind in ((Post.categories.through, "category"), (Post.tags.through, "tag")):
        tags |= {f"{kind}:{pk}" for pk in through.objects.filter(post__in=posts).values_list(f"{kind}_id", flat=True)}
    for pk in posts:
        tags |= _listers(pk) if len(posts) < 50 else set()
    if len(posts) >= 50:  # in one query, for many
        from .models import RelatedPost

        tags |= {post_tag(pk) for pk in RelatedPost.objects.filter(related__in=posts).values_list("post", flat=True)}
    # Neighbours from one ordered pass over the live posts: where each changed post
    # stands now, and where those that moved stood before.
    live = list(Post.objects.published().order_by("published_at", "pk").values_list("published_at", "pk"))
    positions = {pk: (at, pk) for at, pk in live}
    for place in [positions[pk] for pk in posts if pk in positions] + moved_from:
        index = bisect.bisect_left(live, place)
        for neighbour in live[max(index - 1, 0) : index + 2]:
            tags.add(post_tag(neighbour[1]))
    related.queue(posts)
    bump(tags)


def post_saving(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    if getattr(_batch, "posts", None) is not None:
        from .models import Post

        before = Post.objects.filter(pk=instance.pk).values_list("published_at", flat=True).first()
        if before and before != instance.published_at:
            _batch.moved_from.append((before, instance.pk))
        return
    if update_fields is not None and set(update_fields) <= _OWN_FIELDS | {"summary"}:
        return
    instance._kiji_before = _state(instance.pk)


def post_saved(sender, instance, created=False, raw=False, update_fields=None, **kwargs):
    if raw:
        return
    if getattr(_batch, "posts", None) is not None:
        _batch.posts.add(instance.pk)
        if instance.cover and not renditions.current(instance):
            _make_renditions_after_commit(instance.cover.name)
        _when_due(instance)
        return
    tags = {post_tag(instance.pk), LIST} | _terms_of(instance)
    before = getattr(instance, "_kiji_before", None)
    instance._kiji_before = None
    rendered_only = update_fields is not None and set(update_fields) <= _OWN_FIELDS | {"summary"}
    if not rendered_only:
        shown = {name: getattr(instance, name) for name in _SHOWN_FIELDS}
        shown["cover"] = instance.cover.name if instance.cover else ""
        old, old_neighbours = before or ({}, ())
        if old:
            old = {**old, "cover": old["cover"] or ""}
        if created or old != shown:
            tags |= {post_tag(pk) for pk in (*old_neighbours, *neighbour_ids(instance.published_at, instance.pk)) if pk}
            tags |= _listers(instance.pk)
        if shown["cover"] and shown["cover"] != old.get("cover") and not renditions.current(instance):
            _make_renditions_after_commit(shown["cover"])
        if created or old.get("published_at") != shown["published_at"] or old.get("expires_at") != shown["expires_at"]:
            _when_due(instance)
        related.queue([instance.pk])
    bump(tags)


def post_changed_by_time(post):
    """What a post that appeared or went by itself (its time came) changed."""
    bump(
        {post_tag(post.pk), LIST}
        | _terms_of(post)
        | _listers(post.pk)
        | {post_tag(pk) for pk in neighbour_ids(post.published_at, post.pk) if pk}
    )


def _when_due(post):
    """Queue `publication_due` for the post's future publish and expiry times, where the
    task queue can run a task later (the database queue can)."""
    from django_tasks import default_task_backend

    from .tasks import publication_due

    now = timezone.now()
    times = [at for at in (post.published_at, post.expires_at) if at and at > now]
    if post.publication not in (post.Publication.LIVE, post.Publication.SCHEDULED) or not times or not default_task_backend.supports_defer:
        return
    for at in times:
        transaction.on_commit(lambda at=at: publication_due.using(run_after=at).enqueue(post.pk))


def _make_renditions_after_commit(name):
    from django.db import transaction

    from .tasks import make_renditions

    transaction.on_commit(lambda: make_renditions.enqueue(name))


def post_deleting(sender, instance, **kwargs):
    instance._kiji_gone = (
        {post_tag(instance.pk), LIST}
        | _terms_of(instance)
        | _listers(instance.pk)
        | {post_tag(pk) for pk in neighbour_ids(instance.published_at, instance.pk) if pk}
    )
    # The posts that listed it lose a related post: their lists are scored again.
    related.queue([int(tag.split(":")[1]) for tag in _listers(instance.pk)])


def post_deleted(sender, instance, **kwargs):
    bump(getattr(instance, "_kiji_gone", {post_tag(instance.pk), LIST}))


def post_links_changed(post_id, term_tags):
    """A post's categories or tags changed (`term_tags` as `category:3`)."""
    if getattr(_batch, "posts", None) is not None:
        _batch.posts.add(post_id)  # its terms are read when the batch ends
        return
    bump({post_tag(post_id), *term_tags})
    related.queue([post_id])


def _links_changed(sender, instance, action, model, pk_set, reverse=False, **kwargs):
    from .models import Post

    kind = model._meta.model_name if not reverse else None
    if action == "pre_clear":
        instance._kiji_cleared = _terms_of(instance) if not reverse else {post_tag(pk) for pk in instance.posts.values_list("pk", flat=True)}
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    if reverse:  # term.posts.add(…): `instance` is the term, `pk_set` posts
        posts = set(pk_set or ()) | {int(tag.split(":")[1]) for tag in getattr(instance, "_kiji_cleared", set())}
        bump({term_tag(instance), *(post_tag(pk) for pk in posts)})
        related.queue(posts)
        return
    tags = {f"{kind}:{pk}" for pk in pk_set or ()} | getattr(instance, "_kiji_cleared", set())
    if isinstance(instance, Post):
        post_links_changed(instance.pk, tags)


def term_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        bump({term_tag(instance), LIST})


def term_deleting(sender, instance, **kwargs):
    posts = list(instance.posts.values_list("pk", flat=True))
    instance._kiji_gone = {term_tag(instance), LIST, *(post_tag(pk) for pk in posts)}
    related.queue(posts)


def term_deleted(sender, instance, **kwargs):
    bump(getattr(instance, "_kiji_gone", {term_tag(instance), LIST}))


def box_changed(sender, instance, raw=False, **kwargs):
    if not raw:
        bump({post_tag(instance.post_id)})


def product_saving(sender, instance, raw=False, **kwargs):
    if not raw and instance.pk:
        instance._kiji_slug_before = type(instance).objects.filter(pk=instance.pk).values_list("slug", flat=True).first()


def _product_pages(product, *slugs):
    from .affiliate import posts_using

    boxes = product.boxes.values_list("post_id", flat=True) if product.pk else []
    return {post_tag(pk) for pk in {*boxes, *posts_using(*slugs)}}


def product_saved(sender, instance, raw=False, **kwargs):
    """A product shows on every page that places it: by a box or by a marker under its
    slug, the old one too when it was renamed (those boxes now show nothing)."""
    if not raw:
        bump(_product_pages(instance, instance.slug, getattr(instance, "_kiji_slug_before", None)))


def product_deleting(sender, instance, **kwargs):
    # Its boxes lose it by SET_NULL, an UPDATE that sends no signals: noted now.
    instance._kiji_gone = _product_pages(instance, instance.slug)


def product_deleted(sender, instance, **kwargs):
    bump(getattr(instance, "_kiji_gone", set()))


def settings_changed(sender, raw=False, **kwargs):
    if not raw:
        bump({SITE})


def connect():
    """Connect the receivers (PostsConfig.ready)."""
    from .models import AffiliateBox, AffiliateSettings, Category, Post, Product, SiteSettings, Tag

    def on(signal, receiver, sender):
        signal.connect(receiver, sender=sender, dispatch_uid=f"kiji-{receiver.__name__}-{sender.__name__}")

    on(pre_save, post_saving, Post)
    on(post_save, post_saved, Post)
    on(pre_delete, post_deleting, Post)
    on(post_delete, post_deleted, Post)
    for through in (Post.categories.through, Post.tags.through):
        on(m2m_changed, _links_changed, through)
    for model in (Category, Tag):
        on(post_save, term_saved, model)
        on(pre_delete, term_deleting, model)
        on(post_delete, term_deleted, model)
    on(post_save, box_changed, AffiliateBox)
    on(post_delete, box_changed, AffiliateBox)
    on(pre_save, product_saving, Product)
    on(post_save, product_saved, Product)
    on(pre_delete, product_deleting, Product)
    on(post_delete, product_deleted, Product)
    for model in (AffiliateSettings, SiteSettings):
        on(post_save, settings_changed, model)
        on(post_delete, settings_changed, model)
