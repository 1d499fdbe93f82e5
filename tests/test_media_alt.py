"""The media library's images: the alt text asked for on upload (in the library, through
the editor's drop and paste, with a cover) and carried by the Markdown that inserts
them; the small copies every admin list shows, which no page view makes; and the rule
that an image something still shows is not deleted."""

import html
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext

from posts.models import MediaImage, Post, Product
from posts.models.media import ImageInUse, markdown_image
from tests.conftest import image_bytes, logged_in, make_post, media_files, member, start_tags
from tests.test_admin import post_form

pytestmark = pytest.mark.django_db

AJAX = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
LIBRARY = "/admin/posts/mediaimage/"


def png(name="図.png", size=(900, 500)):
    return SimpleUploadedFile(name, image_bytes("PNG", size), content_type="image/png")


def editor_upload(client, **data):
    """The editor's upload (drop, paste or the toolbar's Image), as editor-media.js sends it."""
    response = client.post("/admin/posts/post/upload-image/", {"image": png(), **data}, **AJAX)
    assert response.status_code == 200, response.content.decode()
    return response.json()


def thumbs(page):
    return [attrs for _tag, attrs in start_tags(page, "img") if "kiji-thumb" in attrs.get("class", "")]


def writes(queries):
    return [query["sql"] for query in queries if not query["sql"].lstrip().upper().startswith(("SELECT", "SAVEPOINT", "RELEASE"))]


@pytest.fixture
def editor():
    return member("Editor", "editor")


# Alt text, asked for on upload and carried by the Markdown


def test_the_library_upload_form_asks_what_the_image_shows_and_keeps_it(admin_client, media_root):
    form = admin_client.get(LIBRARY + "add/").content.decode()
    assert any(attrs.get("name") == "alt" for _tag, attrs in start_tags(form, "input"))

    response = admin_client.post(LIBRARY + "add/", {"file": png("棚.png"), "alt": "木の本棚に並ぶ技術書", "_save": "保存"})

    assert response.status_code == 302, response.content.decode()
    image = MediaImage.objects.get()
    assert (image.original_name, image.alt) == ("棚.png", "木の本棚に並ぶ技術書")
    listed = html.unescape(admin_client.get(LIBRARY).content.decode())
    assert f'value="![木の本棚に並ぶ技術書]({image.file.url})"' in listed


def test_an_image_dropped_in_the_body_keeps_its_alt_text_and_the_markdown_carries_it(editor, media_root):
    answer = editor_upload(logged_in(editor), alt="  RTX 4090 の\n箱 ")

    image = MediaImage.objects.get()
    assert image.alt == "RTX 4090 の 箱"
    assert answer == {"image_code": f"![RTX 4090 の 箱]({image.file.url})", "url": image.file.url, "alt": "RTX 4090 の 箱"}


def test_markdownx_own_upload_without_alt_text_still_gets_an_image_and_empty_alt(editor, media_root):
    answer = editor_upload(logged_in(editor))

    assert re.fullmatch(r"!\[\]\(/media/uploads/\S+\.png\)", answer["image_code"])
    assert MediaImage.objects.get().alt == ""


def test_alt_text_that_would_end_the_markdown_is_escaped():
    assert markdown_image("表 [1] と \\", "/media/a.png") == "![表 \\[1\\] と \\\\](/media/a.png)"


def test_a_cover_uploaded_with_a_post_goes_to_the_library_with_the_covers_alt_text(admin_client, media_root):
    response = admin_client.post("/admin/posts/post/add/", post_form(cover=png("表紙.png"), cover_alt="夜の東京タワー"))

    assert response.status_code == 302, response.content.decode()
    image = MediaImage.objects.get()
    assert (image.original_name, image.alt, image.file.name) == ("表紙.png", "夜の東京タワー", Post.objects.get().cover.name)


def test_editors_correct_the_alt_text_and_nothing_else_of_an_image(editor, media_root):
    client = logged_in(editor)
    editor_upload(client, alt="古い説明")
    image = MediaImage.objects.get()
    url = f"{LIBRARY}{image.pk}/change/"

    page = client.get(url).content.decode()
    assert 'type="file"' not in page
    response = client.post(url, {"alt": "新しい説明", "file": png("別の画像.png"), "_save": "保存"})

    assert response.status_code == 302, response.content.decode()
    changed = MediaImage.objects.get()
    assert (changed.alt, changed.file.name) == ("新しい説明", image.file.name)


