"""The advertising notice (景品表示法, ステマ規制) under the title, the 「PR」 label on each
box, Amazon's associate statement in the footer, and boxes where the writer put them."""

import re
import xml.etree.ElementTree as ET

import pytest

from posts.models import AffiliateBox, AffiliateSettings, Category, SiteSettings
from tests.conftest import article_body, make_post, opened_form, start_tags

pytestmark = pytest.mark.django_db

NOTICE = "本記事にはアフィリエイト広告（PR）が含まれています"
STATEMENT = "Amazonのアソシエイトとして、{site}は適格販売により収入を得ています。"


def page(client, post):
    response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def notice_in(html):
    """The notice paragraph's text, or None."""
    match = re.search(r'<p class="post__pr" role="note">([^<]*)</p>', html)
    return match.group(1) if match else None


def header(html):
    start = html.index('<header class="post__header">')
    return html[start : html.index("</header>", start)]


def test_in_automatic_mode_a_post_with_a_box_shows_the_notice_right_under_its_title(client, affiliate_settings):
    post = make_post()
    post.affiliate_boxes.create(keyword="GPU 本", placement=AffiliateBox.Placement.END)

    html = page(client, post)

    top = header(html)
    assert notice_in(top) == NOTICE
    assert top.index("</h1>") < top.index('class="post__pr"') < top.index('class="post__meta"')


def test_in_automatic_mode_a_pasted_amazon_link_alone_brings_the_notice(client, affiliate_settings):
    post = make_post(body="詳しくは[この本](https://www.amazon.co.jp/dp/B0CS19YQ4G)を。\n")
    assert notice_in(header(page(client, post))) == NOTICE


def test_a_pasted_rakuten_link_alone_brings_the_notice_too(client, affiliate_settings):
    post = make_post(body="[楽天で見る](https://hb.afl.rakuten.co.jp/hgc/1234.5678/?pc=https%3A%2F%2Fitem.rakuten.co.jp%2Fx%2F)\n")
    assert notice_in(header(page(client, post))) == NOTICE


def test_in_automatic_mode_a_post_with_no_box_and_no_store_link_shows_no_notice(client, affiliate_settings):
    post = make_post(body="[公式サイト](https://example.com/) の発表です。\n")
    html = page(client, post)
    assert notice_in(html) is None and NOTICE not in html


def test_the_notice_follows_the_body_as_it_is_edited(admin_client, client, affiliate_settings):
    post = make_post(body="本文だけ。\n")
    assert notice_in(page(client, post)) is None

    url = f"/admin/posts/post/{post.pk}/change/"
    response = admin_client.post(url, opened_form(admin_client, url, body='本文。\n\n{{< affiliate "RTX 4090 24GB" >}}\n'))
    assert response.status_code == 302

    assert notice_in(page(client, post)) == NOTICE


def test_every_post_and_per_category_scopes(client, affiliate_settings):
    plain = make_post(body="広告のない記事。\n", categories=["ニュース"])
    reviewed = make_post(body="レビュー記事。\n", categories=["レビュー"])

    affiliate_settings.pr_notice_scope = AffiliateSettings.PRScope.ALL
    affiliate_settings.save()
    assert notice_in(page(client, plain)) == NOTICE

    affiliate_settings.pr_notice_scope = AffiliateSettings.PRScope.CATEGORIES
    affiliate_settings.save()
    Category.objects.filter(name="レビュー").update(pr_notice=True)
    Category.objects.get(name="レビュー").save()  # as the admin would: the pages follow
    assert notice_in(page(client, plain)) is None
    assert notice_in(page(client, reviewed)) == NOTICE


def test_a_post_may_always_show_or_never_show_the_notice(client, affiliate_settings):
    shown = make_post(body="広告のない記事。\n", pr_notice="show")
    hidden = make_post(body="[本](https://www.amazon.co.jp/dp/B0CS19YQ4G)\n", pr_notice="hide")
    assert notice_in(page(client, shown)) == NOTICE
    assert notice_in(page(client, hidden)) is None


def test_the_notice_text_is_the_sites_own(client, affiliate_settings):
    affiliate_settings.pr_notice = "この記事はプロモーションを含みます"
    affiliate_settings.save()
    post = make_post(body="[本](https://www.amazon.co.jp/dp/B0CS19YQ4G)\n")
    assert notice_in(page(client, post)) == "この記事はプロモーションを含みます"


