"""The product registry: a product named once, shown by markers and boxes on any number
of pages, changed once for all of them, with where it is used in the admin."""

import re
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase

from posts.models import AffiliateBox, MediaImage, Post, Product
from tests.conftest import image_bytes, logged_in, make_post, member, opened_form, start_tags

pytestmark = pytest.mark.django_db

ASIN = "B0CS19YQ4G"
ADD_URL = "/admin/posts/product/add/"


def committed(change):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return change()


@pytest.fixture
def product(db):
    return committed(lambda: Product.objects.create(name="RTX 4060 Ti 16GB", slug="rtx-4060-ti", keyword="RTX 4060 Ti 16GB", reason="静かで省電力"))


@pytest.fixture
def shown_on(product, affiliate_settings):
    """Three posts: one places the product with a marker, one with a box, one not at all."""
    by_marker = make_post(title="マーカーの記事", body="## 選び方\n\n前置き。\n\n{{< product rtx-4060-ti >}}\n\n結び。\n")
    by_box = make_post(title="箱の記事", body="本文。\n")
    committed(lambda: by_box.affiliate_boxes.create(product=product, placement=AffiliateBox.Placement.END))
    unrelated = make_post(title="関係ない記事", body="GPU の話はしない。\n")
    return by_marker, by_box, unrelated


