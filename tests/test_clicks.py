"""Counting clicks on store links and views of articles, through HTTP as browsers send
them: the link stays the store's, no cookie, no address, no bots, no prefetches."""

import csv
import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import call_command
from django.test import Client, TestCase
from django.utils import timezone

from posts.models import AffiliateBox, ClickCount, Post, Product, ViewCount
from tests.conftest import logged_in, make_post, member, start_tags

pytestmark = pytest.mark.django_db

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
# What Chromium sends for <a ping>: a POST of "PING", typed text/ping.
PING = {"content_type": "text/ping", "data": "PING", "HTTP_USER_AGENT": CHROME, "HTTP_PING_TO": "https://www.amazon.co.jp/"}
ADDRESS = "203.0.113.77"


def committed(change):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return change()


@pytest.fixture
def reader():
    return Client(REMOTE_ADDR=ADDRESS)


@pytest.fixture
def article(affiliate_settings):
    product = Product.objects.create(name="RTX 4060 Ti 16GB", slug="rtx-4060-ti", keyword="RTX 4060 Ti 16GB")
    post = make_post(body='## 要約\n\n- 一点目。\n\n本文に[本](https://www.amazon.co.jp/dp/B0CS19YQ4G)。\n\n{{< product rtx-4060-ti >}}\n')
    committed(lambda: post.affiliate_boxes.create(keyword="GPU 入門", placement=AffiliateBox.Placement.END))
    return post


def store_links(html):
    """(href, ping) of each store link on a page: buttons and links in the text."""
    return [(attrs["href"], attrs.get("ping")) for _tag, attrs in start_tags(html, "a") if "data-kiji-store" in attrs]


def ping_of(client, post, store="amazon", box_prefix="marker"):
    html = client.get(post.get_absolute_url()).content.decode()
    return next(ping for href, ping in store_links(html) if f"s={store}" in ping and f"b={box_prefix}" in ping)


def clicks():
    return sum(ClickCount.objects.values_list("count", flat=True))


def test_every_store_link_keeps_the_stores_own_url_and_pings_kiji(reader, article):
    html = reader.get(article.get_absolute_url()).content.decode()
    links = store_links(html)

    assert len(links) == 5  # the pasted link, two buttons for the product, two for the end box
    for href, ping in links:
        assert urlsplit(href).hostname in ("www.amazon.co.jp", "hb.afl.rakuten.co.jp")
        assert urlsplit(ping).path == "/r/click"
        assert parse_qs(urlsplit(ping).query)["p"] == [str(article.pk)]
    hrefs = dict((parse_qs(urlsplit(ping).query)["b"][0] + ":" + parse_qs(urlsplit(ping).query)["s"][0], href) for href, ping in links)
    assert hrefs["body:amazon"] == "https://www.amazon.co.jp/dp/B0CS19YQ4G?tag=negi3939-22"
    assert hrefs["marker-0:amazon"] == "https://www.amazon.co.jp/s?k=RTX%204060%20Ti%2016GB&tag=negi3939-22"
    assert hrefs["end-0:amazon"] == "https://www.amazon.co.jp/s?k=GPU%20%E5%85%A5%E9%96%80&tag=negi3939-22"
    assert f'data-kiji-view="/r/view?p={article.pk}"' in html


def test_a_ping_is_counted_once_for_its_post_box_product_store_and_day(reader, article):
    ping = ping_of(reader, article)

    response = reader.post(ping, **PING)

    assert response.status_code == 204
    [row] = ClickCount.objects.all()
    product = Product.objects.get()
    assert (row.day, row.post_id, row.box, row.product_id, row.store, row.count) == (
        timezone.localdate(), article.pk, "marker-0", product.pk, "amazon", 1,
    )  # fmt: skip

    reader.post(ping, **PING)
    assert ClickCount.objects.get().count == 2  # one row a day, counted up


def test_a_beacon_counts_as_a_ping_does(reader, article):
    ping = ping_of(reader, article, "rakuten", "end")
    response = reader.post(ping, content_type="text/plain;charset=UTF-8", data="", HTTP_USER_AGENT=CHROME)
    assert response.status_code == 204
    assert ClickCount.objects.get().store == "rakuten"


