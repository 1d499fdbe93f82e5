from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import DEFAULT_DB_ALIAS
from django.db.models import Exists, OuterRef, Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.cache import never_cache

from . import pages
from . import search as site_search
from .compiled import Compiled
from .models import AffiliateBox, Category, Post, Tag
from .pagecache import LIST, depends_on, post_tag, term_tag, versions


# A list's rows: each post's stored card, and what it was rendered with (pages.cards).
CARD = ("pk", "card_html", "rendered")
_SLICE = ("start", "stop")
_EVERY_POST = Compiled(
    lambda now, start, stop: Post.objects.published(at=now).values_list(*CARD)[start:stop], static=_SLICE
)


def _term_rows(field):
    """(through its posts, through the newest posts): two ways to read a page of a
    term's list. The first joins the term's posts and sorts them, reading each one's
    row; the second walks the publication index, newest first, and checks each post's
    term, reading the rows of the page's posts only. A term with hundreds of posts took
    47 ms the first way on SQLite (each row read past its body), 1 ms the second."""
    through = Post._meta.get_field(field).remote_field.through
    column = f"{Post._meta.get_field(field).m2m_reverse_field_name()}_id"
    joined = Compiled(
        lambda now, term_id, start, stop: (
            Post.objects.published(at=now).filter(**{field: term_id}).values_list(*CARD)[start:stop]
        ),
        static=_SLICE,
    )
    walked = Compiled(
        lambda now, term_id, start, stop: (
            Post.objects.published(at=now)
            .filter(Exists(through.objects.filter(post=OuterRef("pk"), **{column: term_id})))
            .values_list(*CARD)[start:stop]
        ),
        static=_SLICE,
    )
    return joined, walked


_TERM_ROWS = {Category: _term_rows("categories"), Tag: _term_rows("tags")}
# What reading a post's row costs beside reading an index entry (SQLite, posts of some
# 100 kB): which of the two ways reads a page of a term's list.
ROW_COST = 50
_TERMS = {
    model: Compiled(
        lambda slug, model=model: model.objects.filter(slug=slug).order_by().values_list(
            *[field.attname for field in model._meta.concrete_fields]
        )[:1]
    )
    for model in (Category, Tag)
}
_STORED_PAGE = Compiled(
    lambda slug, now: Post.objects.published(at=now).filter(slug=slug).order_by().values_list("pk", "page_html", "rendered")[:1]
)


class _ListPaginator(Paginator):
    """Pages of a list of cards: `rows(start, stop)` reads a page's rows, `count()`
    counts them, once per version of the tag the list depends on: its count changes
    only with a change that bumps that tag, or when a scheduled post that carries it
    appears (pagecache/versions.py)."""

    def __init__(self, rows, count, path, tag):
        super().__init__((), settings.KIJI_POSTS_PER_PAGE, allow_empty_first_page=True)
        self.rows, self._count, self.path, self.tag = rows, count, path, tag

    @cached_property
    def count(self):
        return _counted(("count", self.path), self.tag, self._count)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        return self._get_page(self.rows(bottom, top) if top > bottom else [], number, self)


def _counted(key, tag, count):
    """`count()`, kept while `tag`'s version holds and no scheduled post appears."""
    return versions.current().kept(key, tag, count, scheduled=True)


def _post_list(request, template, base_path, page, rows, count, tag=LIST, **context):
    if page == 1 and request.resolver_match.kwargs.get("page"):
        return redirect(base_path, permanent=True)  # Hugo serves /page/1/ as an alias
    try:
        page_obj = _ListPaginator(rows, count, base_path, tag).page(page)
    except (EmptyPage, PageNotAnInteger):
        raise Http404("No such page")
    return render(
        request,
        template,
        {"page_obj": page_obj, "cards": pages.cards(request, page_obj.object_list), "base_path": base_path, **context},
    )


def _newest_first(request, template, base_path, page):
    now = timezone.now()
    return _post_list(
        request,
        template,
        base_path,
        page,
        lambda start, stop: _EVERY_POST.rows(now=now, start=start, stop=stop),
        lambda: Post.objects.published(at=now).count(),
    )


def home(request, page=1):
    return _newest_first(request, "posts/home.html", reverse("posts:home"), page)


def post_list(request, page=1):
    return _newest_first(request, "posts/post_list.html", reverse("posts:list"), page)


def article_queryset():
    boxes = Prefetch("affiliate_boxes", AffiliateBox.objects.select_related("product__image"))
    return Post.objects.select_related("author").prefetch_related("categories", "tags", boxes)


