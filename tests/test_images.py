"""Covers as responsive <picture>s: resized WebP and fallback copies, made once, on the
task queue, when a cover changes; never while a reader waits."""

import logging
import shutil
from io import BytesIO

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase
from django.test.utils import CaptureQueriesContext
from django_tasks_db.models import DBTaskResult
from PIL import Image

from posts.models import Post
from tests.conftest import image_bytes, make_post, media_files, run_command, start_tags
from tests.test_admin import post_form

pytestmark = pytest.mark.django_db

MEDIA_URL = "/media/"


def save_cover(post, name, data):
    """Give `post` a cover as an editor would, and run what its commit sets off."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        post.cover.save(name, ContentFile(data))
    post.refresh_from_db()


def post_with_cover(image_format="PNG", size=(1280, 720), name="cover.png", **overrides):
    post = make_post(cover_alt="GPU の写真", **overrides)
    save_cover(post, name, image_bytes(image_format, size))
    return post


def article_cover(client, post):
    """(the <source> attributes or None, the <img> attributes) of the article's cover."""
    html = client.get(f"/posts/{post.slug}/").content.decode()
    figure = html[html.index('<figure class="post__cover">') : html.index("</figure>")]
    sources = [attrs for tag, attrs in start_tags(figure, "source")]
    [img] = [attrs for tag, attrs in start_tags(figure, "img")]
    return (sources[0] if sources else None), img


def srcset(attrs):
    """{width: URL} of a srcset."""
    pairs = [candidate.split() for candidate in attrs["srcset"].split(",")]
    return {int(width.rstrip("w")): url for url, width in pairs}


def stored_image(url):
    """(format, size) of the stored file at a media `url`."""
    assert url.startswith(MEDIA_URL), url
    with default_storage.open(url.removeprefix(MEDIA_URL)) as handle, Image.open(handle) as image:
        return image.format, image.size