def test_counting_sets_no_cookie_keeps_no_address_and_is_never_cached(reader, article):
    ping = ping_of(reader, article)
    response = reader.post(ping, **PING)
    view = reader.post(f"/r/view?p={article.pk}", HTTP_USER_AGENT=CHROME)

    for answer in (response, view):
        assert not answer.cookies and "Set-Cookie" not in answer.headers
        assert "no-cache" in answer["Cache-Control"] and "private" in answer["Cache-Control"]
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert clicks() == 1 and ADDRESS not in dump.getvalue()


@pytest.mark.parametrize(
    "agent",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0)",
        "facebookexternalhit/1.1",
        "curl/8.5.0",
        "python-requests/2.32",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
        "",
    ],
)
def test_bots_are_not_counted(reader, article, agent):
    ping = ping_of(reader, article)
    assert reader.post(ping, **{**PING, "HTTP_USER_AGENT": agent}).status_code == 204
    assert reader.post(f"/r/view?p={article.pk}", HTTP_USER_AGENT=agent).status_code == 204
    assert clicks() == 0 and not ViewCount.objects.exists()


@pytest.mark.parametrize("header", [{"HTTP_SEC_PURPOSE": "prefetch"}, {"HTTP_SEC_PURPOSE": "prefetch;prerender"}, {"HTTP_PURPOSE": "prefetch"}, {"HTTP_X_MOZ": "prefetch"}])
def test_prefetches_are_not_counted(reader, article, header):
    ping = ping_of(reader, article)
    reader.post(ping, **PING, **header)
    reader.post(f"/r/view?p={article.pk}", HTTP_USER_AGENT=CHROME, **header)
    assert clicks() == 0 and not ViewCount.objects.exists()


def test_only_a_post_counts_and_only_for_a_live_post_a_known_store_and_box(reader, article):
    ping = ping_of(reader, article)
    assert reader.get(ping, HTTP_USER_AGENT=CHROME).status_code == 405  # a link followed, a prefetch
    draft = make_post(status=Post.Status.DRAFT)
    refused = [f"p={draft.pk}&s=amazon&b=body", f"p={article.pk}&s=ebay&b=body", f"p={article.pk}&s=amazon&b=<script>",
               f"p={article.pk}&s=amazon&b=end-1234", "p=x&s=amazon&b=body", f"p={article.pk}&s=amazon", f"p=99999&s=amazon&b=body"]  # fmt: skip
    for query in refused:
        assert reader.post(f"/r/click?{query}", **PING).status_code == 204
    assert clicks() == 0
    # A product that is not one is left out; the click still counts.
    for product in ("abc", "99999"):
        reader.post(f"/r/click?p={article.pk}&s=amazon&b=body&r={product}", **PING)
    assert (clicks(), ClickCount.objects.get().product_id) == (2, None)


def test_a_flood_from_one_address_stops_being_counted(article):
    flood = Client(REMOTE_ADDR="198.51.100.9")
    ping = f"/r/click?p={article.pk}&s=amazon&b=body"
    for _ in range(40):
        assert flood.post(ping, **PING).status_code == 204
    assert clicks() == 30  # clicks.PER_MINUTE
    Client(REMOTE_ADDR="198.51.100.10").post(ping, **PING)
    assert clicks() == 31  # another reader still counts


def test_a_view_beacon_counts_a_view_of_the_article_even_from_the_cache(reader, article, settings):
    settings.KIJI_PAGE_CACHE_SECONDS = 300
    first = reader.get(article.get_absolute_url())
    second = reader.get(article.get_absolute_url())
    assert (first["X-Kiji-Cache"], second["X-Kiji-Cache"]) == ("MISS", "HIT")
    assert f'data-kiji-view="/r/view?p={article.pk}"' in second.content.decode()
    for _ in (first, second):
        reader.post(f"/r/view?p={article.pk}", HTTP_USER_AGENT=CHROME)
    assert ViewCount.objects.get().count == 2


