import html
"""RSS feeds at Hugo's paths: /index.xml, /posts/index.xml and one per category and tag.

Each feed costs a fixed number of SQL queries with the site settings cached: the posts
and their categories and tags (3), and for a term's feed the term first (4). Full content
also reads the affiliate settings, from the same cache.
"""

import xml.etree.ElementTree as ET
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from posts.models import AffiliateSettings, Post, SiteSettings
from tests.conftest import make_post, start_tags

pytestmark = pytest.mark.django_db

SITE_FEED_QUERIES = 3
TERM_FEED_QUERIES = 4


def channel(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0"
    return root.find("channel")


def items(client, url):
    return channel(client, url).findall("item")


def titles(client, url):
    return [item.findtext("title") for item in items(client, url)]


def make_unpublished_posts():
    """A draft, a scheduled post and an expired one: none of them may appear."""
    now = timezone.now()
    make_post(title="下書き", status=Post.Status.DRAFT, tags=["速報"], categories=["AI News"])
    make_post(title="予約投稿", published_at=now + timezone.timedelta(days=1), tags=["速報"], categories=["AI News"])
    make_post(title="掲載終了", expires_at=now - timezone.timedelta(hours=1), tags=["速報"], categories=["AI News"])


@pytest.mark.parametrize("url", ["/index.xml", "/posts/index.xml"])
def test_the_site_feeds_list_exactly_the_published_posts_newest_first(client, url):
    make_post(title="新しい記事", published_at=timezone.now() - timezone.timedelta(hours=1))
    make_post(title="古い記事", published_at=timezone.now() - timezone.timedelta(days=3))
    make_unpublished_posts()

    assert titles(client, url) == ["新しい記事", "古い記事"]


def test_the_site_feeds_list_the_latest_twenty_posts(client):
    posts = [make_post() for _ in range(22)]

    for url in ["/index.xml", "/posts/index.xml"]:
        assert titles(client, url) == [post.title for post in posts[:20]]


def test_a_feed_item_has_an_absolute_link_and_guid_its_publish_date_and_its_terms(client):
    make_post(
        title="新モデル発表",
        slug="新モデル発表",
        published_at=datetime(2024, 5, 6, 10, 30, tzinfo=ZoneInfo("Asia/Tokyo")),
        categories=["AI News"],
        tags=["速報", "GPU", "AI News"],
    )

    [item] = items(client, "/index.xml")

    url = "http://testserver/posts/" + quote("新モデル発表") + "/"
    assert item.findtext("link") == url
    assert item.findtext("guid") == url
    assert parsedate_to_datetime(item.findtext("pubDate")) == datetime(2024, 5, 6, 1, 30, tzinfo=ZoneInfo("UTC"))
    assert [category.text for category in item.findall("category")] == ["AI News", "GPU", "速報"]


def test_a_feed_carries_the_site_title_description_and_its_own_address(client):
    site = SiteSettings.load()
    site.title = "AIニュース速報"
    site.description = "AIの最新ニュースを毎日。"
    site.save()

    for url, link in [("/index.xml", "http://testserver/"), ("/posts/index.xml", "http://testserver/posts/")]:
        feed = channel(client, url)
        assert feed.findtext("title") == "AIニュース速報"
        assert feed.findtext("description") == "AIの最新ニュースを毎日。"
        assert feed.findtext("link") == link
        assert feed.find("{http://www.w3.org/2005/Atom}link").get("href") == "http://testserver" + url


def test_feed_items_carry_the_summary_by_default(client):
    post = make_post(description="三行で分かる新モデル。")

    [item] = items(client, "/index.xml")

    assert item.findtext("description") == "三行で分かる新モデル。" == post.summary


def test_with_full_content_on_feed_items_carry_the_body_with_the_current_amazon_tag(client, affiliate_settings):
    make_post(body="## 本文\n\n[参考書](https://www.amazon.co.jp/dp/B000TEST?tag=old-22) が便利です。\n")
    site = SiteSettings.load()
    site.feed_full_content = True
    site.save()

    description = items(client, "/index.xml")[0].findtext("description")
    assert "<h2" in description and "が便利です。" in description
    assert 'href="https://www.amazon.co.jp/dp/B000TEST?tag=negi3939-22"' in description
    assert "old-22" not in description

    settings = AffiliateSettings.load()
    settings.amazon_tag = "kiji-22"
    settings.save()
    description = items(client, "/index.xml")[0].findtext("description")
    assert 'href="https://www.amazon.co.jp/dp/B000TEST?tag=kiji-22"' in description


def test_a_category_feed_lists_only_that_categorys_published_posts(client):
    make_post(title="ニュース", categories=["AI News"])
    make_post(title="研究", categories=["研究"])
    make_unpublished_posts()

    feed = channel(client, "/categories/ai-news/index.xml")

    assert [item.findtext("title") for item in feed.findall("item")] == ["ニュース"]
    assert feed.findtext("title") == "AI News | Kiji"
    assert feed.findtext("link") == "http://testserver/categories/ai-news/"


def test_a_tag_feed_with_a_japanese_slug_lists_only_that_tags_published_posts(client):
    make_post(title="速報記事", tags=["速報", "GPU"])
    make_post(title="GPUの記事", tags=["GPU"])
    make_unpublished_posts()

    feed = channel(client, "/tags/%E9%80%9F%E5%A0%B1/index.xml")

    assert [item.findtext("title") for item in feed.findall("item")] == ["速報記事"]
    assert feed.findtext("title") == "速報 | Kiji"
    assert feed.findtext("link") == "http://testserver/tags/%E9%80%9F%E5%A0%B1/"
    self_link = feed.find("{http://www.w3.org/2005/Atom}link").get("href")
    assert self_link == "http://testserver/tags/%E9%80%9F%E5%A0%B1/index.xml"


def test_a_term_feed_describes_itself_with_the_terms_description(client):
    post = make_post(categories=["AI News"])
    category = post.categories.get()
    category.description = "AI業界のニュース。"
    category.save()

    assert channel(client, "/categories/ai-news/index.xml").findtext("description") == "AI業界のニュース。"


def test_feeds_of_unknown_terms_are_not_found(client):
    make_post(tags=["速報"], categories=["AI News"])

    assert client.get("/categories/nothing/index.xml").status_code == 404
    assert client.get("/tags/nothing/index.xml").status_code == 404


def test_every_page_points_feed_readers_to_the_site_feed(client):
    make_post()

    [feed_link] = [
        attrs for tag, attrs in start_tags(client.get("/").content.decode(), "link")
        if attrs.get("rel") == "alternate" and attrs.get("type") == "application/rss+xml"
    ]
    assert feed_link["href"] == "/index.xml"


@pytest.mark.parametrize(
    "url, queries",
    [
        ("/index.xml", SITE_FEED_QUERIES),
        ("/posts/index.xml", SITE_FEED_QUERIES),
        ("/categories/ai-news/index.xml", TERM_FEED_QUERIES),
        ("/tags/%E9%80%9F%E5%A0%B1/index.xml", TERM_FEED_QUERIES),
    ],
)
@pytest.mark.parametrize("full_content", [False, True])
def test_a_feed_costs_the_same_queries_with_three_posts_or_twenty_five(client, url, queries, full_content, affiliate_settings, django_assert_num_queries):
    site = SiteSettings.load()
    site.feed_full_content = full_content
    site.save()

    def make_posts(count):
        for _ in range(count):
            make_post(tags=["速報", "GPU", "LLM", "OpenAI"], categories=["AI News", "研究"])

    queries += 1 if full_content else 0  # full items show their boxes too
    make_posts(3)
    channel(client, url)  # the settings are now cached
    with django_assert_num_queries(queries):
        assert len(items(client, url)) == 3

    make_posts(22)
    channel(client, url)  # this process reads the new page versions once
    with django_assert_num_queries(queries):
        assert len(items(client, url)) == 20


def test_full_content_links_and_images_are_absolute(client, affiliate_settings):
    site = SiteSettings.load()
    site.feed_full_content = True
    site.save()
    make_post(title="画像つき", body="![図](/media/uploads/zu.png)\n\n[前の記事](/posts/older/)\n")

    xml = client.get("/index.xml").content.decode()

    assert 'src="http://testserver/media/uploads/zu.png"' in html.unescape(xml)
    assert 'href="http://testserver/posts/older/"' in html.unescape(xml)
