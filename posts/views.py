from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.views.decorators.cache import never_cache

from . import pages
from . import search as site_search
from .models import AffiliateBox, Category, Post, Tag
from .pagecache import LIST, depends_on, post_tag, term_tag, versions


class _CountedPaginator(Paginator):
    """A paginator that counts the list at `path` once per version of the tag it
    depends on: its count changes only with a change that bumps that tag, or when a
    scheduled post that carries it appears (pagecache/versions.py)."""

    def __init__(self, object_list, per_page, path, tag, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.path, self.tag = path, tag

    @cached_property
    def count(self):
        snapshot, now = versions.current(), timezone.now().timestamp()
        version = snapshot.version(self.tag)
        known = snapshot.memo.get(("count", self.path))  # (version, count, good until)
        if known is None or known[0] != version or now >= known[2]:
            known = snapshot.memo[("count", self.path)] = (version, super().count, snapshot.next_change)
        return known[1]


def _paginate(queryset, page, path=None, tag=None):
    paginator = (
        _CountedPaginator(queryset, settings.KIJI_POSTS_PER_PAGE, path, tag, allow_empty_first_page=True)
        if tag
        else Paginator(queryset, settings.KIJI_POSTS_PER_PAGE, allow_empty_first_page=True)
    )
    try:
        return paginator.page(page)
    except (EmptyPage, PageNotAnInteger):
        raise Http404("No such page")


def _post_list(request, template, base_path, page, queryset, tag=LIST, **context):
    if page == 1 and request.resolver_match.kwargs.get("page"):
        return redirect(base_path, permanent=True)  # Hugo serves /page/1/ as an alias
    page_obj = _paginate(queryset.values_list("pk", "card_html", "rendered"), page, base_path, tag)
    return render(
        request,
        template,
        {"page_obj": page_obj, "cards": pages.cards(request, page_obj.object_list), "base_path": base_path, **context},
    )


def home(request, page=1):
    return _post_list(request, "posts/home.html", reverse("posts:home"), page, Post.objects.published())


def post_list(request, page=1):
    return _post_list(
        request, "posts/post_list.html", reverse("posts:list"), page, Post.objects.published()
    )


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
    row = Post.objects.published().filter(slug=slug).values_list("pk", "page_html", "rendered").first()
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


def _term_detail(request, model, slug, page):
    term = get_object_or_404(model, slug=slug)
    depends_on(request, term_tag(term))
    return _post_list(
        request,
        "posts/term_detail.html",
        term.get_absolute_url(),
        page,
        term.posts.published(),
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
    paginator = site_search.Paginator(Post.objects.published().for_list(), query, settings.KIJI_POSTS_PER_PAGE)
    try:
        page_obj = paginator.page(request.GET.get("page", 1))
    except (EmptyPage, PageNotAnInteger):
        raise Http404("No such page")
    return render(
        request,
        "posts/search.html",
        {"query": query, "page_obj": page_obj, "results": site_search.excerpts(page_obj, query)},
    )
