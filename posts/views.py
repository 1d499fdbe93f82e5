from django.conf import settings
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from . import search as site_search
from .models import Category, Post, Tag
from .pagecache import depends_on, post_tag, term_tag


def _paginate(queryset, page):
    paginator = Paginator(queryset, settings.KIJI_POSTS_PER_PAGE, allow_empty_first_page=True)
    try:
        return paginator.page(page)
    except (EmptyPage, PageNotAnInteger):
        raise Http404("No such page")


def _post_list(request, template, base_path, page, queryset, **context):
    if page == 1 and request.resolver_match.kwargs.get("page"):
        return redirect(base_path, permanent=True)  # Hugo serves /page/1/ as an alias
    page_obj = _paginate(queryset.for_list(), page)
    return render(
        request,
        template,
        {"page_obj": page_obj, "posts": page_obj.object_list, "base_path": base_path, **context},
    )


def home(request, page=1):
    return _post_list(request, "posts/home.html", reverse("posts:home"), page, Post.objects.published())


def post_list(request, page=1):
    return _post_list(
        request, "posts/post_list.html", reverse("posts:list"), page, Post.objects.published()
    )


def _article_queryset():
    return Post.objects.select_related("author").prefetch_related(
        "categories", "tags", "affiliate_boxes"
    )


def _article(request, post, **context):
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
    post = get_object_or_404(_article_queryset().published(), slug=slug)
    # Other posts' changes that this page shows (their titles in the previous, next
    # and related links) bump this post's tag too: see changes.py.
    depends_on(request, post_tag(post.pk), *map(term_tag, [*post.categories.all(), *post.tags.all()]))
    return _article(request, post)


def preview(request, pk):
    """Any post, published or not, with the public template (staff only; see admin)."""
    return render_preview(request, get_object_or_404(_article_queryset(), pk=pk))


@never_cache
def render_preview(request, post):
    """`post` as readers would see it, marked as a preview and kept out of search engines."""
    response = _article(request, post, is_preview=True)
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
    posts = site_search.search(Post.objects.published().for_list(), query)
    page_obj = _paginate(posts, request.GET.get("page", 1))
    return render(
        request,
        "posts/search.html",
        {"query": query, "page_obj": page_obj, "results": site_search.excerpts(page_obj, query)},
    )
