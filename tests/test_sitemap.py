"""/sitemap.xml, its section pages past the 50,000-URL limit, and /robots.txt.

The sitemap costs a fixed number of SQL queries: a count and a page for posts,
categories and tags (6); as an index, a count and the newest update of each (6).
"""

import xml.etree.ElementTree as ET
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from posts.models import Post
from tests.conftest import make_post

pytestmark = pytest.mark.django_db

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
TOKYO = ZoneInfo("Asia/Tokyo")
STATIC_PAGES = [
    "http://testserver/",
    "http://testserver/posts/",
    "http://testserver/archives/",
    "http://testserver/categories/",
    "http://testserver/tags/",
]
SITEMAP_QUERIES = 6
INDEX_QUERIES = 6


def xml_root(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/xml"
    return ET.fromstring(response.content)


def urlset(client, url="/sitemap.xml"):
    """{loc: lastmod or None} of a urlset."""
    root = xml_root(client, url)
    assert root.tag == NS + "urlset", url
    return {entry.findtext(NS + "loc"): entry.findtext(NS + "lastmod") for entry in root.iter(NS + "url")}


def index_locs(client):
    root = xml_root(client, "/sitemap.xml")
    assert root.tag == NS + "sitemapindex"
    return [entry.findtext(NS + "loc") for entry in root.iter(NS + "sitemap")]


def set_updated_at(post, *ymd):
    Post.objects.filter(pk=post.pk).update(updated_at=datetime(*ymd, 12, 0, tzinfo=TOKYO))


def post_url(post):
    return "http://testserver/posts/" + quote(post.slug) + "/"


def test_the_sitemap_lists_the_static_pages_and_exactly_the_published_posts(client):
    published = make_post()
    now = timezone.now()
    draft = make_post(status=Post.Status.DRAFT)
    scheduled = make_post(published_at=now + timezone.timedelta(days=1))
    expired = make_post(expires_at=now - timezone.timedelta(hours=1))

    locs = list(urlset(client))

    assert locs == STATIC_PAGES + [post_url(published)]
    for post in [draft, scheduled, expired]:
        assert post_url(post) not in locs


def test_a_post_is_last_modified_on_its_update_day(client):
    post = make_post(slug="新モデル発表", published_at=datetime(2024, 5, 1, 9, 0, tzinfo=TOKYO))
    set_updated_at(post, 2024, 5, 6)

    assert urlset(client)["http://testserver/posts/%E6%96%B0%E3%83%A2%E3%83%87%E3%83%AB%E7%99%BA%E8%A1%A8/"] == "2024-05-06"


def test_a_term_is_listed_while_it_has_a_published_post_and_dated_by_the_newest_one(client):
    older = make_post(categories=["AI News"], tags=["速報"])
    newer = make_post(categories=["AI News"])
    draft = make_post(status=Post.Status.DRAFT, categories=["AI News"], tags=["下書きだけ"])
    expired = make_post(expires_at=timezone.now() - timezone.timedelta(hours=1), tags=["掲載終了だけ"])
    set_updated_at(older, 2024, 5, 6)
    set_updated_at(newer, 2024, 6, 1)
    set_updated_at(draft, 2024, 7, 1)
    set_updated_at(expired, 2024, 7, 2)

    urls = urlset(client)

    assert urls["http://testserver/categories/ai-news/"] == "2024-06-01"
    assert urls["http://testserver/tags/%E9%80%9F%E5%A0%B1/"] == "2024-05-06"
    assert "http://testserver/tags/" + quote("下書きだけ") + "/" not in urls
    assert "http://testserver/tags/" + quote("掲載終了だけ") + "/" not in urls


def test_at_its_limit_the_sitemap_is_still_one_urlset(client, settings):
    make_post(categories=["AI News"], tags=["速報"])
    settings.KIJI_SITEMAP_LIMIT = len(STATIC_PAGES) + 3

    assert len(urlset(client)) == len(STATIC_PAGES) + 3


def test_past_its_limit_the_sitemap_is_an_index_of_section_pages(client, settings):
    posts = [make_post(categories=["AI News"], tags=["速報"]) for _ in range(5)]
    set_updated_at(posts[0], 2024, 6, 1)
    settings.KIJI_SITEMAP_LIMIT = 3

    locs = index_locs(client)

    assert locs == [
        "http://testserver/sitemap-static.xml",
        "http://testserver/sitemap-static.xml?p=2",
        "http://testserver/sitemap-posts.xml",
        "http://testserver/sitemap-posts.xml?p=2",
        "http://testserver/sitemap-categories.xml",
        "http://testserver/sitemap-tags.xml",
    ]
    pages = [urlset(client, loc.removeprefix("http://testserver")) for loc in locs]
    assert all(len(page) <= 3 for page in pages)
    assert [loc for page in pages for loc in page] == STATIC_PAGES + [post_url(post) for post in posts] + [
        "http://testserver/categories/ai-news/",
        "http://testserver/tags/%E9%80%9F%E5%A0%B1/",
    ]
    assert pages[2][post_url(posts[0])] == "2024-06-01"


def test_the_index_dates_each_section_by_its_newest_update(client, settings):
    post = make_post(categories=["AI News"])
    set_updated_at(post, 2024, 6, 1)
    settings.KIJI_SITEMAP_LIMIT = 1

    root = xml_root(client, "/sitemap.xml")

    lastmods = {entry.findtext(NS + "loc"): entry.findtext(NS + "lastmod") for entry in root.iter(NS + "sitemap")}
    assert lastmods["http://testserver/sitemap-posts.xml"].startswith("2024-06-01T12:00:00")
    assert lastmods["http://testserver/sitemap-categories.xml"].startswith("2024-06-01T12:00:00")


def test_unknown_sections_and_pages_past_the_end_are_not_found(client):
    make_post()

    assert client.get("/sitemap-nothing.xml").status_code == 404
    assert client.get("/sitemap-posts.xml?p=2").status_code == 404
    assert client.get("/sitemap-posts.xml?p=x").status_code == 404


@pytest.mark.parametrize("limit, queries", [(50_000, SITEMAP_QUERIES), (3, INDEX_QUERIES)])
def test_the_sitemap_costs_the_same_queries_with_three_posts_or_twenty_five(client, settings, limit, queries, django_assert_num_queries):
    settings.KIJI_SITEMAP_LIMIT = limit

    def make_posts(count):
        for _ in range(count):
            make_post(tags=["速報", "GPU", "LLM", "OpenAI"], categories=["AI News", "研究"])

    make_posts(3)
    client.get("/sitemap.xml")  # this process reads the new page versions once
    with django_assert_num_queries(queries):
        client.get("/sitemap.xml")
    make_posts(22)
    client.get("/sitemap.xml")
    with django_assert_num_queries(queries):
        client.get("/sitemap.xml")


def test_a_section_page_costs_a_count_and_the_page(client, settings, django_assert_num_queries):
    settings.KIJI_SITEMAP_LIMIT = 10
    for _ in range(25):
        make_post(tags=["速報", "GPU"], categories=["AI News"])
    client.get("/robots.txt")  # this process reads the new page versions once

    for url in ["/sitemap-posts.xml", "/sitemap-posts.xml?p=3", "/sitemap-tags.xml"]:
        with django_assert_num_queries(2):
            assert client.get(url).status_code == 200


def test_robots_txt_keeps_crawlers_out_of_admin_and_points_to_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    lines = response.content.decode().splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /admin/" in lines
    # Search pages stay crawlable so that crawlers read their noindex.
    assert not any(line.startswith("Disallow: /search") for line in lines)
    assert 'name="robots" content="noindex' in client.get("/search/?q=AI").content.decode()
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    assert "Sitemap: https://testserver/sitemap.xml" in client.get("/robots.txt", secure=True).content.decode()
