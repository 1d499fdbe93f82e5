import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.utils.html import escape

from posts.models import AffiliateBox
from tests.conftest import article_body, make_post, opened_form, start_tags

pytestmark = pytest.mark.django_db

KEYWORD = "AWS 資格 テキスト"
DISCLOSURE = "※アフィリエイトリンクを含みます"
BODY = "## 3行要約\n\n- 一つ目の要点。\n- 二つ目の要点。\n\n## 詳細\n\n詳細の本文です。\n"


def amazon_search(keyword, tag):
    return f"https://www.amazon.co.jp/s?k={quote(keyword, safe='')}&tag={tag}"


def rakuten_affiliate(keyword, rakuten_id):
    search = quote("https://search.rakuten.co.jp/search/mall/" + quote(keyword, safe="") + "/", safe="")
    return f"https://hb.afl.rakuten.co.jp/hgc/{rakuten_id}/?pc={search}&m={search}"


def boxed_post(**overrides):
    post = make_post(body=BODY, **overrides)
    post.affiliate_boxes.create(
        keyword=KEYWORD, product_name="AWS 認定資格の本", placement=AffiliateBox.Placement.SUMMARY
    )
    post.affiliate_boxes.create(keyword=KEYWORD, placement=AffiliateBox.Placement.END)
    return post


def page(client, post):
    response = client.get(f"/posts/{post.slug}/")
    assert response.status_code == 200
    return response.content.decode()


def asides(html):
    return re.findall(r'<aside class="affiliate[^"]*"[^>]*>.*?</aside>', html, re.S)


def affiliate_links(html):
    return [attrs for tag, attrs in start_tags(html, "a") if "affiliate__button" in attrs.get("class", "")]


def test_the_summary_box_follows_the_first_list_and_the_end_box_follows_the_body(client, affiliate_settings):
    html = page(client, boxed_post())

    summary = html.index('<aside class="affiliate affiliate--summary')
    end = html.index('<aside class="affiliate affiliate--end')
    first_list_end = html.index("</ul>", html.index('<div class="post__body">'))
    next_heading = html.index('<h2 id="詳細"')
    last_body_text = html.index("詳細の本文です。")

    assert first_list_end < summary < next_heading
    assert "AWS 認定資格の本" in html[summary:next_heading]
    assert last_body_text < end < html.index("</article>")
    assert len(asides(html)) == 2


def test_box_links_are_exactly_the_configured_amazon_and_rakuten_urls(client, affiliate_settings):
    html = page(client, boxed_post())

    amazon = amazon_search(KEYWORD, "negi3939-22")
    rakuten = rakuten_affiliate(KEYWORD, "5000cbfd.5f52567b.5000cbff.924460a4")
    assert html.count(f'href="{escape(amazon)}"') == 2
    assert html.count(f'href="{escape(rakuten)}"') == 2
    hrefs = {attrs["href"] for attrs in affiliate_links(html)}
    assert hrefs == {amazon, rakuten}


def test_affiliate_links_are_sponsored_and_open_in_a_new_tab(client, affiliate_settings):
    links = affiliate_links(page(client, boxed_post()))
    assert len(links) == 4
    for attrs in links:
        assert attrs["rel"] == "sponsored noopener"
        assert attrs["target"] == "_blank"


def test_the_disclosure_shows_under_each_box(client, affiliate_settings):
    boxes = asides(page(client, boxed_post()))
    assert len(boxes) == 2
    for box in boxes:
        assert DISCLOSURE in box
        assert box.index(DISCLOSURE) > box.index("affiliate__button--rakuten")


def test_changing_the_ids_in_the_admin_changes_every_article_without_resaving(admin_client, affiliate_settings):
    posts = [boxed_post(), boxed_post()]
    for post in posts:
        assert "negi3939-22" in page(admin_client, post)  # the old settings are now cached

    url = "/admin/posts/affiliatesettings/1/change/"
    changes = {"amazon_tag": "kiji-new-22", "rakuten_id": "1111aaaa.2222bbbb"}
    response = admin_client.post(url, opened_form(admin_client, url, "affiliatesettings_form", **changes))
    assert response.status_code == 302

    for post in posts:
        html = page(admin_client, post)
        assert html.count(f'href="{escape(amazon_search(KEYWORD, "kiji-new-22"))}"') == 2
        assert html.count(f'href="{escape(rakuten_affiliate(KEYWORD, "1111aaaa.2222bbbb"))}"') == 2
        assert "negi3939-22" not in html
        assert "5000cbfd" not in html


def test_amazon_links_pasted_in_the_body_get_the_configured_tag(client, affiliate_settings):
    body = (
        "- [本](https://www.amazon.co.jp/dp/B000TEST)\n"
        "- [古い本](https://www.amazon.co.jp/dp/B000OLD?th=1&tag=old-22)\n\n"
        "末尾に [もう一冊](https://www.amazon.co.jp/dp/B000LAST?tag=old-22)。\n"
    )
    html = page(client, make_post(body=body))

    links = [attrs for tag, attrs in start_tags(article_body(html), "a") if "amazon.co.jp" in attrs.get("href", "")]
    assert [urlsplit(attrs["href"]).path for attrs in links] == ["/dp/B000TEST", "/dp/B000OLD", "/dp/B000LAST"]
    for attrs in links:
        query = parse_qs(urlsplit(attrs["href"]).query)
        assert query["tag"] == ["negi3939-22"]
        assert attrs["rel"].split()[:2] == ["sponsored", "noopener"]
        assert attrs["target"] == "_blank"
    assert parse_qs(urlsplit(links[1]["href"]).query)["th"] == ["1"]
    assert "old-22" not in html


def test_with_affiliates_disabled_boxes_link_to_plain_searches_without_disclosure(client, affiliate_settings):
    affiliate_settings.enabled = False
    affiliate_settings.save()

    html = page(client, boxed_post())

    hrefs = {attrs["href"] for attrs in affiliate_links(html)}
    assert hrefs == {
        f"https://www.amazon.co.jp/s?k={quote(KEYWORD, safe='')}",
        f"https://search.rakuten.co.jp/search/mall/{quote(KEYWORD, safe='')}/",
    }
    assert DISCLOSURE not in html
    assert "negi3939-22" not in html
    assert "hb.afl.rakuten.co.jp" not in html
    assert len(asides(html)) == 2


def test_with_affiliates_disabled_pasted_amazon_links_lose_their_tag(client, affiliate_settings):
    affiliate_settings.enabled = False
    affiliate_settings.save()
    html = page(client, make_post(body="[本](https://www.amazon.co.jp/dp/B000OLD?tag=old-22)\n"))
    [link] = [attrs["href"] for tag, attrs in start_tags(article_body(html), "a") if "amazon" in attrs.get("href", "")]
    assert urlsplit(link).path == "/dp/B000OLD"
    assert "tag" not in parse_qs(urlsplit(link).query)
