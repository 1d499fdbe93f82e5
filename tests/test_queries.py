"""Each public page costs a fixed number of SQL queries, however many posts, terms,
affiliate boxes and covers there are.

Measured in the steady state: each post's page and card stored by the task that
renders them when content changes (posts/pages.py), every cover's resized copies
made, and this process's page versions read.

    page                                   queries  what they read
    /posts/<slug>/                         1        the stored page
    /posts/<slug>/, rendered now           8        post, categories, tags, boxes; related
      (for staff, or while its stored               posts and their categories; previous; next
      page is out of date)
    /, /page/2/, /posts/, /posts/page/2/   1        the page of posts' cards (the count is
                                                    read once per change to the list)
    /categories/, /tags/                   1        the terms with their post counts
    /categories/<slug>/, /tags/<slug>/,
    and their /page/N/                     1        as a list page (the term is read once per
                                                    change to the terms or posts)
    /archives/                             1        every published post's title, slug, date
    /search/?q=… (and &page=N)             3        how many documents have the words; the
                                                    ranked matches (at most 1,000), unless
                                                    none or too many; the page's posts' text
                                                    and their results' stored heads (the
                                                    unpublished posts are counted once per
                                                    change to the posts). PostgreSQL: 5, as
                                                    the search sets its planner settings
                                                    first and resets them after its ranking
                                                    (search/backends.py)
    /search/ (no query)                    0
    /index.xml, /posts/index.xml           3        posts, their categories, their tags
    /categories/<slug>/index.xml,
    /tags/<slug>/index.xml                 4        the term, then as a site feed
    /sitemap.xml                           6        a count and a page for posts, categories
                                                    and tags (see test_sitemap.py)
    /robots.txt                            0
    404 for an unknown path                1        the redirect table (middleware.py)
    404 for an unknown post or term        2        the post or term, the redirect table

A process that has just started also reads the page versions (the counter, the tags,
the scheduled events, the next scheduled time) and, for pages rendered now, the two
settings rows.
"""

import re

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from posts.models import AffiliateBox
from posts.pagecache import versions
from tests.conftest import image_bytes, make_post

pytestmark = pytest.mark.django_db

ARTICLE = 1
ARTICLE_RENDERED_NOW = 8
LIST = 1
TERM = 1
TERM_LIST = 1
ARTICLE_IN_A_NEW_PROCESS = 5
ARCHIVES = 1
SEARCH = 5 if connection.vendor == "postgresql" else 3  # see test_search
EMPTY_SEARCH = 0
SITE_FEED = 3
TERM_FEED = 4
SITEMAP = 6
ROBOTS = 0
NOT_FOUND = 1
UNKNOWN_POST_OR_TERM = 2

# Every public page, as the docstring lists them; "AI News" and 速報 are on every post.
PAGES = {
    "/": LIST,
    "/page/2/": LIST,
    "/posts/": LIST,
    "/posts/page/2/": LIST,
    "/posts/with-cover/": ARTICLE,
    "/categories/": TERM_LIST,
    "/categories/ai-news/": TERM,
    "/categories/ai-news/page/2/": TERM,
    "/tags/": TERM_LIST,
    "/tags/速報/": TERM,
    "/tags/速報/page/2/": TERM,
    "/archives/": ARCHIVES,
    "/search/?q=要点": SEARCH,
    "/search/?q=要点&page=2": SEARCH,
    "/search/": EMPTY_SEARCH,
    "/index.xml": SITE_FEED,
    "/posts/index.xml": SITE_FEED,
    "/categories/ai-news/index.xml": TERM_FEED,
    "/tags/速報/index.xml": TERM_FEED,
    "/sitemap.xml": SITEMAP,
    "/robots.txt": ROBOTS,
    "/no-such-page/": NOT_FOUND,
    "/posts/no-such-post/": UNKNOWN_POST_OR_TERM,
    "/tags/no-such-tag/": UNKNOWN_POST_OR_TERM,
}


def small_post(**overrides):
    with TestCase.captureOnCommitCallbacks(execute=True):
        post = make_post(tags=["速報"], categories=["AI News"], **overrides)
        post.affiliate_boxes.create(keyword="GPU", placement=AffiliateBox.Placement.SUMMARY)
    return post


