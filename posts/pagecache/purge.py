"""Telling a CDN in front of Kiji which pages changed.

Every readers' page carries its tags in `Surrogate-Key` (Fastly, and Varnish with
xkey) and `Cache-Tag` (Cloudflare Enterprise), so a CDN can purge by tag. After each
committed change Kiji sends the `pages_changed` signal and, when the setting
KIJI_CDN_PURGE_HOOK names a function (`"myproject.cdn.purge"`), calls it from the
task queue with the changed tags and the paths they stand for:

    def purge(tags, paths):   # tags: ["list", "post:12"]; paths: ["/", "/posts/x/", …]
        ...

`paths` lists the pages a tag names directly (first pages of lists, feeds, the
article); for `site` it is ["/*"], meaning everything.
"""

from django.conf import settings
from django.dispatch import Signal
from django.urls import reverse

pages_changed = Signal()  # sent with tags=[...] and paths=[...] after a change commits

LIST_PAGES = [
    "posts:home", "posts:list", "posts:feed", "posts:posts_feed", "posts:archives",
    "posts:categories", "posts:tags", "posts:sitemap",
]  # fmt: skip


def changed(tags):
    """Tell the signal's receivers and the configured hook that `tags` changed."""
    hook, listening = settings.KIJI_CDN_PURGE_HOOK, pages_changed.has_listeners()
    if not (hook or listening):
        return  # finding the paths costs queries: only when someone asks
    paths = paths_for(tags)
    if listening:
        pages_changed.send(sender=None, tags=list(tags), paths=paths)
    if hook:
        from ..tasks import purge_cdn

        purge_cdn.enqueue(list(tags), paths)


def paths_for(tags):
    """The URL paths that `tags` stand for."""
    from ..models import Category, Post, Tag

    tags = set(tags)
    if "site" in tags:
        return ["/*"]
    paths = [reverse(name) for name in LIST_PAGES] if "list" in tags else []
    ids = {"post": [], "category": [], "tag": []}
    for tag in tags:
        kind, _, pk = tag.partition(":")
        if kind in ids and pk.isdigit():
            ids[kind].append(int(pk))
    paths += [post.get_absolute_url() for post in Post.objects.filter(pk__in=ids["post"]).only("slug")]
    for model, kind in ((Category, "category"), (Tag, "tag")):
        for term in model.objects.filter(pk__in=ids[kind]).only("slug"):
            paths += term.urls()
    return sorted(set(paths))