def article_response(request, post, **context):
    """The article page of `post`, rendered now."""
    if not context.get("is_preview"):
        # Other posts' changes that this page shows (their titles in the previous,
        # next and related links) bump this post's tag too: see changes.py.
        depends_on(request, post_tag(post.pk), *map(term_tag, [*post.categories.all(), *post.tags.all()]))
    previous, following = Post.objects.neighbours(post)
    return render(
        request,
        "posts/post_detail.html",
        {
            "post": post,
            "related": Post.objects.related_to(post),
            "previous": previous,
            "next": following,
            **context,
        },
    )


def post_detail(request, slug):
    """For readers, the stored page when it is current (one row); else, and for staff,
    the page rendered now."""
    row = _STORED_PAGE.first(slug=slug, now=timezone.now())
    if row is None:
        raise Http404("No such post")
    pk, page_html, rendered = row
    if page_html and pages.fresh(rendered) and pages.for_readers(request):
        depends_on(request, *rendered["versions"])
        return HttpResponse(pages.for_origin(page_html, request))
    return article_response(request, get_object_or_404(article_queryset().published(), pk=pk))


def preview(request, pk):
    """Any post, published or not, with the public template (staff only; see admin)."""
    return render_preview(request, get_object_or_404(article_queryset(), pk=pk))


@never_cache
def render_preview(request, post):
    """`post` as readers would see it, marked as a preview and kept out of search engines."""
    response = article_response(request, post, is_preview=True)
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def archives(request):
    """Every published post, grouped by year and month (as PaperMod's archives page)."""
    posts = Post.objects.published().only("title", "slug", "published_at")
    years = []
    for post in posts:
        when = timezone.localtime(post.published_at)
        if not years or years[-1]["year"] != when.year:
            years.append({"year": when.year, "count": 0, "months": []})
        year = years[-1]
        if not year["months"] or year["months"][-1]["month"] != when.month:
            year["months"].append({"month": when.month, "date": when.date(), "posts": []})
        year["count"] += 1
        year["months"][-1]["posts"].append(post)
    return render(request, "posts/archives.html", {"years": years, "total": len(posts)})


def _term_list(request, model):
    terms = model.objects.with_post_counts().filter(post_count__gt=0).order_by("-post_count", "name")
    return render(
        request,
        "posts/term_list.html",
        {"terms": terms, "title": model._meta.verbose_name_plural},
    )


def _term(model, slug):
    """The term with `slug`, or None: kept while no term or post changes (every change
    to a term bumps LIST too), and shared by the requests, which only read it."""

    def read():
        row = _TERMS[model].first(slug=slug)
        return row and model.from_db(DEFAULT_DB_ALIAS, [field.attname for field in model._meta.concrete_fields], row)

    return versions.current().kept(("term", model, slug), LIST, read, found_only=True)


def _term_detail(request, model, slug, page):
    term = _term(model, slug)
    if term is None:
        raise Http404("No such term")
    depends_on(request, term_tag(term))
    now, path = timezone.now(), term.get_absolute_url()
    joined, walked = _TERM_ROWS[model]

    def count():
        return term.posts.published(at=now).count()

    def rows(start, stop):
        # Walking the newest posts reads about stop × (all ÷ the term's) index entries;
        # joining reads the row of each of the term's posts, ROW_COST times as costly.
        total = _counted(("count", "published"), LIST, lambda: Post.objects.published(at=now).count())
        way = walked if stop * total < ROW_COST * _counted(("count", path), term_tag(term), count) ** 2 else joined
        return way.rows(now=now, term_id=term.pk, start=start, stop=stop)

    return _post_list(
        request,
        "posts/term_detail.html",
        path,
        page,
        rows,
        count,
        tag=term_tag(term),
        term=term,
        kind=model._meta.verbose_name,
    )


def category_list(request):
    return _term_list(request, Category)


def category_detail(request, slug, page=1):
    return _term_detail(request, Category, slug, page)


def tag_list(request):
    return _term_list(request, Tag)


def tag_detail(request, slug, page=1):
    return _term_detail(request, Tag, slug, page)


def search(request):
    query = request.GET.get("q", "").strip()
    paginator = site_search.Paginator(query, settings.KIJI_POSTS_PER_PAGE)
    try:
        page_obj = paginator.page(request.GET.get("page", 1))
    except (EmptyPage, PageNotAnInteger):
        raise Http404("No such page")
    return render(
        request,
        "posts/search.html",
        {"query": query, "page_obj": page_obj, "results": site_search.results(request, page_obj.object_list, query)},
    )
