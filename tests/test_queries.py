"""Each public page costs a fixed number of SQL queries, however much a post carries.

Measured with the site and affiliate settings already in the cache:
article 4 (post, categories, tags, boxes); home and /posts/ 3 (count, posts, their
categories); a tag or category page 4 (the term, then as a list); /tags/ and
/categories/ 1. With an empty cache, the first article view also reads SiteSettings and
AffiliateSettings: 6.
"""

import re

import pytest

from posts.models import AffiliateBox
from tests.conftest import make_post

pytestmark = pytest.mark.django_db

ARTICLE = 4
LIST = 3
TERM = 4
TERM_LIST = 1
ARTICLE_WITH_COLD_CACHE = 6


def small_post():
    post = make_post(tags=["速報"], categories=["AI News"])
    post.affiliate_boxes.create(keyword="GPU", placement=AffiliateBox.Placement.SUMMARY)
    return post


def big_post():
    post = make_post(
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


def get(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response


def test_an_article_costs_the_same_queries_with_one_tag_or_fifteen(client, affiliate_settings, django_assert_num_queries):
    small, big = small_post(), big_post()
    get(client, "/")  # the settings are now cached
    get(client, f"/posts/{small.slug}/")

    with django_assert_num_queries(ARTICLE):
        get(client, f"/posts/{small.slug}/")
    with django_assert_num_queries(ARTICLE):
        html = get(client, f"/posts/{big.slug}/").content.decode()
    assert html.count('<aside class="affiliate') == 6
    assert len(re.findall(r'href="/tags/[^"]+"', html)) == 15


def test_the_first_article_view_with_an_empty_cache_also_reads_the_settings(client, affiliate_settings, django_assert_num_queries):
    big = big_post()
    with django_assert_num_queries(ARTICLE_WITH_COLD_CACHE):
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
    with django_assert_num_queries(TERM_LIST):
        get(client, url)