def big_post(**overrides):
    with TestCase.captureOnCommitCallbacks(execute=True):
        post = make_post(
            **overrides,
            body="## 3行要約\n\n- 要点。\n\n[本](https://www.amazon.co.jp/dp/B000TEST)\n",
            tags=["速報"] + [f"タグ{number}" for number in range(14)],
            categories=["AI News", "ハードウェア", "研究"],
        )
        for number in range(6):
            post.affiliate_boxes.create(
                keyword=f"キーワード {number}",
                placement=AffiliateBox.Placement.SUMMARY if number % 2 else AffiliateBox.Placement.END,
            )
    return post


def with_cover(post):
    """`post` with a cover and, as once its commit has run, the cover's resized copies."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        post.cover.save("cover.png", ContentFile(image_bytes("PNG", (48, 27))))
    return post


def get(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response


def query_counts(client):
    """{url: SQL queries} for a view of each of PAGES after a first one (which makes
    the covers' copies and fills the settings cache)."""
    counts = {}
    for url in PAGES:
        expected_status = 404 if "no-such" in url else 200
        assert client.get(url).status_code == expected_status, url
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts[url] = len(queries)
    return counts


def test_every_public_page_costs_the_same_queries_with_few_or_many_posts(client, settings, affiliate_settings, media_root):
    settings.KIJI_POSTS_PER_PAGE = 3  # so that a second page exists with few posts
    with_cover(big_post(slug="with-cover"))
    for number in range(3):
        small_post()

    assert query_counts(client) == PAGES

    for number in range(20):
        post = big_post()
        if number % 2:
            with_cover(post)
    assert query_counts(client) == PAGES
    article = get(client, "/posts/with-cover/").content.decode()
    assert article.count('<article class="card">') == 6 and len(re.findall(r'href="/tags/[^"]+"', article)) == 15
    assert get(client, "/page/2/").content.decode().count('<a class="card__cover"') >= 1


@pytest.mark.parametrize("stored", [True, False])
def test_an_article_costs_the_same_queries_with_one_tag_or_fifteen(stored, client, admin_client, affiliate_settings, django_assert_num_queries):
    small, big = small_post(), big_post()
    # Staff see each article rendered now, and their session is read too.
    reader, queries = (client, ARTICLE) if stored else (admin_client, ARTICLE_RENDERED_NOW + 1)
    get(reader, "/")  # the settings and page versions are now read
    get(reader, f"/posts/{small.slug}/")

    with django_assert_num_queries(queries):
        get(reader, f"/posts/{small.slug}/")
    with django_assert_num_queries(queries):
        html = get(reader, f"/posts/{big.slug}/").content.decode()
    assert html.count('<aside class="affiliate') == 6
    assert len(re.findall(r'href="/tags/[^"]+"', html)) == 15


def test_a_new_process_first_reads_the_page_versions_and_the_settings(client, affiliate_settings, django_assert_num_queries):
    big = big_post()
    versions.forget()  # as a worker that has just started
    with django_assert_num_queries(ARTICLE_IN_A_NEW_PROCESS):
        get(client, f"/posts/{big.slug}/")
    with django_assert_num_queries(ARTICLE):
        get(client, f"/posts/{big.slug}/")


@pytest.mark.parametrize("url", ["/", "/posts/"])
def test_a_list_page_costs_the_same_queries_with_three_posts_or_twelve(url, client, affiliate_settings, django_assert_num_queries):
    for number in range(3):
        big_post()
    get(client, url)
    with django_assert_num_queries(LIST):
        get(client, url)

    for number in range(9):
        big_post()
    get(client, url)  # this process reads the new page versions once
    with django_assert_num_queries(LIST):
        html = get(client, url).content.decode()
    assert html.count('<article class="card">') == 10


@pytest.mark.parametrize("url", ["/tags/速報/", "/categories/ai-news/"])
def test_a_term_page_costs_the_same_queries_with_three_posts_or_twelve(url, client, affiliate_settings, django_assert_num_queries):
    for number in range(3):
        small_post()
    get(client, url)
    with django_assert_num_queries(TERM):
        get(client, url)

    for number in range(9):
        big_post()
    get(client, url)  # this process reads the new page versions once
    with django_assert_num_queries(TERM):
        get(client, url)


@pytest.mark.parametrize("url", ["/tags/", "/categories/"])
def test_a_term_list_costs_one_query_however_many_terms(url, client, affiliate_settings, django_assert_num_queries):
    small_post()
    get(client, url)
    with django_assert_num_queries(TERM_LIST):
        get(client, url)

    for number in range(4):
        big_post()
    get(client, url)  # this process reads the new page versions once
    with django_assert_num_queries(TERM_LIST):
        get(client, url)