def test_a_cover_is_a_picture_of_webp_and_png_copies_at_three_widths(client, media_root):
    post = post_with_cover()

    source, img = article_cover(client, post)

    assert source["type"] == "image/webp"
    assert source["sizes"] == img["sizes"] == "(min-width: 760px) 736px, 100vw"
    webp, fallback = srcset(source), srcset(img)
    assert sorted(webp) == sorted(fallback) == [480, 800, 1200]
    for width in (480, 800, 1200):
        assert stored_image(webp[width]) == ("WEBP", (width, width * 9 // 16))
        assert stored_image(fallback[width]) == ("PNG", (width, width * 9 // 16))
    assert img["src"] == fallback[1200]
    assert (img["width"], img["height"], img["alt"]) == ("1280", "720", "GPU の写真")
    assert all(url.startswith("/media/renditions/") for url in [*webp.values(), *fallback.values()])


DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


# The worker closes connections it finds inside a transaction, as it should in
# production, so this test runs outside the usual per-test transaction.
@pytest.mark.django_db(transaction=True)
def test_a_page_whose_cover_has_no_copies_yet_shows_the_original_and_writes_nothing(client, settings, media_root):
    settings.TASKS = DATABASE_QUEUE  # a real queue, and nobody working it yet
    post = make_post(cover_alt="GPU の写真")
    with TestCase.captureOnCommitCallbacks(execute=True):
        post.cover.save("cover.png", ContentFile(image_bytes("PNG", (1280, 720))))
    # The change queued the copies once; readers before the worker gets to it see the original.
    [queued] = DBTaskResult.objects.filter(task_path="posts.tasks.make_renditions")
    assert queued.args_kwargs["args"] == [post.cover.name]
    files = media_files(media_root)

    with CaptureQueriesContext(connection) as queries:
        source, img = article_cover(client, post)
        client.get(f"/posts/{post.slug}/")

    assert source is None and img["src"] == post.cover.url
    assert (img["width"], img["height"]) == ("1280", "720")
    assert media_files(media_root) == files, "a reader's request resizes nothing"
    assert [sql for sql in (q["sql"] for q in queries.captured_queries) if not sql.startswith("SELECT")] == [], "a GET writes nothing"
    assert DBTaskResult.objects.filter(task_path="posts.tasks.make_renditions").count() == 1

    run_command("db_worker", "--batch", "--no-startup-delay", "--no-reload")

    source, img = article_cover(client, post)
    assert source["type"] == "image/webp" and sorted(srcset(img)) == [480, 800, 1200]


def test_posts_that_share_a_cover_share_its_copies(client, media_root):
    first = post_with_cover()
    second = make_post(cover=first.cover.name, cover_width=1280, cover_height=720)

    _source, first_img = article_cover(client, first)
    files = media_files(media_root)
    _source, second_img = article_cover(client, second)

    assert second_img["srcset"] == first_img["srcset"]
    assert media_files(media_root) == files
    assert len([name for name in files if name.startswith("renditions/")]) == 6


def test_a_small_cover_is_not_enlarged(client, media_root):
    post = post_with_cover(size=(300, 200))

    source, img = article_cover(client, post)

    assert list(srcset(source)) == list(srcset(img)) == [300]
    assert stored_image(srcset(source)[300]) == ("WEBP", (300, 200))
    assert img["src"] == post.cover.url, "the original is its own fallback"
    assert (img["width"], img["height"]) == ("300", "200")


def test_a_mid_sized_cover_also_comes_at_its_own_width(client, media_root):
    post = post_with_cover(size=(1000, 500))

    source, img = article_cover(client, post)

    assert sorted(srcset(source)) == [480, 800, 1000]
    assert srcset(img)[1000] == img["src"] == post.cover.url


def test_a_jpeg_cover_falls_back_to_jpeg(client, media_root):
    post = post_with_cover("JPEG", name="photo.jpg")

    source, img = article_cover(client, post)

    assert {width: stored_image(url)[0] for width, url in srcset(img).items()} == {
        480: "JPEG",
        800: "JPEG",
        1200: "JPEG",
    }
    assert img["src"].endswith("/1200.jpg")


def test_a_gif_cover_falls_back_to_a_png_of_its_first_frame(client, media_root):
    buffer = BytesIO()
    frames = [Image.new("P", (500, 250), colour) for colour in (1, 2)]
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], transparency=0)
    post = make_post()
    save_cover(post, "anim.gif", buffer.getvalue())

    source, img = article_cover(client, post)

    assert stored_image(img["src"]) == ("PNG", (500, 250))
    assert stored_image(srcset(source)[480]) == ("WEBP", (480, 240))


@pytest.mark.parametrize("mode", ["CMYK", "LA", "P", "L"])
def test_covers_in_any_colour_mode_get_webp_copies(mode, client, media_root):
    buffer = BytesIO()
    Image.new(mode, (600, 300)).save(buffer, format="JPEG" if mode == "CMYK" else "PNG")
    post = make_post()
    save_cover(post, "mode.jpg" if mode == "CMYK" else "mode.png", buffer.getvalue())

    source, _img = article_cover(client, post)

    assert stored_image(srcset(source)[600]) == ("WEBP", (600, 300))


def test_an_exif_turned_photo_is_copied_upright_with_its_turned_size(client, media_root):
    buffer = BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # turn 90° clockwise to show
    Image.new("RGB", (600, 400), (10, 120, 200)).save(buffer, format="JPEG", exif=exif)
    post = make_post()
    save_cover(post, "turned.jpg", buffer.getvalue())

    source, img = article_cover(client, post)

    assert (img["width"], img["height"]) == ("400", "600")
    assert stored_image(srcset(source)[400]) == ("WEBP", (400, 600))
    assert stored_image(img["src"]) == ("JPEG", (400, 600)), "a turned original is not its own fallback"


def test_a_missing_cover_file_shows_the_plain_image(client, media_root, caplog):
    post = make_post(cover="covers/2024/05/gone.png", cover_width=640, cover_height=360, cover_alt="消えた画像")

    with caplog.at_level(logging.WARNING, logger="posts.renditions"):
        source, img = article_cover(client, post)

    assert source is None
    assert img["src"] == "/media/covers/2024/05/gone.png"
    assert (img["width"], img["height"], img["alt"]) == ("640", "360", "消えた画像")
    assert "srcset" not in img
    assert "covers/2024/05/gone.png: cannot make resized copies" in caplog.text
    assert Post.objects.get(pk=post.pk).cover_renditions == {}


def test_a_file_that_is_not_an_image_shows_the_plain_image(client, media_root):
    post = make_post(cover=default_storage.save("covers/broken.png", ContentFile(b"not a png")))

    source, img = article_cover(client, post)

    assert source is None and img["src"] == "/media/covers/broken.png"


def test_the_article_cover_loads_first_and_cards_load_lazily(client, media_root):
    post = post_with_cover(size=(800, 450))

    _source, article_img = article_cover(client, post)
    html = client.get("/posts/").content.decode()
    card = html[html.index('<a class="card__cover"') :]
    card_source = start_tags(card, "source")[0][1]
    card_img = start_tags(card, "img")[0][1]

    assert article_img["loading"] == "eager" and article_img["fetchpriority"] == "high"
    assert card_img["loading"] == "lazy" and "fetchpriority" not in card_img
    assert card_img["decoding"] == article_img["decoding"] == "async"
    assert card_source["sizes"] == card_img["sizes"] == "(min-width: 1120px) 360px, (min-width: 700px) 50vw, 100vw"
    assert (card_img["width"], card_img["height"]) == ("800", "450")


def test_uploading_a_cover_in_the_admin_makes_its_copies(admin_client, media_root):
    cover = SimpleUploadedFile("upload.png", image_bytes("PNG", (900, 500)), content_type="image/png")

    with TestCase.captureOnCommitCallbacks(execute=True):
        response = admin_client.post("/admin/posts/post/add/", post_form(cover=cover))

    assert response.status_code == 302
    post = Post.objects.get(slug="from-the-admin")
    assert post.cover_renditions["source"] == post.cover.name
    assert [width for _name, width in post.cover_renditions["webp"]] == [480, 800, 900]
    assert all(default_storage.exists(name) for name, _width in post.cover_renditions["webp"])


def test_make_renditions_makes_every_posts_copies_once(media_root):
    shared = default_storage.save("covers/og-default.png", ContentFile(image_bytes("PNG", (1200, 630))))
    for number in range(3):
        make_post(cover=shared, cover_width=1200, cover_height=630)
    own = post_with_cover(size=(500, 300))
    make_post(cover="covers/gone.png", cover_width=10, cover_height=10, slug="no-file")
    make_post()  # no cover

    Post.objects.update(cover_renditions={})  # as after an import with no worker running
    shutil.rmtree(media_root / "renditions")

    output = run_command("make_renditions")

    assert "covers/gone.png: cannot be read: pages show it without resized copies" in output
    assert "3 distinct cover files, 4 posts updated, 1 failed;" in output
    assert all(post.cover_renditions["source"] == post.cover.name for post in Post.objects.exclude(cover="").exclude(slug="no-file"))
    assert len([name for name in media_files(media_root) if name.startswith("renditions/")]) == 5 + 3
    files = media_files(media_root)

    assert "3 distinct cover files, 0 posts updated, 1 failed;" in run_command("make_renditions")
    assert media_files(media_root) == files
    assert Post.objects.get(pk=own.pk).cover_renditions["width"] == 500
