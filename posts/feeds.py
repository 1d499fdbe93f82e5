"""RSS 2.0 feeds at Hugo's paths: the site, /posts/, and each category and tag.

Item links and guids are the posts' absolute URLs, as in Hugo's feeds, so that readers
who subscribed to the Hugo site do not see imported posts as new ones.
"""

import re
from urllib.parse import urlsplit

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse_lazy
from django.utils.feedgenerator import Rss201rev2Feed
from django.utils.html import format_html

from . import affiliate
from .models import AffiliateSettings, Category, Post, SiteSettings, Tag
from .pagecache import depends_on, term_tag

FEED_LENGTH = 20
_ROOT_RELATIVE_RE = re.compile(r'((?:href|src)=")/(?!/)')


class AbsoluteLinksFeed(Rss201rev2Feed):
    """RSS 2.0 whose item HTML links with absolute URLs: readers show it away from the site."""

    def add_item(self, title, link, description, **kwargs):
        origin = "{0.scheme}://{0.netloc}/".format(urlsplit(link))
        description = _ROOT_RELATIVE_RE.sub(lambda m: m.group(1) + origin, description or "")
        super().add_item(title, link, description, **kwargs)


class LatestPostsFeed(Feed):
    """The latest published posts of the whole site."""

    feed_type = AbsoluteLinksFeed
    link = reverse_lazy("posts:home")

    def title(self):
        return SiteSettings.load().title

    def description(self):
        return SiteSettings.load().description

    def items(self):
        return _latest(Post.objects.published())

    def item_description(self, post):
        if not SiteSettings.load().feed_full_content:
            return post.summary
        settings = AffiliateSettings.load()
        notice = affiliate.pr_notice(post, settings)
        body = affiliate.compose_body(post, settings, counted=False)
        # The notice leads a full item, as it leads the page: feed readers show it away from the site.
        return (format_html('<p class="post__pr">{}</p>', notice) if notice else "") + body

    def item_pubdate(self, post):
        return post.published_at

    def item_updateddate(self, post):
        return post.updated_at

    def item_categories(self, post):
        names = [term.name for term in [*post.categories.all(), *post.tags.all()]]
        return list(dict.fromkeys(names))  # a category and a tag may share a name


class PostListFeed(LatestPostsFeed):
    """The same posts at /posts/index.xml, where Hugo serves the posts section's feed."""

    link = reverse_lazy("posts:list")


class CategoryFeed(LatestPostsFeed):
    """The latest published posts in one category."""

    model = Category

    def get_object(self, request, slug):
        term = get_object_or_404(self.model, slug=slug)
        depends_on(request, term_tag(term))
        return term

    def title(self, term):
        return f"{term.name} | {SiteSettings.load().title}"

    def description(self, term):
        return term.description or SiteSettings.load().description

    def link(self, term):
        return term.get_absolute_url()

    def items(self, term):
        return _latest(term.posts.published())


class TagFeed(CategoryFeed):
    """The latest published posts with one tag."""

    model = Tag


def _latest(posts):
    """The newest posts, with their categories and tags in two more queries, and, for
    full-content feeds, their boxes and the boxes' products in two more."""
    # body_html is loaded: it is the full content, when the site settings ask for it.
    posts = posts.defer("body", "body_text", "toc", "faq", "page_html").prefetch_related("categories", "tags")
    if SiteSettings.load().feed_full_content:
        posts = posts.prefetch_related("affiliate_boxes__product")
    return posts[:FEED_LENGTH]
