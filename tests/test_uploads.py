"""Uploads through the editor, the cover field and the media library: what is refused
and why, how what is kept is saved for the web, and the library that lists it all."""

import functools
import html
import re
import struct
import zlib
from io import BytesIO
from urllib.parse import unquote

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.template.defaultfilters import filesizeformat
from django.test.utils import CaptureQueriesContext
from PIL import ExifTags, Image, ImageSequence, features

from posts.models import MediaImage, Post
from tests.conftest import logged_in, make_post, media_files, member, start_tags
from tests.test_admin import field_errors, post_form

pytestmark = pytest.mark.django_db

AJAX = {"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'
RED, BLUE = (255, 0, 0), (0, 0, 255)


def picture(image_format="JPEG", size=(40, 20), mode="RGB", color=(200, 60, 30), **options):
    """The bytes of a one-colour image."""
    buffer = BytesIO()
    Image.new(mode, size, color).save(buffer, format=image_format, **options)
    return buffer.getvalue()


def png_chunks(width, height, bit_depth, colour_type, rows):
    """A PNG written by hand, for what Pillow will not write: `rows` of raw scanlines."""

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    pixels = b"".join(compressor.compress(row) for row in rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def animation(frames, size=(20, 10), image_format="GIF"):
    """An animation of `frames` frames, each with a red bar further right, 100 ms more
    than the last."""
    pictures = []
    for number in range(frames):
        frame = Image.new("RGB", size, BLUE)
        frame.paste(RED, (number * 2 % size[0], 0, number * 2 % size[0] + 2, size[1]))
        pictures.append(frame)
    buffer = BytesIO()
    pictures[0].save(
        buffer,
        format=image_format,
        save_all=True,
        append_images=pictures[1:],
        duration=[100 * (number + 1) for number in range(frames)],
        loop=0,
    )
    return buffer.getvalue()


def sideways_photo(**exif_tags):
    """A JPEG stored 40×20 that EXIF orientation 6 turns upright to 20×40, red at the
    top and blue at the bottom when upright; `exif_tags` are added to its EXIF."""
    upright = Image.new("RGB", (20, 40), BLUE)
    upright.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    for tag, value in exif_tags.items():
        exif[ExifTags.Base[tag]] = value
    buffer = BytesIO()
    upright.rotate(90, expand=True).save(buffer, format="JPEG", quality=95, exif=exif)
    return buffer.getvalue()


def photo_with_gps():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "KijiCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (35.0, 39.0, 29.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (139.0, 44.0, 28.0)
    return picture(exif=exif, comment=b"taken at home")


def near(colour, expected, tolerance=24):
    return all(abs(a - b) <= tolerance for a, b in zip(colour, expected))


def upload(client, name, content):
    return client.post(
        "/admin/posts/post/upload-image/", {"image": SimpleUploadedFile(name, content)}, **AJAX
    )


def uploaded(client, name, content):
    """Upload through the editor; the stored file's URL."""
    response = upload(client, name, content)
    assert response.status_code == 200, response.content.decode()
    return re.fullmatch(r"!\[\]\((.+)\)", response.json()["image_code"]).group(1)


def stored_bytes(url):
    with default_storage.open(unquote(url.removeprefix("/media/"))) as handle:
        return handle.read()


def stored(url):
    """The stored image at a media `url`, opened."""
    return Image.open(BytesIO(stored_bytes(url)))


# Refused, with a message that says what is wrong, in each place an image is uploaded


def through_the_editor(client, name, content):
    response = upload(client, name, content)
    assert response.status_code == 400
    return response.json()["error"]


def as_a_cover(client, name, content):
    response = client.post("/admin/posts/post/add/", post_form(cover=SimpleUploadedFile(name, content)))
    assert response.status_code == 200
    assert not Post.objects.exists()
    return html.unescape(re.sub(r"<[^>]+>", "", field_errors(response.content.decode(), "cover")))


def into_the_library(client, name, content):
    response = client.post(
        "/admin/posts/mediaimage/add/", {"file": SimpleUploadedFile(name, content), "_save": "保存"}
    )
    assert response.status_code == 200
    return html.unescape(re.sub(r"<[^>]+>", "", field_errors(response.content.decode(), "file")))


@pytest.fixture(params=[through_the_editor, as_a_cover, into_the_library])
def refusal(request, admin_client, media_root):
    """Upload a file that must be refused; the message, once sure nothing was kept."""

    def refuse(name, content):
        message = request.param(admin_client, name, content)
        assert name in message, message
        assert media_files(media_root) == {}
        assert not MediaImage.objects.exists()
        return message.replace("\xa0", " ")

    return refuse


def test_a_text_file_named_like_a_jpeg_is_refused(refusal):
    message = refusal("photo.jpg", b"This is a text file with an image's name.\n")
    assert "読み込める画像ではありません" in message and "JPEG" in message


@pytest.mark.parametrize("name", ["drawing.svg", "drawing.png"])
def test_an_svg_is_refused_whatever_its_name(name, refusal):
    message = refusal(name, b'<?xml version="1.0"?>\n' + SVG)
    assert "SVG" in message and "スクリプト" in message and "PNG" in message


def test_a_bmp_is_refused_with_the_formats_to_use(refusal):
    message = refusal("scan.bmp", picture("BMP"))
    assert "BMP" in message and "WebP" in message


def test_an_image_over_the_pixel_limit_is_refused(refusal, settings):
    settings.KIJI_MAX_IMAGE_PIXELS = 1_000_000
    message = refusal("wide.png", picture("PNG", size=(2000, 600)))
    assert "2000×600" in message and "1 百万ピクセル" in message


def test_a_png_that_claims_huge_dimensions_is_refused_before_it_is_read(refusal):
    # 50 million pixels, over the default limit of 40 million, and no real pixels at all.
    message = refusal("claims.png", png_chunks(10_000, 5_000, 8, 0, [b"\0"]))
    assert "10000×5000" in message and "40 百万ピクセル" in message


@functools.cache
def decompression_bomb():
    """20000×20000 pixels of one grey, some 60 KB compressed: Pillow will not open it."""
    row = b"\0" * (1 + 20_000 // 8)
    return png_chunks(20_000, 20_000, 1, 0, [row] * 20_000)


def test_a_decompression_bomb_that_pillow_itself_refuses_is_refused(refusal):
    message = refusal("bomb.png", decompression_bomb())
    assert "はるかに超えて" in message and "40 百万ピクセル" in message


def test_an_animation_over_the_frame_limit_is_refused(refusal, settings):
    settings.KIJI_MAX_IMAGE_FRAMES = 5
    message = refusal("long.gif", animation(6))
    assert "6 コマ" in message and "上限は 5 コマ" in message


def test_an_animation_whose_frames_together_have_too_many_pixels_is_refused(refusal, settings):
    settings.KIJI_MAX_IMAGE_PIXELS = 1_000  # 200 a frame, but 3,000 for all frames together
    message = refusal("big.gif", animation(16))
    assert "16 コマ" in message and "全コマ" in message


def test_a_file_over_the_size_limit_is_refused(refusal, settings):
    settings.KIJI_MAX_UPLOAD_BYTES = 1024
    content = picture("PNG", size=(400, 400))
    assert len(content) > 1024
    message = refusal("big.png", content)
    assert "1.0 KB" in message and "小さくして" in message


def test_a_truncated_jpeg_is_refused_as_damaged(refusal):
    gradient = Image.linear_gradient("L").convert("RGB")
    buffer = BytesIO()
    gradient.save(buffer, format="JPEG")
    message = refusal("cut.jpg", buffer.getvalue()[: len(buffer.getvalue()) // 2])
    assert "壊れている" in message


# Accepted, and saved again for the web


def test_an_upload_is_listed_in_the_library_with_its_uploader(admin_client, admin_user, media_root):
    url = uploaded(admin_client, "スクリーンショット.png", picture("PNG"))

    [image] = MediaImage.objects.all()
    assert image.file.url == url and url.startswith("/media/uploads/") and url.endswith(".png")
    assert (image.original_name, image.uploaded_by) == ("スクリーンショット.png", admin_user)
    assert (image.width, image.height, image.size) == (40, 20, len(stored_bytes(url)))


def test_an_exif_rotated_photo_is_stored_upright_without_its_orientation(admin_client, media_root):
    url = uploaded(admin_client, "sideways.jpg", sideways_photo())

    with stored(url) as image:
        assert (image.format, image.size) == ("JPEG", (20, 40))
        assert ExifTags.Base.Orientation not in image.getexif()
        assert near(image.getpixel((10, 5)), RED) and near(image.getpixel((10, 35)), BLUE)
    assert (MediaImage.objects.get().width, MediaImage.objects.get().height) == (20, 40)


def test_a_photo_loses_its_gps_position_and_all_other_metadata(admin_client, media_root):
    original = photo_with_gps()
    with Image.open(BytesIO(original)) as image:
        assert image.getexif().get_ifd(ExifTags.IFD.GPSInfo), "the test photo has a GPS position"

    url = uploaded(admin_client, "holiday.jpg", original)

    content = stored_bytes(url)
    with stored(url) as image:
        assert not image.getexif() and not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert not {"exif", "comment", "xmp", "icc_profile"} & set(image.info)
        assert image.info.get("progressive")
    assert b"Exif" not in content and b"KijiCam" not in content and b"taken at home" not in content


def test_a_cmyk_jpeg_is_stored_as_an_rgb_jpeg(admin_client, media_root):
    url = uploaded(admin_client, "print.jpg", picture(mode="CMYK", color=(0, 255, 255, 0)))

    with stored(url) as image:
        assert (image.format, image.mode) == ("JPEG", "RGB")
        assert near(image.getpixel((5, 5)), RED)


def test_a_16_bit_grey_png_is_stored_as_8_bit_grey_with_its_tones_scaled(admin_client, media_root):
    url = uploaded(admin_client, "scan.png", picture("PNG", mode="I;16", color=40_000))

    with stored(url) as image:
        assert (image.format, image.mode) == ("PNG", "L")
        assert image.getpixel((0, 0)) == 40_000 // 257


def test_a_48_bit_colour_png_is_stored_with_8_bits_a_channel(admin_client, media_root):
    row = b"\0" + b"\xff\xff\x00\x00\x80\x00" * 4
    url = uploaded(admin_client, "deep.png", png_chunks(4, 2, 16, 2, [row, row]))

    content = stored_bytes(url)
    assert content[24] == 8, "the stored PNG's bit depth"
    with stored(url) as image:
        assert (image.mode, image.getpixel((0, 0))) == ("RGB", (255, 0, 128))


def test_an_animated_gif_under_the_limit_keeps_its_frames_and_durations(admin_client, media_root):
    url = uploaded(admin_client, "demo.gif", animation(4))

    with stored(url) as image:
        assert (image.format, image.n_frames, image.info["loop"]) == ("GIF", 4, 0)
        frames = [(frame.info["duration"], frame.convert("RGB")) for frame in ImageSequence.Iterator(image)]
    for number, (duration, frame) in enumerate(frames):
        assert duration == 100 * (number + 1)
        assert frame.getpixel((number * 2, 5)) == RED and frame.getpixel((number * 2 + 5, 5)) == BLUE


def test_an_animated_webp_keeps_its_frames_and_durations(admin_client, media_root):
    url = uploaded(admin_client, "demo.webp", animation(3, image_format="WEBP"))

    with stored(url) as image:
        assert (image.format, image.n_frames) == ("WEBP", 3)
        durations = [(frame.load(), frame.info["duration"])[1] for frame in ImageSequence.Iterator(image)]
    assert durations == [100, 200, 300]


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow was built without AVIF")
def test_an_avif_is_accepted_and_stays_avif(admin_client, media_root):
    url = uploaded(admin_client, "photo.avif", picture("AVIF", size=(32, 16), color=RED))

    assert url.endswith(".avif")
    with stored(url) as image:
        assert (image.format, image.size) == ("AVIF", (32, 16))
        assert near(image.getpixel((16, 8)), RED)


def test_a_cover_is_stored_upright_without_metadata_and_listed_in_the_library(admin_client, admin_user, media_root):
    photo = sideways_photo(Make="KijiCam")

    response = admin_client.post(
        "/admin/posts/post/add/", post_form(cover=SimpleUploadedFile("表紙.jpeg", photo))
    )

    assert response.status_code == 302, response.content.decode()
    post = Post.objects.get()
    # A name of Kiji's own, with the extension of what was stored: never the upload's.
    assert re.fullmatch(r"covers/\d{4}/\d{2}/[0-9a-f]{32}\.jpg", post.cover.name), post.cover.name
    assert (post.cover_width, post.cover_height) == (20, 40)
    with stored(post.cover.url) as image:
        assert image.size == (20, 40) and not image.getexif()
        assert near(image.getpixel((10, 5)), RED)
    [image] = MediaImage.objects.all()
    assert (image.file.name, image.original_name, image.uploaded_by) == (post.cover.name, "表紙.jpeg", admin_user)
    assert (image.width, image.height, image.size) == (20, 40, post.cover.size)


def test_an_image_added_in_the_library_is_saved_for_the_web(admin_client, admin_user, media_root):
    response = admin_client.post(
        "/admin/posts/mediaimage/add/", {"file": SimpleUploadedFile("旅行.jpg", photo_with_gps()), "_save": "保存"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/posts/mediaimage/"
    [image] = MediaImage.objects.all()
    assert (image.original_name, image.uploaded_by, image.size) == ("旅行.jpg", admin_user, image.file.size)
    assert image.file.name.startswith("uploads/") and image.file.name.endswith(".jpg")
    with stored(image.file.url) as stored_image:
        assert not stored_image.getexif()


# The library


def library_rows(client, **params):
    """{original name: the row's HTML} of the library's list."""
    page = client.get("/admin/posts/mediaimage/", params)
    assert page.status_code == 200
    rows = re.findall(r"<tr[^>]*>.*?</tr>", page.content.decode(), re.S)
    return {
        html.unescape(re.search(r'field-original_name[^>]*>(?:<a [^>]*>)?([^<]*)', row).group(1)): row
        for row in rows
        if "field-original_name" in row
    }


def test_the_library_lists_images_with_their_size_uses_and_markdown(admin_client, media_root):
    used = uploaded(admin_client, "図1.png", picture("PNG", size=(640, 480)))
    uploaded(admin_client, "未使用.png", picture("PNG"))
    in_body = make_post(title="図のある記事", body=f"本文。\n\n![]({used})\n")
    as_cover = make_post(title="表紙にした記事", cover=MediaImage.objects.get(original_name="図1.png").file.name)
    make_post(title="関係ない記事", body="![](/media/uploads/other.png)")

    rows = library_rows(admin_client)

    assert set(rows) == {"図1.png", "未使用.png"}
    row = rows["図1.png"]
    assert "640×480" in row
    assert filesizeformat(MediaImage.objects.get(original_name="図1.png").size) in row
    links = {attrs["href"] for _tag, attrs in start_tags(row.split("field-used_in")[1], "a")}
    assert links == {f"/admin/posts/post/{in_body.pk}/change/", f"/admin/posts/post/{as_cover.pk}/change/"}
    [code] = [attrs for _tag, attrs in start_tags(row, "input") if "kiji-copy__code" in attrs.get("class", "")]
    assert code["value"] == f"![]({used})" and "readonly" in code
    assert "関係ない記事" not in row
    assert '<td class="field-used_in">なし</td>' in rows["未使用.png"]
    thumbs = [attrs["src"] for _tag, attrs in start_tags(row, "img")]
    assert thumbs == [used]


def test_an_image_still_counts_as_used_after_media_url_changes(admin_client, media_root, settings):
    url = uploaded(admin_client, "図.png", picture("PNG"))
    post = make_post(title="図のある記事", body=f"![]({url})")
    settings.MEDIA_URL = "https://cdn.example.com/media/"

    [row] = library_rows(admin_client).values()

    assert f'href="/admin/posts/post/{post.pk}/change/"' in row


def test_the_library_searches_names_and_filters_by_uploader(admin_client, media_root):
    writer = member("Writer", "writer")
    uploaded(admin_client, "空の写真.png", picture("PNG"))
    uploaded(logged_in(writer), "海の写真.png", picture("PNG"))

    assert set(library_rows(admin_client, q="海")) == {"海の写真.png"}
    assert set(library_rows(admin_client, uploaded_by__id__exact=writer.pk)) == {"海の写真.png"}


def make_images(count, user):
    """`count` more images in the library, each used by a post of its own: in the body
    of one, as the cover of the next."""
    first = MediaImage.objects.count()
    for number in range(first, first + count):
        image = MediaImage.objects.create(
            file=ContentFile(picture("PNG"), name="image.png"), size=100, original_name=f"{number}.png", uploaded_by=user
        )
        if number % 2:
            make_post(cover=image.file.name)
        else:
            make_post(body=f"![]({image.file.url})")


def test_the_library_costs_as_many_queries_for_twenty_images_as_for_one(admin_client, admin_user, media_root):
    make_images(1, admin_user)
    admin_client.get("/admin/posts/mediaimage/")
    with CaptureQueriesContext(connection) as one:
        assert len(library_rows(admin_client)) == 1
    make_images(19, admin_user)
    with CaptureQueriesContext(connection) as twenty:
        rows = library_rows(admin_client)
    assert len(rows) == 20 and all("/admin/posts/post/" in row for row in rows.values())
    assert len(twenty) == len(one), [query["sql"] for query in twenty]


def test_writers_see_only_their_own_uploads(admin_client, media_root):
    writer, other = member("Writer", "writer"), member("Writer", "other")
    uploaded(logged_in(writer), "自分の画像.png", picture("PNG"))
    theirs = uploaded(logged_in(other), "他人の画像.png", picture("PNG"))
    client = logged_in(writer)

    assert set(library_rows(client)) == {"自分の画像.png"}
    other_image = MediaImage.objects.get(file=theirs.removeprefix("/media/"))
    assert client.get(f"/admin/posts/mediaimage/{other_image.pk}/change/").status_code in (302, 403, 404)
    assert set(library_rows(logged_in(member("Editor", "editor")))) == {"自分の画像.png", "他人の画像.png"}


def test_writers_add_to_the_library_but_may_not_delete(media_root):
    writer = member("Writer", "writer")
    client = logged_in(writer)
    uploaded(client, "自分の画像.png", picture("PNG"))
    image = MediaImage.objects.get()

    assert client.get("/admin/posts/mediaimage/add/").status_code == 200
    assert client.post(f"/admin/posts/mediaimage/{image.pk}/delete/", {"post": "yes"}).status_code == 403
    assert MediaImage.objects.exists()


def test_the_image_page_is_read_only_and_shows_where_it_is_used(admin_client, media_root):
    url = uploaded(admin_client, "図.png", picture("PNG"))
    post = make_post(title="図のある記事", body=f"![]({url})")
    image = MediaImage.objects.get()

    page = admin_client.get(f"/admin/posts/mediaimage/{image.pk}/change/").content.decode()

    assert 'type="file"' not in page
    assert f'href="/admin/posts/post/{post.pk}/change/"' in page
    assert f'value="![]({url})"' in page


def test_an_editor_deletes_an_unused_image_and_its_file(media_root, django_capture_on_commit_callbacks):
    client = logged_in(member("Editor", "editor"))
    url = uploaded(client, "消す画像.png", picture("PNG"))
    image = MediaImage.objects.get()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/admin/posts/mediaimage/{image.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not MediaImage.objects.exists()
    assert not default_storage.exists(url.removeprefix("/media/"))


def test_an_image_that_a_post_uses_is_not_deleted(media_root):
    client = logged_in(member("Editor", "editor"))
    url = uploaded(client, "使用中.png", picture("PNG"))
    make_post(title="使っている記事", body=f"![]({url})")
    image = MediaImage.objects.get()

    response = client.post(f"/admin/posts/mediaimage/{image.pk}/delete/", {"post": "yes"}, follow=True)

    assert MediaImage.objects.exists() and default_storage.exists(image.file.name)
    page = html.unescape(response.content.decode())
    assert "「使用中.png」は “使っている記事” で使われているため削除しませんでした" in page


def test_deleting_a_selection_keeps_the_images_in_use_and_says_so(media_root, django_capture_on_commit_callbacks):
    client = logged_in(member("Editor", "editor"))
    used = uploaded(client, "使用中.png", picture("PNG"))
    uploaded(client, "未使用.png", picture("PNG"))
    make_post(title="使っている記事", body=f"![]({used})")
    selected = [str(pk) for pk in MediaImage.objects.values_list("pk", flat=True)]

    confirm = client.post(
        "/admin/posts/mediaimage/", {"action": "delete_selected", "_selected_action": selected}
    )
    assert confirm.status_code == 200
    inputs = start_tags(confirm.content.decode(), "input")
    names = [attrs["value"] for _tag, attrs in inputs if attrs.get("name") == "_selected_action"]
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            "/admin/posts/mediaimage/",
            {"action": "delete_selected", "_selected_action": names, "post": "yes"},
            follow=True,
        )

    assert list(MediaImage.objects.values_list("original_name", flat=True)) == ["使用中.png"]
    assert "使っている記事" in html.unescape(confirm.content.decode() + done.content.decode())