def reader_page(client, post):
    response = client.get(post.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def store_links(html):
    return {
        attrs["data-kiji-store"]: attrs["href"]
        for _tag, attrs in start_tags(html, "a")
        if "affiliate__button" in attrs.get("class", "")
    }


def test_a_marker_and_a_box_both_show_the_product_from_the_registry(client, shown_on):
    by_marker, by_box, unrelated = shown_on
    for post in (by_marker, by_box):
        html = reader_page(client, post)
        assert '<p class="affiliate__name">RTX 4060 Ti 16GB</p>' in html
        assert "静かで省電力" in html
    assert "affiliate__name" not in reader_page(client, unrelated)
    marker_page = reader_page(client, by_marker)
    assert marker_page.index("前置き") < marker_page.index("affiliate--marker") < marker_page.index("結び")


def test_one_product_change_reaches_every_page_that_uses_it(client, admin_client, product, shown_on):
    by_marker, by_box, unrelated = shown_on
    before = {post.pk: reader_page(client, post) for post in shown_on}  # stored and cached now
    assert all("RTX 4060 Ti 16GB" in before[post.pk] for post in (by_marker, by_box))

    url = f"/admin/posts/product/{product.pk}/change/"
    form = opened_form(admin_client, url, "product_form", name="RTX 4060 Ti 16GB 白", asin=ASIN, reason="白いモデル")
    response = committed(lambda: admin_client.post(url, form))
    assert response.status_code == 302, response.content.decode()[:2000]

    for post in (by_marker, by_box):
        html = reader_page(client, post)
        assert "RTX 4060 Ti 16GB 白" in html and "白いモデル" in html and "静かで省電力" not in html
        assert store_links(html)["amazon"] == f"https://www.amazon.co.jp/dp/{ASIN}?tag=negi3939-22"
        assert Post.objects.get(pk=post.pk).page_html.count("RTX 4060 Ti 16GB 白") >= 1  # stored again
    assert reader_page(client, unrelated) == before[unrelated.pk]


def test_a_direct_asin_link_carries_the_tag_and_item_links_follow_the_settings(client, product, shown_on, affiliate_settings):
    by_marker = shown_on[0]
    product.asin = ASIN
    product.rakuten_url = "https://item.rakuten.co.jp/shop/rtx4060ti/"
    product.yahoo_url = "https://store.shopping.yahoo.co.jp/shop/rtx4060ti.html"
    committed(product.save)
    affiliate_settings.valuecommerce_sid, affiliate_settings.valuecommerce_pid = "3000001", "890000001"
    committed(affiliate_settings.save)

    links = store_links(reader_page(client, by_marker))

    assert links["amazon"] == f"https://www.amazon.co.jp/dp/{ASIN}?tag=negi3939-22"
    rakuten = urlsplit(links["rakuten"])
    assert (rakuten.hostname, rakuten.path) == ("hb.afl.rakuten.co.jp", "/hgc/5000cbfd.5f52567b.5000cbff.924460a4/")
    assert parse_qs(rakuten.query)["pc"] == ["https://item.rakuten.co.jp/shop/rtx4060ti/"]
    yahoo = urlsplit(links["yahoo"])
    assert yahoo.hostname == "ck.jp.ap.valuecommerce.com"
    assert parse_qs(yahoo.query) == {"sid": ["3000001"], "pid": ["890000001"], "vc_url": [product.yahoo_url]}


def test_without_valuecommerce_ids_or_an_item_link_there_is_no_yahoo_button(client, shown_on):
    assert set(store_links(reader_page(client, shown_on[0]))) == {"amazon", "rakuten"}


def test_with_a_valuecommerce_id_every_box_gets_a_yahoo_search_button(client, shown_on, affiliate_settings):
    affiliate_settings.valuecommerce_sid, affiliate_settings.valuecommerce_pid = "3000001", "890000001"
    committed(affiliate_settings.save)
    yahoo = store_links(reader_page(client, shown_on[1]))["yahoo"]
    assert parse_qs(urlsplit(yahoo).query)["vc_url"] == [f"https://shopping.yahoo.co.jp/search?p={quote('RTX 4060 Ti 16GB', safe='')}"]


def test_renaming_a_products_slug_takes_it_off_markers_that_name_the_old_one(client, product, shown_on):
    by_marker, by_box, _unrelated = shown_on
    reader_page(client, by_marker)
    product.slug = "rtx-4060-ti-white"
    committed(product.save)
    assert "affiliate--marker" not in reader_page(client, by_marker)  # the marker names a product there no longer is
    assert "RTX 4060 Ti 16GB" in reader_page(client, by_box)  # a box points at the product itself


def test_deleting_a_product_takes_its_boxes_off_every_page(client, admin_client, product, shown_on):
    by_marker, by_box, _unrelated = shown_on
    for post in shown_on:
        reader_page(client, post)
    response = committed(lambda: admin_client.post(f"/admin/posts/product/{product.pk}/delete/", {"post": "yes"}))
    assert response.status_code == 302
    for post in (by_marker, by_box):
        html = reader_page(client, post)
        assert "RTX 4060 Ti" not in html and '<aside class="affiliate' not in html


# --- The admin ------------------------------------------------------------------------------


def test_the_product_list_says_where_each_product_is_used(admin_client, product, shown_on):
    by_marker, by_box, unrelated = shown_on
    unused = Product.objects.create(name="使われない製品", keyword="使われない")

    html = admin_client.get("/admin/posts/product/").content.decode()

    rows = {name: row for row, name in re.findall(r'(<tr>.*?class="field-name"><a href="[^"]+">([^<]+)</a>.*?</tr>)', html, re.S)}
    used = rows["RTX 4060 Ti 16GB"]
    assert '<span class="kiji-count">2</span>' in used
    assert f'href="/admin/posts/post/{by_marker.pk}/change/"' in used and f'href="/admin/posts/post/{by_box.pk}/change/"' in used
    assert f"/admin/posts/post/{unrelated.pk}/change/" not in used
    assert "kiji-count" not in rows[unused.name]


def test_the_product_page_finds_posts_that_name_it_without_a_box(admin_client, product, shown_on):
    naming = make_post(title="名前だけ出す記事", body="新しい RTX 4060 Ti 16GB の噂。\n")
    boxed_by_keyword = make_post(title="キーワードの箱の記事", body="RTX 4060 Ti 16GB を試した。\n")
    committed(lambda: boxed_by_keyword.affiliate_boxes.create(keyword="RTX 4060 Ti 16GB"))

    html = admin_client.get(f"/admin/posts/product/{product.pk}/change/").content.decode()

    mentions = html[html.index("field-mentions") :]
    mentions = mentions[: mentions.index("</div>\n")]
    assert f'/admin/posts/post/{naming.pk}/change/' in mentions
    for post in (*shown_on[:2], boxed_by_keyword):
        assert f"/admin/posts/post/{post.pk}/change/" not in mentions
    assert "{{&lt; product rtx-4060-ti &gt;}}" in html  # the marker, to copy


def test_a_product_image_goes_through_the_upload_pipeline(admin_client, media_root):
    png = SimpleUploadedFile("card.png", image_bytes("PNG", (400, 400)), content_type="image/png")
    form = {**opened_form(admin_client, ADD_URL, "product_form"), "name": "SSD 2TB", "keyword": "SSD 2TB", "image_alt": "黒いSSD"}
    response = admin_client.post(ADD_URL, {**form, "upload": png})
    assert response.status_code == 302, response.content.decode()[:3000]
    product = Product.objects.get(name="SSD 2TB")
    assert product.slug == "ssd-2tb"
    image = MediaImage.objects.get()
    assert product.image == image and (image.width, image.height) == (400, 400)

    bogus = SimpleUploadedFile("card.png", b"<?php system($_GET['c']); ?>", content_type="image/png")
    response = admin_client.post(ADD_URL, {**form, "name": "偽物", "upload": bogus})
    assert response.status_code == 200
    assert "errorlist" in response.content.decode() and MediaImage.objects.count() == 1


def test_the_product_form_says_what_is_wrong(admin_client):
    form = {**opened_form(admin_client, ADD_URL, "product_form"), "name": "本", "keyword": "本", "asin": "b0-short"}
    html = admin_client.post(ADD_URL, form).content.decode()
    assert "B0CS19YQ4G" in unquote(html)  # the message shows what an ASIN looks like
    assert not Product.objects.exists()


def test_writers_see_products_but_only_editors_add_them(product):
    writer = logged_in(member("Writer", "kaku"))
    editor = logged_in(member("Editor", "henshu"))
    assert writer.get("/admin/posts/product/").status_code == 200
    assert writer.get(ADD_URL).status_code == 403
    assert editor.get(ADD_URL).status_code == 200
    assert editor.post(f"/admin/posts/product/{product.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Product.objects.filter(pk=product.pk).exists()


def test_a_box_in_the_post_form_can_point_at_a_product(admin_client, client, product, affiliate_settings):
    post = make_post(body="本文。\n")
    url = f"/admin/posts/post/{post.pk}/change/"
    form = opened_form(
        admin_client, url,
        **{"affiliate_boxes-TOTAL_FORMS": "1", "affiliate_boxes-0-product": str(product.pk), "affiliate_boxes-0-placement": "end", "affiliate_boxes-0-position": "0"},
    )  # fmt: skip
    response = committed(lambda: admin_client.post(url, form))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert "RTX 4060 Ti 16GB" in reader_page(client, post)

    empty = opened_form(admin_client, url, **{"affiliate_boxes-TOTAL_FORMS": "2", "affiliate_boxes-1-placement": "end", "affiliate_boxes-1-position": "1", "affiliate_boxes-1-reason": "理由だけ"})
    html = admin_client.post(url, empty).content.decode()
    assert "Give a search keyword, or choose a product." in html or "検索キーワード" in html