def test_writers_add_alt_text_on_upload_but_do_not_change_it_later(media_root):
    writer = logged_in(member("Writer", "writer"))
    editor_upload(writer, alt="最初の説明")
    image = MediaImage.objects.get()

    writer.post(f"{LIBRARY}{image.pk}/change/", {"alt": "書き換え", "_save": "保存"})

    assert MediaImage.objects.get().alt == "最初の説明"


# Thumbnails: small copies, made by the task queue, never by a page view


def test_the_library_shows_the_image_scaled_until_its_copies_exist_and_the_list_writes_nothing(admin_client, media_root):
    editor_upload(admin_client, alt="図")  # its task is not run: no copies yet
    image = MediaImage.objects.get()
    files = media_files(media_root)

    with CaptureQueriesContext(connection) as queries:
        page = admin_client.get(LIBRARY).content.decode()

    [thumb] = thumbs(page)
    assert (thumb["src"], thumb["width"], thumb["height"]) == (image.file.url, "64", "36")
    assert writes(queries) == []
    assert media_files(media_root) == files
    assert MediaImage.objects.get().renditions == {}


def test_the_task_makes_small_copies_and_every_list_shows_the_smallest(admin_client, media_root):
    with TestCase.captureOnCommitCallbacks(execute=True):
        answer = editor_upload(admin_client, alt="GPU の写真")
    image = MediaImage.objects.get()
    product = Product.objects.create(name="GPU", keyword="GPU", image=image, image_alt="GPU")
    make_post(title="表紙つき", cover=image.file.name, cover_width=900, cover_height=500)  # its copies: the same files

    smallest = min(image.renditions["webp"], key=lambda copy: copy[1])
    assert image.renditions["source"] == image.file.name and smallest[1] == 480
    assert default_storage.exists(smallest[0])
    for url in (LIBRARY, "/admin/posts/product/", "/admin/posts/post/"):
        [thumb] = thumbs(admin_client.get(url).content.decode())
        assert thumb["src"] == default_storage.url(smallest[0]), url
        assert thumb["src"] != answer["url"]
    assert product.image == image


# An image something shows is not deleted


def test_an_image_a_post_or_a_product_shows_is_not_deleted_by_the_model(media_root):
    in_body, as_cover, for_product, unused = (
        MediaImage.objects.create(file=default_storage.save(f"uploads/{name}.png", png()), original_name=f"{name}.png")
        for name in ("body", "cover", "product", "unused")
    )
    make_post(title="本文の記事", body=f"![]({in_body.file.url})")
    make_post(title="表紙の記事", cover=as_cover.file.name)
    Product.objects.create(name="SSD 2TB", keyword="SSD", image=for_product)

    for image, where in ((in_body, "本文の記事"), (as_cover, "表紙の記事"), (for_product, "SSD 2TB")):
        with pytest.raises(ImageInUse) as refused:
            image.delete()
        assert where in refused.value.messages[0] and str(image) in refused.value.messages[0]
        assert isinstance(refused.value, ValidationError)
    with pytest.raises(ImageInUse):
        MediaImage.objects.all().delete()
    assert MediaImage.objects.count() == 4

    unused.delete()
    assert MediaImage.objects.count() == 3


def test_the_library_refuses_to_delete_a_products_image_and_says_where_it_is_used(editor, media_root):
    client = logged_in(editor)
    editor_upload(client)
    image = MediaImage.objects.get()
    Product.objects.create(name="SSD 2TB", keyword="SSD", image=image)

    response = client.post(f"{LIBRARY}{image.pk}/delete/", {"post": "yes"}, follow=True)

    assert MediaImage.objects.filter(pk=image.pk).exists()
    assert "SSD 2TB" in html.unescape(response.content.decode())
    used_in = html.unescape(client.get(LIBRARY).content.decode())
    assert f'href="/admin/posts/product/{Product.objects.get().pk}/change/"' in used_in
