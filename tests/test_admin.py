import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from posts.models import AffiliateBox, Category, Post, Tag
from tests.conftest import image_bytes, make_post, start_tags

pytestmark = pytest.mark.django_db

AJAX = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'


def post_form(**overrides):
    """The post add form as a browser would send it, with one affiliate box."""
    data = {
        "title": "管理画面から書いた記事",
        "slug": "from-the-admin",
        "body": "## 3行要約\n\n- 管理画面で書いた。\n\n## 本文\n\n本文です。\n",
        "status": "published",
        "published_at_0": "2024-05-06",
        "published_at_1": "10:30:00",
        "author": "",
        "description": "",
        "cover_alt": "",
        "affiliate_boxes-TOTAL_FORMS": "1",
        "affiliate_boxes-INITIAL_FORMS": "0",
        "affiliate_boxes-MIN_NUM_FORMS": "0",
        "affiliate_boxes-MAX_NUM_FORMS": "1000",
        "affiliate_boxes-0-keyword": "Claude Code 本",
        "affiliate_boxes-0-product_name": "Claude Code 入門",
        "affiliate_boxes-0-reason": "記事で紹介した本です。",
        "affiliate_boxes-0-placement": "summary",
        "affiliate_boxes-0-position": "0",
        "_save": "保存",
    }
    data.update(overrides)
    return data


def field_errors(html, field):
    """The error texts the admin shows for `field`."""
    match = re.search(rf'<div class="form-row[^"]*\bfield-{field}\b.*?(?=<div class="form-row|</fieldset>)', html, re.S)
    assert match, f"no form row for {field}"
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', match.group(0), re.S))


def stored_files():
    return {path for path in Path(django_settings.MEDIA_ROOT).rglob("*") if path.is_file()}


# The post form


def test_the_post_add_form_uses_the_markdownx_editor_with_kijis_endpoints(admin_client):
    html = admin_client.get("/admin/posts/post/add/").content.decode()
    assert '<div class="markdownx">' in html
    [editor] = [attrs for tag, attrs in start_tags(html, "textarea") if attrs.get("name") == "body"]
    assert "markdownx-editor" in editor["class"]
    assert editor["data-markdownx-urls-path"] == "/admin/posts/post/markdownify/"
    assert editor["data-markdownx-upload-urls-path"] == "/admin/posts/post/upload-image/"
    assert 'name="affiliate_boxes-TOTAL_FORMS"' in html


def test_posting_the_add_form_creates_a_post_with_an_affiliate_box(admin_client, admin_user, affiliate_settings):
    category = Category.objects.create(name="AI News")
    tag = Tag.objects.create(name="速報")

    response = admin_client.post(
        "/admin/posts/post/add/", post_form(categories=[category.pk], tags=[tag.pk])
    )

    assert response.status_code == 302, response.content.decode()
    post = Post.objects.get(slug="from-the-admin")
    assert post.title == "管理画面から書いた記事"
    assert post.author == admin_user
    assert list(post.categories.all()) == [category] and list(post.tags.all()) == [tag]
    [box] = post.affiliate_boxes.all()
    assert (box.keyword, box.placement) == ("Claude Code 本", AffiliateBox.Placement.SUMMARY)
    html = admin_client.get("/posts/from-the-admin/").content.decode()
    assert "Claude Code 入門" in html
    assert "管理画面で書いた。" in html


def test_the_post_list_shows_status_publish_time_categories_and_thumbnail(admin_client):
    live = make_post(title="公開中の記事", categories=["AI News", "研究"])
    live.cover.save("thumb.png", ContentFile(image_bytes()))
    make_post(title="予約中の記事", published_at=timezone.now() + timezone.timedelta(days=2))
    make_post(title="下書きの記事", status=Post.Status.DRAFT)

    html = admin_client.get("/admin/posts/post/").content.decode()

    for status in ["live", "scheduled", "draft"]:
        assert f"kiji-status--{status}" in html
    assert html.count('<td class="field-published_at') == 3
    assert "AI News, 研究" in html
    thumbs = [attrs for tag, attrs in start_tags(html, "img") if "kiji-thumb" in attrs.get("class", "")]
    assert [attrs["src"] for attrs in thumbs] == [live.cover.url]