def test_previews_do_not_count(admin_client, article):
    html = admin_client.get(f"/admin/posts/post/{article.pk}/preview/").content.decode()
    assert "ping=" not in html and "data-kiji-view" not in html


# --- The dashboard --------------------------------------------------------------------------


@pytest.fixture
def counted(article, affiliate_settings):
    """Clicks and views over three days, on two posts and two stores."""
    other = make_post(title="別の記事")
    product = Product.objects.get()
    today = timezone.localdate()
    rows = [
        (today, article, "marker-0", product, "amazon", 7),
        (today, article, "end-0", None, "rakuten", 3),
        (today - timezone.timedelta(days=1), other, "body", None, "amazon", 2),
        (today - timezone.timedelta(days=2), article, "marker-0", product, "yahoo", 1),
        (today - timezone.timedelta(days=40), other, "body", None, "amazon", 100),  # outside 30 days
    ]
    for day, post, box, prod, store, count in rows:
        ClickCount.objects.create(day=day, post=post, box=box, product=prod, store=store, count=count)
    ViewCount.objects.create(day=today, post=article, count=1500)
    ViewCount.objects.create(day=today, post=other, count=500)
    return article, other, product


def test_the_dashboard_shows_what_earns(admin_client, counted):
    article, other, product = counted
    html = admin_client.get("/admin/posts/clickcount/").content.decode()

    figures = dict(re.findall(r'data-figure="([^"]+)">([^<]+)<', html))
    assert figures == {"clicks": "13", "views": "2000", "per-thousand": "6.5"}
    stores = dict(re.findall(r'<tr data-store="(\w+)"><td>[^<]+</td><td>(\d+)</td>', html))
    assert stores == {"amazon": "9", "rakuten": "3", "yahoo": "1"}
    top = html[html.index('id="kiji-top-posts"') :]
    assert top.index(article.title) < top.index(other.title)
    assert re.search(rf"{re.escape(article.title)}</a></td><td>11</td><td>1500</td><td>7\.3</td>", top)
    assert re.search(rf"{re.escape(product.name)}</a></td><td>8</td>", html)
    # The chart: a bar a day and store with its figure in its title, drawn on the server.
    assert len(re.findall(r'<rect class="kiji-chart__bar kiji-chart__bar--amazon"', html)) == 2
    assert "<script" not in html[html.index('id="content-main"') :]

    year = admin_client.get("/admin/posts/clickcount/?days=365").content.decode()
    assert dict(re.findall(r'data-figure="([^"]+)">([^<]+)<', year))["clicks"] == "113"


def test_the_dashboard_exports_csv(admin_client, counted):
    article, other, product = counted
    response = admin_client.get("/admin/posts/clickcount/?days=7&export=clicks")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 4 and sum(int(row["clicks"]) for row in rows) == 13
    assert {row["post_title"] for row in rows} == {article.title, other.title}
    assert {row["product"] for row in rows} == {product.slug, ""}

    views = list(csv.DictReader(io.StringIO(admin_client.get("/admin/posts/clickcount/?export=views").content.decode("utf-8-sig"))))
    assert sorted(int(row["views"]) for row in views) == [500, 1500]


def test_editors_see_the_dashboard_and_writers_do_not(counted):
    assert logged_in(member("Editor", "henshu")).get("/admin/posts/clickcount/").status_code == 200
    assert logged_in(member("Writer", "kaku")).get("/admin/posts/clickcount/").status_code == 403
    assert logged_in(member("Editor", "henshu2")).get("/admin/posts/clickcount/?export=clicks").status_code == 200


def test_behind_a_proxy_the_flood_limit_is_per_reader_not_per_proxy(article, settings):
    settings.KIJI_TRUSTED_PROXY_COUNT = 1
    proxy = Client(REMOTE_ADDR="10.0.0.2")
    ping = f"/r/click?p={article.pk}&s=amazon&b=body"
    for number in range(40):
        proxy.post(ping, **PING, HTTP_X_FORWARDED_FOR=f"192.0.2.{number}")
    assert clicks() == 40