def test_each_box_carries_a_visible_pr_label(client, affiliate_settings):
    post = make_post(body='前。\n\n{{< affiliate "SSD 2TB" >}}\n\n後。\n')
    post.affiliate_boxes.create(keyword="GPU 本", placement=AffiliateBox.Placement.END)
    boxes = re.findall(r"<aside class=\"affiliate.*?</aside>", page(client, post), re.S)
    assert len(boxes) == 2
    for box in boxes:
        assert '<p class="affiliate__pr"' in box and ">PR</p>" in box


def test_the_footer_carries_the_amazon_associate_statement_while_a_tag_is_set(client, affiliate_settings):
    site = SiteSettings.load()
    post = make_post(body="本文。\n")
    footer = lambda html: html[html.index('<footer class="site-footer">') :]  # noqa: E731
    expected = STATEMENT.replace("{site}", site.title)

    assert expected in footer(page(client, post))
    assert expected in footer(client.get("/").content.decode())

    affiliate_settings.amazon_tag = ""
    affiliate_settings.save()
    assert "アソシエイト" not in page(client, post)

    affiliate_settings.amazon_tag = "negi3939-22"
    affiliate_settings.enabled = False
    affiliate_settings.save()
    assert "アソシエイト" not in page(client, post)


def test_a_full_content_feed_item_leads_with_the_notice(client, affiliate_settings):
    site = SiteSettings.load()
    site.feed_full_content = True
    site.save()
    make_post(title="広告あり", body='本文。\n\n{{< affiliate "SSD 2TB" >}}\n')
    make_post(title="広告なし", body="本文。\n")

    items = {
        item.findtext("title"): item.findtext("description")
        for item in ET.fromstring(client.get("/index.xml").content).iter("item")
    }

    assert items["広告あり"].startswith(f'<p class="post__pr">{NOTICE}</p>')
    assert "affiliate__pr" in items["広告あり"] and "amazon.co.jp/s?k=SSD%202TB" in items["広告あり"]
    assert NOTICE not in items["広告なし"]


def test_the_live_preview_shows_the_notice_and_the_box_the_marker_places(admin_client, affiliate_settings):
    response = admin_client.post(
        "/admin/posts/post/markdownify/", {"content": '前の段落。\n\n{{< affiliate "RTX 4090 24GB" >}}\n\n後の段落。\n'}
    )
    html = response.content.decode()
    assert html.startswith(f'<p class="post__pr" role="note">{NOTICE}</p>')
    assert html.index("前の段落") < html.index('<aside class="affiliate affiliate--marker') < html.index("後の段落")
    assert "RTX%204090%2024GB&amp;tag=negi3939-22" in html
    assert " ping=" not in html  # a preview's clicks are not counted

    plain = admin_client.post("/admin/posts/post/markdownify/", {"content": "広告のない段落。\n"}).content.decode()
    assert NOTICE not in plain


# --- Boxes where the writer put them ------------------------------------------------------


def test_a_marker_renders_its_box_exactly_where_it_stands(client, affiliate_settings):
    body = "## はじめに\n\n最初の段落。\n\n{{< affiliate \"RTX 4090 24GB\" >}}\n\n## 続き\n\n最後の段落。\n"
    html = article_body(page(client, make_post(body=body)))

    box = html.index('<aside class="affiliate affiliate--marker')
    assert html.index("最初の段落") < box < html.index('<h2 id="続き"')
    assert "{{&lt;" not in html and "{{<" not in html
    assert "https://www.amazon.co.jp/s?k=RTX%204090%2024GB&amp;tag=negi3939-22" in html


def test_a_marker_inside_code_or_a_sentence_is_left_as_text(client, affiliate_settings):
    body = '文中の {{< affiliate "x" >}} は箱にならない。\n\n```\n{{< affiliate "y" >}}\n```\n'
    html = article_body(page(client, make_post(body=body)))
    assert "affiliate--marker" not in html
    assert html.count("{{&lt; affiliate") == 2


def test_a_marker_cannot_smuggle_markup(client, affiliate_settings):
    body = '{{< affiliate "<img src=x onerror=alert(1)>" >}}\n\n<!--kiji-box:0-->\n'
    html = article_body(page(client, make_post(body=body)))
    assert not [tag for tag, attrs in start_tags(html) if tag == "img" or any(name.startswith("on") for name in attrs)]
    assert "&lt;img src=x onerror=alert(1)&gt;" in html  # shown as the text it is
    assert html.count('<aside class="affiliate') == 1  # the pasted placeholder is no box