def test_the_post_list_searches_titles(admin_client):
    make_post(title="量子コンピュータの現在")
    make_post(title="画像生成 AI の比較")

    html = admin_client.get("/admin/posts/post/", {"q": "量子"}).content.decode()

    assert "量子コンピュータの現在" in html
    assert "画像生成 AI の比較" not in html


def test_the_post_list_filters_scheduled_posts(admin_client):
    make_post(title="公開中の記事")
    make_post(title="予約中の記事", published_at=timezone.now() + timezone.timedelta(days=2))
    make_post(title="下書きの記事", status=Post.Status.DRAFT)

    html = admin_client.get("/admin/posts/post/", {"publication": "scheduled"}).content.decode()

    assert "予約中の記事" in html
    assert "公開中の記事" not in html
    assert "下書きの記事" not in html


def test_the_post_form_refuses_a_cover_that_is_not_an_image(admin_client):
    cover = SimpleUploadedFile("cover.png", b"just some text", content_type="image/png")

    response = admin_client.post("/admin/posts/post/add/", post_form(cover=cover))

    assert response.status_code == 200
    assert field_errors(response.content.decode(), "cover")
    assert not Post.objects.exists()


def test_the_post_form_refuses_a_bmp_cover_and_says_which_formats_to_use(admin_client):
    cover = SimpleUploadedFile("cover.bmp", image_bytes("BMP"), content_type="image/bmp")

    response = admin_client.post("/admin/posts/post/add/", post_form(cover=cover))

    assert response.status_code == 200
    errors = field_errors(response.content.decode(), "cover")
    assert "BMP" in errors and "PNG" in errors
    assert not Post.objects.exists()


# Terms and settings


@pytest.mark.parametrize(("url", "model"), [("/admin/posts/category/", Category), ("/admin/posts/tag/", Tag)])
def test_the_term_lists_show_post_counts(url, model, admin_client):
    for number in range(3):
        make_post(categories=["AI News"], tags=["AI News"])
    make_post(categories=["研究"], tags=["研究"])

    html = admin_client.get(url).content.decode()

    counts = dict(re.findall(r'>([^<>]+)</a></th>.*?<td class="field-post_count">(\d+)</td>', html, re.S))
    assert counts == {"AI News": "3", "研究": "1"}


