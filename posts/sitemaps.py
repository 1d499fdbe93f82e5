"""The sitemap: one urlset while it fits in a file, an index of section pages past that."""

from django.conf import settings
from django.contrib.sitemaps import Sitemap, views
from django.db.models import Max, OuterRef, Subquery
from django.urls import reverse
from django.utils.functional import cached_property

from .models import Category, Post, Tag


class KijiSitemap(Sitemap):
    @property
    def limit(self):
        return settings.KIJI_SITEMAP_LIMIT

    @cached_property
    def paginator(self):
        # Django builds a new paginator, and counts again, each time it is asked;
        # once per request is enough for the urlset/index switch and the page.
        return super().paginator


class StaticSitemap(KijiSitemap):
    def items(self):
        return ["posts:home", "posts:list", "posts:archives", "posts:categories", "posts:tags"]

    def location(self, name):
        return reverse(name)


class PostSitemap(KijiSitemap):
    def items(self):
        return Post.objects.published().only("slug", "updated_at")

    def lastmod(self, post):
        return post.updated_at

    def get_latest_lastmod(self):
        return self.items().aggregate(latest=Max("updated_at"))["latest"]


class CategorySitemap(KijiSitemap):
    """Categories with at least one published post, last modified when the newest of them was."""

    model = Category
    post_field = "categories"

    def items(self):
        newest = (
            Post.objects.published()
            .filter(**{self.post_field: OuterRef("pk")})
            .order_by("-updated_at")
            .values("updated_at")[:1]
        )
        return (
            self.model.objects.annotate(lastmod=Subquery(newest))
            .filter(lastmod__isnull=False)
            .only("slug")
        )

    def lastmod(self, term):
        return term.lastmod

    def get_latest_lastmod(self):
        return self.items().aggregate(latest=Max("lastmod"))["latest"]


class TagSitemap(CategorySitemap):
    """Tags with at least one published post, last modified when the newest of them was."""

    model = Tag
    post_field = "tags"


SECTIONS = {
    "static": StaticSitemap,
    "posts": PostSitemap,
    "categories": CategorySitemap,
    "tags": TagSitemap,
}


def sitemap(request):
    """/sitemap.xml: every URL while they fit in one file, else an index of section pages."""
    sections = {name: section() for name, section in SECTIONS.items()}
    if sum(section.paginator.count for section in sections.values()) <= settings.KIJI_SITEMAP_LIMIT:
        return views.sitemap(request, sections)
    return views.index(request, sections, sitemap_url_name="posts:sitemap_section")


def sitemap_section(request, section):
    """/sitemap-<section>.xml?p=N: one page of one section, as the index lists them."""
    return views.sitemap(request, SECTIONS, section=section)