def test_the_affiliate_settings_list_goes_straight_to_the_one_form(admin_client):
    response = admin_client.get("/admin/posts/affiliatesettings/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/posts/affiliatesettings/1/change/"
    form = admin_client.get(response["Location"])
    assert form.status_code == 200
    assert 'name="amazon_tag"' in form.content.decode()


def test_site_settings_edited_in_the_admin_show_on_the_home_page(admin_client, client):
    response = admin_client.get("/admin/posts/sitesettings/")
    assert response.status_code == 302
    response = admin_client.post(
        response["Location"],
        {
            "title": "ねぎAIラボ",
            "tagline": "情報の洪水を、知恵に変える。",
            "description": "AIの最新情報を毎日。",
            "author_name": "ねぎ",
            "social_links": "https://github.com/example\nhttps://x.com/example",
            "adsense_client": "",
            "ad_slot_top": "",
            "ad_slot_bottom": "",
        },
    )
    assert response.status_code == 302

    html = client.get("/").content.decode()
    assert "ねぎAIラボ" in html and "情報の洪水を、知恵に変える。" in html
    assert 'href="https://github.com/example"' in html and ">GitHub<" in html
    assert 'href="https://x.com/example"' in html and ">X<" in html


def test_affiliate_settings_cannot_be_added_or_deleted(admin_client, affiliate_settings):
    assert admin_client.get("/admin/posts/affiliatesettings/add/").status_code == 403
    assert admin_client.post("/admin/posts/affiliatesettings/1/delete/", {"post": "yes"}).status_code == 403


# The editor's preview endpoint


def test_the_editor_preview_returns_sanitized_html(admin_client):
    content = "| a | b |\n|---|---|\n| 1 | 2 |\n\n<script>alert(1)</script>\n\n<img src=x onerror=\"alert(1)\">\n"

    response = admin_client.post("/admin/posts/post/markdownify/", {"content": content})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<table>" in html and "<td>2</td>" in html
    assert "<script" not in html
    assert "onerror" not in html


def test_the_editor_preview_gives_amazon_links_the_configured_tag(admin_client, affiliate_settings):
    response = admin_client.post(
        "/admin/posts/post/markdownify/", {"content": "[本](https://www.amazon.co.jp/dp/B000TEST)"}
    )
    assert "tag=negi3939-22" in response.content.decode()


def test_the_editor_preview_sends_anonymous_users_to_login(client):
    response = client.post("/admin/posts/post/markdownify/", {"content": "# hi"})
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_editor_preview_refuses_staff_without_post_permissions(staff_client):
    response = staff_client.post("/admin/posts/post/markdownify/", {"content": "# hi"})
    assert response.status_code == 403


# The editor's image upload endpoint


def upload(client, name, content, content_type="application/octet-stream"):
    return client.post(
        "/admin/posts/post/upload-image/",
        {"image": SimpleUploadedFile(name, content, content_type=content_type)},
        **AJAX,
    )


def test_uploading_a_png_stores_it_and_returns_markdown_for_it(admin_client, settings):
    response = upload(admin_client, "スクリーンショット.png", image_bytes("PNG"), "image/png")

    assert response.status_code == 200
    code = response.json()["image_code"]
    match = re.fullmatch(r"!\[\]\((/media/uploads/[^)]+\.png)\)", code)
    assert match, code
    stored = Path(settings.MEDIA_ROOT) / match.group(1).removeprefix(settings.MEDIA_URL)
    with Image.open(stored) as image:  # saved again, without metadata (see test_uploads.py)
        assert (image.format, image.size, image.getpixel((0, 0))) == ("PNG", (40, 30), (200, 60, 30))


@pytest.mark.parametrize(("image_format", "extension"), [("JPEG", "jpg"), ("GIF", "gif"), ("WEBP", "webp")])
def test_uploading_jpeg_gif_and_webp_is_accepted(image_format, extension, admin_client):
    response = upload(admin_client, f"photo.{extension}", image_bytes(image_format))
    assert response.status_code == 200
    assert response.json()["image_code"].endswith(f".{extension})")


def test_an_upload_is_stored_with_the_extension_of_what_it_really_is(admin_client):
    response = upload(admin_client, "page.html", image_bytes("PNG"), "text/html")
    assert response.status_code == 200
    assert response.json()["image_code"].endswith(".png)")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("notes.png", b"This is a text file with an image's name.\n"),
        ("drawing.svg", SVG),
        ("scan.bmp", image_bytes("BMP")),
        ("scan.tiff", image_bytes("TIFF")),
    ],
)
def test_uploads_that_are_not_jpeg_png_gif_or_webp_are_refused_with_a_message(name, content, admin_client):
    before = stored_files()

    response = upload(admin_client, name, content)

    assert response.status_code == 400
    error = response.json()["error"]
    assert name in error
    assert "JPEG" in error and "WebP" in error
    assert stored_files() == before


def test_an_upload_over_the_size_limit_is_refused_with_a_message(admin_client, settings):
    settings.KIJI_MAX_UPLOAD_BYTES = 1024
    content = image_bytes("PNG", (400, 400))
    assert len(content) > 1024
    before = stored_files()

    response = upload(admin_client, "big.png", content)

    assert response.status_code == 400
    error = response.json()["error"]
    assert "big.png" in error and "1.0 KB" in error.replace("\xa0", " ")
    assert stored_files() == before


def test_an_upload_request_without_a_file_is_refused_with_a_message(admin_client):
    response = admin_client.post("/admin/posts/post/upload-image/", {}, **AJAX)
    assert response.status_code == 400
    assert response.json()["error"]


def test_uploads_are_refused_to_anonymous_users(client):
    before = stored_files()
    response = upload(client, "photo.png", image_bytes("PNG"))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert stored_files() == before


def test_uploads_are_refused_to_staff_without_post_permissions(staff_client):
    before = stored_files()
    assert upload(staff_client, "photo.png", image_bytes("PNG")).status_code == 403
    assert stored_files() == before
